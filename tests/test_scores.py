"""Document scores from contract sentence dicts: promise and claim counts, ratios, and the 0–100
lip-service score with its reasons in words."""
from __future__ import annotations

import pytest

from nlp.scores import VERDICTS, WEIGHTS, claim_verdict, customer_share, document_scores


def sentence(text: str, perspective: str = "neutral", promise: dict | None = None, claim: dict | None = None) -> dict:
    return {"text": text, "start": 0, "end": len(text), "perspective": perspective, "perspective_p": 0.9,
            "promise": promise, "claim": claim, "complaint_p": None, "theme": None}


def promise(strength: str = "firm", specificity: str = "specific") -> dict:
    return {"text": "p", "theme": None, "specificity": specificity, "strength": strength, "quantities": [],
            "conditional": False, "perspective": "customer", "p": 0.9}


def claim(lip_service: bool, substantiated: bool, reasons: list[str] | None = None) -> dict:
    if reasons is None:
        reasons = ["company_perspective", "no_concrete_commitment"] if lip_service else []
    return {"text": "c", "lip_service": lip_service, "reasons": reasons, "substantiated": substantiated, "p": 0.9}


CHEAP_TALK = [
    sentence("We are customer-obsessed.", "company", claim=claim(True, False)),
    sentence("Your satisfaction is our top priority.", "company", claim=claim(True, False)),
    sentence("We always provide the best service.", "company", promise=promise("absolute", "vague"),
             claim=claim(True, False)),
    sentence("We deliver world-class, seamless solutions.", "company",
             claim=claim(True, False, ["company_perspective", "no_concrete_commitment", "buzzword_density"])),
    sentence("We never let you down.", "company", promise=promise("absolute", "vague")),
]

SUBSTANTIATED = [
    sentence("Customers come first.", "neutral", claim=claim(False, True)),
    sentence("You get a refund within 48 hours.", "customer", promise=promise("firm", "specific")),
    sentence("You can call us 24/7.", "customer", promise=promise("absolute", "specific")),
    sentence("Your parcel arrives by 9am.", "customer", promise=promise("firm", "specific")),
]


def test_promise_counts_and_shares():
    sents = [
        sentence("a", "customer", promise=promise("firm", "specific")),
        sentence("b", "company", promise=promise("absolute", "vague")),
        sentence("c", "company", promise=promise("absolute", "specific")),
        sentence("d", "customer", promise=promise("hedged", "vague")),
        sentence("e", "neutral"),
    ]
    s = document_scores(sents)
    assert s["sentences"] == 5
    assert s["promise_count"] == 4
    assert s["promise_share_specific"] == pytest.approx(0.5)
    assert s["promise_share_absolute"] == pytest.approx(0.5)
    assert s["overpromising"] == 1  # absolute AND vague only


def test_claim_counts_and_cheap_talk_ratio():
    sents = [
        sentence("a", "company", claim=claim(True, False)),
        sentence("b", "company", claim=claim(True, False)),
        sentence("c", "company", claim=claim(False, True)),
        sentence("d", "customer", claim=claim(False, False)),  # unbacked but customer voice: cheap, not lip
    ]
    s = document_scores(sents)
    assert s["claim_count"] == 4
    assert s["lip_service_claims"] == 2
    assert s["cheap_talk_ratio"] == pytest.approx(0.75)


def test_cheap_talk_falls_back_to_the_verdict_without_substantiated():
    c = claim(True, False)
    del c["substantiated"]
    ok = claim(False, True)
    del ok["substantiated"]
    s = document_scores([sentence("a", "company", claim=c), sentence("b", "company", claim=ok)])
    assert s["cheap_talk_ratio"] == pytest.approx(0.5)


def test_perspective_share_and_counts():
    s = document_scores(SUBSTANTIATED)
    assert s["perspective_counts"] == {"company": 0, "customer": 3, "neutral": 1}
    assert s["customer_share"] == 1.0


def test_lip_service_score_is_a_bounded_integer_and_ranks_cheap_talk_above_substantiated():
    cheap = document_scores(CHEAP_TALK)
    good = document_scores(SUBSTANTIATED)
    for s in (cheap, good):
        assert isinstance(s["lip_service_score"], int)
        assert 0 <= s["lip_service_score"] <= 100
    assert cheap["lip_service_score"] > good["lip_service_score"]
    assert cheap["lip_service_score"] >= 75  # all claims hollow, all company voice, all promises overpromise
    assert good["lip_service_score"] <= 10
    assert cheap["cheap_talk_ratio"] == 1.0 and good["cheap_talk_ratio"] == 0.0
    assert cheap["overpromising"] == 2 and good["overpromising"] == 0


def test_worst_case_is_exactly_one_hundred():
    worst = [sentence("x", "company", promise=promise("absolute", "vague"),
                      claim=claim(True, False, ["company_perspective", "no_concrete_commitment", "buzzword_density"]))]
    assert document_scores(worst)["lip_service_score"] == sum(WEIGHTS.values()) == 100


def test_reasons_are_at_most_three_sentences_in_words_largest_first():
    s = document_scores(CHEAP_TALK)
    reasons = s["lip_service_reasons"]
    assert 1 <= len(reasons) <= 3
    assert all(isinstance(r, str) and r for r in reasons)
    assert "4 of 4 customer-centric claims" in reasons[0]  # cheap talk weighs most
    assert not any("{" in r for r in reasons)


def test_reasons_agree_in_number():
    """"1 of 1 customer-centric claims are lip service", "1 of 5 promises are …"."""
    s = document_scores([sentence("x", "company", promise=promise("absolute", "vague"),
                                  claim=claim(True, False, ["company_perspective", "buzzword_density"]))])
    assert "1 of 1 customer-centric claim is lip service: said from the company's side with no concrete " \
           "commitment behind it" in s["lip_service_reasons"]
    assert "1 of 1 promise is absolute but vague (overpromising)" in s["lip_service_reasons"]


def test_no_reasons_when_nothing_is_wrong():
    assert document_scores(SUBSTANTIATED)["lip_service_reasons"] == []


def test_document_without_promises_or_claims():
    s = document_scores([sentence("We are a bank.", "company"), sentence("Open 9-5.", "neutral")])
    assert s["promise_count"] == 0 and s["claim_count"] == 0 and s["overpromising"] == 0
    assert s["promise_share_specific"] is None
    assert s["promise_share_absolute"] is None
    assert s["cheap_talk_ratio"] is None
    assert 0 <= s["lip_service_score"] <= 100
    assert s["lip_service_score"] == WEIGHTS["company_voice"]  # scored on voice only
    assert len(s["lip_service_reasons"]) == 1


@pytest.mark.parametrize("sents", [[], [sentence("Hello.", "neutral")]])
def test_empty_or_sideless_document(sents):
    s = document_scores(sents)
    assert s["sentences"] == len(sents)
    assert s["customer_share"] is None
    assert s["promise_count"] == 0 and s["claim_count"] == 0
    assert s["cheap_talk_ratio"] is None and s["promise_share_specific"] is None
    assert s["lip_service_score"] == 0
    assert s["lip_service_reasons"] == []


def test_input_is_not_modified():
    import copy

    before = copy.deepcopy(CHEAP_TALK)
    document_scores(CHEAP_TALK)
    assert CHEAP_TALK == before


def test_customer_share_function():
    assert customer_share([]) is None
    assert customer_share(["neutral", "neutral"]) is None
    assert customer_share(["company"]) == 0.0
    assert customer_share(["customer", "neutral"]) == 1.0
    assert customer_share(["company", "customer", "customer", "neutral"]) == 0.6667


@pytest.mark.parametrize("claim, verdict", [
    ({"lip_service": True, "substantiated": False}, "lip_service"),
    ({"lip_service": False, "substantiated": True}, "substantiated"),
    ({"lip_service": False, "substantiated": False}, "open"),  # the customer's side, nothing behind it
    ({"lip_service": False}, "substantiated"),  # a contract without the field: as the cheap-talk ratio reads it
])
def test_a_claim_is_shown_substantiated_only_when_a_promise_backs_it(claim, verdict):
    """A customer-side claim with no promise behind it was shown "substantiated" in the terminal and the
    HTML while the JSON said substantiated: false and the cheap-talk ratio counted it."""
    assert claim_verdict(claim) == verdict
    assert VERDICTS[verdict][0] != "substantiated" or verdict == "substantiated"
