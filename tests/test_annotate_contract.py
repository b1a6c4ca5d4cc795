"""The annotate contract carries promises, claims and the lip-service scores (real pipeline)."""
from __future__ import annotations

import json

import pytest

from nlp.annotate import Annotator
from nlp.io import Record, Reject

TEXT = ("We are the leading bank in Wales. Customers come first.\n\n"
        "We will refund you within 48 hours. Free returns within 30 days.\n\n"
        "We always provide the best service.")
PROMISE_KEYS = {"text", "theme", "specificity", "strength", "quantities"}
CLAIM_KEYS = {"text", "lip_service", "reasons"}
SCORE_KEYS = {"promise_count", "cheap_talk_ratio", "lip_service_score", "lip_service_reasons"}


@pytest.fixture(scope="module")
def annotated(nlp):
    rejects: list[Reject] = []
    annotator = Annotator(nlp)
    items = [Record(id="r1", text=TEXT, kind="company", source="tiny.jsonl"),
             Reject(source="tiny.jsonl", position="line 2", reason="empty text", code="E119")]
    out = list(annotator.annotate(items, rejects.append))
    return out, rejects, annotator


def by_text(record: dict) -> dict[str, dict]:
    return {s["text"]: s for s in record["sentences"]}


def test_one_record_out_and_the_reject_passed_on(annotated):
    out, rejects, annotator = annotated
    assert [r["id"] for r in out] == ["r1"]
    assert [r.code for r in rejects] == ["E119"]
    assert annotator.counts.reconcile()
    assert out[0]["kind"] == "company" and out[0]["source"] == "tiny.jsonl"


def test_sentences_carry_promise_and_claim_dicts_or_null(annotated):
    record = annotated[0][0]
    assert len(record["sentences"]) == 5
    for s in record["sentences"]:
        assert TEXT[s["start"]:s["end"]] == s["text"]
        assert s["promise"] is None or PROMISE_KEYS <= set(s["promise"])
        assert s["claim"] is None or CLAIM_KEYS <= set(s["claim"])
        if s["promise"] is not None:
            assert s["promise"]["text"] == s["text"]
            assert s["promise"]["specificity"] in {"specific", "vague"}
            assert s["promise"]["strength"] in {"absolute", "firm", "hedged"}
            assert isinstance(s["promise"]["quantities"], list)
        if s["claim"] is not None:
            assert s["claim"]["text"] == s["text"]
            assert isinstance(s["claim"]["lip_service"], bool)
            assert isinstance(s["claim"]["reasons"], list)
            assert "lexicon" not in s["claim"] and "paragraph" not in s["claim"]  # internal fields stay out


def test_expected_promises_and_claims(annotated):
    sents = by_text(annotated[0][0])
    refund = sents["We will refund you within 48 hours."]["promise"]
    assert refund["specificity"] == "specific"
    assert any(q["type"] == "duration" and q["hours"] == 48 for q in refund["quantities"])
    assert sents["Free returns within 30 days."]["promise"] is not None
    assert sents["We are the leading bank in Wales."]["promise"] is None
    over = sents["We always provide the best service."]["promise"]
    assert (over["strength"], over["specificity"]) == ("absolute", "vague")
    claim = sents["Customers come first."]["claim"]
    assert claim["lip_service"] is True  # the 48-hour promise is in the next paragraph
    assert "no_concrete_commitment" in claim["reasons"]


def test_scores_carry_promise_and_lip_service_fields(annotated):
    scores = annotated[0][0]["scores"]
    assert SCORE_KEYS <= set(scores)
    sents = annotated[0][0]["sentences"]
    assert scores["promise_count"] == sum(1 for s in sents if s["promise"]) >= 3
    assert scores["cheap_talk_ratio"] is not None and 0.0 <= scores["cheap_talk_ratio"] <= 1.0
    assert isinstance(scores["lip_service_score"], int) and 0 <= scores["lip_service_score"] <= 100
    assert isinstance(scores["lip_service_reasons"], list) and len(scores["lip_service_reasons"]) <= 3
    assert all(isinstance(r, str) for r in scores["lip_service_reasons"])


def test_the_record_is_json_serialisable(annotated):
    record = annotated[0][0]
    assert json.loads(json.dumps(record)) == record


def test_pieces_give_the_same_sentences_as_one_piece(nlp, annotated):
    """A long text cut into pieces (at paragraph ends) is annotated as if whole."""
    whole = annotated[0][0]
    (cut,) = Annotator(nlp, piece_chars=80).annotate([Record(id="r1", text=TEXT, kind="company")], lambda r: None)
    assert cut["sentences"] == whole["sentences"]
    assert cut["scores"] == whole["scores"]
