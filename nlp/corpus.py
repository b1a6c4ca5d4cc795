"""The project's labelled corpora: loading, validation and the fixed by-document split."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import E_BAD_LABELS, UsageError
from .heads import PERSPECTIVE_LABELS

TEST_PREFIXES = ("0", "1", "2")  # first hex digit of sha1(doc_id): about 19 % of documents


def split_of(doc_id: str) -> str:
    """``test`` or ``train``, fixed by the document id (never by sentence)."""
    return "test" if hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[0] in TEST_PREFIXES else "train"


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    doc_id: str
    industry: str
    kind: str
    split: str


def load_perspective_corpus(directory: str | Path) -> list[Example]:
    """Every sentence of ``directory/*.jsonl`` (one document per line), validated."""
    directory = Path(directory)
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise UsageError(f"{directory}: no *.jsonl corpus files", code=E_BAD_LABELS)
    examples: list[Example] = []
    seen: dict[str, str] = {}
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}: line {lineno}"
            try:
                doc = json.loads(line)
                doc_id, sents = doc["doc_id"], doc["sentences"]
            except (ValueError, KeyError, TypeError) as err:
                raise UsageError(f"{where}: not a corpus document ({err}); expected "
                                 '{"doc_id", "industry", "kind", "sentences": [{"text", "label"}]}',
                                 code=E_BAD_LABELS) from None
            if doc_id in seen:
                raise UsageError(f"{where}: doc_id {doc_id!r} already used in {seen[doc_id]}", code=E_BAD_LABELS)
            seen[doc_id] = where
            for s in sents:
                if s.get("label") not in PERSPECTIVE_LABELS or not str(s.get("text", "")).strip():
                    raise UsageError(f"{where}: sentence {s!r} needs a text and a label in "
                                     f"{', '.join(PERSPECTIVE_LABELS)}", code=E_BAD_LABELS)
                examples.append(Example(s["text"], s["label"], doc_id, doc.get("industry", ""),
                                        doc.get("kind", ""), split_of(doc_id)))
    return examples
