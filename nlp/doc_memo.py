"""Values derived from a Doc's parse, computed once while the Doc passes through the pipeline.

The components that follow each other on a batch ask for the same things (the text sentences
of a Doc, each sentence's parse features and word_role tokens). The parse does not change after
the base model, so each is computed once and kept for the most recent Docs. Entries are keyed
by the Doc object itself, held here so that its id cannot be reused by another Doc.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable

from spacy.tokens import Doc, Span

#: How many recent Docs keep their values (a few ``nlp.pipe`` batches).
RECENT_DOCS = 256
_RECENT: OrderedDict[int, tuple[Doc, dict[Hashable, Any]]] = OrderedDict()


def _entry(doc: Doc) -> dict[Hashable, Any]:
    entry = _RECENT.get(id(doc))
    if entry is None or entry[0] is not doc:
        entry = _RECENT[id(doc)] = (doc, {})
        while len(_RECENT) > RECENT_DOCS:
            _RECENT.popitem(last=False)
    return entry[1]


def once_per_doc(doc: Doc, kind: str, compute: Callable[[Doc], Any]) -> Any:
    """``compute(doc)``, once per recent Doc."""
    values = _entry(doc)
    if kind not in values:
        values[kind] = compute(doc)
    return values[kind]


def once_per_sentence(sent: Span, kind: str, compute: Callable[[Span], Any]) -> Any:
    """``compute(sent)``, once per sentence of a recent Doc."""
    values = _entry(sent.doc)
    key = (kind, sent.start, sent.end)
    if key not in values:
        values[key] = compute(sent)
    return values[key]
