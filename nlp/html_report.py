"""Self-contained HTML report: scores in plain English, the copy with its promises and claims
highlighted, the review themes and the promise-versus-complaint gap, with inline-SVG charts.

One file that opens anywhere and prints: inline CSS, no script, no external resource, a strict
Content-Security-Policy meta, every datum escaped, and evidence sampled (``max_quotes`` quotes,
``max_rows`` rows, id counts instead of id lists) so a gap over 100,000 reviews stays small.
"""
from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from . import charts
from .scores import VERDICTS as CLAIM_VERDICTS
from .scores import claim_verdict

SCORE_EXPLANATIONS: dict[str, str] = {
    "sentences": "Sentences in the document.",
    "customer_share": "Share of sentences that take the customer's side, of those that take a side.",
    "perspective_counts": "Sentences written from the company's side, the customer's side, or neither.",
    "promise_count": "Sentences that promise the customer something.",
    "promise_share_specific": "Share of promises that say something checkable (a number, a time, a condition).",
    "promise_share_absolute": "Share of promises made absolute (always, never, every, guaranteed), not merely "
                              "firm (we will) or hedged.",
    "overpromising": "Promises that are absolute but vague.",
    "claim_count": "Sentences claiming to put the customer first.",
    "lip_service_count": "Customer-centric claims that are lip service: company voice or buzzwords, nothing concrete.",
    "lip_service_claims": "Customer-centric claims that are lip service: company voice or buzzwords, nothing concrete.",
    "cheap_talk_ratio": "Share of customer-centric claims with no concrete commitment behind them.",
    "lip_service_score": "0–100: how much the copy talks about customers without committing to them; higher is worse.",
    "lip_service_reasons": "What drives the lip-service score most.",
    "complaint_p": "Highest probability that a sentence is a complaint.",
    "complaint_count": "Sentences that are complaints.",
    "complaint_rate": "Share of reviews (or sentences) with at least one complaint.",
    "complaint_sentences": "Complaint sentences over all reviews.",
    "reviews": "Reviews analysed.",
    "promises": "Promises found in the copy and checked against the reviews.",
    "kept": "Promises the reviews talk about without enough contradicting complaints to doubt them.",
    "at_risk": "Promises with contradicting complaints, not yet enough to call them broken.",
    "broken": "Promises contradicted by a large enough share of reviews.",
    "untested": "Promises too few reviews talk about to judge.",
    "claims": "Customer-centric claims checked against the reviews.",
    "unmet_themes": "Complaint themes that no promise in the copy addresses.",
    "unmet_complaint_share": "Share of complaints that fall in themes no promise addresses.",
    "gap_score": "0–100: broken promises count fully and at-risk ones half, over the promises the reviews test; "
                 "higher is worse.",
}
THRESHOLD_EXPLANATIONS: dict[str, str] = {
    "about_similarity": "Similarity a complaint of the promise's own theme needs to count as being about it.",
    "strict_similarity": "Similarity at which a complaint of any theme counts as being about the promise.",
    "at_risk_share": "Share of reviews contradicting a promise from which it is at risk.",
    "broken_share": "Share of reviews contradicting a promise from which it is broken.",
    "min_complaints": "Contradicting complaints needed before a promise can be broken.",
    "min_mentions": "Reviews that must mention a promise before it counts as tested.",
    "claim_complaint_rate": "Share of reviews with a complaint from which the reviews broadly contradict a "
                            "customer-centricity claim.",
}
PERSPECTIVES = ("company", "customer", "neutral")
VERDICTS = ("kept", "at_risk", "broken", "untested")
VERDICT_COLOURS = {"kept": "#2e7d32", "at_risk": "#ef6c00", "broken": "#c62828", "untested": "#757575"}
SPECIFICITY_COLOURS = {"specific": "#2e7d32", "vague": "#ef6c00"}
STRENGTH_COLOURS = {"absolute": "#c62828", "firm": "#1565c0", "hedged": "#9e9e9e"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
MAX_QUOTE = 400
MAX_IDS = 5
MAX_TERMS = 12

CSS = """
:root { --company: #c62828; --customer: #2e7d32; --neutral: #9e9e9e; --kept: #2e7d32; --at_risk: #e65100;
  --broken: #c62828; --untested: #616161; --line: #e0e0e0; --muted: #616161; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #212121;
  max-width: 1120px; margin: 0 auto; padding: 24px; overflow-wrap: anywhere; }
/* each cell, item and line takes the direction of its own text, as dir="auto" would: a right-to-left
   sentence is shown in its order, and cannot reorder the columns or text around it */
td, th, li, p, h3, .sent { unicode-bidi: plaintext; }
header { border-bottom: 3px solid #212121; margin-bottom: 12px; }
h1 { margin: 0 0 4px; font-size: 28px; }
h2 { margin-top: 2.2em; border-bottom: 1px solid #bdbdbd; padding-bottom: 4px; }
h3 { margin-top: 1.6em; }
h4 { margin: 1.2em 0 .3em; }
nav a { margin-right: 14px; color: #1565c0; }
.muted, figcaption, .more { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: .4em 0; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #9e9e9e; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.explain { color: var(--muted); }
table.scores { width: auto; min-width: 60%; }
code { font-size: 12px; background: #f5f5f5; padding: 0 3px; border-radius: 2px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: .5em 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11px; font-weight: 700;
  border: 1px solid currentColor; white-space: nowrap; text-transform: uppercase; letter-spacing: .02em; }
.badge.kept { color: var(--kept); background: #e8f5e9; }
.badge.at_risk { color: var(--at_risk); background: #fff3e0; }
.badge.broken { color: var(--broken); background: #ffebee; }
.badge.untested, .badge.unknown { color: var(--untested); background: #f5f5f5; }
.badge.lip, .badge.over { color: var(--company); background: #ffebee; }
.badge.ok { color: var(--customer); background: #e8f5e9; }
.badge.open { color: var(--at_risk); background: #fff3e0; }
#verdicts td:first-child { min-width: 16em; }
tr.verdict-broken td:first-child { border-left: 4px solid var(--broken); }
tr.verdict-at_risk td:first-child { border-left: 4px solid var(--at_risk); }
tr.verdict-kept td:first-child { border-left: 4px solid var(--kept); }
tr.verdict-untested td:first-child, tr.verdict-unknown td:first-child { border-left: 4px solid #bdbdbd; }
ul.quotes { margin: 0; padding-left: 1.1em; }
ul.quotes li { margin-bottom: 2px; }
.rid { color: var(--muted); font-size: 11px; white-space: nowrap; }
.ids { color: var(--muted); font-size: 11px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 13px; padding: 8px 12px;
  border: 1px solid var(--line); border-radius: 6px; background: #fafafa; }
.text { font-size: 16px; line-height: 2.2; padding: 10px 16px; border: 1px solid var(--line); border-radius: 6px; }
.sent.company, .key-company { text-decoration: underline solid var(--company) 2px; text-underline-offset: 4px; }
.sent.customer, .key-customer { text-decoration: underline dotted var(--customer) 3px; text-underline-offset: 4px; }
.sent.unknown, .key-unknown { text-decoration: underline dashed var(--neutral) 1px; text-underline-offset: 4px; }
mark { background: none; color: inherit; }
mark.promise, .key-promise { background: #fff8d6; border: 1px solid #f9a825; border-radius: 3px; padding: 1px 2px; }
mark.claim, .key-lip, .key-ok, .key-open { border-radius: 3px; padding: 1px 2px; }
mark.claim.lip, .key-lip { border: 2px dashed var(--company); }
mark.claim.ok, .key-ok { border: 2px solid var(--customer); }
mark.claim.open, .key-open { border: 2px solid var(--at_risk); }
.tag { font-size: 10px; font-weight: 700; letter-spacing: .03em; margin: 0 2px 0 5px; padding: 0 4px;
  border-radius: 2px; border: 1px solid currentColor; background: #fff; vertical-align: 2px; line-height: 1.4;
  white-space: nowrap; text-decoration: none; display: inline-block; }
mark.promise > .tag, .key-promise .tag { color: #8d6e00; }
mark.claim.lip > .tag, .key-lip .tag { color: var(--company); }
mark.claim.ok > .tag, .key-ok .tag { color: var(--customer); }
mark.claim.open > .tag, .key-open .tag { color: var(--at_risk); }
.charts { display: flex; flex-wrap: wrap; gap: 18px 28px; align-items: flex-start; margin: .6em 0; }
figure { margin: 0; max-width: 100%; }
svg.chart { display: block; max-width: 100%; height: auto; }
.warning { color: #8d4a00; border-left: 4px solid #ef6c00; padding: 2px 10px; }
article.doc { margin-top: 1.5em; }
footer { margin-top: 3em; border-top: 1px solid var(--line); padding-top: 6px; }
@media print {
  body { color: #000; max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  .muted, figcaption, .more, td.explain, .rid, .ids, .warning { color: #000; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  tr, figure, svg, dl, li, .legend { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  figure { margin-bottom: 10px; }
  .badge, .tag { background: none !important; color: #000 !important; border: 1px solid #000; }
  mark.promise, .key-promise, .legend, code { background: none; }
  mark.promise, .key-promise { border: 1px solid #000; }
  svg.chart { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


# ---------------------------------------------------------------- formatting helpers

def _e(value: Any) -> str:
    """Escaped text: every datum goes through here before it reaches the markup (``charts.escape``:
    bidirectional overrides are shown as ``\u202e``, as in the terminal)."""
    return charts.escape(value)


def _clip(value: Any, limit: int = MAX_QUOTE) -> str:
    """Escaped text, shortened with an ellipsis past ``limit`` characters."""
    return _e(charts.truncate(value, limit))


def _is_num(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and math.isfinite(value)


def _pct(value: Any) -> str:
    """A share as a percentage (one decimal below 1%); None as n/a."""
    if value is None:
        return "n/a"
    if not _is_num(value):
        return _e(value)
    return f"{value:.1%}" if 0 < abs(value) < 0.01 else f"{value:.0%}"


def _count(value: Any) -> str:
    """An integer count with thousands separators; None as n/a."""
    if value is None:
        return "n/a"
    if _is_num(value):
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    return _e(value)


def _value(key: str, value: Any) -> str:
    """A score formatted by its name: shares and rates as %, ``*_score`` out of 100, counts plainly."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return " · ".join(f"{_e(k)} {_value(str(k), v)}" for k, v in list(value.items())[:MAX_TERMS])
    if isinstance(value, list):
        return _e(", ".join(charts.truncate(v, 80) for v in value[:MAX_TERMS]))
    if _is_num(value):
        if any(word in key for word in ("share", "rate", "ratio")):
            return _pct(value)
        if key.endswith("_score"):
            return f"{value:.0f}/100"
        return _count(value)
    return _clip(value)


def _pick(value: Any, allowed: Iterable[str], fallback: str = "unknown") -> str:
    """``value`` if it is one of ``allowed``, else ``fallback``: the only way data reaches a class name."""
    return value if isinstance(value, str) and value in allowed else fallback


def _dicts(value: Any) -> list[dict]:
    """The dict items of a list; anything else (None, a string, a number) is an empty list."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _badge(text: str, cls: str) -> str:
    """A small label; ``cls`` is always one of our own class names, ``text`` is escaped."""
    return f'<span class="badge {cls}">{_e(text)}</span>'


def _more(hidden: int, noun: str) -> str:
    return f'<p class="more">… and {hidden:,} more {noun} not shown.</p>' if hidden > 0 else ""


def _quotes(evidence: Any, max_quotes: int) -> str:
    """At most ``max_quotes`` quotes, each shortened to MAX_QUOTE characters, with its review id."""
    items = evidence if isinstance(evidence, list) else []
    lis = []
    for item in items[:max_quotes]:
        ev = item if isinstance(item, dict) else {"text": item}
        rid = f' <span class="rid">review {_clip(ev["id"], 80)}</span>' if ev.get("id") is not None else ""
        sim = f' <span class="rid">sim {ev["similarity"]:.2f}</span>' if _is_num(ev.get("similarity")) else ""
        lis.append(f"<li>“{_clip(ev.get('text', ''))}”{rid}{sim}</li>")
    if not lis:
        return '<span class="muted">—</span>'
    extra = f'<li class="more">… and {len(items) - max_quotes:,} more</li>' if len(items) > max_quotes else ""
    return f'<ul class="quotes">{"".join(lis)}{extra}</ul>'


def _ids(ids: Any) -> str:
    """Review ids as a count and the first MAX_IDS, never the full list."""
    if not isinstance(ids, list) or not ids:
        return ""
    head = ", ".join(charts.truncate(i, 40) for i in ids[:MAX_IDS])
    tail = ", …" if len(ids) > MAX_IDS else ""
    return f'<div class="ids">{len(ids):,} review id{"s" if len(ids) != 1 else ""}: {_e(head)}{tail}</div>'


def _table(headers: list[str], items: list[dict], cells: Callable[[dict], list[str]], max_rows: int, *,
           noun: str, table_id: str = "", table_class: str = "", row_attrs: Callable[[dict], str] | None = None,
           classes: dict[int, str] | None = None) -> str:
    """A table of at most ``max_rows`` rows from ``items``, "… and N more" below when cut.
    ``headers``, ``table_id``, ``table_class``, ``classes`` (column index → class) and ``row_attrs``
    are our own markup; ``cells`` returns already-escaped cell HTML."""
    if not items:
        return f'<p class="muted">No {noun}.</p>'
    cls = [f' class="{(classes or {})[i]}"' if i in (classes or {}) else "" for i in range(len(headers))]
    head = "".join(f"<th{c}>{h}</th>" for c, h in zip(cls, headers))
    rows = []
    for item in items[:max(max_rows, 0)]:
        attrs = row_attrs(item) if row_attrs else ""
        rows.append(f"<tr{attrs}>" + "".join(f"<td{c}>{v}</td>" for c, v in zip(cls, cells(item))) + "</tr>")
    tid = f' id="{table_id}"' if table_id else ""
    tcls = f' class="{table_class}"' if table_class else ""
    return (f"<table{tid}{tcls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            + _more(len(items) - len(rows), noun))


def _num_cols(*indices: int) -> dict[int, str]:
    """Right-aligned numeric columns for ``_table``."""
    return {i: "num" for i in indices}


def _figure(svg: str, caption: str) -> str:
    """A chart with its caption; ``caption`` is escaped here."""
    return f'<figure>{svg}<figcaption>{_e(caption)}</figcaption></figure>'


def _facts(pairs: list[tuple[str, str]]) -> str:
    """A definition list of (label, value-HTML); labels are our own text."""
    return '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


# ---------------------------------------------------------------- scores

def _scores_table(scores: dict, max_rows: int) -> str:
    """Every score with its value and, for the known ones, what it means; reasons as a list below."""
    reasons = _strings(scores.get("lip_service_reasons"))
    items = [{"key": str(k), "value": v} for k, v in scores.items() if k != "lip_service_reasons"]
    table = _table(["score", "value", "what it means"], items,
                   lambda r: [f"<code>{_e(r['key'])}</code>", _value(r["key"], r["value"]),
                              _e(SCORE_EXPLANATIONS.get(r["key"], ""))],
                   max_rows, noun="scores", table_class="scores", classes={1: "num", 2: "explain"})
    if reasons:
        table += ("<p>Lip-service score, mainly because:</p><ul>"
                  + "".join(f"<li>{_clip(r)}</li>" for r in reasons[:MAX_TERMS]) + "</ul>")
    return table


def _scores_section(audits: list[dict], reviews: dict | None, gap: dict | None, max_rows: int) -> str:
    parts = []
    if gap is not None:
        parts.append("<h3>Gap between promises and reviews</h3>" + _scores_table(_mapping(gap.get("scores")), max_rows))
    for doc in audits:
        scores = _mapping(doc.get("scores"))
        if doc.get("kind") == "company":  # complaints are what reviews hold: in copy they are promises misread
            scores = {k: v for k, v in scores.items() if not str(k).startswith("complaint_")}
        parts.append(f"<h3>Copy: {_clip(doc.get('source', doc.get('id', '')), 200)}</h3>"
                     + _scores_table(scores, max_rows))
    if reviews is not None:
        keys = ("reviews", "complaint_rate", "complaint_sentences")
        parts.append("<h3>Reviews</h3>" + _scores_table({k: reviews.get(k) for k in keys}, max_rows))
    return '<section id="scores"><h2>Scores</h2>' + "".join(parts) + "</section>" if parts else ""


# ---------------------------------------------------------------- comparison

COMPARISON_NAMES = {"customer_share": "Customer-perspective share", "lip_service_score": "Lip-service score",
                    "promise_count": "Promises"}


def _change(key: str, before: Any, after: Any) -> str:
    """How far a score moved: shares in percentage points, other scores as a signed number."""
    if not (_is_num(before) and _is_num(after)):
        return "n/a"
    moved = after - before
    if any(word in key for word in ("share", "rate", "ratio")):
        return f"{moved * 100:+.0f} points"
    return f"{moved:+,}" if isinstance(moved, int) else f"{moved:+,.2f}"


def _comparison_section(comparison: dict, max_rows: int) -> str:
    """Two audits of the same copy side by side (``nlp.audit.compare_audits``: the demo's company voice
    and customer voice): each compared score before and after, and the change."""
    labels, sources = _strings(comparison.get("labels")), _strings(comparison.get("sources"))
    labels = labels[:2] if len(labels) >= 2 else ["before", "after"]
    heads = [_clip(label, 80) + (f'<div class="rid">{_clip(sources[i], 200)}</div>' if i < len(sources) else "")
             for i, label in enumerate(labels)]
    items = [{"key": str(k), "values": v} for k, v in _mapping(comparison.get("scores")).items()
             if isinstance(v, list) and len(v) == 2]
    table = _table(["score", *heads, "change", "what it means"], items,
                   lambda r: [_e(COMPARISON_NAMES.get(r["key"], r["key"])), _value(r["key"], r["values"][0]),
                              _value(r["key"], r["values"][1]), _e(_change(r["key"], *r["values"])),
                              _e(SCORE_EXPLANATIONS.get(r["key"], ""))],
                   max_rows, noun="scores", table_id="comparison-table", table_class="scores",
                   classes={1: "num", 2: "num", 3: "num", 4: "explain"})
    return (f'<section id="comparison"><h2>The difference: {_clip(labels[0], 80)} against {_clip(labels[1], 80)}'
            f"</h2>{table}</section>")


# ---------------------------------------------------------------- copy

LEGEND = (
    '<div class="legend" aria-label="legend">'
    '<span><span class="key-company">Company-centred sentence</span> (red underline)</span>'
    '<span><span class="key-customer">Customer-centred sentence</span> (green dotted underline)</span>'
    "<span>Neutral sentence (plain)</span>"
    '<span><span class="key-promise">promise<span class="tag">PROMISE · specificity · strength</span></span>'
    " (yellow box)</span>"
    '<span><span class="key-lip">claim<span class="tag">LIP SERVICE</span></span> (red dashed box: '
    "customer-centric claim with nothing concrete behind it)</span>"
    '<span><span class="key-ok">claim<span class="tag">CLAIM</span></span> (green box: substantiated claim)</span>'
    '<span><span class="key-open">claim<span class="tag">UNSUBSTANTIATED</span></span> (amber box: claim from the '
    "customer's side with no specific promise behind it)</span>"
    "</div>"
)


def _start(item: dict) -> int | None:
    """An item's ``start`` offset when it is an integer, else None (never matched)."""
    start = item.get("start")
    return start if isinstance(start, int) and not isinstance(start, bool) else None


def _by_start(items: list[dict]) -> dict[int, dict]:
    """The first promise or claim per sentence start offset."""
    out: dict[int, dict] = {}
    for item in items:
        if (start := _start(item)) is not None:
            out.setdefault(start, item)
    return out


def _promise_label(p: dict) -> str:
    return " · ".join(["PROMISE", *(str(p[k]) for k in ("specificity", "strength") if p.get(k))])


#: The tag on a claim marked in the text, by its verdict's kind.
CLAIM_TAGS = {"lip": "LIP SERVICE", "ok": "CLAIM", "open": "UNSUBSTANTIATED"}


def _claim_verdict(c: dict) -> str:
    return _badge(*CLAIM_VERDICTS[claim_verdict(c)])


def _reasons(c: dict) -> str:
    return _e(", ".join(_strings(c.get("reasons"))[:MAX_TERMS]) or "—")


def _sentence(s: dict, promise: dict | None, claim: dict | None) -> str:
    """One sentence: its perspective as a class, promise and claim marks with their label tags."""
    inner = _e(s.get("text", ""))
    if claim is not None:
        kind = CLAIM_VERDICTS[claim_verdict(claim)][1]  # lip, ok, open
        inner = (f'<mark class="claim {kind}">{inner}'
                 f'<span class="tag">{CLAIM_TAGS[kind]}</span></mark>')
    if promise is not None:
        inner = f'<mark class="promise">{inner}<span class="tag">{_e(_promise_label(promise))}</span></mark>'
    persp = _pick(s.get("perspective"), PERSPECTIVES)
    p = s.get("perspective_p")
    tip = f"{persp} perspective" + (f", p={p:.2f}" if _is_num(p) else "")
    return f'<span class="sent {persp}" title="{_e(tip)}">{inner}</span>'


def _category_counts(items: list[dict], key: str, known: Iterable[str]) -> list[tuple[str, int]]:
    """Counts per category: the known categories first (even at zero), then any others seen."""
    counts = Counter(str(i.get(key)) for i in items if i.get(key) is not None)
    order = list(known) + sorted(k for k in counts if k not in known)
    return [(k, counts.get(k, 0)) for k in order]


def _doc_charts(doc: dict, promises: list[dict]) -> str:
    scores = _mapping(doc.get("scores"))
    counts = _mapping(scores.get("perspective_counts")) or Counter(
        _pick(s.get("perspective"), PERSPECTIVES) for s in _dicts(doc.get("sentences")))
    figs = [_figure(charts.perspective_bar(counts, title="Perspective mix of the sentences"),
                    "Perspective mix: company / customer / neutral sentences")]
    for key, colours, caption in (("specificity", SPECIFICITY_COLOURS, "Promise specificity"),
                                  ("strength", STRENGTH_COLOURS, "Promise strength")):
        svg = (charts.count_bars(_category_counts(promises, key, colours), title=caption, colours=colours)
               if promises else charts.empty_chart(caption, "no promises"))
        figs.append(_figure(svg, caption))
    return '<div class="charts">' + "".join(figs) + "</div>"


def _audit(doc: dict, index: int, max_rows: int) -> str:
    """One copy document: charts, highlighted text, promise and claim tables, what to rewrite first."""
    sentences = _dicts(doc.get("sentences"))
    promises, claims = _dicts(doc.get("promises")), _dicts(doc.get("claims"))
    p_at, c_at = _by_start(promises), _by_start(claims)
    text = " ".join(_sentence(s, p_at.get(_start(s)), c_at.get(_start(s))) for s in sentences)
    meta = [f"{len(sentences):,} sentences"]
    if doc.get("kind") is not None:
        meta.append(f"kind {_clip(doc['kind'], 80)}")
    if doc.get("id") is not None and doc.get("id") != doc.get("source"):
        meta.append(f"id {_clip(doc['id'], 200)}")
    promise_table = _table(
        ["promise", "theme", "specificity", "strength", "quantities", "overpromising"], promises,
        lambda p: [_clip(p.get("text", "")), _clip(p.get("theme") or "—", 120), _clip(p.get("specificity", "—"), 40),
                   _clip(p.get("strength", "—"), 40),
                   _e(", ".join(charts.truncate(q.get("text", ""), 60) for q in _dicts(p.get("quantities"))) or "—"),
                   _badge("overpromising", "over") if p.get("overpromising") else "—"],
        max_rows, noun="promises")
    claim_table = _table(["claim", "verdict", "reasons"], claims,
                         lambda c: [_clip(c.get("text", "")), _claim_verdict(c),
                                    _reasons(c)],
                         max_rows, noun="claims")
    rewrite = _dicts(doc.get("rewrite_first"))
    rewrite_html = ("<ol>" + "".join(
        f"<li>{_clip(r.get('text', ''))}"
        + (f' <span class="muted">(company p={r["perspective_p"]:.2f})</span>' if _is_num(r.get("perspective_p"))
           else "") + "</li>" for r in rewrite[:max_rows]) + "</ol>" + _more(len(rewrite) - max_rows, "sentences")
        if rewrite else '<p class="muted">No company-centred sentences.</p>')
    text = text or '<span class="muted">No sentences.</span>'
    warnings = "".join(f'<p class="warning">{_clip(w, 400)}</p>' for w in _strings(doc.get("warnings"))[:MAX_TERMS])
    return (f'<article class="doc" id="doc-{index}"><h3>{_clip(doc.get("source", doc.get("id", "")), 200)}</h3>'
            f'<p class="muted">{" · ".join(meta)}</p>{warnings}{_doc_charts(doc, promises)}'
            f'<div class="text">{text}</div>'
            f"<h4>Promises</h4>{promise_table}<h4>Customer-centric claims</h4>{claim_table}"
            f"<h4>Rewrite first</h4>{rewrite_html}</article>")


def _copy_section(audits: list[dict], max_rows: int) -> str:
    if not audits:
        return ""
    docs = "".join(_audit(doc, i, max_rows) for i, doc in enumerate(audits, start=1))
    return f'<section id="copy-section"><h2>Copy</h2>{LEGEND}<div id="copy">{docs}</div></section>'


# ---------------------------------------------------------------- reviews

def _theme_cells(r: dict, max_quotes: int, *, discovered: bool) -> list[str]:
    label = _clip(r.get("label", r.get("theme", r.get("id", ""))), 120)
    key = r.get("id") if discovered else r.get("theme")
    name = label + (f" <code>{_clip(key, 80)}</code>" if key is not None and key != r.get("label") else "")
    cells = [name]
    if discovered:
        cells += [_e(", ".join(charts.truncate(t, 40) for t in _strings(r.get("terms"))[:MAX_TERMS]) or "—"),
                  _count(r.get("size"))]
    return cells + [_count(r.get("complaints")), _pct(r.get("share_of_complaints")), _pct(r.get("share_of_reviews")),
                    "n/a" if not _is_num(r.get("mean_rating")) else f"{r['mean_rating']:.2f}",
                    _quotes(r.get("examples"), max_quotes)]


def _theme_chart(themes: list[dict], discovered: list[dict], max_rows: int) -> str:
    rows = [(str(t.get("label", t.get("theme", ""))), t.get("complaints"), group)
            for group, items in (("taxonomy", themes), ("discovered", discovered)) for t in items]
    rows.sort(key=lambda r: -(r[1] if _is_num(r[1]) else 0))
    shown = rows[:max_rows]
    caption = "Complaints per theme" + (f" (top {len(shown)} of {len(rows)})" if len(rows) > len(shown) else "")
    return _figure(charts.theme_bars(shown, title=caption), caption + ": blue taxonomy, purple discovered")


def _reviews_section(reviews: dict, max_quotes: int, max_rows: int) -> str:
    """Counts, theme chart and tables, discovered themes, the monthly trend, unreadable-field notes."""
    themes, discovered, trend = _dicts(reviews.get("themes")), _dicts(reviews.get("discovered")), \
        _dicts(reviews.get("trend"))
    counts = _mapping(reviews.get("counts"))
    facts = [("Reviews", _count(reviews.get("reviews"))), ("With a complaint", _pct(reviews.get("complaint_rate"))),
             ("Complaint sentences", _count(reviews.get("complaint_sentences")))]
    facts += [(k.capitalize(), _count(counts[k])) for k in ("read", "annotated", "rejected") if k in counts]
    ratings = _mapping(reviews.get("ratings"))
    if _is_num(ratings.get("rated")) and ratings["rated"] > 0:
        for name, key in (("Mean rating", "mean"), ("Mean rating, with a complaint", "mean_with_complaint"),
                          ("Mean rating, without a complaint", "mean_without_complaint")):
            value = ratings.get(key)
            facts.append((name, f"{value:.2f}" if _is_num(value) else "n/a"))
        stars = _mapping(ratings.get("distribution"))
        facts.append((f"Ratings ({_count(ratings['rated'])} rated)",
                      " · ".join(f"{_e(k)}★ {_count(v)}" for k, v in list(stars.items())[:10])))
    figs = [_theme_chart(themes, discovered, max_rows)] if themes or discovered else []
    if trend:
        figs.append(_figure(charts.trend_chart([(t.get("month", "?"), t.get("complaint_rate")) for t in trend],
                                               title="Share of reviews with a complaint, per month"),
                            "Share of reviews with a complaint, per month"))
    heads = ["complaints", "of complaints", "of reviews", "mean rating", "examples"]
    theme_table = _table(["theme", *heads], themes, lambda r: _theme_cells(r, max_quotes, discovered=False),
                         max_rows, noun="themes", classes=_num_cols(1, 2, 3, 4))
    disc_table = _table(["theme", "terms", "size", *heads], discovered,
                        lambda r: _theme_cells(r, max_quotes, discovered=True), max_rows, noun="discovered themes",
                        classes=_num_cols(2, 3, 4, 5, 6))
    labels = {str(t.get("theme")): str(t.get("label", t.get("theme"))) for t in themes}
    recent = trend[-max_rows:] if max_rows > 0 else []
    trend_table = _table(["month", "reviews", "with a complaint", "top themes"], recent,
                         lambda t: [_clip(t.get("month", ""), 40), _count(t.get("reviews")),
                                    _pct(t.get("complaint_rate")),
                                    _e(", ".join(charts.truncate(labels.get(x, x), 60)
                                                 for x in _strings(t.get("top_themes"))[:MAX_TERMS]) or "—")],
                         max_rows, noun="months", classes=_num_cols(1, 2))
    if len(trend) > len(recent):
        trend_table += f'<p class="more">… and {len(trend) - len(recent):,} earlier months not shown.</p>'
    notes = [f'<p class="warning">{_clip(w, 400)}</p>' for w in _strings(reviews.get("warnings"))[:MAX_TERMS]]
    from . import reviews as reviews_module  # its parsing stack loads only where a report has fields to explain

    for name, f in _mapping(reviews.get("fields")).items():
        f = _mapping(f)
        if _is_num(f.get("unreadable")) and f["unreadable"] > 0:
            where = f" (field {_clip(f['field'], 80)})" if f.get("field", name) != name else ""
            first = [f"id {_clip(e.get('id'), 80)} ({_clip(json.dumps(e.get('value'), ensure_ascii=False, default=str), 90)})"
                     for e in _dicts(f.get("unreadable_examples"))[:MAX_TERMS]]
            notes.append(f'<p class="warning">{_count(f["unreadable"])} of {_count(f.get("present"))} '
                         f"{_clip(name, 80)} value{'' if f.get('present') == 1 else 's'}{where} could not be read and "
                         "were left out of the figures that "
                         "use them" + (f"; first: {', '.join(first)}" if first else "")
                         + (f"; {reviews_module.DATE_YEARS_READ}" if name == "date" else "") + ".</p>")
    return ('<section id="reviews"><h2>Reviews</h2>' + _facts(facts) + "".join(notes)
            + (f'<div class="charts">{"".join(figs)}</div>' if figs else "")
            + f"<h3>Complaint themes</h3>{theme_table}<h3>Discovered themes</h3>{disc_table}"
            + (f"<h3>Trend per month</h3>{trend_table}" if trend else "") + "</section>")


# ---------------------------------------------------------------- gap

def _verdict(p: dict) -> str:
    return _pick(p.get("verdict"), VERDICTS)


def _verdict_badge(p: dict) -> str:
    v = _verdict(p)
    return _badge(str(p.get("verdict", "unknown")).replace("_", " ") if v == "unknown" else v.replace("_", " "), v)


def _source_line(item: dict) -> str:
    src = item.get("source")
    return f'<div class="rid">{_clip(src, 200)}</div>' if src is not None else ""


def _matrix(matrix: dict, max_rows: int) -> str:
    """The promise × theme heat map, at most ``max_rows`` rows and columns (the busiest themes)."""
    rows = _strings(matrix.get("promises"))
    themes, labels = _strings(matrix.get("themes")), _strings(matrix.get("labels"))
    ncols = max(len(themes), len(labels))
    names = [labels[i] if i < len(labels) else themes[i] for i in range(ncols)]
    counts = matrix.get("counts") if isinstance(matrix.get("counts"), list) else []
    marked = matrix.get("contradicting") if isinstance(matrix.get("contradicting"), list) else []

    def at(grid: list, r: int, c: int) -> Any:
        row = grid[r] if r < len(grid) and isinstance(grid[r], list) else []
        return row[c] if c < len(row) else None

    keep_r = list(range(min(len(rows), max_rows)))
    totals = [sum(v for r in keep_r if _is_num(v := at(counts, r, c))) for c in range(ncols)]
    keep_c = sorted(sorted(range(ncols), key=lambda c: -totals[c])[:max_rows])
    svg = charts.heatmap([rows[r] for r in keep_r], [names[c] for c in keep_c],
                         [[at(counts, r, c) for c in keep_c] for r in keep_r],
                         [[at(marked, r, c) is True and _is_num(n := at(counts, r, c)) and n > 0 for c in keep_c]
                          for r in keep_r],  # an empty cell contradicts nothing
                         title="Complaint sentences per promise and theme")
    cut = []
    if len(rows) > len(keep_r):
        cut.append(f"first {len(keep_r)} of {len(rows)} promises")
    if ncols > len(keep_c):
        cut.append(f"the {len(keep_c)} of {ncols} themes with most complaints")
    caption = ("Complaint sentences per promise (rows) and theme (columns); red outline: counted as contradicting "
               "the promise (same theme)" + (f"; showing {' and '.join(cut)}" if cut else ""))
    return _figure(svg, caption)


def _thresholds(th: dict) -> str:
    def v(key: str) -> str:
        return _value(key, th.get(key)) if key in th else "n/a"

    rule = (f"A promise is <strong>broken</strong> when the share of reviews contradicting it is at least "
            f"{v('broken_share')} (broken_share) and it has at least {v('min_complaints')} contradicting complaints "
            f"(min_complaints); <strong>at risk</strong> when it has contradicting complaints and either the share "
            f"is at least {v('at_risk_share')} (at_risk_share) or the complaints number at least "
            f"{v('min_complaints')}; <strong>untested</strong> when it has no contradicting complaints and fewer "
            f"than {v('min_mentions')} reviews mention it (min_mentions); otherwise <strong>kept</strong>.")
    pairs = [(f"<code>{_e(k)}</code>", _value(str(k), val)
              + (f' <span class="muted">— {_e(THRESHOLD_EXPLANATIONS[k])}</span>' if k in THRESHOLD_EXPLANATIONS
                 else "")) for k, val in list(th.items())[:MAX_TERMS * 2]]
    return f"<h3>Thresholds</h3><p>{rule}</p>" + (_facts(pairs) if pairs else "")


def _gap_section(gap: dict, max_quotes: int, max_rows: int) -> str:
    """Verdicts per promise, the promise × theme matrix, unmet expectations, claims, thresholds."""
    promises, unmet, claims = _dicts(gap.get("promises")), _dicts(gap.get("unmet")), _dicts(gap.get("claims"))
    verdicts = Counter(_verdict(p) for p in promises)
    bars = [(v, verdicts.get(v, 0)) for v in VERDICTS] + ([("unknown", verdicts["unknown"])]
                                                         if verdicts.get("unknown") else [])
    figs = [_figure(charts.count_bars(bars, title="Promises per verdict", colours=VERDICT_COLOURS)
                    if promises else charts.empty_chart("Promises per verdict", "no promises"), "Promises per verdict")]
    matrix = _mapping(gap.get("matrix"))
    if matrix:
        figs.append(_matrix(matrix, max_rows))
    verdict_table = _table(
        ["promise", "theme", "verdict", "complaints", "reviews", "share", "mentions", "evidence"], promises,
        lambda p: [_clip(p.get("text", "")) + _source_line(p),
                   _clip(p.get("theme_label") or p.get("theme") or "—", 120), _verdict_badge(p),
                   _count(p.get("complaints")), _count(p.get("reviews")), _pct(p.get("share")),
                   _count(p.get("mentions")), _quotes(p.get("evidence"), max_quotes) + _ids(p.get("ids"))],
        max_rows, noun="promises", table_id="verdicts", classes=_num_cols(3, 4, 5, 6),
        row_attrs=lambda p: f' class="verdict-{_verdict(p)}" data-verdict="{_verdict(p)}"')
    unmet_table = _table(
        ["expectation", "source", "complaints", "reviews", "share", "evidence"], unmet,
        lambda u: [_clip(u.get("label", u.get("theme", "")), 120)
                   + (f" <code>{_clip(u['theme'], 80)}</code>" if u.get("theme") not in (None, u.get("label")) else ""),
                   _clip(u.get("source", "—"), 40), _count(u.get("complaints")), _count(u.get("reviews")),
                   _pct(u.get("share")), _quotes(u.get("evidence"), max_quotes) + _ids(u.get("ids"))],
        max_rows, noun="unmet expectations", classes=_num_cols(2, 3, 4))
    claim_table = _table(
        ["claim", "verdict", "reasons", "evidence"], claims,
        lambda c: [_clip(c.get("text", "")) + _source_line(c), _claim_verdict(c),
                   _reasons(c), _quotes(c.get("evidence"), max_quotes)],
        max_rows, noun="claims")
    return ('<section id="gap"><h2>Promises against reviews</h2>'
            f'<div class="charts">{"".join(figs)}</div>'
            f"<h3>Verdict per promise</h3>{verdict_table}"
            f"<h3>Unmet expectations</h3><p class=\"muted\">What customers complain about that no promise covers."
            f"</p>{unmet_table}<h3>Customer-centric claims against reviews</h3>{claim_table}"
            + _thresholds(_mapping(gap.get("thresholds"))) + "</section>")


# ---------------------------------------------------------------- document

def _input_section(counts: dict, rejects: list[dict], max_rows: int) -> str:
    """What was read and what was rejected, and why: the counts reconcile, nothing is dropped silently."""
    if not counts and not rejects:
        return ""
    facts = [(k.capitalize(), _count(counts[k])) for k in ("read", "annotated", "rejected", "copy", "reviews")
             if k in counts]
    table = _table(["source", "position", "reason", "code"], rejects,
                   lambda r: [_clip(r.get("source", ""), 120), _clip(r.get("position", ""), 60),
                              _clip(r.get("reason", ""), 300), _clip(r.get("code", ""), 12)],
                   max_rows, noun="rejected records")
    return '<section id="input"><h2>Input</h2>' + (_facts(facts) if facts else "") + \
        f"<h3>Rejected records</h3>{table}</section>"


def render_report(*, title: str, audits: list[dict] | None = None, reviews: dict | None = None,
                  gap: dict | None = None, rejects: list[dict] | None = None, comparison: dict | None = None,
                  max_quotes: int = 3, max_rows: int = 40) -> str:
    """One complete, self-contained HTML5 document for whichever of ``audits``, ``reviews``, ``gap`` and
    ``comparison`` (two audits side by side, ``nlp.audit.compare_audits``) are given. A gap brings its own
    copy (``gap["copy"]``) and reviews summary (``gap["reviews_summary"]``); ``audits`` / ``reviews`` passed
    explicitly take precedence. Rejected records come from ``rejects`` or the gap's / summary's own ``rejects``."""
    gap = gap if isinstance(gap, dict) else None
    docs = _dicts(audits) or (_dicts(gap.get("copy")) if gap else [])
    summary = reviews if isinstance(reviews, dict) else (
        _mapping(gap.get("reviews_summary")) or None if gap else None)
    max_quotes, max_rows = max(int(max_quotes), 0), max(int(max_rows), 1)
    sections = [
        ("comparison", "Difference",
         _comparison_section(comparison, max_rows) if isinstance(comparison, dict) else ""),
        ("scores", "Scores", _scores_section(docs, summary, gap, max_rows)),
        ("copy-section", "Copy", _copy_section(docs, max_rows)),
        ("reviews", "Reviews", _reviews_section(summary, max_quotes, max_rows) if summary is not None else ""),
        ("gap", "Gap", _gap_section(gap, max_quotes, max_rows) if gap is not None else ""),
        ("input", "Input", _input_section(
            _mapping((gap or {}).get("counts")) or _mapping((summary or {}).get("counts")),
            _dicts(rejects) or _dicts((gap or {}).get("rejects")) or _dicts((summary or {}).get("rejects")),
            max_rows)),
    ]
    nav = "".join(f'<a href="#{anchor}">{name}</a>' for anchor, name, body in sections if body)
    body = "".join(body for _, _, body in sections) or '<p class="muted">Nothing to report.</p>'
    t = _clip(title, 300)
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{t}</title><style>{CSS}</style></head>\n<body>"
            f'<header><h1>{t}</h1><p class="muted">lipservice report: whose side the copy takes, what it '
            "promises, and what customers say.</p>"
            + (f"<nav>{nav}</nav>" if nav else "") + "</header>\n<main>" + body + "</main>"
            '<footer class="muted">Self-contained: no scripts, no external resources. Quotes are sampled and '
            "shortened; review-id lists are summarised.</footer></body></html>\n")
