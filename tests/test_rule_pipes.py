"""nlp/rule_pipes.py: the fast attribute-ruler match gives exactly spaCy's annotations."""
from __future__ import annotations

import pytest
import spacy
from spacy.attrs import DEP, LEMMA, MORPH, POS, TAG
from spacy.tokens import Doc

import nlp.rule_pipes as rule_pipes
from nlp.pipeline import load_base_model
from nlp.rule_pipes import FastAttributeMatch, speed_up_attribute_ruler

RULES = [
    {"patterns": [[{"TAG": "VBZ", "LOWER": "is"}]], "attrs": {"LEMMA": "be", "POS": "AUX"}},
    {"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "NOUN"}},
    {"patterns": [[{"LOWER": {"REGEX": "^n[ou]thin'$"}}]], "attrs": {"LEMMA": "nothing"}},
    {"patterns": [[{"TAG": {"NOT_IN": ["TO", ""]}, "DEP": {"IN": ["aux", "auxpass"]}}]], "attrs": {"POS": "AUX"}},
    {"patterns": [[{"LOWER": "gon"}, {"LOWER": "na"}]], "attrs": {"LEMMA": "go"}, "index": 0},
    {"patterns": [[{"LOWER": "gon"}, {"LOWER": "na"}]], "attrs": {"LEMMA": "to"}, "index": 1},
    {"patterns": [[{"TAG": "VBZ", "LOWER": "gets"}], [{"TAG": "VBD", "LOWER": "got"}]], "attrs": {"LEMMA": "get"}},
    {"patterns": [[{"TAG": "NN"}]], "attrs": {"POS": "PROPN"}},  # a later rule wins over an earlier one
    {"patterns": [[{"IS_SPACE": True}]], "attrs": {"TAG": "_SP", "POS": "SPACE"}},
]
WORDS = ["it", "is", "nothin'", "we", "gon", "na", "win", "the", "cup", "he", "gets", "it", "got", "  ", "can"]
TAGS = ["PRP", "VBZ", "NN", "PRP", "VBG", "TO", "VB", "DT", "NN", "PRP", "VBZ", "PRP", "VBD", "", "MD"]
DEPS = ["nsubj", "ROOT", "attr", "nsubj", "aux", "aux", "ROOT", "det", "dobj", "nsubj", "ROOT", "dobj", "ROOT", "dep",
        "aux"]
ATTRS = [TAG, POS, MORPH, LEMMA, DEP]


def annotations(doc: Doc) -> list:
    return doc.to_array(ATTRS).tolist()


@pytest.fixture()
def tiny():
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("attribute_ruler")
    ruler.add_patterns(RULES)
    return nlp, ruler


def tiny_doc(nlp) -> Doc:
    heads = list(range(len(WORDS)))
    return Doc(nlp.vocab, words=WORDS, tags=TAGS, deps=DEPS, heads=heads)


def test_same_matches_and_annotations_as_the_matcher_on_a_tiny_ruler(tiny):
    nlp, ruler = tiny
    expected_matches = ruler.match(tiny_doc(nlp))
    expected = annotations(ruler(tiny_doc(nlp)))
    assert speed_up_attribute_ruler(nlp)
    assert isinstance(ruler.match, FastAttributeMatch)
    assert ruler.match(tiny_doc(nlp)) == expected_matches
    doc = ruler(tiny_doc(nlp))
    assert annotations(doc) == expected
    assert [t.lemma_ for t in doc][2:6] == ["nothing", "", "go", "to"]
    assert doc[8].pos_ == "PROPN" and doc[1].lemma_ == "be" and doc[10].lemma_ == "get" and doc[13].pos_ == "SPACE"


def test_one_token_rules_are_decided_per_token_and_the_others_by_a_matcher(tiny):
    nlp, ruler = tiny
    match = FastAttributeMatch(ruler)
    assert len(match.token_rules) == 7 and len(match.other) == 2
    assert len(match.token_rules) + len(match.other) == len(ruler.patterns)


def test_the_memo_restarts_when_full_and_results_stay_the_same(tiny, monkeypatch):
    nlp, ruler = tiny
    expected = annotations(ruler(tiny_doc(nlp)))
    monkeypatch.setattr(rule_pipes, "MEMO_SIZE", 3)
    speed_up_attribute_ruler(nlp)
    assert annotations(ruler(tiny_doc(nlp))) == expected
    assert len(ruler.match.memo) <= 3


def test_no_attribute_ruler_nothing_to_speed_up():
    assert not speed_up_attribute_ruler(spacy.blank("en"))


HARD_TEXTS = [
    "Y'all gon na love it, ain't ya? Nothin' to see here.",
    "Let's go. C'mon, you got ta try it.  \n\n  There is a way, and there are two.",
    "I didn't do it; he did. Give it to me, not to you. What do you have?",
    "We've had 3 refunds, haven't we? It's not that I'm angry, it's that they'd promised.",
    "That which was promised is what we do. Whether you stay or go, we will refund you.",
]


def test_same_annotations_as_spacy_on_the_real_model(cfg):
    ls = cfg["lipservice"]
    slow = load_base_model(list(ls["base_models"]), ["ner"], fast_attribute_ruler=False)
    fast = load_base_model(list(ls["base_models"]), ["ner"])
    assert isinstance(fast.get_pipe("attribute_ruler").match, FastAttributeMatch)
    assert not isinstance(slow.get_pipe("attribute_ruler").match, FastAttributeMatch)
    for a, b in zip(slow.pipe(HARD_TEXTS), fast.pipe(HARD_TEXTS)):
        assert annotations(a) == annotations(b), a.text


def test_the_pipeline_uses_it_and_the_config_can_turn_it_off(nlp, cfg):
    from nlp.pipeline import build_nlp, load_config

    assert isinstance(nlp.get_pipe("attribute_ruler").match, FastAttributeMatch)
    off = build_nlp(load_config(overrides={"lipservice.fast_attribute_ruler": False}))
    assert not isinstance(off.get_pipe("attribute_ruler").match, FastAttributeMatch)
    for a, b in zip(nlp.pipe(HARD_TEXTS), off.pipe(HARD_TEXTS)):
        assert annotations(a) == annotations(b)
        assert [s._.perspective for s in a.sents] == [s._.perspective for s in b.sents]
