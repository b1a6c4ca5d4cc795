"""The ``lipservice_complaints`` component: which sentences state a breach of expectations.

A complaint is reality falling short of what the writer expected from the company, not mere
negativity (DESIGN.md). Every sentence gets ``._.complaint_p``; sentences at or above the
threshold go into ``doc.spans["complaints"]``; the Doc gets ``._.complaint_p`` (its most
likely complaint sentence) and ``._.complaint_rate`` (share of complaint sentences).
"""
from __future__ import annotations

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from .component import HeadComponent, per_doc, text_sentences
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .extensions import install_extensions
from .perspective import design_matrix

HEAD_FILE = "complaints.skops"
SPANS_KEY = "complaints"

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "",
    "threshold": 0.5,
    "round_digits": 4,
}

#: The complaint head reads the same columns as the perspective head: [embedding | parse | word_role].
complaint_matrix = design_matrix


class ComplaintsComponent(HeadComponent):
    """Scores every sentence; writes ``span._.complaint_p`` and ``doc.spans["complaints"]``."""

    head_file = HEAD_FILE
    missing_hint = "run `lipservice train --task complaints`"

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, threshold: float,
                 round_digits: int) -> None:
        install_extensions()
        super().__init__(name, model)
        self.encoder = encoder
        self.threshold = threshold
        self.round_digits = round_digits

    def predict(self, docs: list[Doc]) -> list[np.ndarray]:
        """Complaint probability per non-blank sentence, per doc. Docs are not modified."""
        head = self.require_head()
        sents = [s for doc in docs for s in text_sentences(doc)]
        if not sents:  # explicit branch: empty or blank docs have nothing to score
            return [np.zeros(0) for _ in docs]
        p = head.predict_proba(complaint_matrix(sents, self.encoder))[:, list(head.classes_).index(True)]
        return per_doc(docs, np.round(p, self.round_digits))

    def set_annotations(self, docs: list[Doc], predictions: list[np.ndarray]) -> None:
        for doc, probs in zip(docs, predictions):
            spans = []
            for sent, p in zip(text_sentences(doc), probs):
                sent._.complaint_p = float(p)
                if p >= self.threshold:
                    spans.append(doc[sent.start:sent.end])
            doc.spans[SPANS_KEY] = spans
            doc._.complaint_p = float(probs.max()) if len(probs) else None
            doc._.complaint_rate = round(len(spans) / len(probs), 4) if len(probs) else None


@Language.factory("lipservice_complaints", default_config=DEFAULT_CONFIG,
                  assigns=["span._.complaint_p", "doc._.complaint_p", "doc._.complaint_rate", "doc.spans"],
                  requires=["doc.sents"])
def make_complaints(nlp: Language, name: str, encoder: SentenceEncoder, model: str, threshold: float,
                    round_digits: int) -> ComplaintsComponent:
    return ComplaintsComponent(nlp, name, encoder, model, threshold, round_digits)
