"""The ``lipservice_promises`` component: what the copy promises, how specific and how hard.

A trained head finds promise sentences (explicit "we will / we guarantee" and implicit offer
language such as "Free returns within 30 days"); rules read the attributes: strength from
the wording, negation ("we cannot guarantee" is no promise; nor is a section title such as
"What you get"), conditions ("subject to availability"), specificity from normalised
quantities and numeric entities. The theme is the
theme head's, the one complaints are themed with (``theme_model``), or else the nearest theme
description. Each promise goes into ``doc.spans["promises"]``.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span

from .component import SIMILARITY, HeadComponent, check_setting, resolved
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .errors import E_BAD_SETTING, ConfigError
from .extensions import install_extensions
from .heads import save_head
from .perspective_features import features_matrix, lexical_matrix
from .quantities import extract_quantities
from .taxonomy import UNASSIGNED, ThemeMatcher, check_theme_head, decide_themes, load_taxonomy, save_taxonomy

HEAD_FILE = "promises.skops"
SPANS_KEY = "promises"
NUMERIC_ENTS = {"DATE", "TIME", "MONEY", "PERCENT", "QUANTITY", "CARDINAL"}

ABSOLUTE = re.compile(r"\b100\s?%|\b(always|never|guarantee[ds]?|guaranteeing|100 percent|every|all|any ?time|"
                      r"money[- ]back|or your money back|without exception|no matter what|unconditional(ly)?|"
                      r"full refund|whatever happens|each and every)\b", re.I)
HEDGED = re.compile(r"\b(strive[sd]?|striving|aim(s|ed|ing)?|(we|i|we'll|i'll) (will )?try|tries|trying|seek(s|ing)?|"
                    r"(?-i:may|might)|hope[sd]?|"
                    r"endeavou?r(s|ing)?|aspire[sd]?|where(ver)? possible|usually|typically|generally|normally|"
                    r"in most cases|intend(s|ed)?|work(ing)? (hard )?to|do our best|our best to|could|should|"
                    r"expect to|plan(s|ning)? to|ambition)\b", re.I)
NEGATED = re.compile(r"\b(can ?not|can't|cannot|unable to|not able to|do not|don't|does not|doesn't|won't be able to|"
                     r"are not in a position to|no longer|will not|won't)\s+(always\s+)?(guarantee|promise|commit|ensure|"
                     r"assure|warrant|offer|provide|refund)|\bno guarantee|\bnot guaranteed|\bwithout guarantee", re.I)
CONDITIONAL = re.compile(r"\b(if|unless|provided( that)?|as long as|subject to|where(ver)? (you|we|a|an|the|seats?|stock|"
                         r"available|possible)|when you|once you|on orders?|orders? (over|above)|over [£$€]|spend [£$€]?\d|"
                         r"up to|for the first|with (a|your) (valid|receipt|student|membership)|order (by|before)|"
                         r"book (by|before)|terms( and conditions)? apply|t&cs? apply|conditions apply|excluding|except|"
                         r"eligible|(?<!team )members|subscribers|students|while stocks last|minimum spend|selected|"
                         r"on (\w+ )?(fares?|plans?|tariffs?|services|accounts?|bookings made)|from \d{1,2} \w+|"
                         r"within the (guarantee|warranty) period|at least \d+ \w+ before)\b", re.I)
EXPLICIT = re.compile(r"\b(will|'ll|shall|guarantee[ds]?|promise[sd]?|commit(ted|ment)?s?|pledge[sd]?|ensure|assure|"
                      r"vow|undertake)\b", re.I)
OFFER = re.compile(r"\b(free|no (hidden|extra|exit|setup|booking) (fees?|charges?|costs?)|no fees?|cancel any ?time|"
                   r"24\s?/\s?7|money[- ]back|refund|price match|next[- ]day|same[- ]day|within|or your money back|"
                   r"included|get|you'll|enjoy|save|off|discount|warranty|cover(s|ed)?|support)\b", re.I)
PAST = re.compile(r"\b(was|were|did|had|delivered|reduced|achieved|launched|opened|served|won|last year|in 20\d\d)\b", re.I)
CUE_NAMES = ("explicit", "offer", "absolute", "hedged", "negated", "conditional", "quantities", "past", "question",
             "first_plural", "second_person")

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "models/promises.skops",  # relative paths are taken from the project root
    "taxonomy": "corpora/taxonomy.yaml",
    "threshold": 0.5,
    "theme_min_similarity": 0.2,
    "theme_model": "models/themes.skops",
    "theme_min_p": 0.35,
    "entities": "ner",
}


def promise_cues(sent: Span) -> np.ndarray:
    """Wording cues of commitment (see ``CUE_NAMES``), as floats."""
    text = _plain(sent.text)
    low = text.lower()
    cues = {
        "explicit": bool(EXPLICIT.search(text)),
        "offer": bool(OFFER.search(text)),
        "absolute": bool(ABSOLUTE.search(text)),
        "hedged": bool(HEDGED.search(text)),
        "negated": bool(NEGATED.search(text)),
        "conditional": bool(CONDITIONAL.search(text)),
        "quantities": bool(extract_quantities(text)),
        "past": bool(PAST.search(text)),
        "question": text.rstrip().endswith("?"),
        "first_plural": bool(re.search(r"\b(we|our|us)\b", low)),
        "second_person": bool(re.search(r"\b(you|your)\b", low)),
    }
    return np.fromiter((float(cues[k]) for k in CUE_NAMES), dtype=np.float32, count=len(CUE_NAMES))


def said_part(sent: Span) -> Span:
    """The sentence without the handles a reply opens with (``@anna @shop We'll look into it.``): they say
    whom it is addressed to, not what it commits to, and the parser reads them as verbs. A handle-led first
    line (a greeting, an apology) made any sentence opening with one read as no promise."""
    doc, start = sent.doc, sent.start
    while start < sent.end and (_HANDLE.fullmatch(doc[start].text) or doc[start].is_space
                                or (start > sent.start and doc[start].text in ",:")):
        start += 1
    return sent if start in (sent.start, sent.end) else doc[start:sent.end]


_HANDLE = re.compile(r"@\w{1,30}")


def promise_matrix(sents: list[Span], encoder: SentenceEncoder):
    """[embedding | parse features | commitment cues | hashed word_role tokens] (sparse CSR), of each
    sentence's said part (:func:`said_part`)."""
    from scipy.sparse import csr_matrix, hstack

    sents = [said_part(s) for s in sents]
    cues = np.stack([promise_cues(s) for s in sents])
    dense = np.hstack([encoder.encode([s.text.strip() for s in sents]), features_matrix(sents), cues])
    return hstack([csr_matrix(dense), lexical_matrix(sents)]).tocsr()


def _plain(text: str) -> str:
    """Typographic apostrophes as plain ones, so "can’t" reads like "can't"."""
    return text.replace("’", "'").replace("‘", "'")


def strength_of(text: str) -> str:
    """hedged beats absolute ("we strive to always ..." is hedged); otherwise firm."""
    text = _plain(text)
    if HEDGED.search(text):
        return "hedged"
    if ABSOLUTE.search(text):
        return "absolute"
    return "firm"


_CHECKABLE = re.compile(r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|"
                        r"forty|fifty|sixty|ninety|hundred|half|dozen|monday|tuesday|wednesday|thursday|friday|saturday|"
                        r"sunday|mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|january|february|march|april|may|june|july|august|september|october|november|"
                        r"december|midnight|noon|same[- ]day|next[- ](working )?day)\b", re.I)


def entity_could_decide(text: str, quantities: list[dict]) -> bool:
    """Only a text without quantities but with a number or a named day can be made specific by an entity."""
    return not quantities and bool(_CHECKABLE.search(text))


def specificity_of(text: str, quantities: list[dict],
                   entities: Iterable[Span] | Callable[[], Iterable[Span]] = ()) -> str:
    """specific when it can be checked: a normalised quantity, a numeric entity with a number or a
    named day in it ("every day" and "today" are DATE entities but check nothing), or a named
    scope ("in writing", "mainland UK"). ``entities`` may be a callable: it is only called when
    the text holds a checkable word, the only case in which an entity can decide."""
    if quantities:
        return "specific"
    if entity_could_decide(text, quantities):
        ents = entities() if callable(entities) else entities
        if any(e.label_ in NUMERIC_ENTS and _CHECKABLE.search(e.text) for e in ents):
            return "specific"
    if re.search(r"\b(in writing|by (email|text|phone)|mainland|same[- ]day|next[- ](working )?day)\b", text, re.I):
        return "specific"
    return "vague"


def is_negated(text: str) -> bool:
    """"We cannot guarantee ..." withdraws the commitment: not a promise."""
    return bool(NEGATED.search(_plain(text)))


#: A section title that names a topic with a wh-clause ("What you get", "How it works", "Why choose us"):
#: no sentence end, no comma, a few words. It heads what the page promises and promises nothing itself.
SECTION_TITLE = re.compile(r"(what|how|why|who|where|when|which)\b[^.!?,;:]*:?", re.I)
SECTION_TITLE_WORDS = 7


def is_section_title(text: str) -> bool:
    """"What you get" above a list of offers reads like one (0.81); a title is not a promise."""
    text = _plain(text).strip()
    return bool(SECTION_TITLE.fullmatch(text)) and len(text.split()) <= SECTION_TITLE_WORDS


def is_conditional(text: str) -> bool:
    return bool(CONDITIONAL.search(_plain(text)))


class PromisesComponent(HeadComponent):
    """Finds promise sentences and writes ``doc.spans["promises"]`` with ``span._.promise``."""

    head_file = HEAD_FILE
    missing_hint = "run `lipservice train --task promises`"

    #: Where a saved pipeline keeps the theme head and the taxonomy beside the promise head.
    theme_head_file = "themes.skops"
    taxonomy_file = "taxonomy.yaml"
    needs = ("parse", "lemmas", "perspective")
    head_classes = (False, True)

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, taxonomy: str,
                 threshold: float, theme_min_similarity: float, entities: str = "ner", theme_model: str = "",
                 theme_min_p: float = 0.35) -> None:
        install_extensions()
        super().__init__(name, model)
        self.encoder = encoder
        self.threshold = check_setting(name, "threshold", threshold, DEFAULT_CONFIG["threshold"])
        theme_min_p = check_setting(name, "theme_min_p", theme_min_p, DEFAULT_CONFIG["theme_min_p"])
        theme_min_similarity = check_setting(name, "theme_min_similarity", theme_min_similarity,
                                             DEFAULT_CONFIG["theme_min_similarity"], SIMILARITY)
        # The theme head the complaints are themed with (``lipservice_themes``), so that a promise and a
        # complaint about the same thing get the same theme; without one, the nearest theme description.
        self.theme_model = resolved(theme_model)
        self.theme_min_p = theme_min_p
        self.theme_head = None
        # The entity recogniser, run on demand on the few promise sentences where an entity can
        # decide specificity; used only when the Doc carries no entities of its own.
        if entities and entities not in nlp.component_names:  # specificity would be judged without dates, in silence
            raise ConfigError(f"components.{name}.entities = {entities!r}: the pipeline has no such component "
                              f"(it has {', '.join(nlp.component_names)}); name its entity recogniser, or set "
                              "entities = \"\" to judge specificity from the wording and quantities alone",
                              code=E_BAD_SETTING)
        self.entity_recognizer = nlp.get_pipe(entities) if entities else None
        self.taxonomy_path = resolved(taxonomy)
        self.theme_min_similarity = theme_min_similarity
        self._themes: ThemeMatcher | None = None  # read on first use: a saved pipeline brings its own copy

    @property
    def themes(self) -> ThemeMatcher:
        """The taxonomy's themes, read from ``taxonomy`` on first use."""
        if self._themes is None:
            if not self.taxonomy_path:
                raise ConfigError(f"the {self.name} component needs `taxonomy` (corpora/taxonomy.yaml) in config.cfg")
            self._themes = ThemeMatcher(load_taxonomy(self.taxonomy_path), self.encoder, self.theme_min_similarity)
        return self._themes

    def check_files(self) -> None:
        super().check_files()
        self.themes  # noqa: B018 - reads and validates the taxonomy now
        if self.theme_head is None and self.theme_model and not Path(self.theme_model).is_file():
            self.load_setting(self.theme_model, "theme_model")

    def _require(self):
        self.themes  # noqa: B018 - a missing taxonomy is the first thing to say
        return self.require_head()

    def predict(self, docs: list[Doc]) -> list[list[dict[str, Any] | None]]:
        """Per doc, per sentence: the promise dict or None. Docs are not modified."""
        head = self._require()
        sents = [s for doc in docs for s in doc.sents]
        if not sents:  # explicit branch: nothing to encode
            return [[] for _ in docs]
        X = promise_matrix(sents, self.encoder)
        self.check_width(head, X)
        p = head.predict_proba(X)[:, list(head.classes_).index(True)]
        # what the sentence says, as the head read it: a reply's handles are no theme (and encoded already)
        themes = self.themes_of(self.encoder.encode([said_part(s).text.strip() for s in sents]))
        out, pending, i = [], [], 0
        for doc in docs:
            row = []
            for sent in doc.sents:
                promise = self._attributes(sent, float(p[i]), themes[i])
                if promise and promise["specificity"] == "vague" and entity_could_decide(promise["text"],
                                                                                        promise["quantities"]):
                    pending.append((promise, sent))
                row.append(promise)
                i += 1
            out.append(row)
        # Entities can still make these specific: one recogniser call for the whole batch.
        for (promise, _), found in zip(pending, self.entities_of([sent for _, sent in pending])):
            promise["specificity"] = specificity_of(promise["text"], promise["quantities"], found)
        return out

    def require_theme_head(self):
        """The theme head ``theme_model`` names, loaded on first use; None when it names none."""
        if self.theme_head is None and self.theme_model:
            self.theme_head = self.load_setting(self.theme_model, "theme_model")
        return self.theme_head

    def themes_of(self, embeddings: np.ndarray) -> list[tuple[str | None, float]]:
        """(theme or None, similarity) per sentence embedding: the theme head's theme when it is sure
        enough (``theme_min_p``), else None; without a head, the nearest description at
        ``theme_min_similarity`` or more. The similarity is to the theme given, or, with none, the best."""
        head = self.require_theme_head()
        if head is None or not len(embeddings):
            return self.themes.assign(embeddings)
        sims = embeddings @ self.themes.centroids().T
        X = np.hstack([embeddings, sims])
        check_theme_head(head, self.themes.themes)  # names a changed taxonomy, before the count of columns
        self.check_width(head, X, "theme_model")
        decided = decide_themes(head, self.themes, self.theme_min_p, X)
        column = {t.id: k for k, t in enumerate(self.themes.themes)}
        return [(None, round(float(row.max()), 4)) if theme == UNASSIGNED
                else (theme, round(float(row[column[theme]]), 4)) for (theme, _, _), row in zip(decided, sims)]

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """The promise head, the theme head when one is configured, and the taxonomy, in ``path``: a
        saved pipeline carries what it themes with, so editing corpora/taxonomy.yaml later leaves it be."""
        super().to_disk(path, exclude=exclude)
        if self.require_theme_head() is not None:
            save_head(self.theme_head, Path(path) / self.theme_head_file)
        else:  # an earlier save's theme head in the same directory would be loaded as this one's
            (Path(path) / self.theme_head_file).unlink(missing_ok=True)
        save_taxonomy(self.themes.themes, Path(path) / self.taxonomy_file)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "PromisesComponent":
        super().from_disk(path, exclude=exclude)
        self.theme_model, self.theme_head = "", None
        if (Path(path) / self.theme_head_file).is_file():
            self.theme_model = str(Path(path) / self.theme_head_file)
            self.theme_head = self.load_setting(self.theme_model, "theme_model")
        if (Path(path) / self.taxonomy_file).is_file():  # a save made before it carried one names it in its config
            self.taxonomy_path, self._themes = str(Path(path) / self.taxonomy_file), None
        self.themes  # noqa: B018 - read now, while the saved directory is certainly there
        return self

    def _attributes(self, sent: Span, p: float, theme: tuple[str | None, float]) -> dict[str, Any] | None:
        text = sent.text.strip()
        if p < self.threshold or is_negated(text) or is_section_title(text) or not text:
            return None
        quantities = extract_quantities(text)
        return {
            "text": text,
            "theme": theme[0],
            "theme_similarity": theme[1],
            "specificity": specificity_of(text, quantities),  # entities are looked at by predict
            "strength": strength_of(text),
            "conditional": is_conditional(text),
            "quantities": quantities,
            "perspective": sent._.perspective,
            "p": round(p, 4),
        }

    def entities_of(self, spans: list[Span]) -> list[tuple[Span, ...]]:
        """Each span's entities: the Doc's own when an entity recogniser ran over it, else those of
        the recogniser run on copies of the spans, all in one batch (the Docs are not modified)."""
        out: list[tuple[Span, ...]] = [tuple(s.ents) for s in spans]
        todo = [k for k, s in enumerate(spans) if not s.doc.has_annotation("ENT_IOB")]
        if todo and self.entity_recognizer is not None:
            copies = self.entity_recognizer.pipe([spans[k].as_doc() for k in todo], batch_size=max(1, len(todo)))
            for k, doc in zip(todo, copies):
                out[k] = tuple(doc.ents)
        return out

    def entities(self, span: Span) -> tuple[Span, ...]:
        """One span's entities (see ``entities_of``)."""
        return self.entities_of([span])[0]

    def set_annotations(self, docs: list[Doc], predictions: list[list[dict[str, Any] | None]]) -> None:
        for doc, row in zip(docs, predictions):
            spans = []
            for sent, promise in zip(doc.sents, row):
                sent._.promise = promise
                if promise is not None:
                    span = Span(doc, sent.start, sent.end, label="PROMISE")
                    spans.append(span)
            doc.spans[SPANS_KEY] = spans


@Language.factory("lipservice_promises", default_config=DEFAULT_CONFIG,
                  assigns=["doc.spans", "span._.promise"],
                  requires=["doc.sents", "token.dep", "token.lemma", "token.tag",
                            "span._.perspective"])
def make_promises(nlp: Language, name: str, encoder: SentenceEncoder, model: str, taxonomy: str,
                  threshold: float, theme_min_similarity: float, theme_model: str, theme_min_p: float,
                  entities: str) -> PromisesComponent:
    return PromisesComponent(nlp, name, encoder, model, taxonomy, threshold, theme_min_similarity, entities,
                             theme_model, theme_min_p)
