"""Classification metrics printed by ``evaluate`` and written to model cards.

Macro-F1 is averaged over the labels that occur in the gold labels or the predictions (sklearn's rule
when it is not given ``labels``): a class absent from both has no F1 to average, and counting it as 0
made one right ``customer`` row score 0.333. Every label still has its per-class row (an absent one
has support 0 and null scores), and ``absent_labels`` names the ones the average left out.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Macro-F1 over the ``labels`` present in gold or predictions, per-class precision/recall/F1/support for
    every label, the confusion matrix, and ``absent_labels``: the labels in neither, left out of the average."""
    labels = list(labels)
    present = set(y_true) | set(y_pred)
    absent = [lab for lab in labels if lab not in present]
    if not len(y_true):
        return {"n": 0, "macro_f1": 0.0, "accuracy": 0.0, "labels": labels, "absent_labels": absent,
                "per_class": {lab: {"precision": None, "recall": None, "f1": None, "support": 0} for lab in labels},
                "confusion": [[0] * len(labels) for _ in labels]}
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    averaged = [f[i] for i, lab in enumerate(labels) if lab in present]
    return {
        "n": len(y_true),
        "macro_f1": round(float(np.mean(averaged)), 4) if averaged else 0.0,
        "accuracy": round(sum(a == b for a, b in zip(y_true, y_pred)) / max(len(y_true), 1), 4),
        "labels": labels,
        "absent_labels": absent,
        # an absent label has no scores (null), not zeros a reader would average back in
        "per_class": {lab: {"precision": round(float(p[i]), 4) if lab in present else None,
                            "recall": round(float(r[i]), 4) if lab in present else None,
                            "f1": round(float(f[i]), 4) if lab in present else None, "support": int(n[i])}
                      for i, lab in enumerate(labels)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


#: What an undefined figure of :func:`binary_metrics` means, said wherever it is printed.
UNDEFINED = {"precision": "n/a (flags nothing)", "recall": "n/a (no positives)", "f1": "n/a (no positives)"}


def binary_metrics(y_true: Sequence[bool], y_pred: Sequence[bool]) -> dict:
    """Precision, recall and F1 of the positive class, and accuracy. Precision is None for a system that
    flags nothing, recall None where nothing is positive, F1 None where neither has a positive: undefined,
    not 0, which read as "every flag wrong" of a system that raised none."""
    y_true, y_pred = [bool(v) for v in y_true], [bool(v) for v in y_pred]
    tp = sum(a and b for a, b in zip(y_true, y_pred))
    fp = sum(b and not a for a, b in zip(y_true, y_pred))
    fn = sum(a and not b for a, b in zip(y_true, y_pred))
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = round(2 * p * r / (p + r), 4) if p and r else (0.0 if tp + fp + fn else None)
    return {"n": len(y_true), "precision": None if p is None else round(p, 4),
            "recall": None if r is None else round(r, 4), "f1": f1,
            "accuracy": round(sum(a == b for a, b in zip(y_true, y_pred)) / max(len(y_true), 1), 4)}


def macro_f1_interval(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str], *, seed: int,
                      n_boot: int = 1000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of macro-F1 (documents resampled with replacement): how far the
    figure could move on another sample of the same size, which matters on a few hundred documents.
    Each resample's macro-F1 is :func:`classification_metrics`'s: over the labels present in it."""
    labels = list(labels)
    n, k = len(y_true), len(labels) + 1  # the extra code holds predictions outside ``labels``
    if not n:
        return 0.0, 0.0
    code = {lab: i for i, lab in enumerate(labels)}
    pairs = (np.array([code.get(t, k - 1) for t in y_true]) * k
             + np.array([code.get(p, k - 1) for p in y_pred]))
    rng = np.random.default_rng(seed)
    scores = np.empty(n_boot)
    for b in range(n_boot):
        full = np.bincount(pairs[rng.integers(0, n, n)], minlength=k * k).reshape(k, k)
        tp = np.diag(full)[:-1]
        denom = full.sum(axis=1)[:-1] + full.sum(axis=0)[:-1]  # 2tp + fp + fn, per label
        present = denom > 0  # in the resample's gold or predictions
        scores[b] = float(np.mean(2 * tp[present] / denom[present])) if present.any() else 0.0
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(scores, [tail, 100 - tail])
    return round(float(lo), 4), round(float(hi), 4)
