"""Unit tests for nlp.html_report on small hand-written result dicts (no models): sections,
self-containment, escaping of hostile input, sampling and size, robustness to missing keys."""
from __future__ import annotations

import copy
import html
import re
from html.parser import HTMLParser

import pytest

from nlp.html_report import CSP, SCORE_EXPLANATIONS, render_report

PAYLOADS = ('<script>alert(1)</script>', '<img src=x onerror=alert(1)>', 'javascript:alert(1)',
            '" onmouseover="alert(1)')
HOSTILE = " ".join(PAYLOADS)
EMITTED_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "h4", "p", "nav", "a",
                "main", "section", "article", "div", "span", "mark", "code", "strong", "ul", "ol", "li", "dl", "dt",
                "dd", "table", "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "footer", "svg", "rect",
                "text", "g", "line", "polyline", "circle", "path"}
EMITTED_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "title", "data-verdict",
                 "aria-label", "role", "viewbox", "width", "height", "font-family", "font-size", "x", "y", "x1", "y1",
                 "x2", "y2", "fill", "stroke", "stroke-width", "text-anchor", "transform", "points", "cx", "cy", "r",
                 "d"}


def audit() -> dict:
    s1, s2 = "We deliver every order within 48 hours.", "You can return anything for free."
    s3 = "We put customers first."
    o2, o3 = len(s1) + 1, len(s1) + len(s2) + 2
    return {
        "source": "page.md", "id": "page.md", "kind": "company",
        "scores": {"sentences": 3, "customer_share": 0.5, "perspective_counts": {"company": 2, "customer": 1,
                                                                               "neutral": 0},
                   "promise_count": 2, "promise_share_specific": 0.5, "promise_share_absolute": 0.5,
                   "claim_count": 1, "lip_service_count": 1, "cheap_talk_ratio": 1.0, "lip_service_score": 62,
                   "lip_service_reasons": ["1 of 1 customer-centric claims are lip service"], "novel_score_key": 7},
        "sentences": [{"text": s1, "start": 0, "end": len(s1), "perspective": "company", "perspective_p": 0.91},
                      {"text": s2, "start": o2, "end": o2 + len(s2), "perspective": "customer",
                       "perspective_p": 0.88},
                      {"text": s3, "start": o3, "end": o3 + len(s3), "perspective": "company", "perspective_p": 0.97}],
        "promises": [{"text": s1, "theme": "delivery", "specificity": "specific", "strength": "absolute",
                      "quantities": [{"text": "48 hours"}], "overpromising": False, "start": 0},
                     {"text": s2, "theme": None, "specificity": "vague", "strength": "firm", "quantities": [],
                      "overpromising": True, "start": o2}],
        "claims": [{"text": s3, "lip_service": True, "reasons": ["company_perspective"], "start": o3}],
        "rewrite_first": [{"text": s3, "start": o3, "perspective_p": 0.97}],
    }


def reviews() -> dict:
    return {
        "reviews": 1200, "complaint_rate": 0.31, "complaint_sentences": 502,
        "themes": [{"theme": "delivery", "label": "Delivery", "complaints": 120, "share_of_complaints": 0.24,
                    "share_of_reviews": 0.08, "mean_rating": 2.1,
                    "examples": [{"id": f"r{i}", "text": f"Late again, parcel {i}."} for i in range(5)]},
                   {"theme": "billing", "label": "Billing", "complaints": 40, "share_of_complaints": 0.08,
                    "share_of_reviews": 0.03, "mean_rating": None, "examples": []}],
        "discovered": [{"id": "discovered_1", "label": "app login, password", "terms": ["app", "login", "password"],
                        "size": 12, "complaints": 12, "share_of_complaints": 0.02, "share_of_reviews": 0.01,
                        "mean_rating": 1.5, "examples": [{"id": "r9", "text": "Cannot log in to the app."}]}],
        "trend": [{"month": "2024-03", "reviews": 80, "complaint_rate": 0.3, "top_themes": ["delivery", "billing"]},
                  {"month": "2024-04", "reviews": 90, "complaint_rate": 0.25, "top_themes": ["delivery"]}],
        "fields": {"rating": {"present": 10, "unreadable": 1}, "date": {"present": 10, "unreadable": 0}},
        "counts": {"read": 1210, "annotated": 1200, "rejected": 10},
    }


def _promise(text: str, verdict: str, **kw) -> dict:
    base = {"text": text, "source": "page.md", "id": "page.md", "theme": "delivery", "theme_label": "Delivery",
            "specificity": "specific", "strength": "absolute", "verdict": verdict, "complaints": 14, "reviews": 12,
            "share": 0.06, "mentions": 30, "ids": [f"r{i}" for i in range(12)],
            "evidence": [{"id": "r1", "text": "Took a week to arrive.", "similarity": 0.61}]}
    return base | kw


def gap() -> dict:
    return {
        "promises": [_promise("We deliver every order within 48 hours.", "broken"),
                     _promise("You can return anything for free.", "at_risk", theme="returns", theme_label="Returns"),
                     _promise("Support answers within a minute.", "kept", complaints=0, ids=[], evidence=[]),
                     _promise("Prices never change.", "untested", theme=None, theme_label=None, mentions=1)],
        "unmet": [{"theme": "billing", "label": "Billing", "source": "taxonomy", "complaints": 40, "reviews": 35,
                   "share": 0.03, "ids": ["r7", "r8"], "evidence": [{"id": "r7", "text": "Charged twice."}]}],
        "claims": [{"text": "We put customers first.", "source": "page.md", "id": "page.md", "lip_service": True,
                    "reasons": ["company_perspective"], "evidence": [{"id": "r2", "text": "Nobody cares."}]}],
        "matrix": {"promises": ["We deliver every order within 48 hours.", "You can return anything for free.",
                                "Support answers within a minute.", "Prices never change."],
                   "themes": ["delivery", "returns", "billing"], "labels": ["Delivery", "Returns", "Billing"],
                   "counts": [[14, 0, 2], [0, 5, 0], [0, 0, 0], [0, 0, 1]],
                   "contradicting": [[True, False, False], [False, True, False], [False] * 3, [False] * 3]},
        "thresholds": {"about_similarity": 0.4, "strict_similarity": 0.6, "at_risk_share": 0.01,
                       "broken_share": 0.05, "min_complaints": 3, "min_mentions": 3, "claim_complaint_rate": 0.3},
        "scores": {"promises": 4, "kept": 1, "at_risk": 1, "broken": 1, "untested": 1, "claims": 1,
                   "lip_service_claims": 1, "reviews": 1200, "complaint_rate": 0.31, "unmet_themes": 1,
                   "unmet_complaint_share": 0.4, "gap_score": 60},
        "copy": [audit()],
        "reviews_summary": reviews(),
    }


class _Tags(HTMLParser):
    """Every start tag with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def _assert_safe(page: str) -> None:
    low = page.lower()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in low and "<img" not in low
    assert "http:" not in low and "https:" not in low and "//" not in page
    assert "@import" not in low and "url(" not in low
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in page
    assert '<meta charset="utf-8">' in page
    for tag, attrs in _tags(page):
        assert tag in EMITTED_TAGS, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name in EMITTED_ATTRS, (tag, name)
            if name == "href":
                assert value and re.fullmatch(r"#[a-z-]+", value)


def test_only_audits():
    page = render_report(title="Audit", audits=[audit()])
    _assert_safe(page)
    assert 'id="copy"' in page and '<mark class="promise">' in page and '<mark class="claim lip">' in page
    assert "PROMISE · specific · absolute" in page and "LIP SERVICE" in page
    assert '<span class="sent company"' in page and '<span class="sent customer"' in page
    assert 'id="reviews"' not in page and 'id="gap"' not in page and 'id="verdicts"' not in page
    assert "48 hours" in page and "overpromising" in page and "Rewrite first" in page
    assert page.count("<svg") == 3  # perspective mix, specificity, strength


def test_only_reviews():
    page = render_report(title="Reviews", reviews=reviews())
    _assert_safe(page)
    assert 'id="reviews"' in page and 'id="copy"' not in page and 'id="gap"' not in page
    assert "Delivery" in page and "app login, password" in page and "2024-03" in page
    assert "1,210" in page and "31%" in page
    assert "1 of 10 rating values could not be read" in page and "date values" not in page
    assert page.count("<svg") == 2  # theme bars, trend
    assert page.count("Late again") == 3  # max_quotes


def test_only_gap_shows_everything():
    page = render_report(title="Gap", gap=gap())
    _assert_safe(page)
    for marker in ('id="scores"', 'id="copy"', '<mark class="promise">', '<mark class="claim', 'id="reviews"',
                   'id="gap"', 'id="verdicts"', "app login, password", "Unmet expectations", "Charged twice.",
                   "Thresholds", "broken_share", "gap_score"):
        assert marker in page, marker
    assert page.count("<svg") == 3 + 2 + 2  # copy charts, reviews charts, verdict bars + matrix


def test_all_three():
    page = render_report(title="All", audits=[audit(), audit()], reviews=reviews(), gap=gap())
    _assert_safe(page)
    assert page.count('<article class="doc"') == 2  # explicit audits win over gap["copy"]
    assert page.count('id="copy"') == 1 and page.count('id="verdicts"') == 1


def test_nothing_given():
    page = render_report(title="Empty")
    _assert_safe(page)
    assert "Nothing to report." in page


def comparison() -> dict:
    return {"labels": ["company voice", "customer voice"], "sources": ["company_voice.md", "customer_voice.md"],
            "scores": {"customer_share": [0.25, 0.8], "lip_service_score": [62, 8], "promise_count": [2, 5]}}


def test_a_comparison_shows_both_audits_side_by_side_with_the_change():
    page = render_report(title="Demo", audits=[audit(), audit()], gap=gap(), comparison=comparison())
    _assert_safe(page)
    assert '<a href="#comparison">Difference</a>' in page and 'id="comparison-table"' in page
    assert "The difference: company voice against customer voice" in page
    assert "company_voice.md" in page and "customer_voice.md" in page
    row = re.search(r"<tr><td>Customer-perspective share</td>(.*?)</tr>", page).group(1)
    assert ">25%<" in row and ">80%<" in row and "+55 points" in row
    row = re.search(r"<tr><td>Lip-service score</td>(.*?)</tr>", page).group(1)
    assert "62/100" in row and "8/100" in row and ">-54<" in row
    assert page.index('id="comparison"') < page.index('id="copy"') < page.index('id="verdicts"')
    assert 'id="comparison"' not in render_report(title="t", audits=[audit()])  # only when asked for


def test_a_comparison_with_odd_values_does_not_crash():
    odd = {"labels": None, "scores": {"customer_share": [None, 0.5], "lip_service_score": "x", "promise_count": [1]}}
    page = render_report(title="t", comparison=odd)
    _assert_safe(page)
    assert "The difference: before against after" in page and ">n/a<" in page


def test_verdict_rows_carry_class_and_data_attribute():
    g = gap()
    g["promises"].append(_promise("Odd one.", "bogus<script>"))
    tags = _tags(render_report(title="t", gap=g))
    start = next(i for i, (tag, a) in enumerate(tags) if a.get("id") == "verdicts")
    end = next(i for i in range(start + 1, len(tags)) if tags[i][0] == "table") if any(
        t == "table" for t, _ in tags[start + 1:]) else len(tags)
    rows = [a for tag, a in tags[start:end] if tag == "tr" and "data-verdict" in a]
    assert [a["data-verdict"] for a in rows] == ["broken", "at_risk", "kept", "untested", "unknown"]
    assert all(a["class"] == f"verdict-{a['data-verdict']}" for a in rows)


def test_scores_explained_and_formatted():
    page = render_report(title="t", audits=[audit()])
    assert html.escape(SCORE_EXPLANATIONS["customer_share"]) in page
    assert html.escape(SCORE_EXPLANATIONS["lip_service_score"]) in page and "62/100" in page
    assert "<code>novel_score_key</code>" in page and "100%" in page  # cheap_talk_ratio as a share
    for key in ("customer_share", "lip_service_score", "cheap_talk_ratio", "complaint_rate", "gap_score", "kept",
                "at_risk", "broken", "untested", "unmet_themes"):
        assert SCORE_EXPLANATIONS.get(key)


def test_none_values_show_as_na():
    a, r = audit(), reviews()
    a["scores"]["customer_share"] = None
    r["complaint_rate"] = None
    page = render_report(title="t", audits=[a], reviews=r)
    assert re.search(r"<code>customer_share</code></td><td class=\"num\">n/a</td>", page)
    assert ">With a complaint</dt><dd>n/a<" in page
    assert page.count('<td class="num">n/a</td>') >= 2  # Billing's mean rating too


def test_missing_optional_keys_do_not_crash():
    minimal_gap = {"promises": [{"text": "A promise."}], "unmet": [{}], "claims": [{"text": "c"}],
                   "matrix": {"promises": ["A promise."]}, "copy": [{"source": "x"}], "reviews_summary": {}}
    for kwargs in ({"audits": [{}]}, {"audits": [{"sentences": [{"text": "Hi."}], "promises": [{"text": "p"}]}]},
                   {"audits": []}, {"reviews": {}}, {"reviews": {"themes": [], "discovered": [], "trend": []}},
                   {"gap": {}}, {"gap": minimal_gap}, {"audits": None, "reviews": None, "gap": None}):
        _assert_safe(render_report(title="t", **kwargs))
    r = reviews()
    del r["counts"], r["fields"]
    assert "Annotated" not in render_report(title="t", reviews=r)


def test_wrong_types_do_not_crash():
    g = gap()
    g["promises"] += ["not a dict", None]
    g["matrix"]["counts"] = [[1, "x"], None]
    g["thresholds"] = None
    a = audit()
    a["sentences"][0]["start"] = [1]
    a["scores"]["perspective_counts"] = {"company": "many"}
    _assert_safe(render_report(title="t", audits=[a], gap=g))


def _poison(value, key: str = ""):
    """Every string gets the hostile payloads; maps whose keys are data get a hostile key too."""
    if isinstance(value, str):
        return value + " " + HOSTILE
    if isinstance(value, list):
        return [_poison(v) for v in value]
    if isinstance(value, dict):
        out = {k: _poison(v, k) for k, v in value.items()}
        if key in ("scores", "perspective_counts", "fields", "thresholds", "counts"):
            out[HOSTILE] = {"present": 2, "unreadable": 1} if key == "fields" else 1
        return out
    return value


def test_hostile_strings_everywhere_are_escaped():
    g = gap()
    g["rejects"] = [{"source": "r.jsonl", "position": "line 3", "reason": "not valid JSON", "code": "E116"}]
    g = _poison(g)
    c = _poison(comparison())
    c["scores"][HOSTILE] = [1, 2]
    page = render_report(title=HOSTILE, audits=_poison([audit()]), reviews=_poison(reviews()), gap=g, comparison=c)
    _assert_safe(page)  # no script/img tag, no on* attribute, no unknown tag or attribute
    assert "company_voice.md " + html.escape(HOSTILE) in page  # the comparison's sources too
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&quot; onmouseover=&quot;alert(1)" in page
    tags = _tags(page)
    assert {a.get("data-verdict") for t, a in tags if t == "tr" and "data-verdict" in a} == {"unknown"}
    assert {c for t, a in tags if t == "span" for c in (a.get("class") or "").split()} <= {
        "sent", "company", "customer", "neutral", "unknown", "badge", "tag", "muted", "rid", "lip", "ok", "over",
        "kept", "at_risk", "broken", "untested", "key-company", "key-customer", "key-promise", "key-lip", "key-ok",
        "key-open", "open"}
    assert "javascript:alert(1)" not in "".join(str(v) for _, a in tags for k, v in a.items() if k == "href")


def test_a_right_to_left_sentence_takes_its_own_direction_in_its_cell():
    """Arabic copy beside English: with no direction of its own, a cell's text was laid out left to right."""
    page = render_report(title="t", audits=[audit()])
    rules = re.search(r"<style>(.*)</style>", page, re.S).group(1)
    assert re.search(r"td, th, li, p, h3, \.sent \{ unicode-bidi: plaintext; \}", rules)  # .sent: the annotated copy
    assert '<span class="sent' in page


def test_quotes_rows_and_ids_are_sampled():
    g = gap()
    g["promises"][0]["evidence"] = [{"id": f"r{i}", "text": "x" * 1000} for i in range(10)]
    g["promises"][0]["ids"] = [f"rev{i}" for i in range(5000)]
    g["unmet"] = [dict(g["unmet"][0], theme=f"t{i}", label=f"Theme {i}") for i in range(50)]
    page = render_report(title="t", gap=g, max_quotes=2, max_rows=10)
    assert page.count("x" * 399 + "…") == 2 and "x" * 401 not in page
    assert "… and 8 more" in page
    assert "5,000 review ids: rev0, rev1, rev2, rev3, rev4, …" in page and "rev5," not in page
    assert "Theme 9" in page and "Theme 10<" not in page and "… and 40 more unmet expectations not shown." in page


def test_matrix_is_capped():
    g = gap()
    n = 100
    g["matrix"] = {"promises": [f"promise {i}" for i in range(n)], "themes": [f"t{j}" for j in range(n)],
                   "labels": [f"Label {j}" for j in range(n)], "counts": [[(i + j) % 4 for j in range(n)]
                                                                          for i in range(n)],
                   "contradicting": [[i == j for j in range(n)] for i in range(n)]}
    page = render_report(title="t", gap=g, max_rows=20)
    assert "first 20 of 100 promises" in page and "the 20 of 100 themes with most complaints" in page
    assert "promise 19<" in page and "promise 20<" not in page


def test_deterministic_and_printable():
    a = render_report(title="t", gap=gap())
    assert a == render_report(title="t", gap=copy.deepcopy(gap()))
    assert "@media print" in a and "break-inside: avoid" in a and "table-header-group" in a


def test_big_gap_stays_under_two_megabytes():
    ids = [f"review-{i:06d}" for i in range(100_000)]
    quote = "The parcel never came and nobody answered. " * 40
    themes = [{"theme": f"theme_{t}", "label": f"Theme {t}", "complaints": 1000 - t, "share_of_complaints": 0.03,
               "share_of_reviews": 0.01, "mean_rating": 2.0,
               "examples": [{"id": ids[k], "text": quote} for k in range(20)]} for t in range(30)]
    discovered = [{"id": f"discovered_{d}", "label": f"term{d}, other{d}", "terms": [f"w{d}_{k}" for k in range(50)],
                   "size": 10, "complaints": 10, "share_of_complaints": 0.001, "share_of_reviews": 0.0001,
                   "mean_rating": 1.0, "examples": [{"id": ids[k], "text": quote} for k in range(20)]}
                  for d in range(500)]
    trend = [{"month": f"{2000 + m // 12}-{m % 12 + 1:02d}", "reviews": 1000, "complaint_rate": 0.3,
              "top_themes": [f"theme_{t}" for t in range(10)]} for m in range(100)]
    summary = {"reviews": 100_000, "complaint_rate": 0.3, "complaint_sentences": 60_000, "themes": themes,
               "discovered": discovered, "trend": trend,
               "fields": {"rating": {"present": 100_000, "unreadable": 5}}}
    promises = [_promise(f"Promise {p}: " + quote, ("kept", "at_risk", "broken", "untested")[p % 4], ids=ids,
                         evidence=[{"id": ids[k], "text": quote, "similarity": 0.5} for k in range(50)])
                for p in range(60)]
    columns = [t["label"] for t in themes] + [d["label"] for d in discovered]
    big = gap() | {
        "promises": promises, "reviews_summary": summary,
        "unmet": [{"theme": f"t{u}", "label": f"Unmet {u}", "source": "discovered", "complaints": 10, "reviews": 9,
                   "share": 0.001, "ids": ids, "evidence": [{"id": ids[k], "text": quote} for k in range(50)]}
                  for u in range(530)],
        "claims": [{"text": quote, "source": "page.md", "id": "page.md", "lip_service": True,
                    "reasons": ["company_perspective"], "evidence": [{"id": ids[k], "text": quote} for k in range(50)]}
                   for _ in range(100)],
        "matrix": {"promises": [p["text"] for p in promises], "themes": columns, "labels": columns,
                   "counts": [[(p * 7 + c) % 9 for c in range(len(columns))] for p in range(len(promises))],
                   "contradicting": [[c % 5 == 0 for c in range(len(columns))] for _ in promises]},
    }
    page = render_report(title="Big gap", gap=big)
    _assert_safe(page)
    assert len(page.encode()) < 2_000_000
    assert "100,000 review ids" in page and "review-000005" not in page


@pytest.mark.parametrize("bad", [0, -1])
def test_silly_limits(bad):
    page = render_report(title="t", gap=gap(), max_quotes=bad, max_rows=bad)
    _assert_safe(page)
    assert 'id="verdicts"' in page


def test_rejects_and_counts_are_shown():
    g = gap()
    g["counts"] = {"read": 12, "annotated": 10, "rejected": 2}
    g["rejects"] = [{"source": "r.jsonl", "position": f"line {i}", "reason": "empty text", "code": "E119"}
                    for i in (3, 9)]
    page = render_report(title="t", gap=g)
    assert '<section id="input">' in page and "line 9" in page and "E119" in page
    page = render_report(title="t", audits=[audit()], rejects=[{"source": "a.md", "position": "file",
                                                                "reason": "empty file", "code": "E111"}])
    assert "a.md" in page and "empty file" in page
    assert 'id="input"' not in render_report(title="t", audits=[audit()])


def test_a_customer_side_claim_with_nothing_behind_it_gets_its_own_verdict():
    """A claim not lip service but not backed by a promise had the green "substantiated" badge and box."""
    a = audit()
    a["claims"] = [{**a["claims"][0], "lip_service": False, "substantiated": False, "reasons": []}]
    page = render_report(title="t", audits=[a])
    assert '<span class="badge open">unsubstantiated</span>' in page
    assert '<mark class="claim open">' in page and "UNSUBSTANTIATED</span></mark>" in page
    assert "badge ok" not in page


def test_an_empty_matrix_cell_is_not_marked_contradicting():
    """Cells with 0 complaints carried the red outline and "(contradicting)" in their tooltip."""
    g = gap()
    g["matrix"]["contradicting"][2] = [False, False, True]  # Support's own theme: no complaint there
    page = render_report(title="t", gap=g)
    assert page.count("(contradicting)") == 2  # the two cells with complaints of the promise's own theme


def test_the_reviews_section_shows_the_ratings():
    r = reviews()
    r["ratings"] = {"rated": 900, "mean": 3.41, "distribution": {"1": 200, "2": 100, "3": 100, "4": 200, "5": 300},
                    "mean_with_complaint": 2.05, "mean_without_complaint": 4.02}
    page = render_report(title="t", reviews=r)
    assert "<dt>Mean rating</dt><dd>3.41</dd>" in page and "<dd>2.05</dd>" in page
    assert "<dt>Ratings (900 rated)</dt><dd>1★ 200 · 2★ 100 · 3★ 100 · 4★ 200 · 5★ 300</dd>" in page


def test_company_copy_shows_no_complaint_scores():
    """An audit of marketing copy showed "complaint_rate 33%": its offers read as complaints."""
    a = audit()
    a["kind"] = "company"
    a["scores"] = {**a["scores"], "complaint_count": 4, "complaint_rate": 0.33}
    page = render_report(title="t", audits=[a])
    assert "complaint_rate" not in page and "complaint_count" not in page
    a["kind"] = "review"
    assert "complaint_rate" in render_report(title="t", audits=[a])
