"""The ``lipservice_perspective`` component: whose perspective each sentence takes.

Every sentence gets ``._.perspective`` (company | customer | neutral), ``._.perspective_p``
and ``._.perspective_probs``; the Doc gets ``._.customer_share`` and ``._.perspective_counts``.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from .component import HeadComponent, per_doc, text_sentences
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .extensions import install_extensions
from .heads import PERSPECTIVE_LABELS
from .perspective_features import features_matrix, lexical_matrix

HEAD_FILE = "perspective.skops"

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "",
    "round_digits": 4,
}


def design_matrix(sents: list, encoder: SentenceEncoder):
    """[embedding | parse features | hashed word_role tokens] per sentence span (sparse CSR):
    the one input layout of the head, shared by training and prediction."""
    from scipy.sparse import csr_matrix, hstack

    dense = np.hstack([encoder.encode([s.text.strip() for s in sents]), features_matrix(sents)])
    return hstack([csr_matrix(dense), lexical_matrix(sents)]).tocsr()


def customer_share(labels: Iterable[str]) -> float | None:
    """Share of customer sentences among sentences that take a side; None when none does."""
    labels = list(labels)
    sided = sum(lab in ("company", "customer") for lab in labels)
    return round(sum(lab == "customer" for lab in labels) / sided, 4) if sided else None


class PerspectiveComponent(HeadComponent):
    """Predicts from the sentence embedding plus parse features; writes Span/Doc extensions."""

    head_file = HEAD_FILE
    missing_hint = "run `lipservice train --task perspective`"

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, round_digits: int) -> None:
        install_extensions()
        super().__init__(name, model)
        self.encoder = encoder
        self.round_digits = round_digits

    def predict(self, docs: list[Doc]) -> list[np.ndarray]:
        """Probabilities (n_sents × labels) per doc, for all sentences of the batch at once. Docs untouched."""
        head = self.require_head()
        sents = [s for doc in docs for s in text_sentences(doc)]
        if not sents:  # explicit branch: empty or blank docs have nothing to encode
            return [np.zeros((0, len(head.classes_))) for _ in docs]
        return per_doc(docs, np.round(head.predict_proba(design_matrix(sents, self.encoder)), self.round_digits))

    def set_annotations(self, docs: list[Doc], predictions: list[np.ndarray]) -> None:
        classes = [str(c) for c in self.require_head().classes_]
        for doc, probs in zip(docs, predictions):
            labels = []
            # whitespace-only "sentences" (blank lines) take no perspective and are not counted
            for sent, row in zip(text_sentences(doc), probs):
                k = int(np.argmax(row))  # ties go to the first label, deterministically
                sent._.perspective = classes[k]
                sent._.perspective_p = float(row[k])
                sent._.perspective_probs = {c: float(p) for c, p in zip(classes, row)}
                labels.append(classes[k])
            doc._.perspective_counts = {c: labels.count(c) for c in PERSPECTIVE_LABELS}
            doc._.customer_share = customer_share(labels)


@Language.factory("lipservice_perspective", default_config=DEFAULT_CONFIG,
                  assigns=["span._.perspective", "span._.perspective_p", "doc._.customer_share"],
                  requires=["doc.sents"])
def make_perspective(nlp: Language, name: str, encoder: SentenceEncoder, model: str,
                     round_digits: int) -> PerspectiveComponent:
    return PerspectiveComponent(nlp, name, encoder, model, round_digits)
