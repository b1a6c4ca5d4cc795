"""The project's labelled corpora: loading, validation and the fixed by-document split.

Every corpus folder holds ``*.jsonl`` files with one document per line:
``{"doc_id", "industry", "kind", "sentences": [{"text", ...labels}]}``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .claims import REASONS as LIP_REASONS
from .errors import E_BAD_LABELS, UsageError
from .heads import PERSPECTIVE_LABELS

TEST_PREFIXES = ("0", "1", "2")  # first hex digit of sha1(doc_id): about 19 % of documents
SPECIFICITY = ("specific", "vague")
STRENGTH = ("absolute", "firm", "hedged")


def split_of(doc_id: str) -> str:
    """``test`` or ``train``, fixed by the document id (never by sentence)."""
    return "test" if hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[0] in TEST_PREFIXES else "train"


@dataclass(frozen=True)
class Example:
    text: str
    label: Any
    doc_id: str
    industry: str
    kind: str
    split: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)


def iter_documents(directory: str | Path) -> Iterator[tuple[str, dict]]:
    """``(where, document)`` for every document of a corpus folder; bad lines raise UsageError."""
    directory = Path(directory)
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise UsageError(f"{directory}: no *.jsonl corpus files", code=E_BAD_LABELS)
    seen: dict[str, str] = {}
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}: line {lineno}"
            try:
                doc = json.loads(line)
                doc_id, sents = doc["doc_id"], doc["sentences"]
                if not isinstance(sents, list) or not all(isinstance(s, dict) for s in sents):
                    raise TypeError("sentences must be a list of objects")
            except (ValueError, KeyError, TypeError) as err:
                raise UsageError(f"{where}: not a corpus document ({err}); expected "
                                 '{"doc_id", "industry", "kind", "sentences": [{"text", ...}]}',
                                 code=E_BAD_LABELS) from None
            if doc_id in seen:
                raise UsageError(f"{where}: doc_id {doc_id!r} already used in {seen[doc_id]}", code=E_BAD_LABELS)
            seen[doc_id] = where
            yield where, doc


def _load(directory: str | Path, check: Callable[[dict], str | None], label: Callable[[dict], Any]) -> list[Example]:
    examples: list[Example] = []
    for where, doc in iter_documents(directory):
        for n, s in enumerate(doc["sentences"], start=1):
            problem = None if str(s.get("text", "")).strip() else "empty text"
            problem = problem or check(s)
            if problem:
                raise UsageError(f"{where}: sentence {n}: {problem} ({s!r:.120})", code=E_BAD_LABELS)
            examples.append(Example(s["text"], label(s), doc["doc_id"], doc.get("industry", ""), doc.get("kind", ""),
                                    split_of(doc["doc_id"]), {**s, "sentence_index": n - 1}))
    return examples


def load_perspective_corpus(directory: str | Path) -> list[Example]:
    """Every sentence of a perspective corpus; ``label`` is company | customer | neutral."""
    return _load(directory, lambda s: None if s.get("label") in PERSPECTIVE_LABELS else
                 f"label must be one of {', '.join(PERSPECTIVE_LABELS)}", lambda s: s["label"])


def _check_promise(s: dict) -> str | None:
    if not isinstance(s.get("promise"), bool):
        return "promise must be true or false"
    if s["promise"]:
        if s.get("specificity") not in SPECIFICITY:
            return f"specificity must be one of {', '.join(SPECIFICITY)}"
        if s.get("strength") not in STRENGTH:
            return f"strength must be one of {', '.join(STRENGTH)}"
    return None


def load_promise_corpus(directory: str | Path) -> list[Example]:
    """Every sentence of a promise corpus; ``label`` is the promise flag, attributes in ``extra``."""
    return _load(directory, _check_promise, lambda s: bool(s["promise"]))


def _check_claim(s: dict) -> str | None:
    if not isinstance(s.get("claim"), bool):
        return "claim must be true or false"
    if s["claim"] and not isinstance(s.get("lip_service"), bool):
        return "a claim needs lip_service true or false"
    bad = [r for r in s.get("reasons") or [] if r not in LIP_REASONS]
    if bad:
        return f"unknown reasons {bad}; allowed: {', '.join(LIP_REASONS)}"
    return None


def load_claim_corpus(directory: str | Path) -> list[Example]:
    """Every sentence of a claims corpus (one paragraph per document); ``label`` is the claim flag."""
    return _load(directory, _check_claim, lambda s: bool(s["claim"]))


def _check_complaint(s: dict) -> str | None:
    if not isinstance(s.get("complaint"), bool):
        return "complaint must be true or false"
    theme = s.get("theme")
    if s["complaint"] and not isinstance(theme, str):
        return "a complaint needs a theme (a taxonomy id or \"other\")"
    if not s["complaint"] and theme is not None:
        return "only complaints have a theme"
    return None


def load_complaint_corpus(directory: str | Path) -> list[Example]:
    """Every sentence of a complaints corpus; ``label`` is the complaint flag, the theme is in ``extra``."""
    return _load(directory, _check_complaint, lambda s: bool(s["complaint"]))
