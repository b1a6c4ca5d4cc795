"""Complaint themes: the ``lipservice_themes`` component and theme discovery.

Each complaint sentence gets a theme from ``corpora/taxonomy.yaml``: a trained head reads the
sentence embedding and its similarity to every theme's description and seed phrases. Below
``min_p`` the sentence is ``unassigned`` with a reason — never a silent bucket. Corpus-level
:func:`discover_themes` clusters unassigned complaints (agglomerative clustering on the
embeddings, deterministic) and labels each cluster with its most distinctive lemmas and
noun chunks (class-based TF-IDF).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span

from .component import SIMILARITY, HeadComponent, check_setting, resolved
from .encoder import ENCODER_CONFIG, SentenceEncoder
from .errors import E_NEEDS_INPUT, ConfigError
from .extensions import install_extensions
from .taxonomy import ThemeMatcher, check_theme_head, decide_themes, load_taxonomy, save_taxonomy, theme_matrix

HEAD_FILE = "themes.skops"
TAXONOMY_FILE = "taxonomy.yaml"

DEFAULT_CONFIG = {
    "encoder": ENCODER_CONFIG,
    "model": "models/themes.skops",  # relative paths are taken from the project root
    "taxonomy": "corpora/taxonomy.yaml",
    "spans_key": "complaints",
    "min_p": 0.35,
    "min_similarity": 0.2,
}


class ThemesComponent(HeadComponent):
    """Writes ``span._.theme``, ``._.theme_p`` and ``._.theme_reason`` on complaint spans."""

    head_file = HEAD_FILE
    missing_hint = "run `lipservice train --task complaints`"

    def __init__(self, nlp: Language, name: str, encoder: SentenceEncoder, model: str, taxonomy: str,
                 spans_key: str, min_p: float, min_similarity: float) -> None:
        install_extensions()
        super().__init__(name, model)
        if not taxonomy:
            raise ConfigError(f"the {name} component needs `taxonomy` (corpora/taxonomy.yaml) in config.cfg")
        self.encoder = encoder
        self.spans_key = spans_key
        self.min_p = check_setting(name, "min_p", min_p, DEFAULT_CONFIG["min_p"])
        self.min_similarity = check_setting(name, "min_similarity", min_similarity, DEFAULT_CONFIG["min_similarity"],
                                            SIMILARITY)
        self.taxonomy_path = resolved(taxonomy)
        self._matcher: ThemeMatcher | None = None  # read on first use: a saved pipeline brings its own copy

    @property
    def matcher(self) -> ThemeMatcher:
        """The taxonomy's themes, read from ``taxonomy`` on first use."""
        if self._matcher is None:
            self._matcher = ThemeMatcher(load_taxonomy(self.taxonomy_path), self.encoder, self.min_similarity)
        return self._matcher

    def check_files(self) -> None:
        super().check_files()
        self.matcher  # noqa: B018 - reads and validates the taxonomy now

    def check_inputs(self, docs: list[Doc]) -> None:
        """Refuse Docs without the spans it themes: a missing complaints component themed nothing, silently."""
        for doc in docs:
            if self.spans_key not in doc.spans and not all(t.is_space for t in doc):
                raise ConfigError(f"the {self.name} component themes doc.spans[{self.spans_key!r}], and this Doc has "
                                  f"no such spans: add lipservice_complaints before it (or set `spans_key` to the "
                                  f"spans to theme), or use nlp.load()", code=E_NEEDS_INPUT)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """The head and the taxonomy, in ``path``: editing corpora/taxonomy.yaml later leaves a saved pipeline be."""
        super().to_disk(path, exclude=exclude)
        save_taxonomy(self.matcher.themes, Path(path) / TAXONOMY_FILE)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "ThemesComponent":
        super().from_disk(path, exclude=exclude)
        if (Path(path) / TAXONOMY_FILE).is_file():  # a save made before it carried one names it in its config
            self.taxonomy_path, self._matcher = str(Path(path) / TAXONOMY_FILE), None
        self.matcher  # noqa: B018 - read now, while the saved directory is certainly there
        return self

    def predict(self, docs: list[Doc]) -> list[list[tuple[str, float, str | None]]]:
        """(theme or ``unassigned``, confidence, reason) per complaint span, per doc. Docs untouched."""
        spans = [s for doc in docs for s in doc.spans.get(self.spans_key, [])]
        if not spans:  # explicit branch: no complaints in the batch
            return [[] for _ in docs]
        X = theme_matrix([s.text.strip() for s in spans], self.encoder, self.matcher)
        flat = self.decide(X)
        out, i = [], 0
        for doc in docs:
            n = len(doc.spans.get(self.spans_key, []))
            out.append(flat[i:i + n])
            i += n
        return out

    def decide(self, X: np.ndarray) -> list[tuple[str, float, str | None]]:
        head = self.require_head()
        check_theme_head(head, self.matcher.themes)  # names a changed taxonomy, before the count of columns
        self.check_width(head, X)
        return decide_themes(head, self.matcher, self.min_p, X)

    def set_annotations(self, docs: list[Doc], predictions: list[list[tuple[str, float, str | None]]]) -> None:
        for doc, rows in zip(docs, predictions):
            for span, (theme, p, reason) in zip(doc.spans.get(self.spans_key, []), rows):
                span._.theme = theme
                span._.theme_p = p
                span._.theme_reason = reason


@Language.factory("lipservice_themes", default_config=DEFAULT_CONFIG,
                  assigns=["span._.theme", "span._.theme_p", "span._.theme_reason"],
                  requires=["doc.spans"])
def make_themes(nlp: Language, name: str, encoder: SentenceEncoder, model: str, taxonomy: str, spans_key: str,
                min_p: float, min_similarity: float) -> ThemesComponent:
    return ThemesComponent(nlp, name, encoder, model, taxonomy, spans_key, min_p, min_similarity)


# -- discovery ---------------------------------------------------------------------------------

CONTENT_POS = {"NOUN", "PROPN", "VERB", "ADJ"}
#: Cluster labels are read from at most this many characters of each text (long complaint
#: letters say what they are about early; parsing all of them would cost more than clustering).
TERMS_CHARS = 300


def is_word(token: Any) -> bool:
    """A word that may label a cluster: letters, not a stop word, not a redaction ("XXXX", "XX", as the
    CFPB and many exports blank out names and dates: a cluster was labelled "xx xx xxxx")."""
    return token.is_alpha and not token.is_stop and token.lower_.strip("x") != ""


def span_terms(span: Span) -> list[str]:
    """What labels a cluster: content lemmas and noun-chunk lemmas (``"refund request"``)."""
    terms = [t.lemma_.lower() for t in span if t.pos_ in CONTENT_POS and is_word(t)]
    try:
        chunks = [c for c in span.noun_chunks if len(c) > 1]
    except ValueError:  # no parse
        chunks = []
    terms += [" ".join(t.lemma_.lower() for t in c if is_word(t)) for c in chunks]
    return [t for t in terms if t and " " in t or len(t) > 2]


def cluster_terms(nlp: Language, texts: list[str]) -> list[list[str]]:
    """:func:`span_terms` of each text's start, parsed by the base model's pipes only."""
    base = [p for p in nlp.pipe_names if p in ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")]
    with nlp.select_pipes(enable=base):
        return [span_terms(doc[:]) for doc in nlp.pipe([t[:TERMS_CHARS] for t in texts], batch_size=256)]


@dataclass
class DiscoveredTheme:
    id: str
    label: str
    phrases: list[str]
    members: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "phrases": self.phrases, "size": len(self.members)}


def class_tfidf(term_lists: list[list[str]], top: int = 5) -> list[list[str]]:
    """Per class, its most distinctive terms: tf × log(1 + mean class size / term frequency overall)."""
    counts = [Counter(terms) for terms in term_lists]
    total = Counter()
    for c in counts:
        total.update(c)
    mean_size = sum(sum(c.values()) for c in counts) / max(1, len(counts))
    out = []
    for c in counts:
        size = sum(c.values()) or 1
        scored = sorted(c, key=lambda t: (-(c[t] / size) * math.log(1 + mean_size / total[t]), t))
        out.append(scored[:top])
    return out


def discover_themes(embeddings: np.ndarray, terms: list[list[str]], *, seed: int, distance: float = 0.55,
                    min_size: int = 3, max_points: int = 5000) -> list[DiscoveredTheme]:
    """Clusters of unassigned complaints with readable labels, largest first; deterministic.

    Agglomerative clustering (average linkage, cosine distance) on at most ``max_points``
    sentences drawn with ``seed``; the others join the nearest cluster centre within
    ``distance``. Clusters smaller than ``min_size`` are left out (their sentences stay
    unassigned).
    """
    from sklearn.cluster import AgglomerativeClustering

    n = len(embeddings)
    if n < max(2, min_size):
        return []
    rng = np.random.RandomState(seed)
    sample = np.sort(rng.choice(n, size=min(n, max(2, max_points)), replace=False))  # clustering needs two
    labels = np.full(n, -1)
    labels[sample] = AgglomerativeClustering(n_clusters=None, distance_threshold=distance, metric="cosine",
                                             linkage="average").fit_predict(embeddings[sample])
    rest = np.setdiff1d(np.arange(n), sample)
    if len(rest):
        ids = np.unique(labels[sample])
        centres = np.stack([embeddings[sample][labels[sample] == k].mean(0) for k in ids])
        centres /= np.linalg.norm(centres, axis=1, keepdims=True).clip(1e-9)
        sims = embeddings[rest] @ centres.T
        best = sims.argmax(1)
        labels[rest] = np.where(1 - sims[np.arange(len(rest)), best] <= distance, ids[best], -1)
    groups = [np.flatnonzero(labels == k).tolist() for k in np.unique(labels) if k >= 0]
    groups = [g for g in groups if len(g) >= min_size]
    groups.sort(key=lambda g: (-len(g), g[0]))
    phrases = class_tfidf([[t for i in g for t in terms[i]] for g in groups])
    return [DiscoveredTheme(id=f"discovered_{k + 1}", label=" / ".join(p[:3]) or f"cluster {k + 1}", phrases=p,
                            members=g) for k, (g, p) in enumerate(zip(groups, phrases))]
