"""The gap stage: contradiction rule, verdicts, unmet expectations, claims, settings and CSV."""
from __future__ import annotations

import csv
import io

import pytest

from nlp.errors import ConfigError
from nlp.gap import CONTRADICTED, GapSettings, analyse_gap, contradicts, gap_csv, verdict
from nlp.taxonomy import UNASSIGNED
from nlp.themes import DiscoveredTheme

S = GapSettings()
LABELS = {"delivery": "Delivery", "staff": "Staff", "returns_refunds": "Returns and refunds",
          "account_digital": "Account, app and website", "price_fees": "Price and fees"}


def sentence(text, start=0, promise=None, claim=None, complaint=False, theme=None):
    return {"text": text, "start": start, "end": start + len(text), "perspective": "customer", "perspective_p": 0.9,
            "promise": promise, "claim": claim, "complaint": complaint, "complaint_p": 0.9 if complaint else 0.05,
            "theme": theme}


def promise(text, theme, start=0):
    return sentence(text, start, promise={"text": text, "theme": theme, "specificity": "specific",
                                          "strength": "firm", "quantities": []})


def review(rid, text, theme=None):
    return {"id": rid, "kind": "review", "source": "r.jsonl", "scores": {},
            "sentences": [sentence(text, complaint=theme is not None, theme=theme)]}


COPY = [{"id": "page", "kind": "company", "source": "page.md", "scores": {}, "sentences": [
    promise("Next-day delivery on every order placed before 8pm.", "delivery"),
    promise("No hidden fees: the price you see is the price you pay.", "price_fees", 60),
    sentence("Customers are at the heart of everything we do.", 120,
             claim={"text": "Customers are at the heart of everything we do.", "lip_service": False, "reasons": []}),
]}]


def reviews_fixture(n_late=6, n_rude=5, n_fine=40):
    out = [review(f"late{i}", "My parcel arrived four days late instead of the next day.", "delivery")
           for i in range(n_late)]
    out += [review(f"rude{i}", "The delivery driver was rude and swore at me.", "staff") for i in range(n_rude)]
    out += [review(f"fine{i}", "Lovely cushions, exactly as pictured.") for i in range(n_fine)]
    return out


# --- the rule, without models ---------------------------------------------------------------

def test_same_theme_and_about_the_thing_contradicts():
    assert contradicts("delivery", "delivery", S.about_similarity, S)
    assert not contradicts("delivery", "delivery", S.about_similarity - 0.01, S)


def test_other_theme_only_when_nearly_the_same_thing():
    assert not contradicts("delivery", "staff", S.strict_similarity - 0.01, S)
    assert contradicts("delivery", "staff", S.strict_similarity, S)
    assert not contradicts(None, None, S.strict_similarity - 0.01, S)
    assert not contradicts(UNASSIGNED, UNASSIGNED, S.about_similarity, S)


@pytest.mark.parametrize("reviews,share,mentions,expected", [
    (0, 0.0, 0, "untested"), (0, 0.0, 2, "untested"), (0, 0.0, 3, "kept"),
    (1, 0.001, 1, "kept"), (1, 0.02, 1, "at_risk"), (3, 0.003, 3, "at_risk"),
    (3, 0.05, 10, "broken"), (2, 0.5, 2, "at_risk"),
])
def test_verdict_thresholds(reviews, share, mentions, expected):
    assert verdict(reviews, share, mentions, S) == expected


def test_settings_from_config_and_errors(cfg):
    s = GapSettings.from_config(cfg)
    assert s.seed == int(cfg["system"]["seed"]) and s.about_similarity == float(cfg["gap"]["about_similarity"])
    with pytest.raises(ConfigError, match=r"E303.*broken_share"):
        GapSettings(at_risk_share=0.2, broken_share=0.1).validated()
    with pytest.raises(ConfigError, match=r"E303.*about_similarity=1.5 \(allowed: 0 to 1\)"):
        GapSettings(about_similarity=1.5, strict_similarity=2).validated()
    bad = cfg.copy()
    bad["gap"] = {**cfg["gap"], "broken_shar": 0.1}
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) broken_shar"):
        GapSettings.from_config(bad)


# --- with the real encoder ------------------------------------------------------------------

def test_late_delivery_contradicts_next_day_rude_driver_does_not(encoder):
    result = analyse_gap(COPY, reviews_fixture(), encoder=encoder, theme_labels=LABELS, settings=S)
    by_text = {p["text"]: p for p in result["promises"]}
    nd = by_text["Next-day delivery on every order placed before 8pm."]
    assert nd["ids"] == [f"late{i}" for i in range(6)]
    assert nd["complaints"] == 6 and nd["reviews"] == 6 and nd["share"] == round(6 / 51, 4)
    assert nd["verdict"] == "broken" and nd["theme_label"] == "Delivery"
    assert nd["evidence"] == [{"id": "late0", "text": "My parcel arrived four days late instead of the next day.",
                               "similarity": nd["evidence"][0]["similarity"]}]  # distinct quotes only
    fees = by_text["No hidden fees: the price you see is the price you pay."]
    assert fees["verdict"] == "untested" and fees["ids"] == []


def test_unmet_expectations_rank_unpromised_themes(encoder):
    reviews = reviews_fixture() + [review(f"login{i}", "I could not log in to the app for a week.", "account_digital")
                                   for i in range(7)]
    result = analyse_gap(COPY, reviews, encoder=encoder, theme_labels=LABELS, settings=S)
    assert [(u["theme"], u["complaints"], u["source"]) for u in result["unmet"]] == [
        ("account_digital", 7, "taxonomy"), ("staff", 5, "taxonomy")]
    assert result["unmet"][1]["label"] == "Staff" and result["unmet"][1]["share"] == round(5 / 58, 4)
    assert result["scores"]["unmet_themes"] == 2


def test_a_promise_of_no_theme_addresses_the_theme_its_complaints_share(encoder):
    """A promise the theme head left unassigned addressed nothing: its theme's complaints were listed as an
    expectation no promise addresses, under the promise that addresses them."""
    login = "I could not log in to the app for a week."
    reviews = reviews_fixture(n_rude=0) + [review(f"login{i}", login, "account_digital") for i in range(4)]
    for theme, unmet in ((None, ["delivery"]), (UNASSIGNED, ["delivery"]), ("price_fees", ["delivery", "account_digital"])):
        copy = [{"id": "p", "kind": "company", "source": "p.md", "scores": {}, "sentences": [
            promise("Our website and app work on every device.", theme)]}]  # about them (0.37), no contradiction
        result = analyse_gap(copy, reviews, encoder=encoder, theme_labels=LABELS, settings=S)
        assert [u["theme"] for u in result["unmet"]] == unmet, theme  # a promise of another theme is that theme's
    far = [{"id": "p", "kind": "company", "source": "p.md", "scores": {}, "sentences": [
        promise("Every cushion is sewn by hand in our workshop.", None)]}]
    result = analyse_gap(far, reviews, encoder=encoder, theme_labels=LABELS, settings=S)
    assert [u["theme"] for u in result["unmet"]] == ["delivery", "account_digital"]  # not about them: still unmet


def test_a_complaint_a_promise_answers_is_not_also_an_unmet_expectation(encoder):
    """A delivery-fee complaint themed price_fees contradicted the free-delivery promise and was, as well, the
    whole of an unmet price_fees row that "no promise addresses"."""
    copy = [{"id": "p", "kind": "company", "source": "p.md", "scores": {}, "sentences": [
        promise("Free delivery on every order, always.", "delivery")]}]
    fee = "They charged me for delivery on my order even though delivery should be free."
    reviews = [review(f"fee{i}", fee, "price_fees") for i in range(3)] + reviews_fixture(n_late=0, n_fine=5)
    result = analyse_gap(copy, reviews, encoder=encoder, theme_labels=LABELS, settings=S)
    assert result["promises"][0]["ids"] == ["fee0", "fee1", "fee2"]  # about the promise across themes
    assert [u["theme"] for u in result["unmet"]] == ["staff"]  # price_fees held only the answered ones
    rows = list(csv.reader(io.StringIO(gap_csv(result))))
    header = rows[0]
    unmet = next(dict(zip(header, r)) for r in rows[1:] if r[0] == "unmet")
    assert unmet["verdict"] == "unmet" and unmet["theme_source"] == "taxonomy"  # not "taxonomy" as a verdict


def test_discovered_theme_is_unmet_unless_a_promise_covers_it(encoder):
    reviews = reviews_fixture(n_rude=0) + [review(f"loy{i}", "The loyalty points vanished from my card.", UNASSIGNED)
                                           for i in range(4)]
    unassigned = [(i, r["sentences"][0]) for i, r in enumerate(reviews) if r["id"].startswith("loy")]
    found = [DiscoveredTheme("discovered_1", "loyalty points, card", ["loyalty points"], [0, 1, 2, 3])]
    result = analyse_gap(COPY, reviews, encoder=encoder, theme_labels=LABELS, settings=S, discovered=found,
                         unassigned=unassigned)
    assert [(u["theme"], u["source"], u["reviews"]) for u in result["unmet"]] == [("discovered_1", "discovered", 4)]
    loyalty = promise("Your loyalty points never expire and never vanish from your card.", None, 200)
    covering = [{**COPY[0], "sentences": COPY[0]["sentences"] + [loyalty]}]
    result = analyse_gap(covering, reviews, encoder=encoder, theme_labels=LABELS, settings=S, discovered=found,
                         unassigned=unassigned)
    assert [u["theme"] for u in result["unmet"]] == []


def test_claim_broadly_contradicted_becomes_lip_service(encoder):
    calm = analyse_gap(COPY, reviews_fixture(), encoder=encoder, theme_labels=LABELS, settings=S)
    assert calm["claims"][0]["lip_service"] is False and calm["claims"][0]["reasons"] == []
    angry = analyse_gap(COPY, reviews_fixture(n_late=20, n_rude=20, n_fine=10), encoder=encoder,
                        theme_labels=LABELS, settings=S)
    claim = angry["claims"][0]
    assert claim["lip_service"] is True and claim["reasons"] == [CONTRADICTED]
    assert 1 <= len(claim["evidence"]) <= S.evidence
    assert angry["scores"]["lip_service_claims"] == 1 and angry["scores"]["complaint_rate"] == 0.8


def test_a_claim_that_is_a_themed_promise_is_judged_by_the_complaints_about_it(encoder):
    """"No hidden fees" was "contradicted" by late parcels and a rude driver while its promise stood untested."""
    both = dict(promise("No hidden fees: the price you see is the price you pay.", "price_fees"),
                claim={"text": "No hidden fees: the price you see is the price you pay.", "lip_service": False,
                       "reasons": []})
    late = dict(promise("Next-day delivery on every order placed before 8pm.", "delivery"),
                claim={"text": "Next-day delivery on every order placed before 8pm.", "lip_service": False,
                       "reasons": []})
    copy = [{**COPY[0], "sentences": COPY[0]["sentences"] + [both, late]}]
    angry = analyse_gap(copy, reviews_fixture(n_late=20, n_rude=20, n_fine=10), encoder=encoder,
                        theme_labels=LABELS, settings=S)
    generic, fees, delivery = angry["claims"]
    assert generic["reasons"] == [CONTRADICTED]  # the company-wide claim: a complaint rate of 80 %
    assert fees["lip_service"] is False and fees["reasons"] == [] and fees["evidence"] == []
    # but one whose promise is broken is contradicted, with its promise's evidence
    broken = next(p for p in angry["promises"] if p["text"].startswith("Next-day") and p["verdict"] == "broken")
    assert delivery["reasons"] == [CONTRADICTED] and delivery["evidence"] == broken["evidence"]


def test_matrix_and_scores(encoder):
    result = analyse_gap(COPY, reviews_fixture(), encoder=encoder, theme_labels=LABELS, settings=S)
    m = result["matrix"]
    assert m["promises"][0].startswith("Next-day") and m["themes"] == ["delivery", "staff"]
    assert m["labels"] == ["Delivery", "Staff"] and m["counts"][0][0] == 6
    assert m["contradicting"] == [[True, False], [False, False]]
    s = result["scores"]
    assert (s["promises"], s["broken"], s["untested"], s["reviews"]) == (2, 1, 1, 51)
    assert s["gap_score"] == 100  # the one tested promise is broken


def test_no_reviews_means_everything_untested(encoder):
    result = analyse_gap(COPY, [], encoder=encoder, theme_labels=LABELS, settings=S)
    assert {p["verdict"] for p in result["promises"]} == {"untested"}
    assert result["unmet"] == [] and result["scores"]["complaint_rate"] is None
    assert result["scores"]["gap_score"] is None and result["claims"][0]["lip_service"] is False


def test_no_copy_still_lists_unmet(encoder):
    result = analyse_gap([], reviews_fixture(), encoder=encoder, theme_labels=LABELS, settings=S)
    assert result["promises"] == [] and [u["theme"] for u in result["unmet"]] == ["delivery", "staff"]


def test_csv_is_spreadsheet_safe(encoder):
    evil = [review(f"e{i}", "=HYPERLINK(\"http://x\") my parcel arrived four days late, not next day.", "delivery")
            for i in range(5)]
    result = analyse_gap(COPY, evil, encoder=encoder, theme_labels=LABELS, settings=S)
    rows = list(csv.reader(io.StringIO(gap_csv(result))))
    assert rows[0][:4] == ["section", "text", "theme", "verdict"]
    assert {r[0] for r in rows[1:]} == {"promise", "claim"}
    for cell in (c for r in rows for c in r):
        assert not cell.startswith(("=", "+", "-", "@"))
    assert any(c.startswith("'=HYPERLINK") for r in rows for c in r)


def test_a_claim_with_nothing_behind_it_keeps_its_verdict_in_the_gap(encoder):
    """The gap's claims lost "substantiated": a customer-side claim with no promise behind it was shown, and
    written to the CSV, as substantiated."""
    open_claim = {"text": "You come first with us.", "lip_service": False, "substantiated": False, "reasons": []}
    copy = [{"id": "p", "kind": "company", "source": "p.md", "scores": {}, "sentences": [
        sentence("You come first with us.", claim=open_claim)]}]
    result = analyse_gap(copy, reviews_fixture(n_late=0, n_rude=0, n_fine=3), encoder=encoder, theme_labels=LABELS,
                         settings=S)
    assert result["claims"][0]["substantiated"] is False and result["claims"][0]["lip_service"] is False
    rows = list(csv.DictReader(io.StringIO(gap_csv(result))))
    assert [r["verdict"] for r in rows if r["section"] == "claim"] == ["unsubstantiated"]


def test_an_unmet_themes_quotes_are_distinct(encoder):
    """Two reviews with the same words gave the same quote twice."""
    same = "The delivery driver was rude and swore at me."
    reviews = [review("r1", same, "staff"), review("r2", same, "staff"), review("r3", "Staff ignored me.", "staff")]
    [unmet] = analyse_gap(COPY, reviews, encoder=encoder, theme_labels=LABELS, settings=S)["unmet"]
    assert [e["text"] for e in unmet["evidence"]] == [same, "Staff ignored me."]
