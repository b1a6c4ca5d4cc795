"""Corpus-level review analysis (nlp/reviews.py): reading ratings and dates in the shapes they arrive in,
spreadsheet-safe cells, the review summary (complaint rate, theme table, monthly trend, field counts) and
the theme CSV. Hand-built contract records only: no spaCy model, no encoder."""
from __future__ import annotations

import csv
import io

import pytest

from nlp.reviews import csv_safe, not_rated, parse_month, parse_rating, rating_summary, summarise_reviews, themes_csv
from nlp.themes import DiscoveredTheme

LABELS = {"delivery": "Delivery", "refund": "Refunds"}


def sentence(text: str, theme: str | None = None, p: float = 0.0, complaint: bool = True) -> dict:
    return {"text": text, "complaint": complaint, "complaint_p": p, "theme": theme}


def record(rid: str, *sentences: dict, **meta) -> dict:
    return {"id": rid, "sentences": list(sentences), "meta": meta}


def praise(text: str = "Lovely staff.") -> dict:
    return sentence(text, complaint=False, p=0.05)


@pytest.fixture
def corpus() -> list[dict]:
    """Six reviews over two months (June listed first), odd rating formats, one unreadable rating and date."""
    return [
        record("r3", praise(), rating=5, date="2024-06-01T09:00:00Z"),
        record("r1", sentence("The parcel arrived two weeks late.", "delivery", 0.9), praise(),
               rating="4/5", date="2024-05-03"),
        record("r2", sentence("Delivery took ages.", "delivery", 0.6),
               sentence("Still waiting for my refund.", "refund", 0.95), rating="2 stars", date="05/20/2024"),
        record("r4", sentence("Courier left it in the rain.", "delivery", 0.7),
               sentence("The lid does not fit.", None, 0.8), rating="★☆☆☆☆", date="3 June 2024"),
        record("r5", sentence("They refused to refund me.", "refund", 0.5), rating="great", date="someday"),
        record("r6", praise("Fine.")),
    ]


def theme_row(summary: dict, theme: str) -> dict:
    return next(r for r in summary["themes"] if r["theme"] == theme)


# -- parse_rating ----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (4, 4.0), (1, 1.0), (5, 5.0), (3.5, 3.5),
    ("4", 4.0), ("4.5", 4.5), ("4,5", 4.5), (" 3 ", 3.0),
    ("4/5", 4.0), ("8 out of 10", 4.0), ("3 of 5", 3.0),
    ("5 stars", 5.0), ("1 star", 1.0), ("4.5 stars", 4.5),
    ("★★★☆☆", 3.0), ("★★★★★", 5.0),
])
def test_parse_rating_reads_common_shapes(value, expected):
    assert parse_rating(value) == expected


@pytest.mark.parametrize("value", [7, -1, 5.5, "7", "6/5", "11 out of 10", "10 stars", "3/0"])
def test_parse_rating_refuses_out_of_range(value):
    assert parse_rating(value) is None


@pytest.mark.parametrize("value", ["great", "", "   ", None, True, False, "4.5.5", "five", float("nan")])
def test_parse_rating_refuses_garbage(value):
    assert parse_rating(value) is None


def test_parse_rating_refuses_too_many_stars():
    assert parse_rating("★★★★★★★") is None


@pytest.mark.parametrize("value", [0, 0.0, "0", "0 stars", "☆☆☆☆☆", "0/5", "0 out of 10", 0.5, "0.5 stars"])
def test_a_rating_of_zero_or_below_the_scale_is_no_rating(value):
    """Exports write 0 for "not rated"; on a 1–5 scale it is no rating and must not pull a mean down."""
    assert parse_rating(value) is None


def test_not_rated_is_no_rating_and_below_the_scale_is_unreadable_with_the_record_named():
    """0 and "☆☆☆☆☆" mean "not rated" (as the README says): they were reported as values that "could not be
    read", and no warning said which records held the unreadable ones."""
    records = [record("a", sentence("Late.", "delivery", 0.9), rating=0),
               record("b", sentence("Late again.", "delivery", 0.9), rating="2/5"),
               record("c", sentence("Late once more.", "delivery", 0.9), rating="☆☆☆☆☆"),
               record("d", sentence("Still late.", "delivery", 0.9), rating="0.5 stars")]
    summary = summarise_reviews(records, LABELS)
    assert summary["themes"][0]["mean_rating"] == 2.0
    assert summary["fields"]["rating"] == {"field": "rating", "present": 2, "unreadable": 1,
                                           "unreadable_examples": [{"id": "d", "value": "0.5 stars"}]}


def test_an_unreadable_value_that_is_no_string_is_named_as_json_writes_it():
    """{"x": 1} was named as Python writes it, {'x': 1}: not what the file holds."""
    records = [record("a", sentence("Late.", "delivery", 0.9), rating={"x": 1}),
               record("b", sentence("Late again.", "delivery", 0.9), rating=[5, None])]
    examples = summarise_reviews(records, LABELS)["fields"]["rating"]["unreadable_examples"]
    assert [e["value"] for e in examples] == [{"x": 1}, [5, None]]  # shown as JSON: {"x": 1}, [5, null]


@pytest.mark.parametrize("value", [0, "0", "☆☆☆☆☆", " 0 stars "])
def test_not_rated_values(value):
    assert not_rated(value) and parse_rating(value) is None


@pytest.mark.parametrize("value", [0.5, "0 out of 10", "", None, "★☆☆☆☆", 3])
def test_values_that_are_not_the_not_rated_mark(value):
    assert not not_rated(value)


# -- parse_month -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2024-05-03", "2024-05"),
    ("2024-05-03T10:00:00Z", "2024-05"),
    ("2024-05-03T10:00:00+02:00", "2024-05"),
    ("05/03/2024", "2024-05"),  # US: month first
    ("12/31/2023", "2023-12"),
    ("3 May 2024", "2024-05"),
    ("May 3, 2024", "2024-05"),
    ("Tue Oct 31 22:10:47 +0000 2017", "2017-10"),
    (1714730000, "2024-05"),  # epoch seconds: 2024-05-03 09:53 UTC
    (1714730000.5, "2024-05"),
    (1714730000123, "2024-05"),  # epoch milliseconds, as JavaScript exports them
    (20240301, "2024-03"),  # an 8-digit number reads as YYYYMMDD, as the string does
    ("20240301", "2024-03"),
    ("1714730000", "2024-05"),  # a CSV cell holds text: epoch seconds and milliseconds were never read from CSV
    (" 1714730000123 ", "2024-05"),
    ("1714730000.5", "2024-05"),
    (100000000, "1973-03"),  # the plausible range's ends
    (3999999999, "2096-10"),
])
def test_parse_month_reads_common_shapes(value, expected):
    assert parse_month(value) == expected


@pytest.mark.parametrize("value", ["yesterday", "", "31/12/2023", "2024-13-01", None, True, -5, 1e13, "2024", "45000",
                                   "-1714730000"])
def test_parse_month_refuses_garbage(value):
    assert parse_month(value) is None


@pytest.mark.parametrize("value", ["0999-05-01", "0099-01-01", "0001-01-01", "9999-12-31", "1899-12-31", "2101-01-01",
                                   "1 May 0999", 10000101])
def test_a_date_outside_the_plausible_years_is_unreadable_not_a_month_that_sorts_after_2024(value):
    """"0999-05-01" was the month "999-05", after "2024-05" in the trend; "9999-12-31" a month of its own."""
    assert parse_month(value) is None
    summary = summarise_reviews([record("a", praise(), date=value)], LABELS)
    assert summary["trend"] == [] and summary["fields"]["date"]["unreadable"] == 1
    assert parse_month("1900-01-01") == "1900-01" and parse_month("2100-12-31") == "2100-12"


@pytest.mark.parametrize("value", [2024, 45000, 45000.5, 202403, 20241399, 99999999, 99_999_999.5, 5e9, 5e10,
                                   4e12, float("inf"), float("nan"), 10 ** 400])
def test_a_number_that_is_no_plausible_date_is_unreadable_not_1970(value):
    """A year, an Excel serial day, an impossible YYYYMMDD or a number outside the epoch ranges is
    counted as unreadable ("never guessed"), where it used to read as epoch seconds in 1970."""
    assert parse_month(value) is None
    summary = summarise_reviews([record("a", praise(), date=value)], LABELS)
    assert summary["trend"] == [] and summary["fields"]["date"]["unreadable"] == 1


# -- csv_safe --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=1+1", "+44 20 7946 0000", "-2", "@SUM(A1:A2)", "\tx", "\rx", "\n=1+1",
                                   "\x00=1", "  =HYPERLINK(\"http://x\")", "\uff1d1+1", "\uff20SUM(A1)",
                                   "\u00a0=1+1", "\u3000=1+1", "\ufeff=1+1", "\u200b@SUM(A1)", " \t -2",
                                   # small forms, joiners and the soft hyphen, which were let through
                                   "\ufe66x", "\ufe62x", "\ufe63x", "\ufe6bx", "\u200d=y", "\u200c=y", "\xad=z",
                                   "\u202e=1", "\u2066@x",
                                   # tag and control characters before it, and the minus signs
                                   "\U000e0001=1", "\x01=1", "\x7f=1", "\u2212" + "1", "\u207b1"])
def test_csv_safe_quotes_formula_starts(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value, expected", [("Late parcel", "Late parcel"), ("a=b", "a=b"), (3.5, "3.5"),
                                             ("", ""), (None, ""), ("caf\u00e9", "caf\u00e9"),
                                             ("\u00adsoft", "\u00adsoft")])
def test_csv_safe_leaves_ordinary_values(value, expected):
    assert csv_safe(value) == expected


# -- summarise_reviews -----------------------------------------------------------------------------

def test_complaint_rate_is_share_of_reviews_with_a_complaint(corpus):
    summary = summarise_reviews(corpus, LABELS)
    assert summary["reviews"] == 6
    assert summary["complaint_rate"] == round(4 / 6, 4)
    assert summary["complaint_sentences"] == 6


def test_theme_table_sorted_by_complaints_with_counts_and_shares(corpus):
    table = summarise_reviews(corpus, LABELS)["themes"]
    assert [(r["theme"], r["label"], r["complaints"]) for r in table] == [
        ("delivery", "Delivery", 3), ("refund", "Refunds", 2), ("unassigned", "Unassigned", 1)]
    delivery = table[0]
    assert delivery["share_of_complaints"] == 0.5
    assert delivery["share_of_reviews"] == 0.5


def test_share_of_reviews_counts_each_review_once():
    records = [record("a", sentence("Late.", "delivery", 0.9), sentence("Very late.", "delivery", 0.8)),
               record("b", praise())]
    row = summarise_reviews(records, LABELS)["themes"][0]
    assert row["complaints"] == 2
    assert row["share_of_complaints"] == 1.0
    assert row["share_of_reviews"] == 0.5


def test_mean_rating_over_reviews_with_the_theme(corpus):
    summary = summarise_reviews(corpus, LABELS)
    assert theme_row(summary, "delivery")["mean_rating"] == round((4.0 + 2.0 + 1.0) / 3, 2)  # "4/5", "2 stars", ★
    assert theme_row(summary, "refund")["mean_rating"] == 2.0  # r5's "great" is left out, not guessed
    assert theme_row(summary, "unassigned")["mean_rating"] == 1.0


def test_examples_are_the_most_confident_quotes(corpus):
    summary = summarise_reviews(corpus, LABELS)
    assert theme_row(summary, "delivery")["examples"] == [
        {"id": "r1", "text": "The parcel arrived two weeks late."},
        {"id": "r4", "text": "Courier left it in the rain."}]
    assert [e["id"] for e in theme_row(summary, "refund")["examples"]] == ["r2", "r5"]


@pytest.mark.parametrize("n_examples, expected", [(1, ["r1"]), (3, ["r1", "r4", "r2"])])
def test_n_examples_caps_the_quotes(corpus, n_examples, expected):
    row = theme_row(summarise_reviews(corpus, LABELS, n_examples=n_examples), "delivery")
    assert [e["id"] for e in row["examples"]] == expected


def test_unassigned_complaints_get_their_own_row(corpus):
    row = theme_row(summarise_reviews(corpus, LABELS), "unassigned")
    assert row["label"] == "Unassigned"
    assert row["complaints"] == 1
    assert row["examples"] == [{"id": "r4", "text": "The lid does not fit."}]


def test_corpus_without_complaints():
    records = [record("a", praise(), rating="5/5", date="2024-01-02"), record("b", praise(), rating=4)]
    summary = summarise_reviews(records, LABELS)
    assert summary["complaint_rate"] == 0.0
    assert summary["complaint_sentences"] == 0
    assert summary["themes"] == []
    assert summary["trend"] == [{"month": "2024-01", "reviews": 1, "complaint_rate": 0.0, "top_themes": []}]


def test_records_without_rating_or_date():
    records = [record("a", sentence("Late.", "delivery", 0.9)), {"id": "b", "sentences": [praise()]}]
    summary = summarise_reviews(records, LABELS)
    assert summary["themes"][0]["mean_rating"] is None
    assert summary["trend"] == []
    assert summary["fields"] == {"rating": {"field": "rating", "present": 0, "unreadable": 0, "unreadable_examples": []},
                                 "date": {"field": "date", "present": 0, "unreadable": 0, "unreadable_examples": []}}


def test_unreadable_ratings_and_dates_are_counted(corpus):
    assert summarise_reviews(corpus, LABELS)["fields"] == {
        "rating": {"field": "rating", "present": 5, "unreadable": 1, "unreadable_examples": [{"id": "r5",
                                                                                              "value": "great"}]},
        "date": {"field": "date", "present": 5, "unreadable": 1, "unreadable_examples": [{"id": "r5",
                                                                                          "value": "someday"}]}}


def test_ratings_and_dates_are_read_from_the_fields_named(corpus):
    renamed = [{**r, "meta": {{"rating": "stars", "date": "when"}.get(k, k): v for k, v in r.get("meta", {}).items()}}
               for r in corpus]
    summary = summarise_reviews(renamed, LABELS, rating_field="stars", date_field="when")
    assert summary["fields"] == {
        "rating": {"field": "stars", "present": 5, "unreadable": 1, "unreadable_examples": [{"id": "r5",
                                                                                             "value": "great"}]},
        "date": {"field": "when", "present": 5, "unreadable": 1, "unreadable_examples": [{"id": "r5",
                                                                                         "value": "someday"}]}}
    assert summary["trend"] == summarise_reviews(corpus, LABELS)["trend"]
    assert summarise_reviews(renamed, LABELS)["fields"]["rating"]["present"] == 0  # the default name finds none


def test_trend_per_month_sorted(corpus):
    assert summarise_reviews(corpus, LABELS)["trend"] == [
        {"month": "2024-05", "reviews": 2, "complaint_rate": 1.0, "top_themes": ["delivery", "refund"]},
        {"month": "2024-06", "reviews": 2, "complaint_rate": 0.5, "top_themes": ["delivery", "unassigned"]},
    ]


def test_trend_keeps_the_three_top_themes():
    records = [record("a", *(sentence(t, t, 0.9) for t in ("delivery", "refund", "price", "staff")),
                      sentence("Late again.", "delivery", 0.9), date="2024-03-01")]
    assert summarise_reviews(records, LABELS)["trend"][0]["top_themes"] == ["delivery", "price", "refund"]


def test_empty_record_list():
    summary = summarise_reviews([], LABELS)
    assert summary["reviews"] == 0
    assert summary["complaint_rate"] is None
    assert summary["themes"] == [] and summary["trend"] == [] and summary["discovered"] == []


# -- themes_csv ------------------------------------------------------------------------------------

def parsed_csv(summary: dict) -> list[list[str]]:
    return list(csv.reader(io.StringIO(themes_csv(summary))))


def test_themes_csv_has_header_and_one_row_per_theme(corpus):
    unassigned = [(3, corpus[3]["sentences"][1])]
    found = [DiscoveredTheme(id="discovered_1", label="lid / fit", phrases=["lid", "fit"], members=[0])]
    rows = parsed_csv(summarise_reviews(corpus, LABELS, discovered=found, unassigned=unassigned))
    assert rows[0] == ["theme", "label", "source", "complaints", "share_of_complaints", "share_of_reviews",
                       "mean_rating", "example_1", "example_2", "within"]
    # a discovered theme is a part of the unassigned row, which is no taxonomy theme: shares summed twice
    assert [(r[0], r[2], r[3], r[9]) for r in rows[1:]] == [
        ("delivery", "taxonomy", "3", ""), ("refund", "taxonomy", "2", ""), ("unassigned", "unassigned", "1", ""),
        ("discovered_1", "discovered", "1", "unassigned")]
    assert sum(float(r[4]) for r in rows[1:] if r[9] == "") == pytest.approx(1.0, abs=1e-3)
    assert rows[1][7:9] == ["The parcel arrived two weeks late.", "Courier left it in the rain."]


def test_discovered_themes_name_their_theme_as_the_theme_table_does(corpus):
    """A reader keyed on "theme" found it in themes[] and the gap's unmet[], but discovered[] had only "id"."""
    found = [DiscoveredTheme(id="discovered_1", label="lid / fit", phrases=["lid", "fit"], members=[0])]
    [d] = summarise_reviews(corpus, LABELS, discovered=found, unassigned=[(3, corpus[3]["sentences"][1])])["discovered"]
    assert d["theme"] == d["id"] == "discovered_1" and d["label"] == "lid / fit" and d["complaints"] == 1


def test_a_complaint_written_twice_is_quoted_once():
    same = "The parcel arrived two weeks late."
    records = [record(rid, sentence(same, "delivery", 0.9)) for rid in ("a", "b")]
    records.append(record("c", sentence("Courier left it in the rain.", "delivery", 0.8)))
    examples = summarise_reviews(records, LABELS)["themes"][0]["examples"]
    assert [e["text"] for e in examples] == [same, "Courier left it in the rain."]


def test_themes_csv_neutralises_formula_quotes():
    records = [record("a", sentence('=HYPERLINK("http://evil.example","click")', "delivery", 0.9),
                      sentence("@SUM(A1:A9)", "delivery", 0.8))]
    row = parsed_csv(summarise_reviews(records, LABELS))[1]
    assert row[7] == '\'=HYPERLINK("http://evil.example","click")'
    assert row[8] == "'@SUM(A1:A9)"
    assert row[6] == ""  # no rating: empty cell, not "None"


def test_ratings_over_all_reviews_with_and_without_a_complaint():
    """The help promised ratings, and the only figure was each theme's mean: no overall mean, no spread,
    nothing on what a complaint costs."""
    r = rating_summary([5.0, 4.5, None, 1.0, 2.0, 4.0], [False, False, True, True, True, False])
    assert r == {"rated": 5, "mean": 3.3, "distribution": {"1": 1, "2": 1, "3": 0, "4": 1, "5": 2},
                 "mean_with_complaint": 1.5, "mean_without_complaint": 4.5}
    assert rating_summary([None], [True]) == {"rated": 0, "mean": None, "distribution": dict.fromkeys("12345", 0),
                                             "mean_with_complaint": None, "mean_without_complaint": None}


def test_the_summary_carries_the_ratings(corpus):
    ratings = summarise_reviews(corpus, LABELS)["ratings"]
    assert ratings["rated"] == 4 and sum(ratings["distribution"].values()) == 4
