"""nlp/doc_memo.py: values derived from a Doc are computed once, per Doc object, for recent Docs."""
from __future__ import annotations

import spacy

import nlp.doc_memo as doc_memo
from nlp.doc_memo import once_per_doc, once_per_sentence


def counting():
    calls = []

    def compute(x):
        calls.append(x)
        return len(calls)

    return calls, compute


def test_computed_once_per_doc_and_kind():
    nlp = spacy.blank("en")
    a, b = nlp("one two"), nlp("one two")
    calls, compute = counting()
    assert once_per_doc(a, "k", compute) == once_per_doc(a, "k", compute) == 1
    assert once_per_doc(b, "k", compute) == 2  # an equal text in another Doc is another Doc
    assert once_per_doc(a, "other", compute) == 3
    assert len(calls) == 3


def test_computed_once_per_sentence_span():
    doc = spacy.blank("en")("a b c d")
    calls, compute = counting()
    assert once_per_sentence(doc[0:2], "k", compute) == once_per_sentence(doc[0:2], "k", compute) == 1
    assert once_per_sentence(doc[2:4], "k", compute) == 2
    assert len(calls) == 2


def test_only_recent_docs_are_kept(monkeypatch):
    monkeypatch.setattr(doc_memo, "RECENT_DOCS", 2)
    nlp = spacy.blank("en")
    docs = [nlp(f"doc {i}") for i in range(3)]
    calls, compute = counting()
    for doc in docs:
        once_per_doc(doc, "k", compute)
    assert len(doc_memo._RECENT) <= 2
    once_per_doc(docs[0], "k", compute)  # evicted: computed again
    assert len(calls) == 4


def test_a_doc_the_caller_drops_is_freed_with_its_values():
    """The memo held up to 256 Docs alive (about 6.5 MB each for 8,000-character texts) after the caller was done."""
    import gc
    import weakref

    from nlp.component import text_sentences

    doc = spacy.blank("en")("One sentence here.")
    for i in range(len(doc)):
        doc[i].is_sent_start = i == 0
    assert [s.text for s in text_sentences(doc)] == ["One sentence here."]
    alive = weakref.ref(doc)
    del doc
    gc.collect()
    assert alive() is None and not any(ref() is None for ref, _, _ in doc_memo._RECENT.values())


def test_values_of_tokens_merged_since_are_not_read():
    """A Doc retokenized after a component ran (merge_noun_chunks) got its old sentence bounds: IndexError."""
    doc = spacy.blank("en")("We deliver your new order today. It was late.")
    for i, token in enumerate(doc):
        token.is_sent_start = i in (0, 7)
    calls, compute = counting()
    bounds = once_per_doc(doc, "k", lambda d: compute(d) and [(s.start, s.end) for s in d.sents])
    assert bounds == [(0, 7), (7, 11)]
    with doc.retokenize() as retokenizer:
        retokenizer.merge(doc[2:5])
    assert once_per_doc(doc, "k", lambda d: compute(d) and [(s.start, s.end) for s in d.sents]) == [(0, 5), (5, 9)]
    assert len(calls) == 2
