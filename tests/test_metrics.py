"""classification_metrics and binary_metrics: exact values on hand-checked inputs; macro_f1_interval: the bootstrap."""
from __future__ import annotations

import numpy as np
import pytest

from nlp.metrics import binary_metrics, classification_metrics, macro_f1_interval


def test_binary_metrics_exact_values_and_undefined_figures():
    """A system that flags nothing has no precision (it printed "precision 0.0", as if every flag were wrong)."""
    assert binary_metrics([True, False, True, False], [True, True, False, False]) == {
        "n": 4, "precision": 0.5, "recall": 0.5, "f1": 0.5, "accuracy": 0.5}
    quiet = binary_metrics([True, False, False], [False, False, False])
    assert quiet["precision"] is None and quiet["recall"] == 0.0 and quiet["f1"] == 0.0
    none = binary_metrics([False, False], [False, False])
    assert none["precision"] is None and none["recall"] is None and none["f1"] is None and none["accuracy"] == 1.0


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


def test_label_order_follows_the_labels_argument_and_a_label_in_neither_is_left_out_of_the_average():
    m = classification_metrics(["x", "x"], ["x", "y"], ["z", "y", "x"])
    assert list(m["per_class"]) == ["z", "y", "x"]
    # row kept, with no scores: zeros in --json were averaged back in by readers (0.333 for a perfect run)
    assert m["per_class"]["z"] == {"precision": None, "recall": None, "f1": None, "support": 0}
    assert m["per_class"]["x"]["recall"] == 0.5 and m["per_class"]["x"]["precision"] == 1.0
    assert m["absent_labels"] == ["z"]
    assert m["macro_f1"] == round((0 + 2 / 3) / 2, 4)  # y was predicted, so it counts; z is in neither
    assert m["confusion"] == [[0, 0, 0], [0, 0, 0], [0, 1, 1]]


THREE = ["company", "customer", "neutral"]


def test_one_right_row_scores_one_not_a_third():
    m = classification_metrics(["customer"], ["customer"], THREE)
    assert m["macro_f1"] == 1.0 and m["accuracy"] == 1.0
    assert m["absent_labels"] == ["company", "neutral"]
    assert m["per_class"]["company"]["support"] == 0 and list(m["per_class"]) == THREE
    assert classification_metrics(["company"] * 12, ["company"] * 12, THREE)["macro_f1"] == 1.0


@pytest.mark.parametrize("gold, pred", [
    (["customer"], ["customer"]),
    (["company"] * 12, ["company"] * 11 + ["customer"]),
    (["company", "customer", "company"], ["company", "company", "company"]),
    (["customer", "customer"], ["neutral", "customer"]),
    (["company", "customer", "neutral", "customer"], ["company", "neutral", "neutral", "customer"]),
])
def test_macro_f1_agrees_with_sklearn(gold, pred):
    from sklearn.metrics import f1_score

    m = classification_metrics(gold, pred, THREE)
    assert m["macro_f1"] == round(float(f1_score(gold, pred, average="macro", zero_division=0)), 4)
    assert m["absent_labels"] == [lab for lab in THREE if lab not in set(gold) | set(pred)]


def test_with_every_label_present_the_figure_is_the_mean_over_all_labels():
    from sklearn.metrics import f1_score

    gold = ["company", "customer", "neutral", "customer", "company"]
    pred = ["company", "company", "neutral", "customer", "neutral"]
    m = classification_metrics(gold, pred, THREE)
    assert m["absent_labels"] == []
    assert m["macro_f1"] == round(float(f1_score(gold, pred, labels=THREE, average="macro")), 4)


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


def test_the_interval_leaves_out_labels_absent_from_a_resample():
    assert macro_f1_interval(["customer"] * 20, ["customer"] * 20, THREE, seed=3) == (1.0, 1.0)
    lo, hi = macro_f1_interval(["company"] * 10, ["company"] * 9 + ["customer"], ["company", "customer"], seed=3)
    assert hi == 1.0 and lo < 0.6  # a resample without the one miss scores 1; one with it, about 0.5


def test_no_documents_give_an_empty_interval():
    assert macro_f1_interval([], [], ["a", "b"], seed=0) == (0.0, 0.0)
