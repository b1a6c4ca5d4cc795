"""The ``lipservice_complaints`` component: which sentences state a breach of expectations.

A complaint is reality falling short of what the writer expected from the company, not mere
negativity (DESIGN.md). Every sentence gets ``._.complaint_p``; sentences at or above the
threshold go into ``doc.spans["complaints"]``; the Doc gets ``._.complaint_p`` (its most
likely complaint sentence) and ``._.complaint_rate`` (share of complaint sentences).

Two models decide: a logistic head over the shared embedding and parse features scores every
sentence; where it is unsure (a probability inside ``second_opinion``), a transformer fine-tuned
on the same sentences (nlp/tuned.py) is asked too and the two probabilities are averaged.
Confident sentences, most of any corpus, cost no second transformer pass.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span

from .component import TunedHeadComponent, check_digits, check_setting, per_doc, text_sentences
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .errors import E_BAD_SETTING, ConfigError
from .extensions import install_extensions
from .perspective import design_matrix

HEAD_FILE = "complaints.skops"
TUNED_FILE = "complaints_tuned.skops"
SPANS_KEY = "complaints"

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "models/complaints.skops",  # relative paths are taken from the project root
    "tuned_model": "models/complaints_tuned.skops",
    "second_opinion": [0.1, 0.9],
    "threshold": 0.5,
    "round_digits": 4,
}

#: The complaint head reads the same columns as the perspective head: [embedding | parse | word_role].
complaint_matrix = design_matrix


def complaint_probability(head, X, tuned, texts: Sequence[str], second_opinion: Sequence[float]) -> np.ndarray:
    """The head's complaint probability; strictly inside ``second_opinion`` (low, high) it is averaged
    with the fine-tuned classifier's. What the component, training and the benchmark all compute."""
    p = head.predict_proba(X)[:, list(head.classes_).index(True)]
    if tuned is None:
        return p
    low, high = second_opinion
    unsure = np.flatnonzero((p > low) & (p < high))
    if len(unsure):
        q = tuned.predict_proba([texts[i] for i in unsure])[:, list(tuned.classes_).index(True)]
        p = p.copy()
        p[unsure] = (p[unsure] + q) / 2
    return p


class ComplaintsComponent(TunedHeadComponent):
    """Scores every sentence; writes ``span._.complaint_p`` and ``doc.spans["complaints"]``."""

    head_file = HEAD_FILE
    tuned_file = TUNED_FILE
    missing_hint = "run `lipservice train --task complaints`"
    head_classes = (False, True)
    needs = ("parse", "lemmas")  # the parse features read both

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, tuned_model: str,
                 second_opinion: Sequence[float], threshold: float, round_digits: int) -> None:
        install_extensions()
        super().__init__(name, model, tuned_model)
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in second_opinion)
        if len(second_opinion) != 2 or not numbers or not 0.0 <= second_opinion[0] <= second_opinion[1] <= 1.0:
            raise ConfigError(f"components.{name}.second_opinion = {list(second_opinion)}: must be [low, high] "
                              "with 0 <= low <= high <= 1 (the default is [0.1, 0.9]; [0.5, 0.5] never asks); "
                              "fix it in config.cfg or with --set", code=E_BAD_SETTING)
        self.encoder = encoder
        self.second_opinion = (float(second_opinion[0]), float(second_opinion[1]))
        self.threshold = check_setting(name, "threshold", threshold, DEFAULT_CONFIG["threshold"])
        self.round_digits = check_digits(name, round_digits, DEFAULT_CONFIG["round_digits"])

    def predict(self, docs: list[Doc]) -> list[np.ndarray]:
        """Complaint probability per non-blank sentence, per doc. Docs are not modified."""
        head = self.require_head()
        sents = [s for doc in docs for s in text_sentences(doc)]
        if not sents:  # explicit branch: empty or blank docs have nothing to score
            return [np.zeros(0) for _ in docs]
        tuned = self.require_tuned()  # first: it asks the encoder to keep the hidden states it reads
        X = complaint_matrix(sents, self.encoder)
        self.check_width(head, X)
        p = complaint_probability(head, X, tuned, [s.text.strip() for s in sents], self.second_opinion)
        return per_doc(docs, np.round(p, self.round_digits))

    def set_annotations(self, docs: list[Doc], predictions: list[np.ndarray]) -> None:
        for doc, probs in zip(docs, predictions):
            spans = []
            for sent, p in zip(text_sentences(doc), probs):
                sent._.complaint_p = float(p)
                if p >= self.threshold:
                    spans.append(Span(doc, sent.start, sent.end, label="COMPLAINT"))
            doc.spans[SPANS_KEY] = spans
            doc._.complaint_p = float(probs.max()) if len(probs) else None
            doc._.complaint_rate = round(len(spans) / len(probs), 4) if len(probs) else None


@Language.factory("lipservice_complaints", default_config=DEFAULT_CONFIG,
                  assigns=["span._.complaint_p", "doc._.complaint_p", "doc._.complaint_rate", "doc.spans"],
                  requires=["doc.sents", "token.dep", "token.lemma", "token.tag"])
def make_complaints(nlp: Language, name: str, encoder: SentenceEncoder, model: str, tuned_model: str,
                    second_opinion: list[float], threshold: float, round_digits: int) -> ComplaintsComponent:
    return ComplaintsComponent(nlp, name, encoder, model, tuned_model, second_opinion, threshold, round_digits)
