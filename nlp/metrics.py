"""Classification metrics printed by ``evaluate`` and written to model cards."""
from __future__ import annotations

from typing import Sequence

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]) -> dict:
    """Macro-F1 over ``labels``, per-class precision/recall/F1/support, and the confusion matrix."""
    labels = list(labels)
    if not len(y_true):
        return {"n": 0, "macro_f1": 0.0, "accuracy": 0.0, "labels": labels,
                "per_class": {lab: {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0} for lab in labels},
                "confusion": [[0] * len(labels) for _ in labels]}
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "n": len(y_true),
        "macro_f1": round(float(f.mean()), 4),
        "accuracy": round(sum(a == b for a, b in zip(y_true, y_pred)) / max(len(y_true), 1), 4),
        "labels": labels,
        "per_class": {lab: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                            "f1": round(float(f[i]), 4), "support": int(n[i])} for i, lab in enumerate(labels)},
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def binary_metrics(y_true: Sequence[bool], y_pred: Sequence[bool]) -> dict:
    """Precision, recall and F1 of the positive class, and accuracy."""
    y_true, y_pred = [bool(v) for v in y_true], [bool(v) for v in y_pred]
    tp = sum(a and b for a, b in zip(y_true, y_pred))
    fp = sum(b and not a for a, b in zip(y_true, y_pred))
    fn = sum(a and not b for a, b in zip(y_true, y_pred))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"n": len(y_true), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "accuracy": round(sum(a == b for a, b in zip(y_true, y_pred)) / max(len(y_true), 1), 4)}
