"""The ``lipservice_claims`` component: customer-centricity claims and which are lip service.

A claim is found by a lemma lexicon (``corpora/lexicons/claims.txt``, spaCy PhraseMatcher)
or by a trained head over the sentence embedding for paraphrases the lexicon misses ("we
treat every customer like family"). A claim is substantiated when a specific promise backs
it in the same sentence or paragraph; otherwise, said from the company's side, it is lip
service, with machine-readable reasons.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span

from .component import HeadComponent, carries_text, check_count, check_setting, resolved
from .decoding import bom_encoding
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .errors import ConfigError
from .extensions import install_extensions
from .perspective_features import features_matrix, lexical_matrix
from .segment import ParagraphBreaks, paragraph_ids

HEAD_FILE = "claims.skops"
SPANS_KEY = "claims"
REASONS = ("company_perspective", "no_concrete_commitment", "buzzword_density", "contradicted_by_complaints")
LEMMA_PIPES = ("tok2vec", "tagger", "attribute_ruler", "lemmatizer")

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "models/claims.skops",  # relative paths are taken from the project root
    "lexicon": "corpora/lexicons/claims.txt",
    "buzzwords": "corpora/lexicons/buzzwords.txt",
    "threshold": 0.5,
    "buzzwords_per_sentence": 2,
    "buzzwords_per_paragraph": 3,
}


def read_phrases(path: str | Path) -> list[str]:
    """Phrases of a lexicon file: one per line, ``#`` comments and blank lines skipped."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; set the component's lexicon path to a text file of phrases")
    if not path.is_file():
        raise ConfigError(f"{path}: lexicon file not found; set the component's lexicon path in config.cfg")
    data = path.read_bytes()
    encoding = bom_encoding(data)  # Notepad's byte-order mark and "Unicode" (UTF-16) too
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: byte {err.start} is not {encoding.upper()}; save the lexicon as UTF-8") from None
    phrases = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    phrases = [p for p in phrases if p]
    if not phrases:
        raise ConfigError(f"{path}: lexicon is empty; add one phrase per line")
    return phrases


class Lexicon:
    """Phrases matched on lemmas (so "customers come first" also finds "the customer comes first")."""

    def __init__(self, nlp: Language, phrases: list[str]) -> None:
        self.nlp = nlp
        self.phrases = phrases
        self._matcher: PhraseMatcher | None = None

    def matcher(self) -> PhraseMatcher:
        if self._matcher is None:  # built lazily: the lemmatizer must be loaded first
            matcher = PhraseMatcher(self.nlp.vocab, attr="LEMMA")
            enabled = [p for p in LEMMA_PIPES if p in self.nlp.pipe_names]
            with self.nlp.select_pipes(enable=enabled):
                patterns = [d for d in self.nlp.pipe([p.lower() for p in self.phrases])]
            matcher.add("LEXICON", patterns)
            self._matcher = matcher
        return self._matcher

    def counts(self, doc: Doc) -> list[int]:
        """Matches per sentence of ``doc``."""
        matches = self.matcher()(doc)
        out = []
        for sent in doc.sents:
            out.append(sum(1 for _, s, e in matches if s >= sent.start and e <= sent.end))
        return out


def claim_matrix(sents: list[Span], encoder: SentenceEncoder, lexicon_hits: list[int], buzz: list[int]):
    """[embedding | parse features | lexicon hits, buzzwords | hashed word_role tokens] (sparse CSR)."""
    from scipy.sparse import csr_matrix, hstack

    extra = np.array([[min(h, 3), min(b, 5)] for h, b in zip(lexicon_hits, buzz)], dtype=np.float32)
    dense = np.hstack([encoder.encode([s.text.strip() for s in sents]), features_matrix(sents), extra])
    return hstack([csr_matrix(dense), lexical_matrix(sents)]).tocsr()


def lip_service_verdict(perspective: str | None, substantiated: bool, buzz_sentence: int, buzz_paragraph: int,
                        per_sentence: int = 2, per_paragraph: int = 3) -> tuple[bool, list[str]]:
    """Lip service: no specific promise in the sentence or paragraph and said from the company's
    side (or drowned in buzzwords). Returns (verdict, reasons) — reasons only when it is lip service."""
    reasons = []
    if perspective != "customer":
        reasons.append("company_perspective")
    if not substantiated:
        reasons.append("no_concrete_commitment")
    if buzz_sentence >= per_sentence or buzz_paragraph >= per_paragraph:
        reasons.append("buzzword_density")
    lip = not substantiated and ("company_perspective" in reasons or "buzzword_density" in reasons)
    return lip, (reasons if lip else [])


class ClaimsComponent(HeadComponent):
    """Writes ``doc.spans["claims"]`` and ``span._.claim`` = {text, lip_service, reasons, ...}."""

    head_file = HEAD_FILE
    missing_hint = "run `lipservice train --task claims`"
    head_classes = (False, True)
    #: Where a saved pipeline keeps the two lexicons beside the head.
    lexicon_files = {"lexicon": "claims.txt", "buzzwords": "buzzwords.txt"}
    needs = ("parse", "lemmas", "perspective", "promises")

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, lexicon: str,
                 buzzwords: str, threshold: float, buzzwords_per_sentence: int, buzzwords_per_paragraph: int):
        install_extensions()
        super().__init__(name, model)
        self.nlp = nlp
        self.encoder = encoder
        self.threshold = check_setting(name, "threshold", threshold, DEFAULT_CONFIG["threshold"])
        self.per_sentence = check_count(name, "buzzwords_per_sentence", buzzwords_per_sentence,
                                        DEFAULT_CONFIG["buzzwords_per_sentence"])
        self.per_paragraph = check_count(name, "buzzwords_per_paragraph", buzzwords_per_paragraph,
                                         DEFAULT_CONFIG["buzzwords_per_paragraph"])
        # read on first use: a saved pipeline brings its own copies
        self.lexicon_paths = {"lexicon": resolved(lexicon), "buzzwords": resolved(buzzwords)}
        self._lexicons: dict[str, Lexicon] = {}

    def _lexicon(self, setting: str) -> Lexicon:
        if setting not in self._lexicons:
            if not self.lexicon_paths[setting]:
                raise ConfigError(f"the {self.name} component needs `{setting}`, a lexicon file, in config.cfg")
            self._lexicons[setting] = Lexicon(self.nlp, read_phrases(self.lexicon_paths[setting]))
        return self._lexicons[setting]

    @property
    def lexicon(self) -> Lexicon:
        """Customer-centricity claim phrases."""
        return self._lexicon("lexicon")

    @property
    def buzzwords(self) -> Lexicon:
        """Buzzwords counted per sentence and paragraph."""
        return self._lexicon("buzzwords")

    @property
    def paragraph_newlines(self) -> int:
        """The newlines that end a paragraph: the pipeline's ``lipservice_paragraphs`` setting, else a blank line."""
        breaks = (pipe for _, pipe in self.nlp.components if isinstance(pipe, ParagraphBreaks))
        return next((pipe.min_newlines for pipe in breaks), ParagraphBreaks().min_newlines)

    def check_files(self) -> None:
        super().check_files()
        self.lexicon, self.buzzwords  # noqa: B018 - read and check both lexicons now

    def _require(self):
        self.lexicon, self.buzzwords  # noqa: B018 - a missing lexicon is the first thing to say
        return self.require_head()

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """The head and both lexicons, in ``path``: a saved pipeline carries the phrases it matches."""
        super().to_disk(path, exclude=exclude)
        for setting, name in self.lexicon_files.items():
            (Path(path) / name).write_text("\n".join(self._lexicon(setting).phrases) + "\n", encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "ClaimsComponent":
        super().from_disk(path, exclude=exclude)
        for setting, name in self.lexicon_files.items():  # a save made before it carried them names them in its config
            if (Path(path) / name).is_file():
                self.lexicon_paths[setting] = str(Path(path) / name)
        self._lexicons = {}
        self.lexicon, self.buzzwords  # noqa: B018 - read now, while the saved directory is certainly there
        return self

    def predict(self, docs: list[Doc]) -> list[list[dict[str, Any] | None]]:
        """Per doc, per sentence: the claim dict or None. Reads promises; modifies nothing."""
        head = self._require()
        rows = []
        for doc in docs:
            if all(t.is_space for t in doc):  # explicit branch: an empty or blank Doc has nothing to match
                rows.append(([], [], []))
                continue
            hits = self.lexicon.counts(doc)
            buzz = self.buzzwords.counts(doc)
            rows.append((list(doc.sents), hits, buzz))
        sents = [s for r in rows for s in r[0]]
        if not sents:  # explicit branch: empty docs
            return [[] for _ in docs]
        X = claim_matrix(sents, self.encoder, [h for r in rows for h in r[1]], [b for r in rows for b in r[2]])
        self.check_width(head, X)
        p = head.predict_proba(X)[:, list(head.classes_).index(True)]
        out, i, newlines = [], 0, self.paragraph_newlines
        for doc, (doc_sents, hits, buzz) in zip(docs, rows):
            paras = paragraph_ids(doc, newlines)
            backed: dict[int, bool] = {}
            buzz_para: dict[int, int] = {}
            for sent, para, b in zip(doc_sents, paras, buzz):
                promise = sent._.promise
                if promise and promise["specificity"] == "specific":
                    backed[para] = True
                buzz_para[para] = buzz_para.get(para, 0) + b
            result = []
            for sent, para, hit, b in zip(doc_sents, paras, hits, buzz):
                prob = float(p[i])
                i += 1
                # a plain customer-side offer with a checkable commitment ("You get £30 if we miss
                # the appointment") is a promise, not a claim about the company's orientation
                plain_offer = sent._.perspective == "customer" and bool(sent._.promise) and \
                    sent._.promise["specificity"] == "specific"
                found = hit or (prob >= self.threshold and not plain_offer)
                if not found or not carries_text(sent):
                    result.append(None)
                    continue
                substantiated = backed.get(para, False)
                lip, reasons = lip_service_verdict(sent._.perspective, substantiated, b, buzz_para[para],
                                                   self.per_sentence, self.per_paragraph)
                result.append({"text": sent.text.strip(), "lip_service": lip, "reasons": reasons,
                               "substantiated": substantiated, "lexicon": bool(hit), "p": round(prob, 4),
                               "paragraph": para})
            out.append(result)
        return out

    def set_annotations(self, docs: list[Doc], predictions: list[list[dict[str, Any] | None]]) -> None:
        for doc, row in zip(docs, predictions):
            spans = []
            for sent, claim in zip(doc.sents if row else (), row):
                sent._.claim = claim
                if claim is not None:
                    spans.append(Span(doc, sent.start, sent.end, label="LIP_SERVICE" if claim["lip_service"] else "CLAIM"))
            doc.spans[SPANS_KEY] = spans


@Language.factory("lipservice_claims", default_config=DEFAULT_CONFIG,
                  assigns=["doc.spans", "span._.claim"],
                  requires=["doc.sents", "token.dep", "token.lemma", "token.tag", "span._.perspective",
                            "span._.promise"])
def make_claims(nlp: Language, name: str, encoder: SentenceEncoder, model: str, lexicon: str, buzzwords: str,
                threshold: float, buzzwords_per_sentence: int, buzzwords_per_paragraph: int) -> ClaimsComponent:
    return ClaimsComponent(nlp, name, encoder, model, lexicon, buzzwords, threshold, buzzwords_per_sentence,
                           buzzwords_per_paragraph)
