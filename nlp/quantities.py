"""Normalised quantities in promise text: durations in hours, money with currency (and the period
it is per), percentages, counts, frequencies, availability, opening hours and deadlines. "two business
days" → 48 h (business); "48hrs" → 48 h; "£5" and "5 GBP" → 5 GBP; "£4.99/mo" → 4.99 GBP per 730 h;
"50p" → 0.50 GBP; "half price" → 50 %; "by 9am" → deadline 09:00, "by noon" → 12:00; "7 days a week"
→ availability; "three times a year" → a frequency, not a duration; "8am to 8pm" → hours 08:00–20:00.
"""
from __future__ import annotations

import re
from typing import Any

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "forty-eight": 48, "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100,
    "a dozen": 12, "dozen": 12, "a couple of": 2, "couple of": 2, "a few": 3,
    "half a": 0.5, "half an": 0.5, "a quarter of a": 0.25, "a quarter of an": 0.25, "quarter of an": 0.25,
}
HOURS = {"minute": 1 / 60, "min": 1 / 60, "mins": 1 / 60, "hour": 1, "hr": 1, "hrs": 1, "h": 1, "day": 24,
         "week": 168, "wk": 168, "fortnight": 336, "month": 730, "mo": 730, "mth": 730, "year": 8760, "yr": 8760}
CURRENCY_SYMBOLS = {"£": "GBP", "$": "USD", "€": "EUR", "¥": "JPY", "₹": "INR"}
CURRENCY_CODES = {"gbp", "usd", "eur", "cad", "aud", "chf", "jpy", "inr", "nzd", "sek", "nok", "dkk"}
CURRENCY_WORDS = {"pounds": "GBP", "pound": "GBP", "quid": "GBP", "dollars": "USD", "dollar": "USD",
                  "euros": "EUR", "euro": "EUR", "pence": "GBP_p", "p": "GBP_p", "cents": "USD_c"}

_NUM = r"(?:\d+(?:[.,]\d+)?|" + "|".join(sorted((re.escape(w) for w in NUMBER_WORDS), key=len, reverse=True)) + r")"
_RANGE = rf"(?P<lo>{_NUM})(?:\s*(?:-|–|to)\s*(?P<hi>{_NUM}))?"
_UNIT = r"(?P<business>business\s+|working\s+|calendar\s+)?(?P<unit>minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|fortnights?|months?|years?|yrs?)"
DURATION = re.compile(r"(?<![\w£$€])" + _RANGE + r"[\s-]*" + _UNIT + r"\b(?P<half>\s+and\s+a\s+half\b)?", re.I)
MONEY_SYMBOL = re.compile(r"(?P<sym>[£$€¥₹])\s?(?P<amt>\d+(?:,\d{3})*(?:\.\d+)?)(?P<k>k\b)?")
MONEY_CODE = re.compile(r"\b(?P<amt>\d+(?:,\d{3})*(?:\.\d+)?)\s?(?P<code>[A-Za-z]{3})\b")
MONEY_WORD = re.compile(rf"\b(?P<amt>{_NUM})\s(?P<word>pounds|pound|quid|dollars|dollar|euros|euro|pence|cents)\b", re.I)
PERCENT = re.compile(r"(?<!\d)(?P<num>\d+(?:\.\d+)?)\s?(?:%|per\s?cent|percent)", re.I)  # starts a number: linear
FRACTION = re.compile(r"\b(?P<frac>half|a third|a quarter)\s(?:price|off)\b", re.I)
DEADLINE = re.compile(r"\b(?P<prep>by|before|until|till)\s(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s?(?P<ap>am|pm|a\.m\.|p\.m\.)?",
                      re.I)
PER_DAY = re.compile(r"\b24\s?/\s?7\b|\b24\s?hours?\s+a\s+day\b|\bround[- ]the[- ]clock\b", re.I)
_WEEKDAYS = r"(?P<days>[1-7]|one|two|three|four|five|six|seven)"
PER_WEEK = re.compile(rf"\b{_WEEKDAYS}\s+days?\s+(?:a|per|each)\s+week\b|\b(?P<year>365)\s+days\s+(?:a|per)\s+year\b",
                      re.I)
FREQUENCY = re.compile(rf"\b(?:(?P<num>{_NUM})\s+times?|(?P<word>once|twice))\s+(?:a|per|each|every)\s+"
                       r"(?P<unit>day|week|fortnight|month|year)\b", re.I)
_CLOCK = r"(?P<h{n}>\d{{1,2}})(?:[:.](?P<m{n}>\d{{2}}))?\s?(?P<a{n}>am|pm|a\.m\.|p\.m\.)"
_TO = r"\s*(?:-|–|—|to|until|till)\s*"
OPENING = re.compile(r"(?<![\d.:])" + _CLOCK.format(n=1) + _TO + _CLOCK.format(n=2), re.I)
#: "9:00-17:00": a 24-hour clock, minutes required (so that "2-3 days" is no opening time).
OPENING_24H = re.compile(r"(?<![\d.:])(?P<h1>[01]?\d|2[0-3])[:.](?P<m1>[0-5]\d)" + _TO
                         + r"(?P<h2>[01]?\d|2[0-4])[:.](?P<m2>[0-5]\d)(?![\d])")
NAMED_DEADLINE = re.compile(r"\b(?P<prep>by|before|until|till)\s+(?P<name>noon|midday|midnight)\b", re.I)
PENCE = re.compile(r"(?<![\w.,£$€])(?P<amt>\d{1,3}(?:,\d{3})+|\d+)p\b")
#: What follows a price to say what period it is per: "£4.99/mo", "$10 per month", "5 GBP/yr".
PER_PERIOD = re.compile(r"\s*(?:/\s*|per\s+)(?P<unit>mo|mth|month|yr|year|wk|week|day|night)\b\.?", re.I)
COUNT = re.compile(rf"\b(?P<num>{_NUM})\s(?:free\s)?(?P<what>months?|orders?|calls?|returns?|items?|bags?|nights?|visits?|users?|devices?|lines?)\b", re.I)


def _number(token: str) -> float | None:
    t = token.lower().strip()
    if t in NUMBER_WORDS:
        return float(NUMBER_WORDS[t])
    try:
        return float(t.replace(",", ""))
    except ValueError:
        return None


def _clock(m: re.Match, n: int) -> str:
    """``HH:MM`` of the ``n``-th time of an :data:`OPENING` match (12 am is midnight, 12 pm noon)."""
    h = int(m.group(f"h{n}")) % 12 + (12 if m.group(f"a{n}").lower().startswith("p") else 0)
    return f"{h:02d}:{m.group(f'm{n}') or '00'}"


def extract_quantities(text: str) -> list[dict[str, Any]]:
    """Every quantity in ``text`` as a dict with ``type``, normalised values and the ``text`` matched."""
    found: list[dict[str, Any]] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match) -> bool:
        return not any(a < m.end() and m.start() < b for a, b in taken)

    def add(m: re.Match, item: dict[str, Any]) -> None:
        taken.append((m.start(), m.end()))
        item["text"] = m.group(0)
        item["start"] = m.start()
        found.append(item)

    for m in PER_DAY.finditer(text):
        add(m, {"type": "availability", "hours_per_day": 24, "days_per_week": 7})
    for m in PER_WEEK.finditer(text):
        if free(m):
            add(m, {"type": "availability", "days_per_week": 7 if m.group("year") else int(_number(m.group("days")))})
    for m in FREQUENCY.finditer(text):  # "three times a year" is how often, not how long
        if free(m):
            word = (m.group("word") or "").lower()
            n = {"once": 1.0, "twice": 2.0}.get(word) or _number(m.group("num") or "")
            if n is not None:
                add(m, {"type": "frequency", "times": n, "per_hours": HOURS[m.group("unit").lower()]})
    for m in OPENING.finditer(text):
        if free(m):
            add(m, {"type": "hours", "from": _clock(m, 1), "to": _clock(m, 2)})
    for m in OPENING_24H.finditer(text):
        if free(m):
            add(m, {"type": "hours", "from": f"{int(m.group('h1')):02d}:{m.group('m1')}",
                    "to": f"{int(m.group('h2')) % 24:02d}:{m.group('m2')}"})

    def add_money(m: re.Match, amount: float, currency: str) -> None:
        """A price, with the period after it ("/mo", "per night"); "£5 a month" is the durations' to see."""
        item: dict[str, Any] = {"type": "money", "amount": amount, "currency": currency}
        per = PER_PERIOD.match(text, m.end())
        if per:
            item["per_hours"] = HOURS[{"night": "day"}.get(per.group("unit").lower(), per.group("unit").lower())]
            taken.append((m.start(), per.end()))
            item["text"], item["start"] = text[m.start():per.end()].rstrip(), m.start()
            found.append(item)
            return
        add(m, item)

    for m in MONEY_SYMBOL.finditer(text):
        if free(m):
            add_money(m, float(m.group("amt").replace(",", "")) * (1000 if m.group("k") else 1),
                      CURRENCY_SYMBOLS[m.group("sym")])
    for m in MONEY_CODE.finditer(text):
        if free(m) and m.group("code").lower() in CURRENCY_CODES:
            add_money(m, float(m.group("amt").replace(",", "")), m.group("code").upper())
    for m in PENCE.finditer(text):
        if free(m):
            add_money(m, round(int(m.group("amt").replace(",", "")) / 100, 2), "GBP")
    for m in MONEY_WORD.finditer(text):
        if free(m):
            amount, cur = _number(m.group("amt")), CURRENCY_WORDS[m.group("word").lower()]
            if cur.endswith(("_p", "_c")):
                amount, cur = (amount or 0) / 100, cur[:3]
            add(m, {"type": "money", "amount": amount, "currency": cur})
    for m in PERCENT.finditer(text):
        if free(m):
            add(m, {"type": "percentage", "value": float(m.group("num"))})
    for m in FRACTION.finditer(text):
        if free(m):
            add(m, {"type": "percentage", "value": {"half": 50.0, "a third": 33.3, "a quarter": 25.0}[m.group("frac").lower()]})
    for m in DURATION.finditer(text):
        if not free(m):
            continue
        unit = m.group("unit").lower()
        unit = unit if unit in HOURS else unit.rstrip("s")
        lo, hi = _number(m.group("lo")), _number(m.group("hi")) if m.group("hi") else None
        if lo is None or unit not in HOURS:
            continue
        before = text[:m.start()].rstrip()
        money = [q for q in found if q["type"] == "money" and q["start"] + len(q["text"]) >= len(before) - 1]
        if m.group("lo").lower() in {"a", "an"} and money:  # "£5 a month": a price per period
            money[-1]["per_hours"] = HOURS[unit]
            taken.append((m.start(), m.end()))
            continue
        if m.group("half"):  # "an hour and a half"
            lo, hi = lo + 0.5, (hi + 0.5 if hi is not None else None)
        item: dict[str, Any] = {"type": "duration", "hours": round((hi or lo) * HOURS[unit], 4)}
        if hi is not None:
            item["min_hours"] = round(lo * HOURS[unit], 4)
        if m.group("business"):
            item["business"] = m.group("business").strip().lower() in {"business", "working"}
        add(m, item)
    for m in NAMED_DEADLINE.finditer(text):
        if free(m):
            add(m, {"type": "deadline", "time": "00:00" if m.group("name").lower() == "midnight" else "12:00"})
    for m in DEADLINE.finditer(text):
        if free(m) and (m.group("ap") or m.group("m")):
            h = int(m.group("h")) % 12 + (12 if (m.group("ap") or "").lower().startswith("p") else 0)
            if not m.group("ap"):
                h = int(m.group("h"))
            add(m, {"type": "deadline", "time": f"{h:02d}:{m.group('m') or '00'}"})
    for m in COUNT.finditer(text):
        if free(m):
            n = _number(m.group("num"))
            if n is not None:
                add(m, {"type": "count", "value": n, "unit": m.group("what").lower().rstrip("s")})
    found.sort(key=lambda q: q["start"])
    for q in found:
        del q["start"]
    return found


_PERIODS = {24: "day", 168: "week", 336: "fortnight", 730: "month", 8760: "year"}


def describe(q: dict[str, Any]) -> str:
    """A quantity's normalised value in a few words, for reports: "48 h (business)", "4.99 GBP/month",
    "by 09:00", "24/7", "3×/year", "08:00–20:00"."""
    kind = q.get("type")
    per = _PERIODS.get(q.get("per_hours"), f"{q.get('per_hours')} h") if q.get("per_hours") else ""
    if kind == "duration":
        def span(h: float) -> str:
            return f"{round(h * 60, 1):g} min" if h < 1 else f"{h:g} h"

        hours = f"{span(q['min_hours'])}–{span(q['hours'])}" if "min_hours" in q else span(q["hours"])
        return hours + {True: " (business)", False: " (calendar)"}.get(q.get("business"), "")
    if kind == "money":
        return f"{q['amount']:g} {q['currency']}" + (f"/{per}" if per else "")
    if kind == "percentage":
        return f"{q['value']:g} %"
    if kind == "deadline":
        return f"by {q['time']}"
    if kind == "availability":
        hours = q.get("hours_per_day")
        return "24/7" if hours == 24 and q.get("days_per_week") == 7 else f"{q.get('days_per_week')} days/week"
    if kind == "frequency":
        return f"{q['times']:g}×/{per}"
    if kind == "hours":
        return f"{q['from']}–{q['to']}"
    if kind == "count":
        return f"{q['value']:g} {q['unit']}"
    return str(q.get("text", ""))
