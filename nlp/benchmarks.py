"""Published benchmarks, measured with the project's own code, beside a baseline in the same run.

Complaints on Twitter (Preotiuc-Pietro, Gaman & Aletras 2019): 3,449 tweets labelled
complaint / not. :func:`cross_validate_complaints` runs the published protocol — stratified
10-fold cross-validation, fixed seed — on the complaint detector's training code
(:func:`nlp.train.fit_complaint_head`); :func:`zero_shot_metrics` scores the shipped head,
which never saw the benchmark, on all of it. VADER negativity is the baseline of both.
"""
from __future__ import annotations

import csv
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
from thinc.api import Config

from .errors import E_BAD_LABELS, E_NOT_FOUND, InputError

log = logging.getLogger(__name__)

COMPLAINTS_FILE = "complaints-social-media/complaints-data.csv"


def normalise_tweet(text: str) -> str:
    """User handles and links carry no complaint signal; the benchmark papers mask them too."""
    text = re.sub(r"(?:https?://|pic\.twitter\.com/)\S+", "http", text)
    return re.sub(r"@\w+", "@user", text).strip()


def load_complaints_benchmark(path: str | Path) -> tuple[list[str], np.ndarray, list[str]]:
    """(texts, labels 0/1, domains) from complaints-data.csv (no header: id, text, label, domain)."""
    path = Path(path)
    if path.is_dir():
        path = path / Path(COMPLAINTS_FILE).name
    if not path.is_file():
        raise InputError(f"{path}: complaints benchmark not found; pass --data "
                         f"../shared/data/{COMPLAINTS_FILE}", code=E_NOT_FOUND)
    texts, labels, domains = [], [], []
    with path.open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh), start=1):
            if len(row) < 3 or row[2] not in ("0", "1"):
                raise InputError(f"{path}: line {n}: expected id,text,label(0/1),domain", code=E_BAD_LABELS)
            texts.append(normalise_tweet(row[1]))
            labels.append(int(row[2]))
            domains.append(row[3] if len(row) > 3 else "")
    return texts, np.array(labels), domains


def _macro(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    return {"macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
            "f1_complaint": round(float(f1_score(y, pred)), 4),
            "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
            "recall": round(float(recall_score(y, pred, zero_division=0)), 4)}


def cross_validate_complaints(cfg: Config, path: str | Path, folds: int = 10) -> dict[str, Any]:
    """Stratified k-fold CV of the complaint detector's training code; VADER on the same folds."""
    from sklearn.model_selection import StratifiedKFold

    from .complaints import complaint_probability
    from .perspective import design_matrix
    from .perspective_features import FEATURE_NAMES
    from .train import base_and_encoder, fit_head, fit_tuned, standalone_spans, vader_complaint

    texts, y, _ = load_complaints_benchmark(path)
    seed = int(cfg["system"]["seed"])
    base, encoder = base_and_encoder(cfg, "complaints")
    X = design_matrix(standalone_spans(base, texts), encoder)  # features do not depend on the labels
    vader = np.array(vader_complaint(texts))
    comp = cfg["components"]["complaints"]
    threshold = float(comp["threshold"])
    per_fold, vader_folds, parts = [], [], {"head alone": [], "fine-tuned alone": []}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        labels = y[train].astype(bool)
        head = fit_head(X[train], labels, cfg["training"]["complaints"], seed, encoder.dim, len(FEATURE_NAMES))
        tuned = fit_tuned(cfg, "complaints", [texts[i] for i in train], labels.tolist())
        test_texts = [texts[i] for i in test]
        p = complaint_probability(head, X[test], tuned, test_texts, comp["second_opinion"])
        per_fold.append({"fold": k, "n": len(test), **_macro(y[test], (p >= threshold).astype(int))})
        vader_folds.append(_macro(y[test], vader[test].astype(int)))
        alone = complaint_probability(head, X[test], None, test_texts, (0.0, 0.0))
        parts["head alone"].append(_macro(y[test], (alone >= threshold).astype(int))["macro_f1"])
        if tuned is not None:
            q = tuned.predict_proba(test_texts)[:, list(tuned.classes_).index(True)]
            parts["fine-tuned alone"].append(_macro(y[test], (q >= threshold).astype(int))["macro_f1"])
        log.info("fold %d: macro-F1 %.4f", k, per_fold[-1]["macro_f1"])
    mean = {m: round(float(np.mean([f[m] for f in per_fold])), 4) for m in ("macro_f1", "f1_complaint", "precision",
                                                                             "recall")}
    vader_mean = {m: round(float(np.mean([f[m] for f in vader_folds])), 4) for m in mean}
    return {**mean, "folds": per_fold, "protocol": f"stratified {folds}-fold cross-validation, seed {seed}",
            "n": len(y), "baseline_vader": vader_mean,
            "parts_macro_f1": {name: round(float(np.mean(v)), 4) for name, v in parts.items() if v},
            "published": {"Jin & Aletras 2020 (macro-F1)": 0.87, "Preotiuc-Pietro et al. 2019 (F1)": 0.79}}


def zero_shot_metrics(nlp: Any, shared: Path) -> dict[str, dict]:
    """The shipped pipeline on the whole benchmark (a tweet is a complaint when one of its
    sentences is), beside VADER, as classification metrics (macro-F1 is the benchmark's figure)."""
    from .metrics import classification_metrics
    from .train import vader_complaint

    texts, y, _ = load_complaints_benchmark(shared / COMPLAINTS_FILE)
    cut = nlp.get_pipe("complaints").threshold
    name = {True: "complaint", False: "not complaint"}
    gold = [name[bool(v)] for v in y]
    pred = [name[(d._.complaint_p or 0.0) >= cut] for d in nlp.pipe(texts, batch_size=64)]
    vader = [name[v] for v in vader_complaint(texts)]
    labels = ("complaint", "not complaint")
    return {"Twitter complaints benchmark, all 3,449 tweets (zero-shot)": {
        "complaints head (shipped, never trained on it)": classification_metrics(gold, pred, labels),
        "VADER negativity (baseline)": classification_metrics(gold, vader, labels)}}


# -- complaint themes against BERTopic ---------------------------------------------------------

SEMEVAL_FILE = "semeval2014-absa/Restaurants_Train.xml"
CFPB_FILE = "cfpb-complaints/complaints_sample.csv"


def semeval_negative(path: Path) -> tuple[list[str], list[str]]:
    """Sentences with exactly one negative aspect category, and that category (the gold theme)."""
    import xml.etree.ElementTree as ET  # trusted local benchmark file, parsed without entities

    texts, gold = [], []
    for sent in ET.parse(path).getroot().iter("sentence"):
        negative = sorted({c.get("category") for c in sent.iter("aspectCategory") if c.get("polarity") == "negative"})
        if len(negative) == 1:
            texts.append(sent.findtext("text", "").strip())
            gold.append(negative[0])
    return texts, gold


def cfpb_narratives(path: Path, limit: int) -> tuple[list[str], list[str]]:
    """Consumer complaint narratives and their ``Issue`` (the gold theme), the first ``limit`` with text."""
    csv.field_size_limit(2**31 - 1)
    texts, gold = [], []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = (row.get("Consumer complaint narrative") or "").strip()
            if text:
                texts.append(text)
                gold.append(row.get("Issue") or "")
            if len(texts) >= limit:
                break
    return texts, gold


def our_themes(nlp: Any, cfg: Config, texts: list[str], embeddings: np.ndarray) -> list[str]:
    """lipservice's theming of complaint texts: a taxonomy theme, else a discovered theme, else unassigned."""
    from .taxonomy import UNASSIGNED, decide_themes
    from .themes import cluster_terms, discover_themes

    themes = nlp.get_pipe("themes")
    X = np.hstack([embeddings, embeddings @ themes.matcher.centroids().T])  # what theme_matrix builds
    labels = [t for t, _, _ in decide_themes(themes.require_head(), themes.matcher, themes.min_p, X)]
    rest = [i for i, t in enumerate(labels) if t == UNASSIGNED]
    if rest:
        terms = cluster_terms(nlp, [texts[i] for i in rest])
        rc = cfg["reviews"]
        for found in discover_themes(embeddings[rest], terms, seed=int(cfg["system"]["seed"]),
                                     distance=float(rc["discovery_distance"]), min_size=int(rc["discovery_min_size"]),
                                     max_points=int(rc["discovery_max_points"])):
            for k in found.members:
                labels[rest[k]] = found.id
    return labels


def bertopic_themes(texts: list[str], embeddings: np.ndarray, seed: int) -> list[int]:
    """The peer: BERTopic with its defaults (UMAP + HDBSCAN), on the same embeddings, seeded UMAP."""
    try:
        from bertopic import BERTopic
        from umap import UMAP
    except ImportError:
        from .errors import E_MISSING_EXTRA, UsageError

        raise UsageError("the themes benchmark runs BERTopic as its peer: `pip install 'lipservice[bench]'`",
                         code=E_MISSING_EXTRA) from None
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    topics, _ = BERTopic(umap_model=umap, calculate_probabilities=False).fit_transform(texts, embeddings)
    return [int(t) for t in topics]


def theme_benchmark(nlp: Any, cfg: Config, shared: Path, cfpb_limit: int = 1500) -> dict[str, Any]:
    """NMI, ARI and wall time of lipservice's themes and of BERTopic against gold categories."""
    import time

    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    sets = {}
    for name, rel in (("SemEval-2014 restaurants, negative sentences (gold: aspect category)", SEMEVAL_FILE),
                      ("CFPB narratives (gold: Issue)", CFPB_FILE)):
        if not (shared / rel).is_file():
            raise InputError(f"{shared / rel}: not found; pass --data with the shared data folder", code=E_NOT_FOUND)
        sets[name] = semeval_negative(shared / rel) if rel == SEMEVAL_FILE else cfpb_narratives(shared / rel,
                                                                                                 cfpb_limit)
    encoder = nlp.get_pipe("themes").encoder
    seed = int(cfg["system"]["seed"])
    out: dict[str, Any] = {}
    for name, (texts, gold) in sets.items():
        t0 = time.perf_counter()
        emb = encoder.encode(texts)  # shared by both systems; timed separately
        t_emb = time.perf_counter() - t0
        result = {"n": len(texts), "gold_categories": len(set(gold)), "embedding_seconds": round(t_emb, 2)}
        for system, run in (("lipservice", lambda: our_themes(nlp, cfg, texts, emb)),
                            ("BERTopic", lambda: bertopic_themes(texts, emb, seed))):
            t0 = time.perf_counter()
            labels = run()
            seconds = time.perf_counter() - t0
            result[system] = {"nmi": round(float(normalized_mutual_info_score(gold, labels)), 4),
                              "ari": round(float(adjusted_rand_score(gold, labels)), 4),
                              "clusters": len(set(labels)), "seconds": round(seconds, 2)}
        out[name] = result
    return out
