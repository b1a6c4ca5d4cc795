"""Provenance of the project's own text: nothing in ``corpora/`` is copied from the evaluation data.

The training, demo and guideline text is written by the project (DESIGN.md); the data sets in
``../shared/data`` are for evaluation and must never be copied in. A string that shares a run of
``min_words`` consecutive words with any of them is reported as a copy. The stock phrases of
customer service that the project's text shares with real replies ("Thanks for letting us know")
run shorter, so the default of 8 words flags copies and close echoes, not idioms.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
#: A shared run this long (in words) is a copy, not an idiom.
MIN_WORDS = 8
#: Files of the shared data sets that hold text.
SHARED_SUFFIXES = frozenset({".csv", ".json", ".jsonl", ".xml", ".txt", ".tsv"})
#: Files of the project that hold text it wrote.
PROJECT_SUFFIXES = frozenset({".jsonl", ".json", ".md", ".yaml", ".yml", ".txt", ".csv", ".html"})


@dataclass(frozen=True)
class Copy:
    """One project string that shares ``words`` consecutive words with the shared file ``source``."""

    path: str
    line: int
    text: str
    words: int
    source: str


def words(text: str) -> list[str]:
    """Lower-cased word tokens; punctuation, markup and curly apostrophes do not break a run."""
    return WORD.findall(text.lower().replace("’", "'"))


def _runs(tokens: list[str], n: int) -> Iterator[str]:
    for i in range(len(tokens) - n + 1):
        yield " ".join(tokens[i:i + n])


def reference_index(shared: Path, min_words: int = MIN_WORDS) -> dict[int, str]:
    """Every run of ``min_words`` words in the shared text files, hashed, with the file it is from."""
    index: dict[int, str] = {}
    for path in sorted(p for p in Path(shared).rglob("*") if p.is_file() and p.suffix.lower() in SHARED_SUFFIXES):
        name = str(path.relative_to(shared))
        for run in _runs(words(path.read_text(encoding="utf-8", errors="replace")), min_words):
            index.setdefault(hash(run), name)
    return index


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def project_strings(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, string) for each string of a project file: every JSON string value of a .jsonl
    line, else each line of text."""
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if path.suffix == ".jsonl" and line.strip():
            for text in _strings(json.loads(line)):
                yield number, text
        elif line.strip():
            yield number, line


def project_files(paths: Iterable[Path]) -> list[Path]:
    """The text files under each path (a file stands for itself), in a stable order."""
    found: list[Path] = []
    for p in map(Path, paths):
        found += [p] if p.is_file() else sorted(f for f in p.rglob("*")
                                                if f.is_file() and f.suffix.lower() in PROJECT_SUFFIXES)
    return found


def find_copies(paths: Iterable[Path], shared: Path, min_words: int = MIN_WORDS) -> list[Copy]:
    """Project strings sharing at least ``min_words`` consecutive words with the shared data, each
    with the longest such run (counted in words) and the file it matched first. Overlapping runs
    are merged even when they match different places, so a length can overstate; a hit cannot."""
    index = reference_index(shared, min_words)
    copies: list[Copy] = []
    for path in project_files(paths):
        for number, text in project_strings(path):
            best, source, run = 0, "", 0
            for gram in _runs(words(text), min_words):
                hit = index.get(hash(gram))
                if hit is None:
                    run = 0
                    continue
                run = run + 1 if run else min_words  # each further run extends the copy by one word
                if run > best:
                    best, source = run, hit
            if best:
                copies.append(Copy(str(path), number, text, best, source))
    return copies
