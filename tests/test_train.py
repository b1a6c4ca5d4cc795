"""Training the perspective head on a tiny temporary corpus: files written, loadable, reproducible."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from nlp.corpus import split_of
from nlp.errors import UsageError
from nlp.heads import PERSPECTIVE_LABELS, load_head
from nlp.perspective import HEAD_FILE, TUNED_FILE
from nlp.pipeline import PROJECT_ROOT, load_config
from nlp.train import model_card, perspective_inputs, train_perspective

COMPANY = ["We are the market leader in {}.", "Our award-winning team has served {} since 1990.",
           "We were named {} provider of the year.", "Our mission is to redefine {}.",
           "We employ 400 experts in {}."]
CUSTOMER = ["You get a full refund on {} within 14 days.", "You can cancel your {} plan at any time.",
            "Your {} arrives the next working day.", "Save 20% on {} when you book online.",
            "You pay nothing extra for {}."]
NEUTRAL = ["Terms and conditions apply to {}.", "Prices for {} include VAT.", "{} opening hours",
           "See the FAQ for details on {}.", "Contact details for {}"]
TOPICS = ["travel", "energy", "banking", "insurance", "broadband", "groceries", "furniture", "fitness",
          "software", "parcels"]
CMD = "lipservice train --set paths.corpora=TINY"


def write_tiny(root, task, kind, doc_ids, sentences):
    """``root/task/tiny.jsonl``: one document per id, its sentences from ``sentences(i, topic)``."""
    folder = root / task
    folder.mkdir(parents=True)
    lines = [json.dumps({"doc_id": doc_id, "industry": TOPICS[i % len(TOPICS)], "kind": kind,
                         "sentences": sentences(i, TOPICS[i % len(TOPICS)])}) for i, doc_id in enumerate(doc_ids)]
    (folder / "tiny.jsonl").write_text("\n".join(lines) + "\n")
    return root


def write_corpus(root, doc_ids):
    return write_tiny(root, "perspective", "web_copy", doc_ids, lambda i, topic: [
        {"text": COMPANY[i % 5].format(topic), "label": "company"},
        {"text": CUSTOMER[i % 5].format(topic), "label": "customer"},
        {"text": NEUTRAL[i % 5].format(topic).capitalize(), "label": "neutral"}])


DOC_IDS = [f"doc-{i}" for i in range(10)]  # doc-4 and doc-8 fall in the test split


def tiny_config(corpora, models, epochs: int = 1):
    return load_config(overrides={"paths.corpora": str(corpora), "paths.models": str(models),
                                  "training.perspective.tune_epochs": epochs,
                                  "training.perspective.tune_batch_size": 4})


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    corpora = write_corpus(root / "corpora", DOC_IDS)
    cfg = tiny_config(corpora, root / "models")
    shipped = PROJECT_ROOT / "models" / HEAD_FILE
    before = shipped.stat().st_mtime_ns if shipped.exists() else None
    result = train_perspective(cfg, command=CMD)
    after = shipped.stat().st_mtime_ns if shipped.exists() else None
    assert before == after, "training with overridden paths must not touch the shipped head"
    return cfg, root / "models", result


@pytest.fixture(scope="module")
def probe(trained):
    """The design matrix of a few unseen sentences (base model and encoder as training uses them)."""
    texts = ["We are proud of our engineers.", "You can return it for free.", "Opening hours"]
    return perspective_inputs(trained[0], texts)


def test_the_tiny_corpus_has_both_splits():
    assert {split_of(d) for d in DOC_IDS} == {"train", "test"}


def test_config_paths_follow_the_overrides(trained):
    cfg, models, _ = trained
    assert cfg["training"]["perspective"]["corpus"].endswith("/corpora/perspective")
    assert cfg["components"]["perspective"]["model"] == f"{models}/{HEAD_FILE}"


def test_training_writes_head_config_card_and_metrics(trained):
    _, models, result = trained
    for name in (HEAD_FILE, TUNED_FILE, "perspective.cfg", "perspective.md", "perspective.metrics.json"):
        assert (models / name).is_file(), name
    assert set(result["metrics"]["test split"]) == {
        "perspective component", "perspective component, PyTorch float32 runtime",
        "head alone (frozen embedding + parse + lexical)", "fine-tuned encoder alone", "pronoun baseline"}
    assert load_head(models / TUNED_FILE).get_params()["epochs"] == 1
    assert result["out"] == str(models)
    assert result["data"]["sentences"] == 30
    assert result["data"]["documents"] == 10
    assert result["data"]["test_sentences"] == 6
    assert result["data"]["train_sentences"] == 24


def _metric_tables(metrics: dict) -> list[dict]:
    """Every multi-class metrics table (those with a macro-F1) inside a nested metrics dict."""
    found = []
    for value in metrics.values():
        if isinstance(value, dict):
            found += [value] if "macro_f1" in value else _metric_tables(value)
    return found


def test_card_mentions_rebuild_command_and_metrics(trained):
    _, models, result = trained
    card = (models / "perspective.md").read_text()
    assert CMD in card
    assert "macro-F1" in card
    assert "baseline" in card
    assert "30 sentences in 10 documents" in card
    assert "`onnx-int8` runtime" in card  # the runtime the models were trained and measured on
    tables = _metric_tables(result["metrics"])
    assert len(tables) >= 2  # the head and its baseline
    for m in tables:
        assert f"{m['macro_f1']:.3f}" in card


def test_card_says_whether_each_real_data_set_meets_the_target(trained):
    _, _, result = trained

    def row(f1, **extra):
        return {"perspective component": {"n": 10, "macro_f1": f1, "accuracy": f1, "per_class": {}, **extra}}

    card = model_card(result, {"tweets": row(0.86, macro_f1_ci95=[0.84, 0.88]), "missions": row(0.8)})
    assert ("Target: macro-F1 >= 0.85 on real data (in brackets the 95 % bootstrap interval). "
            "tweets: 0.860 [0.840–0.880] (met); missions: 0.800 (not met).") in card
    assert "| perspective component | 10 | macro-F1 0.860 [0.840–0.880] (accuracy 0.860) |" in card


def test_card_gives_the_false_alarms_where_positives_are_too_rare_for_f1():
    """Company profiles hold one claim in 826 sentences: the claims card read "F1 0.000" for every system."""
    from nlp.train import _rows

    m = {"n": 826, "precision": 0.0, "recall": 0.0, "f1": 0.0, "accuracy": 0.9637, "false_alarms": 29,
         "false_alarm_rate": 0.0352}
    [row] = [line for line in _rows("profiles", {"claims component": m}) if line.startswith("| claims")]
    assert row.startswith("| claims component | 826 | false alarms 3.5% (29) | precision 0.000")
    quiet = {**m, "precision": None, "false_alarms": 0, "false_alarm_rate": 0.0}  # flags nothing: no precision
    [row] = [line for line in _rows("profiles", {"lexicon": quiet}) if line.startswith("| lexicon")]
    assert "| false alarms 0.0% (0) | precision n/a (flags nothing), recall 0.000," in row


def test_metrics_json_matches_the_result(trained):
    _, models, result = trained
    saved = json.loads((models / "perspective.metrics.json").read_text())
    assert saved["data"] == result["data"]
    assert saved["test_split"] == result["metrics"]
    for m in _metric_tables(saved["test_split"]):
        assert m["n"] == 6
        assert 0.0 <= m["macro_f1"] <= 1.0
        assert m["labels"] == list(PERSPECTIVE_LABELS)


def test_written_config_reads_back(trained):
    cfg, models, _ = trained
    written = load_config(models / "perspective.cfg")
    assert written["training"]["perspective"]["corpus"] == cfg["training"]["perspective"]["corpus"]
    assert written["system"]["seed"] == cfg["system"]["seed"]


def test_written_head_loads_and_predicts_the_three_labels(trained, probe):
    _, models, _ = trained
    head = load_head(models / HEAD_FILE)
    assert list(head.classes_) == list(PERSPECTIVE_LABELS)
    proba = head.predict_proba(probe)
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert set(head.predict(probe)) <= set(PERSPECTIVE_LABELS)


def test_training_twice_with_the_same_seed_is_identical(trained, probe, tmp_path):
    cfg, models, _ = trained
    train_perspective(cfg, out_dir=tmp_path / "again", command=CMD)
    first = load_head(models / HEAD_FILE).predict_proba(probe)
    second = load_head(tmp_path / "again" / HEAD_FILE).predict_proba(probe)
    np.testing.assert_array_equal(first, second)


def test_without_fine_tuning_the_head_decides_alone_and_no_second_opinion_is_written(tmp_path):
    cfg = tiny_config(write_corpus(tmp_path / "corpora", DOC_IDS), tmp_path / "models", epochs=0)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / TUNED_FILE).write_bytes(b"an earlier run's weights")  # stale: must not survive
    result = train_perspective(cfg, command=CMD)
    assert (tmp_path / "models" / HEAD_FILE).is_file() and not (tmp_path / "models" / TUNED_FILE).exists()
    assert set(result["metrics"]["test split"]) == {"perspective component", "pronoun baseline",
                                                    "perspective component, PyTorch float32 runtime"}
    # the resolved config saved beside the head names no second opinion, so it loads as written
    saved = load_config(tmp_path / "models" / "perspective.cfg")
    assert saved["components"]["perspective"]["tuned_model"] == ""
    from nlp.cli import _perspective_only
    from nlp.pipeline import build_nlp

    assert build_nlp(_perspective_only(saved)).get_pipe("perspective").require_tuned() is None


@pytest.mark.parametrize("layers, frozen", [(0, 99), (3, 3), (9, 0)])
def test_layers_the_encoder_has_not_are_refused_before_any_work(layers, frozen):
    from nlp.errors import ConfigError
    from nlp.train import prepare_tuning

    cfg = load_config(overrides={"training.perspective.tune_layers": layers,
                                 "training.perspective.tune_frozen_layers": frozen})
    with pytest.raises(ConfigError, match=r"\[E303\] training.perspective.tune_layers .* the encoder has 6 layers"):
        prepare_tuning(cfg, "perspective")


def test_corpus_without_test_documents_is_handled(tmp_path):
    train_only = [d for d in (f"doc-{i}" for i in range(30)) if split_of(d) == "train"][:6]
    corpora = write_corpus(tmp_path / "corpora", train_only)
    cfg = tiny_config(corpora, tmp_path / "models")
    try:
        result = train_perspective(cfg)
    except UsageError:
        return  # a clear, coded refusal is fine too
    assert result["metrics"]["model"]["n"] == 0
    assert (tmp_path / "models" / HEAD_FILE).is_file()


COMPLAINT_TEXTS = [("My {} order never arrived and nobody answers.", "delivery"),
                   ("I was charged twice for {} and still have no refund.", "billing")]
FINE_TEXTS = ["The {} team was friendly and quick.", "I ordered {} last Tuesday."]


def write_complaint_corpus(root, doc_ids):
    return write_tiny(root, "complaints", "review", doc_ids, lambda i, topic: [
        {"text": COMPLAINT_TEXTS[i % 2][0].format(topic), "complaint": True, "theme": COMPLAINT_TEXTS[i % 2][1]},
        {"text": FINE_TEXTS[i % 2].format(topic), "complaint": False, "theme": None}])


PROMISE_TEXTS = [("Your {} order arrives the next working day.", "delivery"),
                 ("We never charge a fee for {} payments.", "billing")]


def write_promise_corpus(root, doc_ids):
    return write_tiny(root, "promises", "web_copy", doc_ids, lambda i, topic: [
        {"text": PROMISE_TEXTS[i % 2][0].format(topic), "promise": True, "theme": PROMISE_TEXTS[i % 2][1],
         "specificity": "specific", "strength": "firm"},
        {"text": FINE_TEXTS[i % 2].format(topic), "promise": False, "theme": None}])


@pytest.mark.parametrize("epochs", [1, 0])
def test_complaint_training_writes_the_head_and_its_fine_tuned_second_opinion(tmp_path, epochs, caplog):
    from nlp.complaints import HEAD_FILE as COMPLAINTS_FILE
    from nlp.complaints import TUNED_FILE
    from nlp.train import train_complaints

    corpora = write_complaint_corpus(tmp_path / "corpora", DOC_IDS)
    if epochs:  # the theme head learns from the promises too when there is a promise corpus
        write_promise_corpus(corpora, DOC_IDS)
    cfg = load_config(overrides={"paths.corpora": str(corpora), "paths.models": str(tmp_path / "models"),
                                 "training.complaints.tune_epochs": epochs, "training.complaints.tune_batch_size": 4})
    with caplog.at_level(logging.WARNING, logger="nlp.train"):
        result = train_complaints(cfg, command=CMD)
    models = tmp_path / "models"
    assert (models / COMPLAINTS_FILE).is_file() and (models / "themes.skops").is_file()
    card = (models / "themes.md").read_text()
    promise_themes = "promise themes (gold promises of the promise corpus)"
    if epochs:
        assert promise_themes in result["themes"] and result["themes"][promise_themes]["theme head, argmax"]["n"] == 2
        assert "`complaints` and `promises`: 20 sentences" in card.replace(str(corpora) + "/", "")  # 10 + 10 themed
    else:  # no promise corpus: the complaints alone, said in the log and the card
        assert promise_themes not in result["themes"] and "no promise corpus was found" in card
        assert any("no promise corpus" in r.getMessage() for r in caplog.records)
    systems = result["metrics"]["complaint detection (sentence)"]
    if epochs:
        assert (models / TUNED_FILE).is_file()
        assert load_head(models / TUNED_FILE).get_params()["epochs"] == 1
        assert {"complaint detector (head + fine-tuned second opinion)", "fine-tuned encoder alone",
                "complaint detector, PyTorch float32 runtime"} <= set(systems)
    else:  # tune_epochs = 0: the head decides alone, and no second-opinion file is written
        assert not (models / TUNED_FILE).exists()
        assert "fine-tuned encoder alone" not in systems
    assert "VADER negativity (baseline)" in systems


def test_on_the_torch_runtime_there_is_no_float32_row(tmp_path):
    cfg = load_config(overrides={"paths.corpora": str(write_corpus(tmp_path / "corpora", DOC_IDS)),
                                 "paths.models": str(tmp_path / "models"), "training.perspective.tune_epochs": 0,
                                 "components.perspective.encoder.runtime": "torch"})
    result = train_perspective(cfg, command=CMD)
    assert not any("float32" in name for name in result["metrics"]["test split"])
    assert "`torch` runtime" in (tmp_path / "models" / "perspective.md").read_text()


@pytest.mark.parametrize("name", ["perspective", "promises", "claims", "complaints", "themes"])
def test_shipped_models_were_trained_with_the_packaged_settings(name):
    """A card's rebuild command (``lipservice train``) reads the packaged config: every setting that shapes
    a model (seed, components, training) must still be what the shipped model's resolved config records.
    Settings added since that only run the tool (input bounds, batch, reviews) may be absent from it."""
    from confection import Config

    def settings(path) -> dict:
        def flat(section: dict, prefix: str = ""):
            for key, value in section.items():
                if isinstance(value, dict):
                    yield from flat(value, f"{prefix}{key}.")
                else:
                    yield f"{prefix}{key}", value
        return {k: v for k, v in flat(Config().from_disk(path, interpolate=True))
                if k.startswith(("system.", "components.", "training."))}

    shipped, packaged = settings(PROJECT_ROOT / "models" / f"{name}.cfg"), settings(PROJECT_ROOT / "nlp" / "config.cfg")
    assert shipped == packaged, sorted(k for k in set(shipped) | set(packaged) if shipped.get(k) != packaged.get(k))


@pytest.mark.parametrize("name", ["perspective", "promises", "claims", "complaints", "themes"])
def test_a_shipped_resolved_config_serves_as_config(name):
    """The README offers models/<name>.cfg as --config; a setting added since (lipservice.output_text) made it E304."""
    from nlp.pipeline import load_config

    load_config(PROJECT_ROOT / "models" / f"{name}.cfg")
