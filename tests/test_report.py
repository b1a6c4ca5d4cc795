"""nlp/report.py: terminal reports print input text literally (no markup injection) and never crash."""
from __future__ import annotations

import copy
import io

import pytest
from rich.console import Console

from nlp.metrics import binary_metrics, classification_metrics
from nlp.report import MAX_EXAMPLE, print_audit, print_curve, print_gap, print_metrics, print_reviews, printable

BOOM = "We are [bold red]boom[/] the best."
LINK = "See [link=http://x]y[/link] for our values."
PROMISE = "We [i]always[/i] deliver."
CLAIM = "Customers are [blink]at the heart[/blink] of all we do."
BACKSLASH = "Refund path C:\\[red]x\\ now"


def console() -> Console:
    return Console(record=True, width=120, file=io.StringIO())


def sentence(text, start, perspective, p):
    return {"text": text, "start": start, "end": start + len(text), "perspective": perspective, "perspective_p": p}


def audit() -> dict:
    return {
        "source": "[bold]site[/].md",
        "id": "doc-1",
        "kind": "company",
        "scores": {
            "sentences": 5, "customer_share": 0.25,
            "perspective_counts": {"company": 3, "customer": 1, "neutral": 1},
            "promise_count": 2, "promise_share_specific": 0.5, "promise_share_absolute": 0.5,
            "overpromising": 1, "claim_count": 1, "lip_service_claims": 1, "cheap_talk_ratio": 1.0,
            "lip_service_score": 62, "lip_service_reasons": ["1 of 1 claims are [b]lip service[/b]"],
        },
        "sentences": [sentence(BOOM, 0, "company", 0.91), sentence(LINK, 33, "neutral", 0.55),
                      sentence(PROMISE, 80, "company", 0.8), sentence(CLAIM, 130, "company", 0.7),
                      sentence(BACKSLASH, 190, "customer", 0.6)],
        "promises": [
            {"text": PROMISE, "theme": "[i]fees[/i]", "specificity": "vague", "strength": "absolute",
             "quantities": [], "overpromising": True, "start": 80},
            {"text": "You get a refund within [u]48 hours[/u].", "theme": None, "specificity": "specific",
             "strength": "firm", "quantities": [{"text": "[u]48 hours[/u]"}], "overpromising": False, "start": 230},
        ],
        "claims": [{"text": CLAIM, "lip_service": True, "reasons": ["company_perspective", "[x]"], "start": 130}],
        "rewrite_first": [{"text": BOOM, "start": 0, "perspective_p": 0.91},
                          {"text": LINK, "start": 33, "perspective_p": 0.55}],
    }


def printed(result: dict) -> str:
    con = console()
    print_audit(con, result)
    return con.export_text()


def test_markup_in_the_input_is_printed_literally():
    text = printed(audit())
    for literal in ("[bold red]boom[/]", "[link=http://x]y[/link]", "[i]always[/i]", "[blink]at the heart[/blink]",
                    "[bold]site[/].md", "[i]fees[/i]", "[u]48 hours[/u]", "[b]lip service[/b]", "[x]"):
        assert literal in text, literal
    assert text.count("[bold red]boom[/]") == 2  # the sentence table and the rewrite list


def test_a_backslash_before_a_bracket_is_kept():
    text = printed(audit())
    assert "C:\\[red]x\\ now" in text
    assert "(p=" in text and "[dim]" not in text


def test_the_input_is_not_modified():
    result = audit()
    before = copy.deepcopy(result)
    printed(result)
    assert result == before


def test_the_share_line_gives_a_percentage():
    text = printed(audit())
    assert "Customer-perspective share: 25% (company 3, customer 1, neutral 1 of 5 sentences)" in text


def test_the_share_line_says_n_a_when_no_sentence_takes_a_side():
    result = audit()
    result["scores"]["customer_share"] = None
    text = printed(result)
    assert "Customer-perspective share: n/a" in text
    assert "%" not in text.split("Customer-perspective share:")[1].split("\n")[0].split("(company")[0]


def test_the_promises_table_marks_overpromising():
    lines = printed(audit()).splitlines()
    assert "Promises (2; specific 50%, absolute 50%)" in "\n".join(lines)
    over = [ln for ln in lines if "(overpromising)" in ln]
    assert len(over) == 1 and PROMISE in over[0]
    refund = [ln for ln in lines if "You get a refund" in ln]
    assert refund and "(overpromising)" not in refund[0]
    assert any("48 hours" in ln and "[u]" in ln for ln in lines)


def test_claims_and_the_lip_service_score_are_shown():
    text = printed(audit())
    assert "Customer-centricity claims (1; cheap-talk ratio 100%)" in text
    assert "lip service" in text and "company_perspective" in text
    assert "Lip-service score: 62/100" in text


def test_a_customer_side_claim_with_nothing_behind_it_is_not_shown_substantiated():
    """The JSON said substantiated: false and the cheap-talk ratio counted it, the terminal said "substantiated"."""
    result = audit()
    result["claims"] = [{"text": CLAIM, "lip_service": False, "substantiated": False, "reasons": [], "start": 130},
                        {"text": PROMISE, "lip_service": False, "substantiated": True, "reasons": [], "start": 80}]
    text = printed(result)
    lines = text[text.index("Customer-centricity claims"):].splitlines()
    assert "│ unsubstantiated " in next(ln for ln in lines if CLAIM[:20] in ln)
    assert "│ substantiated " in next(ln for ln in lines if PROMISE[:20] in ln)


def test_an_audit_without_promises_claims_or_company_sentences():
    result = audit()
    result.update(promises=[], claims=[], rewrite_first=[])
    result["scores"].update(promise_count=0, promise_share_specific=None, promise_share_absolute=None,
                            claim_count=0, cheap_talk_ratio=None, lip_service_score=0, lip_service_reasons=[])
    text = printed(result)
    assert "Promises: none found." in text
    assert "Customer-centricity claims: none found." in text
    assert "No company-centred sentences." in text
    assert "Lip-service score: 0/100" in text


def test_an_audit_with_no_sentences():
    result = audit()
    result.update(sentences=[], promises=[], claims=[], rewrite_first=[])
    result["scores"].update(sentences=0, customer_share=None, perspective_counts={"company": 0, "customer": 0,
                                                                                  "neutral": 0},
                            lip_service_reasons=[])
    assert "n/a" in printed(result)


# --- print_metrics --------------------------------------------------------------------------

def metrics_text(title: str, results: dict) -> str:
    con = console()
    print_metrics(con, title, results)
    return con.export_text()


def test_print_metrics_with_classification_metrics():
    gold = ["company", "customer", "neutral", "company"]
    pred = ["company", "customer", "company", "company"]
    labels = ("company", "customer", "neutral")
    text = metrics_text("test split", {"perspective head": classification_metrics(gold, pred, labels),
                                       "pronoun baseline": classification_metrics(gold, gold, labels)})
    assert "test split — perspective head" in text and "test split — pronoun baseline" in text
    assert "n=4  macro-F1 0.600  accuracy 0.750" in text
    assert "macro-F1 1.000  accuracy 1.000" in text
    assert "gold \\ predicted" in text
    for lab in labels:
        assert lab in text


def test_print_metrics_says_which_labels_the_macro_f1_leaves_out():
    # one file of company sentences: neutral and customer are in neither gold nor predictions
    m = classification_metrics(["company"] * 3, ["company"] * 3, ("company", "customer", "neutral"))
    text = metrics_text("mine.csv", {"perspective component": m})
    assert "macro-F1 1.000 accuracy 1.000 (averaged over company; customer, neutral: in neither gold nor " \
           "predictions, left out)" in " ".join(text.split())
    per_class = next(line for line in text.splitlines() if line.startswith("│ neutral"))
    assert per_class.split()[3] == "—"  # not an F1 of 0.000


def test_print_metrics_with_binary_metrics():
    m = binary_metrics([True, True, False, False], [True, False, False, True])
    text = metrics_text("claim detection", {"claims component": m})
    assert "claim detection — claims component" in text
    assert "n 4  precision 0.5  recall 0.5  f1 0.5  accuracy 0.5" in text
    assert "macro-F1" not in text
    quiet = metrics_text("profiles", {"lexicon": binary_metrics([True, False, False], [False] * 3)})
    assert "n 3  precision n/a (flags nothing)  recall 0.0  f1 0.0" in quiet


def test_print_metrics_with_empty_classification_metrics():
    text = metrics_text("nothing", {"model": classification_metrics([], [], ("company", "customer"))})
    assert "n=0  macro-F1 0.000" in text


def test_print_curve_gives_one_row_per_model_with_its_interval():
    gold = ["company", "customer", "customer", "company"]
    m = classification_metrics(gold, ["company", "customer", "company", "company"], ("company", "customer"))
    m["macro_f1_ci95"] = [0.5, 1.0]
    c = console()
    print_curve(c, "missions: learning curve [5-fold]", {"project text only": m,
                                                         "project text + [b]40[/b] real documents": m})
    text = c.export_text()
    assert "missions: learning curve [5-fold]" in text
    assert "project text + [b]40[/b] real documents" in text  # names are printed literally
    assert text.count("0.733 [0.500–1.000]") == 2


def test_print_curve_shows_a_dash_for_a_side_in_neither_gold_nor_predictions():
    # a fold of company documents only, all predicted company: customer has no F1 (None), which crashed :.3f
    m = classification_metrics(["company"] * 2, ["company"] * 2, ("company", "customer"))
    m["macro_f1_ci95"] = [1.0, 1.0]
    c = console()
    print_curve(c, "missions", {"project text only": m})
    text = c.export_text()
    assert "1.000 [1.000–1.000]" in text and "—" in text


@pytest.mark.parametrize("title, system", [("[bold]t[/]", "[red]s[/red]"), ("a\\[b]", "\\[x]b")])
def test_print_metrics_escapes_titles_and_system_names(title, system):
    text = metrics_text(title, {system: {"n": 1, "accuracy": 1.0}})
    assert f"{title} — {system}" in text
    assert "n 1  accuracy 1.0" in text


# --- known defects: input text that rich still reinterprets ---------------------------------

def test_a_text_ending_in_a_backslash_is_printed_as_is():
    result = audit()
    result["sentences"][0]["text"] = result["rewrite_first"][0]["text"] = "Save files to C:\\Refunds\\"
    text = printed(result)
    assert "C:\\Refunds\\" in text
    assert "C:\\Refunds\\\\" not in text


def test_emoji_codes_in_the_input_are_printed_as_is():
    result = audit()
    result["sentences"][0]["text"] = result["rewrite_first"][0]["text"] = "Call us :smile: any time."
    text = printed(result)
    assert text.count("Call us :smile: any time.") == 2


def test_control_characters_in_the_input_cannot_drive_the_terminal():
    # a scraped page can carry escape sequences: colours, a window title, clearing the screen
    result = audit()
    result["source"] = "page\x1b]0;owned\x07.html"
    result["sentences"][0]["text"] = "We \x1b[2Jcare\x9b31m a lot.\r"
    out = printed(result)
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out and "\r" not in out
    assert "page\\x1b]0;owned\\x07.html" in out and "We \\x1b[2Jcare\\x9b31m a lot." in out


def test_printable_keeps_tabs_newlines_and_unicode():
    assert printable("a\tb\nc ☕ é") == "a\tb\nc ☕ é"
    assert printable("x\x00y\x7fz") == "x\\x00y\\x7fz"


def reviews_summary(rating: float | None) -> dict:
    long = "They charged me twice and " + "nobody would explain why, " * 40 + "so I closed the account."
    return {"reviews": 3, "complaint_rate": 0.67, "complaint_sentences": 2, "discovered": [], "trend": [],
            "fields": {"rating": {"present": 0, "unreadable": 0}, "date": {"present": 0, "unreadable": 0}},
            "themes": [{"theme": "billing", "label": "Billing", "complaints": 2, "share_of_complaints": 1.0,
                        "share_of_reviews": 0.67, "mean_rating": rating, "examples": [{"id": "r1", "text": long}]}]}


def test_reviews_print_the_ratings_overall_and_with_and_without_a_complaint():
    summary = reviews_summary(2.5)
    summary["ratings"] = {"rated": 3, "mean": 3.0, "distribution": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 1},
                          "mean_with_complaint": 1.0, "mean_without_complaint": None}
    con = console()
    print_reviews(con, summary)
    assert ("Ratings: 3 rated · mean 3.00 · with a complaint 1.00 · without n/a · 1★ 1 · 2★ 0 · 3★ 0 · 4★ 1 · 5★ 1"
            in con.export_text())


def test_a_reviews_theme_example_is_shortened_and_unrated_reviews_get_no_rating_column():
    # a complaint can run to pages: the terminal shows its start, the JSON, CSV and HTML keep it whole
    con = console()
    print_reviews(con, reviews_summary(None))
    out = con.export_text()
    assert "They charged me twice" in out and "so I closed the account" not in out and "…" in out
    assert len("".join(line.strip("│ ") for line in out.splitlines() if "│" in line)) < MAX_EXAMPLE + 200
    assert "rating" not in out
    con = console()
    print_reviews(con, reviews_summary(2.5))
    out = con.export_text()
    assert "rating" in out and "2.50" in out


def test_gap_evidence_and_unmet_examples_are_shortened_too():
    long = "The parcel came a week late and " + "the tracking said nothing, " * 40 + "THE END."
    quote = [{"id": "r1", "text": long}]
    result = {"scores": {"reviews": 3, "kept": 0, "at_risk": 0, "broken": 1, "untested": 0, "gap_score": 90,
                         "complaint_rate": 0.67},
              "promises": [{"text": "Next-day delivery.", "theme_label": "Delivery", "verdict": "broken", "reviews": 2,
                            "share": 0.67, "evidence": quote}],
              "unmet": [{"label": "Staff", "source": "discovered", "complaints": 1, "share": 0.33, "evidence": quote}],
              "claims": []}
    con = console()
    print_gap(con, result)
    out = con.export_text()
    assert out.count("The parcel came a week late") == 2 and "THE END." not in out
    assert "discovered" in out  # the source column holds its longest value on one line


def test_a_reviews_theme_shows_two_examples_each_shortened():
    """README: the theme table shows two example quotes, each cut to MAX_EXAMPLE characters."""
    summary = reviews_summary(2.5)
    long = summary["themes"][0]["examples"][0]["text"]
    summary["themes"][0]["examples"] = [{"id": "r1", "text": long}, {"id": "r2", "text": "Nobody [b]answered[/b]."},
                                        {"id": "r3", "text": "A third quote the terminal leaves out."}]
    con = console()
    print_reviews(con, summary)
    out = con.export_text()
    assert "• They charged me twice" in out and "so I closed the account" not in out
    assert "• Nobody [b]answered[/b]." in out and "A third quote" not in out and "examples" in out


def test_a_theme_with_one_example_shows_it_without_a_bullet():
    summary = reviews_summary(None)
    summary["themes"][0]["examples"] = [{"id": "r1", "text": "Charged twice."}]
    con = console()
    print_reviews(con, summary)
    out = con.export_text()
    assert "Charged twice." in out and "•" not in out and "examples" not in out


def test_a_gap_without_a_tested_promise_prints_the_score_as_n_a_alone():
    result = {"scores": {"reviews": 0, "kept": 0, "at_risk": 0, "broken": 0, "untested": 2, "gap_score": None,
                         "complaint_rate": None}, "promises": [], "unmet": [], "claims": []}
    con = console()
    print_gap(con, result)
    out = con.export_text()
    assert "gap score n/a ·" in out and "n/a/100" not in out
    result["scores"]["gap_score"] = 40
    con = console()
    print_gap(con, result)
    assert "gap score 40/100 ·" in con.export_text()


def test_a_comparison_prints_both_voices_and_the_change():
    from nlp.report import print_comparison

    con = console()
    print_comparison(con, {"labels": ["company voice", "customer [b]voice[/b]"], "sources": ["a.md", "b.md"],
                           "scores": {"customer_share": [None, 0.75], "lip_service_score": [62, 8],
                                      "promise_count": [2, 5]}})
    out = con.export_text()
    assert "The difference" in out and "company voice 0% → customer [b]voice[/b] 75% (+75 points)." in out
    assert "Lip-service score: 62 → 8 out of 100; promises: 2 → 5." in out


def test_bidirectional_overrides_are_shown_not_obeyed_in_the_terminal_and_the_page():
    """U+202E makes a terminal or browser show the words after it in reverse order: an auditor would
    read another quote than the customer wrote ("Trojan Source")."""
    from nlp.html_report import render_report

    result = audit()
    result["sentences"][0]["text"] = result["rewrite_first"][0]["text"] = "We refund \u202eyou never\u202c fast."
    out = printed(result)
    assert "\u202e" not in out and "We refund \\u202eyou never\\u202c fast." in out
    page = render_report(title="t", audits=[result])
    assert "\u202e" not in page and "\\u202eyou never\\u202c" in page


def test_a_heading_too_long_for_the_terminal_is_shown_whole_not_cut():
    """`evaluate --task gap --tune` at 80 columns cut the tuned thresholds off its heading with "…"."""
    con = Console(record=True, width=60, file=io.StringIO())
    system = "tuned on train: about_similarity=0.33, strict_similarity=0.40 (train F1 0.704)"
    print_metrics(con, "gap pairs (test split, 189 pairs)", {system: binary_metrics([True, False], [True, True])})
    shown = " ".join(con.export_text().split())
    assert "…" not in shown and f"gap pairs (test split, 189 pairs) — {system}" in shown
    short = Console(record=True, width=60, file=io.StringIO())
    print_metrics(short, "held-out", {"rule": binary_metrics([True], [True])})
    assert "─ held-out — rule ─" in short.export_text()  # a title that fits stays in its rule
