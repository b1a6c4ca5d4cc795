"""nlp/language.py: non-English records become rejects with a reason; English and short texts pass."""
from __future__ import annotations

from spacy.util import registry

from nlp.errors import E_LANGUAGE
from nlp.language import LanguageScreen
from nlp.records import Record

FRENCH = "Nous livrons vos colis en 24 heures ou vous êtes remboursé, sans condition et sans frais cachés."
GERMAN = "Unser Kundendienst ist rund um die Uhr für Sie da und beantwortet jede Anfrage innerhalb einer Stunde."
ENGLISH = "We deliver your parcels within 24 hours, or you get your money back with no questions asked."


def rec(text):
    return Record(id="x", text=text, source="in.jsonl", position="line 3")


def test_french_and_german_are_rejected_with_language_and_position():
    screen = LanguageScreen()
    for text, lang in ((FRENCH, "fr"), (GERMAN, "de")):
        r = screen.check(rec(text))
        assert r is not None and r.code == E_LANGUAGE
        assert f"'{lang}'" in r.reason and r.position == "line 3" and r.source == "in.jsonl"


def test_english_passes():
    assert LanguageScreen().check(rec(ENGLISH)) is None


def test_short_text_is_not_judged():
    assert LanguageScreen(min_chars=40).check(rec("Merci beaucoup !")) is None


def test_empty_language_list_turns_screening_off():
    assert LanguageScreen(languages=[]).check(rec(FRENCH)) is None


def test_other_languages_can_be_allowed():
    assert LanguageScreen(languages=["en", "fr"]).check(rec(FRENCH)) is None


def test_registered_v1_builds_a_screen():
    screen = registry.resolve({"s": {"@misc": "lipservice.LanguageScreen.v1", "languages": ["en"],
                                     "min_chars": 10, "min_p": 0.5, "sample_chars": 500}})["s"]
    assert isinstance(screen, LanguageScreen) and screen.min_chars == 10 and screen.sample_chars == 500


def test_a_language_given_as_one_code_or_in_capitals_is_still_that_language():
    # "en" as a string was the languages "e" and "n", and "EN" matched nothing: English was rejected
    for languages in ("en", ["EN"], [" en "]):
        assert LanguageScreen(languages=languages).check(rec(ENGLISH)) is None, languages
        assert LanguageScreen(languages=languages).check(rec(FRENCH)) is not None, languages


def test_a_min_p_above_one_is_refused_not_a_screen_silently_off():
    import pytest

    from nlp.errors import ConfigError

    with pytest.raises(ConfigError, match=r"\[E303\] batch.language.min_p = 5.0: must lie in \[0, 1\]"):
        LanguageScreen(min_p=5.0)


def annotated(rid, text):
    return {"id": rid, "sentences": [{"text": text}]}


def test_reviews_not_in_english_are_counted_by_language_with_their_first_ids():
    from nlp.language import review_language_warnings, review_languages

    records = [annotated("a", FRENCH), annotated("b", ENGLISH), annotated("c", GERMAN), annotated("d", FRENCH),
               annotated("e", "Trop tard.")]  # short: not judged
    found = review_languages(LanguageScreen(), records, shown=2)
    assert found == {"not_read": 3, "by_language": {"de": 1, "fr": 2}, "first_ids": ["a", "c"]}
    [warning] = review_language_warnings(found, len(records))
    assert warning.startswith("3 of 5 reviews are not in English (de 1, fr 2; first: id a, id c)")
    assert review_language_warnings(review_languages(LanguageScreen(), records[1:2]), 1) == []
    assert review_languages(None, records)["not_read"] == 0  # no screen, nothing judged
    assert review_languages(LanguageScreen(languages=[]), records)["not_read"] == 0  # screening off
