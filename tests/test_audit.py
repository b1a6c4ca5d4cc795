"""audit_result: the rewrite list ranks company sentences by perspective_p and respects `top`."""
from __future__ import annotations

from nlp.audit import audit_result


def sent(text, start, perspective, p):
    return {"text": text, "start": start, "end": start + len(text), "perspective": perspective,
            "perspective_p": p, "promise": None, "claim": None, "complaint_p": None, "theme": None}


RECORD = {
    "id": "doc-1",
    "kind": "company",
    "source": "site.md",
    "scores": {"sentences": 6, "customer_share": 0.25, "perspective_counts": {"company": 3, "customer": 1,
                                                                             "neutral": 2}},
    "sentences": [
        sent("We are the market leader.", 0, "company", 0.71),
        sent("You get a refund.", 26, "customer", 0.99),
        sent("Our award-winning team is the best.", 44, "company", 0.97),
        sent("Terms apply.", 80, "neutral", 0.95),
        sent("We were founded in 1990.", 93, "company", 0.71),
        sent("Contact details below.", 118, "neutral", 0.60),
    ],
}


def test_rewrite_first_ranks_company_sentences_by_probability_then_position():
    out = audit_result(RECORD, top=5)
    assert [s["text"] for s in out["rewrite_first"]] == [
        "Our award-winning team is the best.", "We are the market leader.", "We were founded in 1990."]
    assert [s["perspective_p"] for s in out["rewrite_first"]] == [0.97, 0.71, 0.71]
    assert out["rewrite_first"][0] == {"text": "Our award-winning team is the best.", "start": 44,
                                       "perspective_p": 0.97}


def test_top_limits_the_list():
    assert [s["start"] for s in audit_result(RECORD, top=2)["rewrite_first"]] == [44, 0]
    assert audit_result(RECORD, top=1)["rewrite_first"][0]["start"] == 44
    assert audit_result(RECORD, top=0)["rewrite_first"] == []
    assert len(audit_result(RECORD, top=50)["rewrite_first"]) == 3


def test_only_company_sentences_are_listed():
    record = {**RECORD, "sentences": [s for s in RECORD["sentences"] if s["perspective"] != "company"]}
    assert audit_result(record)["rewrite_first"] == []


def test_profile_keeps_scores_and_all_sentences_in_order():
    out = audit_result(RECORD)
    assert (out["id"], out["kind"], out["source"]) == ("doc-1", "company", "site.md")
    assert out["scores"] == RECORD["scores"]
    assert [s["start"] for s in out["sentences"]] == [s["start"] for s in RECORD["sentences"]]
    assert all(set(s) == {"text", "start", "end", "perspective", "perspective_p"} for s in out["sentences"])


def test_input_record_is_not_modified():
    import copy

    before = copy.deepcopy(RECORD)
    audit_result(RECORD, top=2)
    assert RECORD == before


def test_compare_audits_pairs_the_compared_scores_of_two_audits():
    from nlp.audit import compare_audits

    before = {"source": "company.md", "scores": {"customer_share": 0.25, "lip_service_score": 62, "promise_count": 2,
                                                 "sentences": 8}}
    after = {"source": "customer.md", "scores": {"customer_share": None, "lip_service_score": 8, "promise_count": 5,
                                                 "sentences": 9}}
    assert compare_audits(before, after) == {
        "labels": ["company voice", "customer voice"], "sources": ["company.md", "customer.md"],
        "scores": {"customer_share": [0.25, None], "lip_service_score": [62, 8], "promise_count": [2, 5]}}
