"""Published benchmarks, measured with the project's own code, beside a baseline in the same run.

Complaints on Twitter (Preotiuc-Pietro, Gaman & Aletras 2019): 3,449 tweets labelled
complaint / not. :func:`cross_validate_complaints` runs the published protocol — stratified
10-fold cross-validation, fixed seed — on the complaint detector's training code
(:func:`nlp.train.fit_complaint_head`); :func:`zero_shot_metrics` scores the shipped head,
which never saw the benchmark, on all of it. VADER negativity is the baseline of both.

A ``--data`` file is read as :data:`COMPLAINTS_FORMAT` says. Whatever stops it being that (a missing file,
bytes that are not UTF-8, an empty file, a row with too few or too many fields, a label that is not 0/1,
an empty text) is one coded error naming the file and the line, and so are too few rows of a label for the
folds asked for, before any model is loaded. Blank lines and a header line are skipped.
"""
from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
from thinc.api import Config

from .decoding import binary_reason, decode_text
from .errors import E_BAD_FIELD, E_BAD_LABELS, E_BINARY, E_EMPTY_FILE, E_NOT_FOUND, E_TOO_LARGE, InputError, UsageError

log = logging.getLogger(__name__)

COMPLAINTS_FILE = "complaints-social-media/complaints-data.csv"


def normalise_tweet(text: str) -> str:
    """User handles and links carry no complaint signal; the benchmark papers mask them too."""
    text = re.sub(r"(?:https?://|pic\.twitter\.com/)\S+", "http", text)
    return re.sub(r"@\w+", "@user", text).strip()


#: What ``benchmark complaints --data`` reads; every error about the file ends with it.
COMPLAINTS_FORMAT = ("expected: a UTF-8 CSV without a header, one tweet a row, as complaints-data.csv: "
                     "id,text,label,domain (label 1 = complaint, 0 = not; domain optional; a text with commas "
                     "in double quotes)")
#: A benchmark file larger than this is not read into memory (complaints-data.csv is 0.4 MB).
MAX_BENCHMARK_BYTES = 256 * 2**20


def _benchmark_file(path: Path) -> Path:
    """The CSV ``--data`` names: the file, or complaints-data.csv in a folder (or in the shared data folder)."""
    if path.is_dir():
        found = [p for p in (path / Path(COMPLAINTS_FILE).name, path / COMPLAINTS_FILE) if p.is_file()]
        if not found:
            raise InputError(f"{path}: a folder without {Path(COMPLAINTS_FILE).name} (nor {COMPLAINTS_FILE}); "
                             f"pass --data with the CSV itself, e.g. ../shared/data/{COMPLAINTS_FILE}",
                             code=E_NOT_FOUND)
        return found[0]
    if not path.is_file():
        raise InputError(f"{path}: complaints benchmark not found; pass --data ../shared/data/{COMPLAINTS_FILE} "
                         f"or a file of your own ({COMPLAINTS_FORMAT})", code=E_NOT_FOUND)
    return path


def _benchmark_text(path: Path) -> str:
    """The file's text (UTF-8 with or without its byte-order mark, or UTF-16/32 with one), or a coded error."""
    size = path.stat().st_size
    if size > MAX_BENCHMARK_BYTES:
        raise InputError(f"{path}: {size:,} bytes, more than the {MAX_BENCHMARK_BYTES:,} a benchmark file may have; "
                         f"{COMPLAINTS_FORMAT}", code=E_TOO_LARGE)
    data = path.read_bytes()
    text, reject = decode_text(str(path), data)
    if reject is None:
        return text
    reason = {E_EMPTY_FILE: "empty file: no rows",
              E_BINARY: binary_reason(data[:65536], "not a CSV", reads_gzip=False)}.get(reject.code, reject.reason)
    where = "" if reject.position == "file" else f" {reject.position}:"
    raise InputError(f"{path}:{where} {reason}; {COMPLAINTS_FORMAT}", code=reject.code)


def _row_problem(row: list[str]) -> str | None:
    """Why a row is not id,text,label[,domain], or None."""
    if len(row) < 3 or len(row) > 4:
        hint = (" (a quote that is never closed?)" if any("\n" in f for f in row)
                else " (a text with commas not in double quotes?)" if len(row) > 4 else "")
        return f"{len(row)} field{'s' * (len(row) != 1)}, not 4{hint}"
    if row[2].strip() not in ("0", "1"):
        return f"label {row[2][:40]!r} is not 0 or 1 (third field)"
    if not row[1].strip():
        return "empty text (second field)"
    return None


def load_complaints_benchmark(path: str | Path) -> tuple[list[str], np.ndarray, list[str]]:
    """(texts, labels 0/1, domains) from a file laid out as complaints-data.csv (:data:`COMPLAINTS_FORMAT`);
    a folder holding complaints-data.csv is read too. Every problem is an :class:`InputError` naming the line."""
    path = _benchmark_file(Path(path))
    texts, labels, domains = [], [], []
    bad: list[tuple[int, str]] = []
    csv.field_size_limit(2**31 - 1)  # the file is read whole already; csv's limit is process-wide, so set it here
    reader = csv.reader(io.StringIO(_benchmark_text(path), newline=""))
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(f.strip() for f in row):
                continue  # a blank line
            if not texts and not bad and len(row) >= 3 and row[2].strip().lower() == "label":
                continue  # a header line
            problem = _row_problem(row)
            if problem:
                bad.append((line, problem))
                continue
            texts.append(normalise_tweet(row[1]))
            labels.append(int(row[2]))
            domains.append(row[3].strip() if len(row) > 3 else "")
    except csv.Error as err:  # a field over csv's limit: a quote left open swallows the rest of the file
        raise InputError(f"{path}: line {start}: {err} (a quote opened there that is never closed?); "
                         f"{COMPLAINTS_FORMAT}", code=E_BAD_FIELD) from None
    if bad:
        (line, problem), more = bad[0], len(bad) - 1
        others = f"; {more} more bad row{'s' * (more != 1)}" if more else ""
        code = E_BAD_LABELS if problem.startswith("label") else E_BAD_FIELD
        raise InputError(f"{path}: line {line}: {problem}{others}; {COMPLAINTS_FORMAT}", code=code)
    if not texts:
        raise InputError(f"{path}: no rows (only blank lines or a header); {COMPLAINTS_FORMAT}", code=E_EMPTY_FILE)
    return texts, np.array(labels), domains


def check_folds(path: str | Path, y: np.ndarray, folds: int) -> None:
    """Stratified k-fold needs every label ``folds`` times at least (and both labels, for a detector to
    learn): refused with the counts and the --folds that would work, before any model work."""
    complaints, others = int(np.sum(y == 1)), int(np.sum(y == 0))
    fewest = min(complaints, others)
    if folds < 2:
        raise UsageError(f"--folds {folds}: cross-validation needs 2 folds at least", code=E_BAD_LABELS)
    if fewest >= folds:
        return
    counts = (f"{path}: {len(y)} rows, {complaints} complaint{'s' * (complaints != 1)} (label 1) and {others} "
              f"not (label 0)")
    if not fewest:
        raise UsageError(f"{counts}: a complaint detector cannot be cross-validated on one label; add rows labelled "
                         f"{int(not complaints)} ({COMPLAINTS_FORMAT})", code=E_BAD_LABELS)
    if fewest < 2:
        raise UsageError(f"{counts}: stratified cross-validation (--folds 2 at the fewest) needs each label on 2 rows "
                         "at least; add rows", code=E_BAD_LABELS)
    fits = "--folds 2" if fewest == 2 else f"--folds 2 to {fewest}"
    raise UsageError(f"{counts}: stratified --folds {folds} needs each label on {folds} rows at least; use "
                     f"{fits}, or add rows", code=E_BAD_LABELS)


def _macro(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    return {"macro_f1": round(float(f1_score(y, pred, average="macro", zero_division=0)), 4),
            "f1_complaint": round(float(f1_score(y, pred, zero_division=0)), 4),
            "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
            "recall": round(float(recall_score(y, pred, zero_division=0)), 4)}


def cross_validate_complaints(cfg: Config, path: str | Path, folds: int = 10, published: bool = True
                              ) -> dict[str, Any]:
    """Stratified k-fold CV of the complaint detector's training code; VADER on the same folds. With
    ``published`` (the benchmark itself, not a user's file in its format) the published figures beside it."""
    from sklearn.model_selection import StratifiedKFold

    from .complaints import complaint_probability
    from .perspective import design_matrix
    from .perspective_features import FEATURE_NAMES
    from .train import base_and_encoder, fit_head, fit_tuned, standalone_spans, vader_complaint

    texts, y, _ = load_complaints_benchmark(path)
    check_folds(path, y, folds)
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
    out = {**mean, "folds": per_fold, "protocol": f"stratified {folds}-fold cross-validation, seed {seed}",
           "n": len(y), "data": str(path), "baseline_vader": vader_mean,
           "parts_macro_f1": {name: round(float(np.mean(v)), 4) for name, v in parts.items() if v}}
    if published:
        out["published"] = {"Jin & Aletras 2020 (macro-F1)": 0.87, "Preotiuc-Pietro et al. 2019 (F1)": 0.79}
    return out


def zero_shot_metrics(nlp: Any, shared: Path, name: str | None = None) -> dict[str, dict]:
    """The shipped pipeline on the whole benchmark (a tweet is a complaint when one of its
    sentences is), beside VADER, as classification metrics (macro-F1 is the benchmark's figure).
    ``shared`` is the shared data folder, or what ``--data`` names (the file, or a folder holding it);
    ``name``: a user's file in the benchmark's format, named so in the title instead of the benchmark."""
    from .metrics import classification_metrics
    from .train import vader_complaint

    texts, y, _ = load_complaints_benchmark(shared)
    cut = nlp.get_pipe("complaints").threshold
    word = {True: "complaint", False: "not complaint"}
    gold = [word[bool(v)] for v in y]
    pred = [word[(d._.complaint_p or 0.0) >= cut] for d in nlp.pipe(texts, batch_size=64)]
    vader = [word[v] for v in vader_complaint(texts)]
    labels = ("complaint", "not complaint")
    what = f"{name} (in the benchmark's format)" if name else "Twitter complaints benchmark"
    return {f"{what}, all {len(texts):,} tweets (zero-shot)": {
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
        from .errors import E_MISSING_EXTRA, UsageError, install_hint

        raise UsageError(f"the themes benchmark runs BERTopic as its peer: `{install_hint('bench')}`",
                         code=E_MISSING_EXTRA) from None
    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    topics, _ = BERTopic(umap_model=umap, calculate_probabilities=False).fit_transform(texts, embeddings)
    return [int(t) for t in topics]


def check_theme_data(shared: Path) -> None:
    """Refuse a ``--data`` for the theme benchmark that is not the shared data folder holding both of its
    sets, before any model loads: a file named was said to lack ``FILE/semeval2014-absa/…``."""
    if shared.is_file():
        raise InputError(f"{shared}: a file; the theme benchmark reads the shared data folder, which holds "
                         f"{SEMEVAL_FILE} and {CFPB_FILE}: pass --data with that folder", code=E_NOT_FOUND)
    for rel in (SEMEVAL_FILE, CFPB_FILE):
        if not (shared / rel).is_file():
            raise InputError(f"{shared / rel}: not found; pass --data with the shared data folder", code=E_NOT_FOUND)


def theme_benchmark(nlp: Any, cfg: Config, shared: Path, cfpb_limit: int = 1500) -> dict[str, Any]:
    """NMI, ARI and wall time of lipservice's themes and of BERTopic against gold categories."""
    import time

    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    check_theme_data(shared)
    sets = {}
    for name, rel in (("SemEval-2014 restaurants, negative sentences (gold: aspect category)", SEMEVAL_FILE),
                      ("CFPB narratives (gold: Issue)", CFPB_FILE)):
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
