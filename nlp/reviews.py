"""Corpus-level review analysis: complaint rate, theme table, discovered themes, monthly trend.

Works on the annotate contract (records with their complaint sentences and themes). Ratings
and dates come from the records' ``rating`` and ``date`` fields in whatever shape they arrive
("5 stars", "4/5", ISO and US dates, epoch seconds or milliseconds); values that cannot be read
(a rating of 0, a number that is no plausible date) are counted and reported, never guessed.
"""
from __future__ import annotations

import csv
import io
import json
import math
import numbers
import re
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any, Iterable

import numpy as np

from .markup import INVISIBLE_CHARS
from .taxonomy import UNASSIGNED
from .themes import DiscoveredTheme, cluster_terms, discover_themes

_RATING = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(?:(?:/|out of|of)\s*(\d+(?:[.,]\d+)?))?\s*(?:stars?|★)?\s*$", re.I)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%m/%d/%y", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y",
                 "%B %d %Y", "%b %d %Y", "%Y-%m", "%a %b %d %H:%M:%S %z %Y")
#: The numbers read as epoch seconds and as epoch milliseconds (JavaScript's ``Date.now()``): both
#: span 1973-03 to 2096-10. Other numbers (a year, an Excel serial day, a count) are no date.
EPOCH_SECONDS = (1e8, 4e9)
EPOCH_MILLISECONDS = (1e11, 4e12)
#: The lowest rating of a scale: stars and "n out of m" start at 1, so 0 (what exports write for
#: "no rating") is not one.
LOWEST_RATING = 1
#: First characters that make a spreadsheet read a cell as a formula (OWASP, ASVS 1.2.10), with the
#: full-width forms that East Asian input methods type and some spreadsheets take for the ASCII ones.
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00", "\uff1d", "\uff0b", "\uff0d", "\uff20")


#: Unreadable values a report names (id and value), so that they can be found and fixed.
UNREADABLE_SHOWN = 3
_NUMBER_TEXT = re.compile(r"\s*\d+(?:\.\d+)?\s*")


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def not_rated(value: Any) -> bool:
    """0 and "☆☆☆☆☆": what exports write for a review without a rating; no rating, not an unreadable one."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, numbers.Real):
        return value == 0
    text = str(value).strip()
    return text in ("0", "0.0", "0/5", "0 stars") or (bool(text) and set(text) == {"☆"})


def rating_summary(ratings: list[float | None], complaint: list[bool]) -> dict[str, Any]:
    """The ratings over all reviews: how many are rated, the mean, the count per star (rounded half up)
    and the mean of reviews with and without a complaint, which says what the complaints cost."""
    def mean(values: list[float]) -> float | None:
        return round(float(np.mean(values)), 2) if values else None

    rated = [(r, c) for r, c in zip(ratings, complaint) if r is not None]
    stars = Counter(min(5, max(1, int(math.floor(r + 0.5)))) for r, _ in rated)
    return {"rated": len(rated), "mean": mean([r for r, _ in rated]),
            "distribution": {str(k): stars.get(k, 0) for k in range(1, 6)},
            "mean_with_complaint": mean([r for r, c in rated if c]),
            "mean_without_complaint": mean([r for r, c in rated if not c])}


def _field_counts(records: list[dict], field: str, present: list[bool], parsed: list[Any]) -> dict[str, Any]:
    """How many records give ``field``, how many of those could not be read, and the first of them."""
    bad = [i for i, (h, v) in enumerate(zip(present, parsed)) if h and v is None]
    return {"field": field, "present": sum(present), "unreadable": len(bad),
            "unreadable_examples": [{"id": records[i]["id"], "value": _as_written(_field(records[i], field))}
                                    for i in bad[:UNREADABLE_SHOWN]]}


def _as_written(value: Any) -> Any:
    """A field's value as the input wrote it, for the report to show as JSON: a string cut to 80 characters;
    a number, list or object as it is while its JSON is that short, else its JSON text, cut."""
    if isinstance(value, str):
        return value[:80]
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):  # NaN, or a type JSON has not (a Parquet timestamp): its text
        return str(value)[:80]
    return value if len(text) <= 80 else text[:80]


def parse_rating(value: Any, scale: float = 5.0) -> float | None:
    """A rating on a 1–5 scale from 4, "4", "4.5", "4/5", "8 out of 10" (scaled: 4.0), "5 stars" or "★★★★";
    else None, also for 0 and "☆☆☆☆☆", which exports write for "not rated"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value) if LOWEST_RATING <= value <= scale else None
    text = str(value).strip()
    if text and set(text) <= {"★", "☆"}:
        stars = float(text.count("★"))
        return stars if LOWEST_RATING <= stars <= scale else None
    m = _RATING.match(text)
    if not m:
        return None
    got = float(m.group(1).replace(",", "."))
    out_of = float(m.group(2).replace(",", ".")) if m.group(2) else scale
    if got < LOWEST_RATING or got > out_of:
        return None
    return round(got * scale / out_of, 2)


def parse_month(value: Any) -> str | None:
    """``YYYY-MM`` from ISO dates and datetimes, US ``MM/DD/YYYY``, "3 May 2024", "May 3, 2024",
    Twitter's "Tue Oct 31 22:10:47 +0000 2017", ``YYYYMMDD`` (as a string or an 8-digit number), or
    epoch seconds (1e8 to 4e9) or milliseconds (1e11 to 4e12); else None: a number outside those (a
    year such as 2024, an Excel serial day such as 45000) is not taken for a date."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        try:
            return _month_of_number(float(value))
        except OverflowError:  # a whole number too large for a float: no date either
            return None
    text = str(value).strip()
    if _NUMBER_TEXT.fullmatch(text):  # a CSV cell is text: "1712900000" is the number it spells
        return _month_of_number(float(text))
    try:
        return _month(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return _month(datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


#: The years a review's date may fall in: "0999-05-01" or "9999-12-31" (a placeholder, a typo) is no
#: date, and is counted as unreadable rather than made a month of the trend.
DATE_YEARS = (1900, 2100)
#: Said beside unreadable dates: one in a shape that is read but outside those years looks readable.
DATE_YEARS_READ = f"a date is read only from {DATE_YEARS[0]} to {DATE_YEARS[1]}"


def _month(when: datetime) -> str | None:
    """``YYYY-MM`` (the year always four digits, so that months sort as text), or None outside ``DATE_YEARS``."""
    if not DATE_YEARS[0] <= when.year <= DATE_YEARS[1]:
        return None
    return f"{when.year:04d}-{when.month:02d}"


def _month_of_number(value: float) -> str | None:
    """A number's month: an 8-digit whole number as ``YYYYMMDD``, else epoch seconds or milliseconds
    in their plausible ranges (``EPOCH_SECONDS``, ``EPOCH_MILLISECONDS``); else None."""
    if not math.isfinite(value):
        return None
    if value.is_integer() and 1e7 <= value < 1e8:
        try:
            return _month(datetime.strptime(str(int(value)), "%Y%m%d"))
        except ValueError:
            return None
    if EPOCH_MILLISECONDS[0] <= value < EPOCH_MILLISECONDS[1]:
        value /= 1000
    elif not EPOCH_SECONDS[0] <= value < EPOCH_SECONDS[1]:
        return None
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m")


#: What an import may trim before a cell's first character: any space (no-break, ideographic…), the
#: invisible characters (byte-order mark, soft hyphen, zero-width joiners, direction marks), control
#: characters and the tag characters (U+E0000–U+E007F).
_BLANK_START = re.compile(f"[\\s{INVISIBLE_CHARS}\\x00-\\x1f\\x7f-\\x9f]*")
#: Minus signs that Unicode's compatibility mapping leaves as they are (the superscript one maps to U+2212).
_MINUS_SIGNS = ("\u2212", "\u2796")


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ (also after blanks an import may trim, and in
    any form that Unicode's compatibility mapping makes one of them, such as the small ﹦) would start a
    formula, so it is quoted."""
    text = "" if value is None else str(value)
    after_blanks = text[_BLANK_START.match(text).end():]
    starts = (text[:1], after_blanks[:1], unicodedata.normalize("NFKC", after_blanks[:1]))
    return "'" + text if any(c and c.startswith(CSV_FORMULA_START + _MINUS_SIGNS) for c in starts) else text


def _field(record: dict, name: str) -> Any:
    meta = record.get("meta") or {}
    return meta.get(name)


def summarise_reviews(records: list[dict], theme_labels: dict[str, str], *, n_examples: int = 2,
                      discovered: list[DiscoveredTheme] | None = None,
                      unassigned: list[tuple[int, dict]] | None = None,
                      rating_field: str = "rating", date_field: str = "date") -> dict[str, Any]:
    """The review report from contract records (and the discovered themes of their unassigned complaints);
    ratings and dates are read from the records' ``rating_field`` and ``date_field``."""
    n = len(records)
    ratings = [parse_rating(_field(r, rating_field)) for r in records]
    months = [parse_month(_field(r, date_field)) for r in records]
    has_rating = [not _absent(_field(r, rating_field)) and not not_rated(_field(r, rating_field)) for r in records]
    has_date = [not _absent(_field(r, date_field)) for r in records]
    complaint_records = [any(s.get("complaint") for s in r["sentences"]) for r in records]
    by_theme: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for i, r in enumerate(records):
        for s in r["sentences"]:
            if s.get("complaint"):
                by_theme[s.get("theme") or UNASSIGNED].append((i, s))
    total_complaints = sum(len(v) for v in by_theme.values())

    def row(theme: str, label: str, members: list[tuple[int, dict]]) -> dict[str, Any]:
        docs = sorted({i for i, _ in members})
        rated = [ratings[i] for i in docs if ratings[i] is not None]
        quotes, seen = [], set()
        for i, s in sorted(members, key=lambda m: (-(m[1].get("complaint_p") or 0), m[0])):
            if len(quotes) == n_examples:
                break
            if s["text"] not in seen:  # distinct quotes: a complaint written twice is shown once
                seen.add(s["text"])
                quotes.append((i, s))
        return {"theme": theme, "label": label, "complaints": len(members),
                "share_of_complaints": round(len(members) / total_complaints, 4) if total_complaints else 0.0,
                "share_of_reviews": round(len(docs) / n, 4) if n else 0.0,
                "mean_rating": round(float(np.mean(rated)), 2) if rated else None,
                "examples": [{"id": records[i]["id"], "text": s["text"]} for i, s in quotes]}

    table = [row(t, theme_labels.get(t, "Unassigned" if t == UNASSIGNED else t), m) for t, m in by_theme.items()]
    table.sort(key=lambda r: (-r["complaints"], r["theme"]))
    found = []
    for d in discovered or []:
        members = [unassigned[k] for k in d.members] if unassigned else []
        # "theme" as the theme table and the gap's unmet rows name it; "id", as discovered themes first did
        found.append({**d.to_json(), **{k: v for k, v in row(d.id, d.label, members).items() if k != "label"}})
    trend = []
    per_month: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(months):
        if m:
            per_month[m].append(i)
    for m in sorted(per_month):
        idx = per_month[m]
        themes = Counter(s.get("theme") or UNASSIGNED for i in idx for s in records[i]["sentences"] if s.get("complaint"))
        trend.append({"month": m, "reviews": len(idx),
                      "complaint_rate": round(sum(complaint_records[i] for i in idx) / len(idx), 4),
                      "top_themes": [t for t, _ in sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]})
    return {
        "reviews": n,
        "complaint_rate": round(sum(complaint_records) / n, 4) if n else None,
        "complaint_sentences": total_complaints,
        "ratings": rating_summary(ratings, complaint_records),
        "themes": table,
        "discovered": found,
        "trend": trend,
        "fields": {"rating": _field_counts(records, rating_field, has_rating, ratings),
                   "date": _field_counts(records, date_field, has_date, months)},
    }


def discover_unassigned(nlp: Any, records: list[dict], *, seed: int, distance: float, min_size: int,
                        max_points: int) -> tuple[list[DiscoveredTheme], list[tuple[int, dict]]]:
    """Cluster the unassigned complaint sentences of ``records`` (embeddings + lemma terms)."""
    unassigned = [(i, s) for i, r in enumerate(records) for s in r["sentences"]
                  if s.get("complaint") and (s.get("theme") in (None, UNASSIGNED))]
    if not unassigned:
        return [], []
    texts = [s["text"] for _, s in unassigned]
    encoder = nlp.get_pipe("complaints").encoder
    embeddings = encoder.encode(texts)
    return discover_themes(embeddings, cluster_terms(nlp, texts), seed=seed, distance=distance, min_size=min_size,
                           max_points=max_points), unassigned


def themes_csv(summary: dict[str, Any]) -> str:
    """The theme table (taxonomy and discovered) as CSV that opens safely in a spreadsheet."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["theme", "label", "source", "complaints", "share_of_complaints", "share_of_reviews", "mean_rating",
                "example_1", "example_2", "within"])
    # the taxonomy rows and the unassigned one share the complaints out (their shares sum to 1); a
    # discovered theme is a cluster of the unassigned complaints, so it is a part of that row, not beside it
    rows: Iterable[tuple[str, str, dict]] = [
        ("unassigned" if r["theme"] == UNASSIGNED else "taxonomy", "", r) for r in summary["themes"]] + \
        [("discovered", UNASSIGNED, r) for r in summary["discovered"]]
    for source, within, r in rows:
        quotes = [e["text"] for e in r.get("examples", [])] + ["", ""]
        w.writerow([csv_safe(v) for v in (r.get("theme", r.get("id")), r["label"], source, r["complaints"],
                                          r["share_of_complaints"], r["share_of_reviews"], r["mean_rating"],
                                          quotes[0], quotes[1], within)])
    return buf.getvalue()


def review_report(nlp: Any, records: list[dict], cfg: Any, screen: Any = None
                  ) -> tuple[dict[str, Any], list[DiscoveredTheme], list[tuple[int, dict]]]:
    """The whole reviews stage on annotated records, with ``[reviews]`` settings: the summary, the
    discovered themes and the unassigned complaints they cluster (the gap stage needs all three).
    ``screen`` (a ``LanguageScreen``) counts and warns of reviews not in English."""
    from .language import review_language_warnings, review_languages

    rc = cfg["reviews"]
    found, unassigned = discover_unassigned(nlp, records, seed=int(cfg["system"]["seed"]),
                                            distance=float(rc["discovery_distance"]),
                                            min_size=int(rc["discovery_min_size"]),
                                            max_points=int(rc["discovery_max_points"]))
    summary = summarise_reviews(records, theme_labels(cfg), n_examples=int(rc["examples"]), discovered=found,
                                unassigned=unassigned, rating_field=str(rc["rating_field"]),
                                date_field=str(rc["date_field"]))
    summary["languages"] = review_languages(screen, records)
    summary["warnings"] = review_language_warnings(summary["languages"], len(records))
    return summary, found, unassigned


def theme_labels(cfg: Any) -> dict[str, str]:
    """Theme id → label, from the configured taxonomy."""
    from .pipeline import project_path
    from .taxonomy import load_taxonomy

    return {t.id: t.label for t in load_taxonomy(project_path(cfg["paths"]["taxonomy"]))}
