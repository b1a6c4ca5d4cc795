"""The ``lipservice_perspective`` component: whose perspective each sentence takes.

Every sentence gets ``._.perspective`` (company | customer | neutral), ``._.perspective_p``
and ``._.perspective_probs``; the Doc gets ``._.customer_share`` and ``._.perspective_counts``.

A logistic head over the shared embedding and parse features scores every sentence; where it
is unsure (its top probability below ``second_opinion_below``), the encoder fine-tuned on the
same sentences (nlp/tuned.py) is asked too and the two distributions are averaged.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from .component import TunedHeadComponent, check_digits, check_setting, per_doc, text_sentences
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .extensions import install_extensions
from .heads import PERSPECTIVE_LABELS
from .perspective_features import features_matrix, lexical_matrix
from .scores import customer_share

HEAD_FILE = "perspective.skops"
TUNED_FILE = "perspective_tuned.skops"

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "models/perspective.skops",  # relative paths are taken from the project root
    "tuned_model": "models/perspective_tuned.skops",
    "second_opinion_below": 0.95,
    "round_digits": 4,
}


def design_matrix(sents: list, encoder: SentenceEncoder):
    """[embedding | parse features | hashed word_role tokens] per sentence span (sparse CSR):
    the one input layout of the head, shared by training and prediction."""
    from scipy.sparse import csr_matrix, hstack

    dense = np.hstack([encoder.encode([s.text.strip() for s in sents]), features_matrix(sents)])
    return hstack([csr_matrix(dense), lexical_matrix(sents)]).tocsr()


def perspective_probabilities(head, X, tuned, texts: Sequence[str], below: float) -> np.ndarray:
    """The head's distribution (n × ``head.classes_``); where its top probability is below ``below``
    it is averaged with the fine-tuned classifier's. What the component and training both compute."""
    p = head.predict_proba(X)
    if tuned is None:
        return p
    unsure = np.flatnonzero(p.max(axis=1) < below)
    if len(unsure):
        order = [list(tuned.classes_).index(c) for c in head.classes_]  # the head's column order
        q = tuned.predict_proba([texts[i] for i in unsure])[:, order]
        p = p.copy()
        p[unsure] = (p[unsure] + q) / 2
    return p


class PerspectiveComponent(TunedHeadComponent):
    """Predicts from the sentence embedding plus parse features, with a fine-tuned second
    opinion where the head is unsure; writes Span/Doc extensions."""

    head_file = HEAD_FILE
    tuned_file = TUNED_FILE
    missing_hint = "run `lipservice train --task perspective`"
    head_classes = PERSPECTIVE_LABELS
    needs = ("parse", "lemmas")  # the parse features read both

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, tuned_model: str,
                 second_opinion_below: float, round_digits: int) -> None:
        install_extensions()
        super().__init__(name, model, tuned_model)
        self.encoder = encoder
        # 0 never asks the second opinion, 1 always asks
        self.second_opinion_below = check_setting(name, "second_opinion_below", second_opinion_below,
                                                  DEFAULT_CONFIG["second_opinion_below"])
        self.round_digits = check_digits(name, round_digits, DEFAULT_CONFIG["round_digits"])

    def predict(self, docs: list[Doc]) -> list[np.ndarray]:
        """Probabilities (n_sents × labels) per doc, for all sentences of the batch at once. Docs untouched."""
        head = self.require_head()
        sents = [s for doc in docs for s in text_sentences(doc)]
        if not sents:  # explicit branch: empty or blank docs have nothing to encode
            return [np.zeros((0, len(head.classes_))) for _ in docs]
        tuned = self.require_tuned()  # first: it asks the encoder to keep the hidden states it reads
        X = design_matrix(sents, self.encoder)
        self.check_width(head, X)
        p = perspective_probabilities(head, X, tuned, [s.text.strip() for s in sents], self.second_opinion_below)
        return per_doc(docs, np.round(p, self.round_digits))

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
                  assigns=["span._.perspective", "span._.perspective_p", "span._.perspective_probs",
                           "doc._.customer_share", "doc._.perspective_counts"],
                  requires=["doc.sents", "token.dep", "token.lemma", "token.tag"])
def make_perspective(nlp: Language, name: str, encoder: SentenceEncoder, model: str, tuned_model: str,
                     second_opinion_below: float, round_digits: int) -> PerspectiveComponent:
    return PerspectiveComponent(nlp, name, encoder, model, tuned_model, second_opinion_below, round_digits)
