"""Normalised quantities in promise text (nlp/quantities.py): what a promise can be checked against."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.quantities import describe, extract_quantities


def only(text: str, kind: str) -> dict:
    """The single quantity of type ``kind`` found in ``text``."""
    found = [q for q in extract_quantities(text) if q["type"] == kind]
    assert len(found) == 1, (text, extract_quantities(text))
    return found[0]


# --- durations ---------------------------------------------------------------------------------

def test_business_days_in_words_become_hours_flagged_business():
    q = only("We reply within two business days.", "duration")
    assert q["hours"] == 48
    assert q["business"] is True


@pytest.mark.parametrize("text", ["Refunds in 48hrs.", "Refunds in 48 hours.", "Refunds in 48 hrs."])
def test_hour_abbreviations_normalise_to_hours(text):
    q = only(text, "duration")
    assert q["hours"] == 48
    assert "min_hours" not in q  # a single value, not a range


def test_calendar_days_are_not_business_days():
    q = only("Free returns within 30 calendar days.", "duration")
    assert q["hours"] == 30 * 24
    assert q["business"] is False


def test_plain_days_carry_no_business_flag():
    assert "business" not in only("Free returns within 30 days.", "duration")


def test_working_day_range_keeps_both_ends():
    q = only("Delivered within 3-5 working days.", "duration")
    assert q["hours"] == 120  # the promise is only kept at the upper end
    assert q["min_hours"] == 72
    assert q["business"] is True


def test_minutes_are_fractions_of_an_hour():
    q = only("A person answers within two minutes.", "duration")
    assert q["hours"] == pytest.approx(2 / 60, abs=1e-3)


def test_hyphenated_duration_adjective():
    assert only("A 30-day money-back guarantee.", "duration")["hours"] == 720


# --- money -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["£5", "5 GBP", "only £5 extra", "a fee of 5 GBP"])
def test_pounds_by_symbol_or_code(text):
    q = only(text, "money")
    assert q["amount"] == 5.0
    assert q["currency"] == "GBP"


@pytest.mark.parametrize("text,amount,currency", [
    ("$1,200", 1200.0, "USD"),
    ("€15", 15.0, "EUR"),
    ("50 pence", 0.5, "GBP"),
    ("20 dollars", 20.0, "USD"),
    ("ten pounds", 10.0, "GBP"),
    ("1,200 EUR", 1200.0, "EUR"),
])
def test_money_amounts_and_currencies(text, amount, currency):
    q = only(text, "money")
    assert q["amount"] == pytest.approx(amount)
    assert q["currency"] == currency


def test_three_letter_words_are_not_currencies():
    assert extract_quantities("Call 3 men and 2 dogs") == []


def test_price_per_month_is_money_with_a_period_not_a_duration():
    found = extract_quantities("Broadband for £5 a month.")
    assert [q["type"] for q in found] == ["money"]  # "a month" is the billing period, not a promise of time
    assert found[0]["amount"] == 5.0 and found[0]["currency"] == "GBP"
    assert found[0]["per_hours"] == 730


def test_a_month_without_a_price_is_still_a_duration():
    assert only("Your first order arrives in a month.", "duration")["hours"] == 730


# --- percentages ---------------------------------------------------------------------------------

def test_half_price_is_fifty_percent():
    assert only("Half price on all sofas.", "percentage")["value"] == 50.0


@pytest.mark.parametrize("text", ["10%", "10 %", "10 per cent", "10 percent", "10 percent off"])
def test_percent_spellings(text):
    assert only(text, "percentage")["value"] == 10.0


# --- deadlines and availability ------------------------------------------------------------------

@pytest.mark.parametrize("text,time", [
    ("Delivered by 9am.", "09:00"),
    ("Order before 5:30 pm for same-day dispatch.", "17:30"),
    ("Order by 12pm.", "12:00"),
    ("Open until 17:45 every day.", "17:45"),
])
def test_deadlines_are_24_hour_clock_times(text, time):
    assert only(text, "deadline")["time"] == time


def test_a_bare_number_after_by_is_not_a_deadline():
    assert not [q for q in extract_quantities("Prices cut by 5 this week") if q["type"] == "deadline"]


@pytest.mark.parametrize("text", ["24/7 support", "Support 24 / 7.", "Help 24 hours a day.", "Round-the-clock support."])
def test_round_the_clock_availability(text):
    q = only(text, "availability")
    assert (q["hours_per_day"], q["days_per_week"]) == (24, 7)
    assert not [x for x in extract_quantities(text) if x["type"] == "duration"]  # not also "24 hours"


# --- counts, order, shape -------------------------------------------------------------------------

def test_one_free_month_is_a_count():
    q = only("Get one free month of Premium.", "count")
    assert q["value"] == 1 and q["unit"] == "month"


def test_every_quantity_reports_the_text_it_matched_in_reading_order():
    text = "Orders over £50 ship free within 2 days, and 10% off your next order."
    found = extract_quantities(text)
    assert [q["type"] for q in found] == ["money", "duration", "percentage"]
    for q in found:
        assert q["text"] in text
    assert [text.index(q["text"]) for q in found] == sorted(text.index(q["text"]) for q in found)
    assert all("start" not in q for q in found)  # internal bookkeeping does not leak


@pytest.mark.parametrize("text", ["", "We care about our customers.", "Customers come first!", "   \n\n "])
def test_text_without_quantities(text):
    assert extract_quantities(text) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["1", "2", ".", " ", "%", "per cent", "percent", "x", ","]), max_size=14))
def test_percent_matches_what_it_did_before_it_was_anchored_to_a_numbers_start(parts):
    """Anchoring PERCENT at a number's start (linear on a run of digits, was quadratic) finds the
    same percentages the unanchored pattern found."""
    import re

    from nlp.quantities import PERCENT

    text = "".join(parts)
    unanchored = re.compile(r"(?P<num>\d+(?:\.\d+)?)\s?(?:%|per\s?cent|percent)", re.I)
    assert [m.group(0) for m in PERCENT.finditer(text)] == [m.group(0) for m in unanchored.finditer(text)]


# --- what an auditor found missing --------------------------------------------------------------

@pytest.mark.parametrize("text, days", [("Support seven days a week.", 7), ("Open 7 days a week.", 7),
                                        ("Open 365 days a year.", 7), ("Open five days a week.", 5)])
def test_days_a_week_is_availability_not_two_durations(text, days):
    """"seven days a week" came out as two durations of 168 h each."""
    [q] = extract_quantities(text)
    assert q["type"] == "availability" and q["days_per_week"] == days


def test_a_fortnight_is_two_weeks():
    assert only("Refunds within a fortnight.", "duration")["hours"] == 336


def test_pence_written_as_p_are_money():
    q = only("Only 50p per item.", "money")
    assert q["amount"] == 0.5 and q["currency"] == "GBP"
    assert extract_quantities("Streams in 1080 pixels.") == []  # a number without its p is no price


@pytest.mark.parametrize("text, time", [("Order by noon.", "12:00"), ("Order before midday.", "12:00"),
                                        ("Cancel until midnight.", "00:00")])
def test_named_times_are_deadlines(text, time):
    assert only(text, "deadline")["time"] == time


@pytest.mark.parametrize("text, times, per", [("Up to three times a year we call.", 3, 8760),
                                              ("We call twice a month.", 2, 730), ("Serviced once a week.", 1, 168)])
def test_how_often_is_a_frequency_not_a_duration(text, times, per):
    """"up to three times a year" was a duration of 8,760 h."""
    [q] = extract_quantities(text)
    assert q == {"type": "frequency", "times": times, "per_hours": per, "text": q["text"]}


@pytest.mark.parametrize("text, start, end", [("Open 8am to 8pm.", "08:00", "20:00"),
                                              ("Phones 8am–10pm.", "08:00", "22:00"),
                                              ("Lines open 9:30 a.m. - 5:30 p.m.", "09:30", "17:30"),
                                              ("Open 12pm to 12am.", "12:00", "00:00")])
def test_opening_hours(text, start, end):
    q = only(text, "hours")
    assert (q["from"], q["to"]) == (start, end)


@pytest.mark.parametrize("text, amount, per", [("Just £4.99/mo.", 4.99, 730), ("$10 per month.", 10, 730),
                                               ("5 GBP/yr for cover.", 5, 8760), ("£89 per night.", 89, 24)])
def test_a_price_per_period(text, amount, per):
    """"£4.99/mo." had no period, where "£5 a month" had one."""
    q = only(text, "money")
    assert q["amount"] == amount and q["per_hours"] == per


@pytest.mark.parametrize("text, shown", [
    ("Refunds within two business days.", "48 h (business)"), ("Answered within 2 minutes.", "2 min"),
    ("Just £4.99/mo.", "4.99 GBP/month"), ("Half price.", "50 %"), ("Order by 9am.", "by 09:00"),
    ("Support 24/7.", "24/7"), ("Open 5 days a week.", "5 days/week"), ("We call twice a year.", "2×/year"),
    ("Open 8am to 8pm.", "08:00–20:00"), ("Delivered in 2-3 days.", "48 h–72 h"), ("Get 3 free months.", "3 month"),
])
def test_describe_says_the_normalised_value_a_report_shows(text, shown):
    """The terminal showed the matched text ("two business days"), so a wrong normalisation went unseen."""
    [q] = extract_quantities(text)
    assert describe(q) == shown


@pytest.mark.parametrize("text, kind, value", [
    ("Advisers from 8.30am to 6pm.", "hours", ("08:30", "18:00")),  # was 06:00-18:00, read from "30am"
    ("Open 9.30am-5.30pm.", "hours", ("09:30", "17:30")),
    ("Open 9:00-17:00.", "hours", ("09:00", "17:00")),
    ("Order by 5.30pm.", "deadline", "17:30"),
])
def test_times_with_a_dot_and_24_hour_ranges(text, kind, value):
    q = only(text, kind)
    assert ((q["from"], q["to"]) if kind == "hours" else q["time"]) == value


@pytest.mark.parametrize("text, hours", [("within half an hour", 0.5), ("within half a day", 12),
                                         ("in an hour and a half", 1.5), ("in a quarter of an hour", 0.25)])
def test_halves_and_quarters(text, hours):
    """"half an hour" was 1 h: "an hour" was read and the half dropped."""
    assert only(text, "duration")["hours"] == hours


def test_pence_with_thousands_and_periods_with_spaces():
    assert only("We refund 1,000p to your card.", "money")["amount"] == 10  # was 0.0 from "000p"
    assert only("£4.99 / month", "money")["per_hours"] == 730
    assert only("€5/mth", "money")["per_hours"] == 730
