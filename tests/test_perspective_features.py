"""Parse features of perspective, on purpose-written sentences parsed by the real spaCy model."""
from __future__ import annotations

import numpy as np
import pytest

from nlp.perspective_features import (
    FEATURE_NAMES,
    LEXICAL_FEATURES,
    dependency_tokens,
    features_matrix,
    lexical_matrix,
    sentence_features,
)


@pytest.fixture(scope="module")
def parse(nlp):
    """Parse one sentence with the shipped pipeline minus the perspective component."""
    cache = {}

    def _parse(text: str):
        if text not in cache:
            with nlp.select_pipes(disable=nlp.pipe_names[nlp.pipe_names.index("perspective"):]):
                doc = nlp(text)
            sents = list(doc.sents)
            assert len(sents) == 1, f"{text!r} should parse as one sentence, got {sents}"
            cache[text] = sents[0]
        return cache[text]

    return _parse


def features(span) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, sentence_features(span).tolist()))


# (sentence, feature, expected value)
CASES = [
    ("We ship every order within two days.", "subj_we", 1.0),
    ("You can cancel at any time.", "subj_we", 0.0),
    ("You can cancel at any time.", "subj_you", 1.0),
    ("We ship every order within two days.", "subj_you", 0.0),
    ("Our team works around the clock.", "subj_we", 0.0),  # "our" is a possessive, not the subject
    ("Sign up now.", "imperative", 1.0),
    ("Book your table online.", "imperative", 1.0),
    ("Please contact us for details.", "imperative", 1.0),
    ("We ship every order within two days.", "imperative", 0.0),
    ("You can cancel at any time.", "imperative", 0.0),
    ("Our team works around the clock.", "poss_our", 1.0),
    ("Our team works around the clock.", "poss_your", 0.0),
    ("Your data stays private.", "poss_your", 1.0),
    ("Your data stays private.", "poss_our", 0.0),
    ("We will refund you in full.", "obj_you_or_me", 1.0),
    ("We will send you a new card.", "obj_you_or_me", 1.0),
    ("The agent helped me.", "obj_you_or_me", 1.0),
    ("Please contact us for details.", "obj_you_or_me", 0.0),  # "contact us" is an address, not a benefit
    ("We ship every order within two days.", "obj_you_or_me", 0.0),
    ("We built this app for you.", "for_you", 1.0),
    ("This is for them.", "for_you", 0.0),
    ("We will refund you in full.", "for_you", 0.0),
]


@pytest.mark.parametrize("text,name,expected", CASES, ids=[f"{n}={v:g}:{t}" for t, n, v in CASES])
def test_flag(parse, text, name, expected):
    assert features(parse(text))[name] == expected


@pytest.mark.parametrize("text", ["We ship every order within two days.", "Sign up now.",
                                  "Terms and conditions apply."])
def test_vector_length_matches_feature_names(parse, text):
    vec = sentence_features(parse(text))
    assert vec.shape == (len(FEATURE_NAMES),)
    assert vec.dtype == np.float32
    assert np.isfinite(vec).all()


def test_feature_names_are_unique():
    assert len(set(FEATURE_NAMES)) == len(FEATURE_NAMES)


def test_exactly_one_subject_flag_is_set(parse):
    subject_flags = ("subj_we", "subj_you", "subj_i", "subj_third", "subj_none")
    for text in ("We ship every order within two days.", "You can cancel at any time.",
                 "The agent helped me.", "Sign up now."):
        f = features(parse(text))
        assert sum(f[k] for k in subject_flags) == 1.0, text


def test_features_matrix_stacks_rows_and_handles_no_sentences(parse):
    spans = [parse("Sign up now."), parse("Your data stays private.")]
    mat = features_matrix(spans)
    assert mat.shape == (2, len(FEATURE_NAMES))
    np.testing.assert_array_equal(mat[1], sentence_features(spans[1]))
    assert features_matrix([]).shape == (0, len(FEATURE_NAMES))


def test_dependency_tokens_tag_words_with_their_role(parse):
    tokens = dependency_tokens(parse("You can cancel at any time.")).split()
    assert "you_nsubj" in tokens
    assert "you" in tokens and "cancel" in tokens
    assert "our_poss" in dependency_tokens(parse("Our team works around the clock.")).split()


def test_lexical_matrix_is_stateless_hashed_counts(parse):
    spans = [parse("Sign up now."), parse("Your data stays private."), parse("Sign up now.")]
    mat = lexical_matrix(spans)
    assert mat.shape == (3, LEXICAL_FEATURES)
    assert mat.min() >= 0
    assert (mat[0] != mat[2]).nnz == 0  # same sentence, same row: nothing is fitted
    assert mat[0].sum() > 0 and (mat[0] != mat[1]).nnz > 0


def test_lexical_matrix_of_no_sentences_is_empty():
    assert lexical_matrix([]).shape == (0, LEXICAL_FEATURES)


def test_a_direction_mark_changes_no_feature(parse):
    """The tokenizer splits marks off words; as words they moved a sentence from company to neutral."""
    plain, marked = parse("We refund you."), parse("\u200fWe refund\u200e you.")
    assert np.array_equal(sentence_features(plain), sentence_features(marked))
    assert dependency_tokens(plain) == dependency_tokens(marked)

