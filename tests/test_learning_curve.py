"""The learning-curve diagnostic: folds that never score a document a model saw, the document rule,
and a whole curve with the real spaCy model and encoder on a tiny corpus and tiny real sets."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from test_evaluate import sha1
from test_train import tiny_config, write_corpus

from nlp import evaluate
from nlp.errors import ConfigError
from nlp.learning_curve import CurveSettings, RealSet, check_plan, document_sides, fold_plan, learning_curve, real_sets


def test_each_document_is_scored_once_by_models_that_never_saw_it():
    plan = fold_plan(23, 5, [0.25, 0.5, 1.0], seed=13)
    scored = np.concatenate([s for s, _ in plan])
    assert sorted(scored) == list(range(23))
    for s, added in plan:
        assert not set(s) & set(added[1.0])
        assert sorted(np.concatenate([s, added[1.0]])) == list(range(23))  # all of the other folds
        assert set(added[0.25]) <= set(added[0.5]) <= set(added[1.0])  # smaller draws nest
        assert len(added[0.5]) == round(0.5 * len(added[1.0]))
    again = fold_plan(23, 5, [0.25, 0.5, 1.0], seed=13)
    assert all((a == b).all() for (a, _), (b, _) in zip(plan, again))  # seeded
    assert any((a != b).any() for (a, _), (b, _) in zip(plan, fold_plan(23, 5, [1.0], seed=14)))


def test_the_packaged_settings_draw_the_documented_curve(cfg):
    assert CurveSettings.from_config(cfg) == CurveSettings(["twcs", "missions"], 5, [0.125, 0.25, 0.5, 1.0], False)


@pytest.mark.parametrize("folds, shares, setting", [(1, [1.0], "learning_curve.folds"),
                                                    (5, [0.5], "learning_curve.shares"),
                                                    (5, [0.0, 1.0], "learning_curve.shares"),
                                                    (5, [1.0, 1.5], "learning_curve.shares")])
def test_a_plan_that_cannot_be_drawn_is_a_config_error_naming_the_setting(folds, shares, setting):
    with pytest.raises(ConfigError, match=setting):
        check_plan(folds, shares)


def test_a_document_takes_the_side_of_its_sentences_mean_as_document_side_does():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    owner = np.array([0, 0, 1, 2])
    # doc 0: mean(-0.5, 0.7) > 0; doc 1: 0.1 > 0; doc 2: -0.3; doc 3 has no sentence
    assert document_sides(probs, ["company", "customer", "neutral"], owner, 4) == [
        "customer", "customer", "company", "company"]
    swapped = probs[:, [1, 0, 2]]  # the class order is read, not assumed
    assert document_sides(swapped, ["customer", "company", "neutral"], owner, 4) == [
        "customer", "customer", "company", "company"]


def test_real_sets_are_twcs_by_authorship_and_every_labelled_mission_statement(tmp_path, monkeypatch):
    twcs = tmp_path / "twcs-customer-support"
    twcs.mkdir()
    (twcs / "twcs_sample_first5000.csv").write_text(
        "tweet_id,inbound,text\n1,True,@Acme where is my order?\n2,False,@bob Sorry! DM us.\n", encoding="utf-8")
    folder = tmp_path / "company-mission-descriptions"
    folder.mkdir()
    a, b, c = "To be the best bank.", "To give families safe homes.", "To lead."
    (folder / "fortune500_mission_statements.json").write_text(json.dumps({"companies": [
        {"mission_statement": a}, {"mission_statement": b}, {"mission_statement": c}]}), encoding="utf-8")
    sample, rest = tmp_path / "sample.jsonl", tmp_path / "rest.jsonl"
    sample.write_text(json.dumps({"index": 0, "sha1": sha1(a), "label": "company"}) + "\n", encoding="utf-8")
    rest.write_text(json.dumps({"index": 1, "sha1": sha1(b), "label": "customer"}) + "\n"
                    + json.dumps({"index": 2, "sha1": sha1(c), "label": "neutral"}) + "\n", encoding="utf-8")
    monkeypatch.setattr(evaluate, "MISSION_LABELS", sample)
    monkeypatch.setattr(evaluate, "MISSION_REST_LABELS", rest)
    tweets, missions = real_sets(tmp_path)
    assert (tweets.texts, tweets.labels) == (["@Acme where is my order?", "@bob Sorry! DM us."],
                                             ["customer", "company"])
    assert (missions.texts, missions.labels) == ([a, b], ["company", "customer"])
    assert real_sets(tmp_path, ["missions"]) == [missions]
    for names in (["tweets"], []):
        with pytest.raises(ConfigError, match="learning_curve.sets"):
            real_sets(tmp_path, names)


COMPANY = ["We are proud to be the largest {} firm in the region.", "Our history in {} goes back a century.",
           "We aim to be the most admired name in {}."]
CUSTOMER = ["You get your {} sorted within a day, or you pay nothing.", "My {} bill doubled and nobody called back.",
            "Families get {} they can afford."]


def tiny_set(n: int) -> RealSet:
    topics = ["power", "water", "travel", "banking", "phones"]
    texts = [(COMPANY if i % 2 else CUSTOMER)[i % 3].format(topics[i % 5]) for i in range(n)]
    return RealSet(f"tiny {n}", texts, ["company" if i % 2 else "customer" for i in range(n)])


@pytest.fixture(scope="module")
def curve(tmp_path_factory):
    root = tmp_path_factory.mktemp("curve")
    cfg = tiny_config(write_corpus(root / "corpora", [f"doc-{i}" for i in range(10)]), root / "models")
    return learning_curve(cfg, [tiny_set(12), tiny_set(1)], folds=2, shares=[0.5, 1.0], second_opinion=True,
                          seed=13)


def test_a_curve_scores_every_document_of_a_set_for_each_model(curve):
    [(title, systems)] = curve.items()  # the one-document set has fewer documents than folds: left out
    assert title == "tiny 12: learning curve (2-fold)"
    assert list(systems) == ["project text only", "project text + 3 real", "project text + 6 real", "6 real alone",
                             "second opinion too: project text only", "second opinion too: project text + 6 real"]
    for m in systems.values():
        assert m["n"] == 12 and m["labels"] == ["company", "customer"]
        lo, hi = m["macro_f1_ci95"]
        assert lo <= m["macro_f1"] <= hi


def test_a_set_smaller_than_the_folds_is_left_out_with_a_warning(tmp_path, caplog):
    cfg = tiny_config(write_corpus(tmp_path / "corpora", [f"doc-{i}" for i in range(10)]), tmp_path / "models")
    with caplog.at_level(logging.WARNING, logger="nlp.learning_curve"):
        assert learning_curve(cfg, [tiny_set(1)], folds=2, shares=[1.0], second_opinion=False, seed=13) == {}
    assert any("fewer than 2 folds" in r.getMessage() for r in caplog.records)


def test_without_both_sides_in_the_other_folds_there_is_no_real_only_model(tmp_path, caplog):
    cfg = tiny_config(write_corpus(tmp_path / "corpora", [f"doc-{i}" for i in range(10)]), tmp_path / "models")
    one_sided = RealSet("one-sided", tiny_set(6).texts, ["customer"] * 6)
    with caplog.at_level(logging.WARNING, logger="nlp.learning_curve"):
        [systems] = learning_curve(cfg, [one_sided], folds=2, shares=[1.0], second_opinion=False, seed=13).values()
    assert list(systems) == ["project text only", "project text + 3 real"]
    assert any("all of one side" in r.getMessage() for r in caplog.records)
