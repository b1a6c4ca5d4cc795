"""Values derived from a Doc's parse, computed once while the Doc passes through the pipeline.

The components that follow each other on a batch ask for the same things (the text sentences
of a Doc, each sentence's parse features and word_role tokens). Each is computed once and kept
for the most recent Docs. Entries hold their Doc by a weak reference and go with it, so a Doc the
caller drops is freed at once (values must not hold Spans or Tokens, which would keep it alive);
an entry is also dropped when its Doc's tokens change (``retokenize``: a merge or split changes
their number), so values of the old tokens are never read against the new ones.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable

from spacy.tokens import Doc, Span

#: How many recent Docs keep their values (a few ``nlp.pipe`` batches).
RECENT_DOCS = 256
_RECENT: OrderedDict[int, tuple[weakref.ref, int, dict[Hashable, Any]]] = OrderedDict()


def _forget(key: int) -> Callable[[weakref.ref], None]:
    """The callback that drops a Doc's entry when the Doc is freed (if it is still that Doc's)."""
    def drop(ref: weakref.ref) -> None:
        entry = _RECENT.get(key)
        if entry is not None and entry[0] is ref:
            del _RECENT[key]
    return drop


def _entry(doc: Doc) -> dict[Hashable, Any]:
    key = id(doc)
    entry = _RECENT.get(key)
    if entry is None or entry[0]() is not doc or entry[1] != len(doc):
        entry = _RECENT[key] = (weakref.ref(doc, _forget(key)), len(doc), {})
        _RECENT.move_to_end(key)
        while len(_RECENT) > RECENT_DOCS:
            _RECENT.popitem(last=False)
    return entry[2]


def once_per_doc(doc: Doc, kind: str, compute: Callable[[Doc], Any]) -> Any:
    """``compute(doc)``, once per recent Doc; the value must not hold the Doc (no Spans or Tokens)."""
    values = _entry(doc)
    if kind not in values:
        values[kind] = compute(doc)
    return values[kind]


def once_per_sentence(sent: Span, kind: str, compute: Callable[[Span], Any]) -> Any:
    """``compute(sent)``, once per sentence of a recent Doc; the value must not hold the Doc."""
    values = _entry(sent.doc)
    key = (kind, sent.start, sent.end)
    if key not in values:
        values[key] = compute(sent)
    return values[key]
