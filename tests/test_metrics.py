"""classification_metrics: exact values on hand-checked inputs; macro_f1_interval: the bootstrap."""
from __future__ import annotations

import numpy as np

from nlp.metrics import classification_metrics, macro_f1_interval


def test_exact_values_on_a_small_example():
    m = classification_metrics(["a", "b", "a"], ["a", "a", "a"], ["a", "b"])
    assert m["n"] == 3
    assert m["labels"] == ["a", "b"]
    assert m["accuracy"] == 0.6667
    assert m["per_class"]["a"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "support": 2}
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["macro_f1"] == 0.4
    assert m["confusion"] == [[2, 0], [1, 0]]  # rows: true label, columns: predicted


def test_perfect_predictions():
    y = ["company", "customer", "neutral", "customer"]
    m = classification_metrics(y, y, ["company", "customer", "neutral"])
    assert m["macro_f1"] == 1.0 and m["accuracy"] == 1.0
    assert m["confusion"] == [[1, 0, 0], [0, 2, 0], [0, 0, 1]]


def test_label_order_follows_the_labels_argument_and_absent_labels_count_as_zero():
    m = classification_metrics(["x", "x"], ["x", "y"], ["z", "y", "x"])
    assert list(m["per_class"]) == ["z", "y", "x"]
    assert m["per_class"]["z"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert m["per_class"]["x"]["recall"] == 0.5 and m["per_class"]["x"]["precision"] == 1.0
    assert m["macro_f1"] == round((0 + 0 + 2 / 3) / 3, 4)
    assert m["confusion"] == [[0, 0, 0], [0, 0, 0], [0, 1, 1]]


def test_result_is_json_serialisable():
    import json

    m = classification_metrics(["a", "b"], ["b", "b"], ["a", "b"])
    assert json.loads(json.dumps(m)) == m


def test_empty_input_gives_zero_counts():
    m = classification_metrics([], [], ["a", "b"])
    assert m["n"] == 0


GOLD = ["company", "customer"] * 30
PRED = ["company", "customer"] * 20 + ["customer", "company"] * 5 + ["company", "neutral"] * 5


def test_one_bootstrap_draw_is_the_macro_f1_of_that_resample():
    idx = np.random.default_rng(7).integers(0, len(GOLD), len(GOLD))  # the draw the interval makes first
    expected = classification_metrics([GOLD[i] for i in idx], [PRED[i] for i in idx], ["company", "customer"])
    lo, hi = macro_f1_interval(GOLD, PRED, ["company", "customer"], seed=7, n_boot=1)
    assert lo == hi == round(expected["macro_f1"], 4)  # a label outside ``labels`` counts as a miss, as in sklearn


def test_the_interval_holds_the_figure_is_seeded_and_narrows_with_more_documents():
    point = classification_metrics(GOLD, PRED, ["company", "customer"])["macro_f1"]
    lo, hi = macro_f1_interval(GOLD, PRED, ["company", "customer"], seed=1)
    assert lo < point < hi
    assert macro_f1_interval(GOLD, PRED, ["company", "customer"], seed=1) == (lo, hi)
    lo10, hi10 = macro_f1_interval(GOLD * 10, PRED * 10, ["company", "customer"], seed=1)
    assert hi10 - lo10 < (hi - lo) / 2


def test_no_documents_give_an_empty_interval():
    assert macro_f1_interval([], [], ["a", "b"], seed=0) == (0.0, 0.0)
