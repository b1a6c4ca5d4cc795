"""classification_metrics: exact values on hand-checked inputs."""
from __future__ import annotations

from nlp.metrics import classification_metrics


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
