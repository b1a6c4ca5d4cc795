"""How far labelled real data would move the perspective model: a cross-validated learning curve.

The real labelled sets (twcs authorship, the mission statements labelled by the guidelines) may only
be used to evaluate (DESIGN.md, data licences). This diagnostic fits throwaway models on the
project's training text plus a share of one set's documents and scores the documents left out,
fold by fold, so that no document is scored by a model that saw it. A curve that climbs says text
like the real documents would close the gap; a curve that flattens says this model cannot. Nothing
it fits is saved.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy import sparse

from .errors import E_BAD_SETTING, ConfigError
from .evaluate import mission_examples, side_metrics, side_of_mean, twcs_examples

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RealSet:
    """One real data set: its documents and their side (company or customer)."""

    name: str
    texts: list[str]
    labels: list[str]


def _twcs(shared: Path) -> RealSet:
    return RealSet("twcs company replies vs customer tweets", *twcs_examples(shared))


def _missions(shared: Path) -> RealSet:
    return RealSet("fortune500 mission statements (all labelled)", *mission_examples(shared, rest=True))


#: The real sets the foundation issue's targets name: twcs by authorship, and every labelled
#: mission statement (the sample and the rest, first annotator).
REAL_SETS: dict[str, Callable[[Path], RealSet]] = {"twcs": _twcs, "missions": _missions}


def real_sets(shared: Path, names: list[str] | None = None) -> list[RealSet]:
    """The real sets called ``names`` (all of ``REAL_SETS`` when None), read from ``shared``."""
    names = list(REAL_SETS) if names is None else names
    unknown = [n for n in names if n not in REAL_SETS]
    if unknown or not names:
        raise ConfigError(f"learning_curve.sets = {names}: each must be one of {', '.join(REAL_SETS)}, and at least "
                          "one", code=E_BAD_SETTING)
    return [REAL_SETS[n](shared) for n in names]


@dataclass(frozen=True)
class CurveSettings:
    """``[learning_curve]`` of the config, checked."""

    sets: list[str]
    folds: int
    shares: list[float]
    second_opinion: bool

    @classmethod
    def from_config(cls, cfg) -> "CurveSettings":
        """From a loaded config; a value of the wrong kind or out of range raises ConfigError."""
        section = cfg["learning_curve"]
        sets, shares = section["sets"], section["shares"]
        try:
            settings = cls([sets] if isinstance(sets, str) else [str(n) for n in sets], int(section["folds"]),
                           [float(x) for x in ([shares] if isinstance(shares, (int, float)) else shares)],
                           bool(section["second_opinion"]))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"[learning_curve] has a value of the wrong kind ({err}); expected sets = a list of "
                              "names, folds = a whole number, shares = a list of numbers, second_opinion = true or "
                              "false", code=E_BAD_SETTING) from None
        check_plan(settings.folds, settings.shares)
        return settings


def check_plan(folds: int, shares: list[float]) -> None:
    """Folds and shares a curve can be drawn with; a ConfigError naming the bad value otherwise."""
    if folds < 2:
        raise ConfigError(f"learning_curve.folds = {folds}: at least 2 are needed (one scores, the others train)",
                         code=E_BAD_SETTING)
    bad = [s for s in shares if not 0 < s <= 1]
    if bad or 1.0 not in shares:
        raise ConfigError(f"learning_curve.shares = {shares}: each must be in (0, 1] and 1.0 (all of the other "
                         "folds) must be one of them", code=E_BAD_SETTING)


def fold_plan(n: int, folds: int, shares: list[float], seed: int) -> list[tuple[np.ndarray, dict[float, np.ndarray]]]:
    """Per fold: the documents it scores, and for each share the documents added to training — that
    share of the other folds, drawn with a seed per fold, each smaller draw inside the larger one."""
    fold_of = np.random.default_rng(seed).permutation(n) % folds
    plan = []
    for f in range(folds):
        others = np.random.default_rng(seed + 1 + f).permutation(np.flatnonzero(fold_of != f))
        plan.append((np.flatnonzero(fold_of == f),
                     {s: np.sort(others[:round(s * len(others))]) for s in shares}))
    return plan


def document_sides(probs: np.ndarray, classes: list[str], owner: np.ndarray, n: int) -> list[str]:
    """Each of ``n`` documents' side from its sentences' probabilities (``owner``: the document of
    each row), by the rule of ``evaluate.document_side``: the sign of mean p(customer) − p(company)."""
    diff = probs[:, classes.index("customer")] - probs[:, classes.index("company")]
    return [side_of_mean(diff[owner == d]) for d in range(n)]


#: A fitted model: (design matrix, sentence texts) → (probabilities, their class order).
Model = Callable[[sparse.csr_matrix, list[str]], tuple[np.ndarray, list[str]]]


@dataclass
class _Sentences:
    """A real set cut into sentences: their design matrix, texts, and the document each belongs to."""

    X: sparse.csr_matrix
    texts: list[str]
    owner: np.ndarray

    @classmethod
    def of_documents(cls, texts: list[str], base, encoder) -> "_Sentences":
        """Each document cut into sentences by the base model's parser, as the head's inputs."""
        from .perspective import design_matrix

        spans, owner = [], []
        for i, doc in enumerate(base.pipe(texts, batch_size=64)):
            sents = list(doc.sents) or [doc[:]]
            spans += sents
            owner += [i] * len(sents)
        return cls(design_matrix(spans, encoder), [sp.text.strip() for sp in spans], np.array(owner, dtype=int))

    def of(self, docs: np.ndarray) -> tuple[sparse.csr_matrix, list[str], np.ndarray]:
        """The rows of ``docs`` (document indices), with owners renumbered 0.. in ``docs`` order."""
        rank = {d: i for i, d in enumerate(docs)}
        rows = np.flatnonzero(np.isin(self.owner, docs))
        return self.X[rows], [self.texts[i] for i in rows], np.array([rank[d] for d in self.owner[rows]], dtype=int)


def learning_curve(cfg, sets: list[RealSet], *, folds: int, shares: list[float], second_opinion: bool,
                   seed: int, base=None, encoder=None) -> dict[str, dict[str, dict]]:
    """Per set, document-level metrics of heads trained on the project's training text alone and with
    each share of the other folds' documents added ("project text + k real": k is the mean number
    added per fold; each sentence takes its document's label), and on all of those documents alone
    ("k real alone"); with ``second_opinion``, also the whole component (head and fine-tuned encoder)
    without and with all of them. Costly: about 6 minutes on 2 cores, and 5 more per fine-tuning."""
    from .perspective import perspective_probabilities
    from .perspective_features import FEATURE_NAMES
    from .train import base_and_encoder, fit_head, fit_tuned, perspective_inputs, perspective_training

    check_plan(folds, shares)
    for s in [s for s in sets if len(s.texts) < folds]:
        log.warning("%s: %d documents, fewer than %d folds; left out", s.name, len(s.texts), folds)
    sets = [s for s in sets if len(s.texts) >= folds]
    if not sets:
        return {}
    if base is None or encoder is None:
        base, encoder = base_and_encoder(cfg)
    tcfg = cfg["training"]["perspective"]
    below = float(cfg["components"]["perspective"]["second_opinion_below"])
    _, train, _ = perspective_training(cfg)
    project = ([e.text for e in train], [e.label for e in train])
    X_project = perspective_inputs(cfg, project[0], base, encoder)

    def model(X, texts: list[str], labels: list[str], with_project: bool, tuned: bool) -> Model:
        """Fit a head (and with ``tuned`` its second opinion) on these sentences, after the project's."""
        if with_project:
            X, texts, labels = sparse.vstack([X_project, X]).tocsr(), project[0] + texts, project[1] + labels
        head = fit_head(X, labels, tcfg, seed, encoder.dim, len(FEATURE_NAMES))
        classes = [str(c) for c in head.classes_]
        if not tuned:
            return lambda X_, t: (head.predict_proba(X_), classes)
        second = fit_tuned(cfg, "perspective", texts, labels, encoder)
        return lambda X_, t: (perspective_probabilities(head, X_, second, t, below), classes)

    empty = (X_project[:0], [], [])
    project_head = model(*empty, with_project=True, tuned=False)
    project_component = model(*empty, with_project=True, tuned=True) if second_opinion else None
    out: dict[str, dict[str, dict]] = {}
    for s in sets:
        sentences = _Sentences.of_documents(s.texts, base, encoder)
        gold = np.array(s.labels, dtype=object)
        plan = fold_plan(len(s.texts), folds, shares, seed)
        n_other = round(float(np.mean([len(added[1.0]) for _, added in plan])))

        def train_on(docs: np.ndarray, with_project: bool = True, tuned: bool = False) -> Model:
            X, texts, own = sentences.of(docs)
            return model(X, texts, [str(label) for label in gold[docs][own]], with_project, tuned)

        rows: dict[str, Callable[[dict], Model]] = {"project text only": lambda added: project_head}
        for share in shares:
            rows[f"project text + {round(share * n_other)} real"] = lambda added, share=share: train_on(added[share])
        if all(len(set(gold[added[1.0]])) > 1 for _, added in plan):
            rows[f"{n_other} real alone"] = lambda added: train_on(added[1.0], with_project=False)
        else:
            log.warning("%s: some fold's other documents are all of one side; no model of the real documents alone",
                        s.name)
        if second_opinion:
            rows["second opinion too: project text only"] = lambda added: project_component
            rows[f"second opinion too: project text + {n_other} real"] = lambda added: train_on(added[1.0], tuned=True)
        systems = {}
        for name, model_for in rows.items():
            pred = np.empty(len(s.texts), dtype=object)
            for scored, added in plan:
                X, texts, own = sentences.of(scored)
                probs, classes = model_for(added)(X, texts)
                pred[scored] = document_sides(probs, classes, own, len(scored))
            systems[name] = side_metrics(list(gold), list(pred), seed)
            log.info("%s: %s: macro-F1 %.3f", s.name, name, systems[name]["macro_f1"])
        out[f"{s.name}: learning curve ({folds}-fold)"] = systems
    return out
