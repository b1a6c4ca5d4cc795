"""Unit tests for nlp.charts: well-formed, titled, escaped, deterministic inline SVG (no models)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from nlp import charts

HOSTILE = '<script>alert(1)</script> & "onload="x'


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "svg"
    assert svg.startswith("<svg ") and svg.endswith("</svg>")
    return root


def _check(svg: str) -> ET.Element:
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert root.get("viewBox", "").startswith("0 0 ")
    assert root[0].tag == "title" and root[0].text
    return root


CASES = {
    "perspective_bar": lambda label: charts.perspective_bar({"company": 6, "customer": 3, "neutral": 3, label: 1},
                                                            title=label),
    "count_bars": lambda label: charts.count_bars({"specific": 2, label: 1}, title=label),
    "theme_bars": lambda label: charts.theme_bars([("Delivery", 12, "taxonomy"), (label, 4, "discovered")],
                                                  title=label),
    "heatmap": lambda label: charts.heatmap([label, "Free returns"], ["Delivery", label], [[3, 0], [1, 2]],
                                            [[True, False], [False, True]], title=label),
    "trend_chart": lambda label: charts.trend_chart([("2024-01", 0.2), (label, 0.35), ("2024-03", None)],
                                                    title=label),
    "empty_chart": lambda label: charts.empty_chart(label, label),
}
EMPTY = {
    "perspective_bar": lambda: charts.perspective_bar({}, title="t"),
    "perspective_bar_zero": lambda: charts.perspective_bar({"company": 0, "customer": 0}, title="t"),
    "count_bars": lambda: charts.count_bars([], title="t"),
    "theme_bars": lambda: charts.theme_bars([], title="t"),
    "heatmap": lambda: charts.heatmap([], [], [], title="t"),
    "heatmap_no_columns": lambda: charts.heatmap(["a promise"], [], [[]], title="t"),
    "trend_chart": lambda: charts.trend_chart([], title="t"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_is_well_formed_titled_svg(name):
    root = _check(CASES[name]("A label"))
    assert root[0].text == "A label"


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_escapes_labels(name):
    svg = CASES[name](HOSTILE)
    assert "<script" not in svg and '"onload="' not in svg
    root = _check(svg)
    assert root[0].text == HOSTILE  # escaped in the markup, intact once parsed
    for el in root.iter():
        assert el.tag != "script"
        assert not any(attr.startswith("on") for attr in el.attrib)


@pytest.mark.parametrize("name", sorted(CASES))
def test_chart_is_deterministic(name):
    assert CASES[name]("x") == CASES[name]("x")


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_empty_input_gives_no_data_svg(name):
    svg = EMPTY[name]()
    root = _check(svg)
    assert len(svg) < 400
    assert any(el.tag == "text" and el.text in ("no data", "no sentences") for el in root.iter())


def test_no_namespace_url_in_markup():
    for make in CASES.values():
        svg = make("x")
        assert "http" not in svg and "//" not in svg


def test_perspective_bar_counts_and_colours():
    root = _check(charts.perspective_bar({"company": 6, "customer": 3, "neutral": 1}))
    texts = [el.text for el in root.iter("text")]
    assert "company 6 (60%)" in texts and "customer 3 (30%)" in texts and "neutral 1 (10%)" in texts
    fills = {el.get("fill") for el in root.iter("rect")}
    assert {charts.COLOURS["company"], charts.COLOURS["customer"], charts.COLOURS["neutral"]} <= fills


def test_count_bars_only_accepts_hex_colours():
    svg = charts.count_bars({"a": 1, "b": 2}, title="t", colours={"a": "#123456", "b": "red;x:url(y)"})
    assert "#123456" in svg and "url(" not in svg and charts.DEFAULT_COLOUR in svg


def test_heatmap_truncates_labels_keeps_full_text_and_marks_cells():
    long = "Next-day delivery on every single order, everywhere, every time, with no exceptions at all"
    root = _check(charts.heatmap([long], ["Delivery", "Billing"], [[5, 0]], [[True, False]]))
    shown = [el.text for el in root.iter("text") if el.text and el.text.startswith("Next-day")]
    assert shown and len(shown[0]) <= 60 and shown[0].endswith("…")
    assert long in [el.text for el in root.iter("title")]
    assert [el.text for el in root.iter("text") if el.text in ("5", "0")] == ["5", "0"]
    outlines = [el for el in root.iter("rect") if el.get("stroke") == charts.MARK_COLOUR]
    assert len(outlines) == 1


def test_heatmap_tolerates_ragged_counts():
    root = _check(charts.heatmap(["a", "b"], ["x", "y"], [[1], "bad"], None))
    assert len([el for el in root.iter("rect") if el.find("title") is not None]) == 4


def test_trend_chart_breaks_line_on_missing_values():
    root = _check(charts.trend_chart([("m1", 0.1), ("m2", 0.2), ("m3", None), ("m4", 0.3), ("m5", 0.25)]))
    assert len(list(root.iter("polyline"))) == 2
    assert len(list(root.iter("circle"))) == 4
    assert "20%" in [el.text for el in root.iter("title")][2]


def test_trend_chart_thins_month_labels():
    root = _check(charts.trend_chart([(f"2020-{i:03d}", i / 200) for i in range(100)]))
    months = [el.text for el in root.iter("text") if el.text and el.text.startswith("2020-")]
    assert 2 <= len(months) < 30


def test_trend_chart_month_labels_stay_inside_the_chart():
    """The last month's label, centred on the plot's right edge, was cut off by the viewBox."""
    for months in (["2024-01", "2024-02"], [f"2024-{i:02d}" for i in range(1, 13)], ["Jan 2024", "December 2024"]):
        root = _check(charts.trend_chart([(m, 0.1) for m in months]))
        width = float(root.get("viewBox").split()[2])
        for el in root.iter("text"):
            if el.get("text-anchor") == "middle" and el.text:
                x = float(el.get("x"))
                assert 0 <= x - len(el.text) * charts.CHAR_W / 2 and x + len(el.text) * charts.CHAR_W / 2 <= width


def test_trend_chart_labels_the_newest_month_whatever_their_number():
    for n in (13, 14, 99, 100):
        months = [f"2020-{i:03d}" for i in range(n)]
        root = _check(charts.trend_chart([(m, 0.1) for m in months]))
        shown = [el.text for el in root.iter("text") if el.text and el.text.startswith("2020-")]
        assert shown[-1] == months[-1] and len(shown) < n


def test_truncate():
    assert charts.truncate("abc", 5) == "abc"
    assert charts.truncate("abcdefgh", 5) == "abcd…"
    assert charts.truncate("a \n b", 5) == "a b"


def test_odd_numbers_are_tolerated():
    for svg in (charts.trend_chart([("a", float("nan")), ("b", 10**400), ("c", -0.5), ("d", "x"), ("e", True)]),
                charts.count_bars({"a": float("inf"), "b": -3, "c": 10**400}, title="t"),
                charts.perspective_bar({"company": float("nan"), "customer": 2})):
        _check(svg)
        assert "nan" not in svg and "inf" not in svg


def test_labels_show_bidirectional_overrides_rather_than_obey_them():
    """A promise "Refunds \u202eevil" in the matrix's labels read reversed in the page's SVG."""
    svg = charts.heatmap(["Refunds in 48 hours \u202eevil\u202c always."], ["delivery"], [[2]], title="t")
    assert "\u202e" not in svg and "\\u202eevil\\u202c" in svg
    ET.fromstring(svg)


def test_control_characters_are_shown_not_written_raw():
    """ESC and BEL from a scraped page reached the HTML report as raw bytes; tabs and line breaks stay."""
    assert charts.escape("a\x1b[31mb\x07c\x00d\x7f\x85e\tf\ng") == "a\\x1b[31mb\\x07c\\x00d\\x7f\\x85e\tf\ng"
