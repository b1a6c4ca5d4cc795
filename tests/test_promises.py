"""Promises: the wording rules (strength, negation, conditions, specificity) and the shipped
``lipservice_promises`` component on the real pipeline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spacy
from conftest import doc_before
from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from nlp.pipeline import project_path
from nlp.promises import (
    HEAD_FILE,
    is_conditional,
    is_negated,
    is_section_title,
    said_part,
    specificity_of,
    strength_of,
)
from nlp.quantities import extract_quantities
from nlp.taxonomy import load_taxonomy

REFUND = "We will refund you within 48 hours."
RETURNS = "Free returns within 30 days."
NO_GUARANTEE = "We cannot guarantee delivery dates."
UPGRADE = "Subject to availability, we'll upgrade your room for free."
OVERPROMISE = "We always provide the best service."
DESCRIPTION = "We are the leading bank in Wales."
SUPPORT = "Enjoy 24/7 support."
MONEY_BACK = "Next-day delivery or your money back."
PAST = "We delivered 2 million parcels last year."
CURLY_NO_GUARANTEE = "We can\u2019t guarantee delivery dates."
MIXED = f"{DESCRIPTION} {REFUND} {NO_GUARANTEE}\n\n{RETURNS} {UPGRADE}"

TEXTS = [REFUND, RETURNS, NO_GUARANTEE, UPGRADE, OVERPROMISE, DESCRIPTION, SUPPORT, MONEY_BACK, PAST,
         CURLY_NO_GUARANTEE, MIXED, "", "  \n\n  "]


@pytest.fixture(scope="module")
def docs(nlp):
    """Every text annotated once, in one batch (the encoder is the slow part)."""
    return dict(zip(TEXTS, nlp.pipe(TEXTS)))


def promise_of(doc) -> dict | None:
    """The promise of a one-sentence doc."""
    sents = list(doc.sents)
    assert len(sents) == 1, [s.text for s in sents]
    return sents[0]._.promise


def spans_text(doc) -> list[str]:
    return [s.text.strip() for s in doc.spans["promises"]]


def promise_annotations(doc) -> dict:
    return {"sents": [(s.text, s._.promise) for s in doc.sents],
            "spans": [(s.start, s.end, s.label_) for s in doc.spans["promises"]]}


# --- strength -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "We always answer the phone.",
    "Your parcel, guaranteed.",
    "We will never charge you for paper statements.",
    "Every order ships free.",
    "Next-day delivery or your money back.",
    "Cancel anytime.",
    "We refund 100 percent of the fare.",
])
def test_absolute_wording(text):
    assert strength_of(text) == "absolute"


@pytest.mark.parametrize("text", ["We refund 100% of the fare.", "Satisfaction: 100%."])
def test_one_hundred_percent_is_absolute(text):
    assert strength_of(text) == "absolute"


@pytest.mark.parametrize("text", [
    "We will refund you within 14 days.",
    "Free returns within 30 days.",
    "We offer next-day delivery.",
])
def test_firm_wording(text):
    assert strength_of(text) == "firm"


@pytest.mark.parametrize("text", [
    "We strive to reply within one working day.",
    "We aim to dispatch orders the same day.",
    "We try to answer quickly.",
    "Refunds usually arrive within a week.",
    "We will endeavour to reply where possible.",
    "Deliveries may take up to 5 days.",
])
def test_hedged_wording(text):
    assert strength_of(text) == "hedged"


@pytest.mark.parametrize("text", [
    "We strive to always reply within one working day.",
    "We aim to never lose a parcel.",
    "We try to answer every call.",
    "Refunds are usually guaranteed.",
])
def test_hedged_beats_absolute(text):
    assert strength_of(text) == "hedged"


# --- negation -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "We cannot guarantee delivery dates.",
    "we can't promise",
    "There is no guarantee of a seat.",
    "We can not guarantee stock.",
    "We are unable to offer refunds on sale items.",
    "Delivery times are not guaranteed.",
    "We do not guarantee availability.",
])
def test_negated_commitments(text):
    assert is_negated(text)


@pytest.mark.parametrize("text", ["We can\u2019t promise next-day delivery.", "We don\u2019t guarantee stock."])
def test_negation_with_typographic_apostrophe(text):
    assert is_negated(text)


@pytest.mark.parametrize("text", [
    "We will refund you within 48 hours.",
    "We will never charge you for paper statements.",  # a commitment not to act is still a promise
    "Guaranteed delivery by 9am.",
    "We won't charge you a penny for returns.",
])
def test_commitments_that_are_not_negated(text):
    assert not is_negated(text)


# --- conditions ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Subject to availability, we'll upgrade your room.",
    "Free delivery on orders over £50.",
    "Free breakfast if you book before 6 pm.",
    "Half price on all sofas. Terms apply.",
    "T&Cs apply.",
    "Terms and conditions apply.",
    "Refunds are paid as long as you keep the receipt.",
    "Free for students.",
    "Unless you cancel, your plan renews.",
    "While stocks last.",
])
def test_conditional_wording(text):
    assert is_conditional(text)


@pytest.mark.parametrize("text", [
    "We will refund you within 48 hours.",
    "Free returns within 30 days.",
    "We always provide the best service.",
    "24/7 support.",
])
def test_unconditional_wording(text):
    assert not is_conditional(text)


# --- specificity --------------------------------------------------------------------------------

def doc_with_entity(text: str, ent_text: str, label: str):
    """A hand-built Doc (whitespace tokens) with one entity, to test specificity without a model."""
    words = text.split(" ")
    doc = Doc(Vocab(), words=words)
    ent_words = ent_text.split(" ")
    i = next(k for k in range(len(words)) if words[k:k + len(ent_words)] == ent_words)
    doc.ents = [Span(doc, i, i + len(ent_words), label=label)]
    return doc


@pytest.mark.parametrize("text,ent,label", [
    ("We are there for you every day .", "every day", "DATE"),
    ("We answer today .", "today", "DATE"),
    ("We are here for you always .", "always", "DATE"),
    ("We have many stores .", "many", "CARDINAL"),
])
def test_numeric_entities_without_a_number_are_vague(text, ent, label):
    doc = doc_with_entity(text, ent, label)
    assert specificity_of(doc.text, extract_quantities(doc.text), doc.ents) == "vague"


@pytest.mark.parametrize("text,ent,label", [
    ("We deliver on Sunday .", "Sunday", "DATE"),
    ("We reply within one week .", "one week", "DATE"),
    ("Open until midnight .", "midnight", "TIME"),
    ("We will deliver in March .", "March", "DATE"),
    ("Stores open from 2026 .", "2026", "DATE"),
])
def test_numeric_entities_with_a_number_or_named_day_are_specific(text, ent, label):
    doc = doc_with_entity(text, ent, label)
    assert specificity_of(doc.text, [], doc.ents) == "specific"


def test_plural_named_day_is_specific():
    doc = doc_with_entity("We deliver on Sundays .", "Sundays", "DATE")
    assert specificity_of(doc.text, [], doc.ents) == "specific"


def test_entities_are_only_asked_for_when_a_checkable_word_is_there():
    def no_entities():
        raise AssertionError("the entity recogniser ran on a sentence no entity can make specific")

    assert specificity_of("We always put you first.", [], no_entities) == "vague"
    assert specificity_of("We deliver on Sundays.", [], lambda: ()) == "vague"


SUNDAY = "We will deliver your order on Sunday."


def test_the_entity_recogniser_is_loaded_but_off_the_main_pass(nlp):
    assert "ner" in nlp.disabled and "ner" in nlp.component_names
    assert not nlp(SUNDAY).has_annotation("ENT_IOB")


def test_an_entity_found_on_demand_makes_a_promise_specific(nlp):
    doc = nlp(SUNDAY)
    promise = promise_of(doc)
    assert promise is not None and promise["quantities"] == []
    assert promise["specificity"] == "specific"
    assert [(e.text, e.label_) for e in nlp.get_pipe("promises").entities(doc[:])] == [("Sunday", "DATE")]
    assert not doc.has_annotation("ENT_IOB")  # found on a copy: the Doc is not modified


def test_entities_of_many_spans_come_from_one_batch_and_match_one_at_a_time(nlp):
    component = nlp.get_pipe("promises")
    docs = list(nlp.pipe([SUNDAY, "Open until midnight on Fridays.", "We care."]))
    spans = [d[:] for d in docs]
    batched = component.entities_of(spans)
    assert [[(e.text, e.label_) for e in ents] for ents in batched] == \
        [[(e.text, e.label_) for e in component.entities(s)] for s in spans]
    assert batched[0][0].text == "Sunday" and batched[2] == ()
    assert component.entities_of([]) == []


def test_entities_of_the_doc_are_used_when_the_recogniser_ran(nlp):
    nlp.enable_pipe("ner")
    try:
        doc = nlp(SUNDAY)
    finally:
        nlp.disable_pipe("ner")
    assert doc.has_annotation("ENT_IOB")
    assert nlp.get_pipe("promises").entities(doc[:]) == tuple(doc.ents)
    assert promise_of(doc)["specificity"] == "specific"


def test_without_an_entity_recogniser_entities_cannot_make_a_promise_specific(nlp, cfg):
    from nlp.promises import PromisesComponent

    settings = cfg["components"]["promises"]
    component = PromisesComponent(nlp, "promises", nlp.get_pipe("promises").encoder, project_path(settings["model"]),
                                  project_path(settings["taxonomy"]), 0.5, 0.2, entities="")
    doc = doc_before(nlp, "promises", SUNDAY)
    assert component.entity_recognizer is None and component.entities(doc[:]) == ()
    assert component.predict([doc])[0][0]["specificity"] == "vague"


@pytest.mark.parametrize("text", [
    "We will refund you within 48 hours.",
    "Delivery for £5.",
    "10% off your first order.",
    "Delivered by 9am.",
    "24/7 support.",
])
def test_quantities_make_a_promise_specific(text):
    assert specificity_of(text, extract_quantities(text)) == "specific"


@pytest.mark.parametrize("text", ["We put everything in writing.", "Free delivery to mainland UK.",
                                  "Same-day dispatch.", "Next working day delivery."])
def test_named_scopes_are_specific(text):
    assert specificity_of(text, []) == "specific"


@pytest.mark.parametrize("text", ["We always provide the best service.", "Fast delivery.",
                                  "We will get back to you soon."])
def test_no_number_no_scope_is_vague(text):
    assert specificity_of(text, extract_quantities(text)) == "vague"


# --- the component on the real pipeline -----------------------------------------------------------

def test_explicit_promise_with_a_deadline(docs):
    doc = docs[REFUND]
    assert spans_text(doc) == [REFUND]
    p = promise_of(doc)
    assert p["text"] == REFUND
    assert p["specificity"] == "specific"
    assert p["strength"] == "firm"
    assert p["conditional"] is False
    assert any(q["type"] == "duration" and q["hours"] == 48 for q in p["quantities"])
    assert 0.5 <= p["p"] <= 1.0


def test_the_span_label_and_extension_agree(docs):
    doc = docs[REFUND]
    (span,) = doc.spans["promises"]
    assert span.label_ == "PROMISE"
    assert (span.start, span.end) == (0, len(doc))


def test_implicit_offer_is_a_promise(docs):
    p = promise_of(docs[RETURNS])
    assert p is not None
    assert p["specificity"] == "specific"
    assert any(q["type"] == "duration" and q["hours"] == 720 for q in p["quantities"])


@pytest.mark.parametrize("text", [SUPPORT, MONEY_BACK])
def test_offer_language_is_a_promise(docs, text):
    assert spans_text(docs[text]) == [text]


def test_the_handles_a_reply_opens_with_are_not_read(nlp):
    """A support reply opening with @handles was read as no promise: training's handle-led lines are greetings."""
    plain = ["We'll look into this for you right away.", "I'll pass this on to our delivery team now."]
    replies = [f"@115712 @ShopHelp {t}" for t in plain]
    docs = list(nlp.pipe(plain + replies))
    [said] = [said_part(s) for s in docs[2].sents]
    assert said.text == plain[0]
    assert [promise_of(d)["p"] for d in docs[2:]] == [promise_of(d)["p"] for d in docs[:2]]
    # nor is its theme read from them
    assert [promise_of(d)["theme"] for d in docs[2:]] == [promise_of(d)["theme"] for d in docs[:2]]
    assert promise_of(docs[2])["text"] == replies[0]  # the promise is still the whole sentence
    for doc in nlp.pipe(["@anna", "Email @team and we reply."]):  # a handle alone, or one inside: kept
        assert [said_part(s).text for s in doc.sents] == [s.text for s in doc.sents]


@pytest.mark.parametrize("text", ["What you get", "When to expect your delivery", "How it works:", "Why choose us",
                                  "What\u2019s included"])
def test_section_titles_are_not_promises(nlp, text):
    """"What you get" above a list of offers was read as a promise (0.81)."""
    assert is_section_title(text)
    assert not nlp(text).spans["promises"]


@pytest.mark.parametrize("text", ["What you see is what you pay.", "When you order by 8pm, it ships today",
                                  "Whenever you need us", "Why pay more? Delivery is free.",
                                  "What you get: free delivery", "What you get: free delivery on every order and a refund"])
def test_sentences_that_open_like_a_title_are_not_titles(text):
    assert not is_section_title(text)


def test_negated_commitment_is_not_a_promise(docs):
    assert promise_of(docs[NO_GUARANTEE]) is None
    assert spans_text(docs[NO_GUARANTEE]) == []


def test_negated_commitment_with_typographic_apostrophe_is_not_a_promise(docs):
    assert promise_of(docs[CURLY_NO_GUARANTEE]) is None


def test_conditional_promise_stays_a_promise(docs):
    p = promise_of(docs[UPGRADE])
    assert p is not None
    assert p["conditional"] is True


def test_absolute_and_vague_is_overpromising(docs):
    p = promise_of(docs[OVERPROMISE])
    assert p is not None
    assert p["strength"] == "absolute"
    assert p["specificity"] == "vague"
    assert p["quantities"] == []


@pytest.mark.parametrize("text", [DESCRIPTION, PAST])
def test_descriptions_and_past_facts_are_not_promises(docs, text):
    assert promise_of(docs[text]) is None
    assert spans_text(docs[text]) == []


def test_themes_are_taxonomy_ids_or_none(docs, cfg):
    ids = {t.id for t in load_taxonomy(project_path(cfg["paths"]["taxonomy"]))}
    seen = 0
    for doc in docs.values():
        for sent in doc.sents:
            if sent._.promise is not None:
                seen += 1
                assert sent._.promise["theme"] is None or sent._.promise["theme"] in ids
    assert seen >= 6


def test_obvious_themes(docs):
    assert promise_of(docs[REFUND])["theme"] == "returns_refunds"
    assert promise_of(docs[SUPPORT])["theme"] == "support"


def _component(nlp, cfg, **settings):
    from nlp.promises import PromisesComponent

    shipped = cfg["components"]["promises"]
    return PromisesComponent(nlp, "promises", nlp.get_pipe("promises").encoder, project_path(shipped["model"]),
                             project_path(shipped["taxonomy"]), 0.5, 0.2, **settings)


def test_a_promise_is_themed_by_the_head_that_themes_complaints(nlp, cfg):
    """A promise and a complaint about the same thing get the same theme: both are decided by the
    theme head (``theme_model``), not the promise by nearest description and the complaint by the head."""
    from nlp.taxonomy import UNASSIGNED

    promises, themes = nlp.get_pipe("promises"), nlp.get_pipe("themes")
    assert Path(promises.theme_model) == Path(themes.model_path)
    texts = [REFUND, SUPPORT, "Your parcel arrives the next working day, tracked all the way.",
             "Switch energy supplier in three clicks."]
    emb = promises.encoder.encode(texts)
    X = np.hstack([emb, emb @ themes.matcher.centroids().T])
    expected = [None if t == UNASSIGNED else t for t, _, _ in themes.decide(X)]  # themes' own min_p is 0.35 too
    assert [t for t, _ in promises.themes_of(emb)] == expected
    assert expected[:3] == ["returns_refunds", "support", "delivery"]
    unsure = _component(nlp, cfg, theme_model=promises.theme_model, theme_min_p=1.0)
    assert [t for t, _ in unsure.themes_of(emb)] == [None] * 4  # below theme_min_p: no theme
    # with no theme, the similarity reported is the best one to a theme description
    assert [s for _, s in unsure.themes_of(emb)] == [s for _, s in promises.themes.assign(emb)]
    # with one, it is the similarity to that theme's description, not to whichever description is nearest
    column = {t.id: k for k, t in enumerate(promises.themes.themes)}
    sims = emb @ promises.themes.centroids().T
    for (theme, similarity), row in zip(promises.themes_of(emb), sims):
        if theme is not None:
            assert similarity == round(float(row[column[theme]]), 4)
    # the head themes this "staff", while the nearest description is another theme's
    best = promises.encoder.encode(["We strive to offer the best service."])
    (theme, similarity), = promises.themes_of(best)
    assert theme == "staff" and similarity < float((best @ promises.themes.centroids().T).max())


def test_without_a_theme_model_the_nearest_theme_description_decides(nlp, cfg):
    nearest = _component(nlp, cfg, theme_model="")
    emb = nearest.encoder.encode([REFUND, DESCRIPTION])
    assert nearest.require_theme_head() is None
    assert nearest.themes_of(emb) == nearest.themes.assign(emb)
    doc = doc_before(nlp, "promises", REFUND)
    assert nearest.predict([doc])[0][0]["theme"] == "returns_refunds"


def test_a_missing_theme_model_is_one_error_naming_the_setting(nlp, cfg, tmp_path):
    from nlp.errors import ModelMissingError

    broken = _component(nlp, cfg, theme_model=str(tmp_path / "nowhere.skops"))
    with pytest.raises(ModelMissingError, match=r"promises component \(theme_model\).*nowhere\.skops"):
        broken.predict([doc_before(nlp, "promises", REFUND)])


def test_only_promise_sentences_of_a_longer_text_become_spans(docs):
    doc = docs[MIXED]
    assert spans_text(doc) == [REFUND, RETURNS, UPGRADE]
    for span in doc.spans["promises"]:
        assert span._.promise is not None and span._.promise["text"] == span.text.strip()
    for sent in doc.sents:
        assert (sent._.promise is not None) == (sent.text.strip() in spans_text(doc))


def test_promise_carries_the_sentence_perspective(docs):
    for doc in docs.values():
        for sent in doc.sents:
            if sent._.promise is not None:
                assert sent._.promise["perspective"] == sent._.perspective


@pytest.mark.parametrize("text", ["", "  \n\n  "])
def test_empty_doc_has_empty_promise_spans(docs, text):
    doc = docs[text]
    assert "promises" in doc.spans
    assert len(doc.spans["promises"]) == 0
    assert all(s._.promise is None for s in doc.sents)


def test_predict_does_not_modify_docs_and_set_annotations_does(nlp):
    component = nlp.get_pipe("promises")
    doc = doc_before(nlp, "promises", f"{DESCRIPTION} {REFUND}")
    assert "promises" not in doc.spans
    before = [s._.promise for s in doc.sents]
    predictions = component.predict([doc])
    assert "promises" not in doc.spans
    assert [s._.promise for s in doc.sents] == before == [None, None]
    assert predictions[0][0] is None and predictions[0][1]["text"] == REFUND
    component.set_annotations([doc], predictions)
    assert spans_text(doc) == [REFUND]
    assert [s._.promise for s in doc.sents] == predictions[0]


def test_predict_on_a_batch_of_only_empty_docs(nlp):
    component = nlp.get_pipe("promises")
    assert component.predict([nlp.make_doc(""), nlp.make_doc("")]) == [[], []]


def test_same_result_alone_and_in_a_batch(nlp, docs):
    assert promise_annotations(nlp(REFUND)) == promise_annotations(docs[REFUND])


def test_to_disk_and_spacy_load_round_trip(nlp, docs, tmp_path):
    nlp.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "promises" / HEAD_FILE).is_file()
    assert (tmp_path / "pipeline" / "promises" / "themes.skops").is_file()  # the theme head travels with it
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.pipe_names == nlp.pipe_names
    loaded.get_pipe("promises").theme_model = str(tmp_path / "moved-away.skops")  # the saved copy is used
    for text, doc in zip(TEXTS, loaded.pipe(TEXTS)):
        assert promise_annotations(doc) == promise_annotations(docs[text]), text


def test_an_entity_recogniser_the_pipeline_lacks_is_refused_not_ignored(nlp, cfg):
    # without one, "by next Friday" silently stopped counting as specific
    from nlp.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[E303\] components.promises.entities = 'nonexistent': the pipeline has "
                                          r"no such component .* entities = \"\""):
        _component(nlp, cfg, entities="nonexistent")
    assert _component(nlp, cfg, entities="").entity_recognizer is None  # said on purpose: no entities
