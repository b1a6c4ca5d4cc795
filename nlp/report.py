"""Terminal reports (rich). Text from the input is shown as ``rich.text.Text``, never parsed as
markup or emoji codes, so "[bold]" or ":smile:" in a review prints as written."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .charts import BIDI_SHOWN, CONTROLS_SHOWN, truncate
from .metrics import UNDEFINED
from .quantities import describe
from .scores import VERDICTS, claim_verdict

COLOURS = {"company": "red", "customer": "green", "neutral": "grey50"}
#: Characters of a theme's example shown in the terminal (a complaint can run to pages; the JSON, CSV and
#: HTML outputs keep it whole).
MAX_EXAMPLE = 160
#: Example quotes per theme shown in the terminal (``reviews.examples`` may keep more for the JSON and HTML).
TERMINAL_EXAMPLES = 2


#: Control characters (C0 but tab and newline, DEL, C1) shown as ``\x1b`` escapes, as the HTML shows them,
#: so that text from the input cannot drive the terminal (colours, the window title, cursor moves, clearing
#: the screen); a carriage return, which would print over the line, is left out.
CONTROL_CHARS = {**CONTROLS_SHOWN, 0x0D: None, **BIDI_SHOWN}  # bidirectional overrides shown as \u202e


def printable(value: Any) -> str:
    """A value from the input as the terminal may show it: its control characters (and bidirectional
    overrides) escaped."""
    return str(value).translate(CONTROL_CHARS)


#: What a one-line message (a reject, an error, a log line) escapes beyond ``CONTROL_CHARS``: a newline in a
#: file's name split "rejected: …" in two, and the line could no longer be searched for.
LINE_BREAKS = {0x0A: "\\n", 0x2028: "\\u2028", 0x2029: "\\u2029"}  # the other breaks are in CONTROL_CHARS


def printable_line(value: Any) -> str:
    """``printable``, on one line: line breaks shown as ``\\n`` escapes too."""
    return printable(value).translate(LINE_BREAKS)


def plain(value: Any, style: str = "") -> Text:
    """Input text as a literal rich Text: no markup, no emoji codes, no control characters."""
    return Text(printable(value), style=style)


def heading(console: Console, title: Text) -> None:
    """A rule with ``title`` in it, or, when the title is too long for one (rich would cut it with "…", and
    a tuned threshold or a file's name with it), a bare rule with the whole title under it, wrapped."""
    if title.cell_len + 6 <= console.width:
        console.rule(title)
        return
    console.rule()
    console.print(title, overflow="fold")


def _line(*parts: str | Text) -> Text:
    """Join pieces: ``str`` pieces are our own markup, ``Text`` pieces are input, kept literal."""
    out = Text()
    for part in parts:
        out.append(Text.from_markup(part, emoji=False) if isinstance(part, str) else part)
    return out


def _share(value: float | None) -> str:
    return "n/a (no sentence takes a side)" if value is None else f"{value:.0%}"


def print_audit(console: Console, result: dict[str, Any]) -> None:
    """Each sentence with its perspective and confidence, the share, and what to rewrite first."""
    scores = result["scores"]
    heading(console, plain(result["source"], "bold"))
    table = Table(show_header=True, header_style="bold", expand=True)
    table.add_column("#", justify="right", width=4)
    table.add_column("sentence", ratio=1)
    table.add_column("perspective", width=12)
    table.add_column("p", justify="right", width=5)
    for i, s in enumerate(result["sentences"], start=1):
        colour = COLOURS.get(s["perspective"], "white")
        table.add_row(str(i), plain(s["text"]), plain(s["perspective"], colour), f"{s['perspective_p']:.2f}")
    console.print(table)
    counts = scores["perspective_counts"]
    console.print(f"Customer-perspective share: [bold]{_share(scores['customer_share'])}[/] "
                  f"(company {counts['company']}, customer {counts['customer']}, neutral {counts['neutral']} "
                  f"of {scores['sentences']} sentences)")
    _print_promises(console, result.get("promises", []), scores)
    _print_claims(console, result.get("claims", []), scores)
    if result["rewrite_first"]:
        console.print("[bold]Rewrite first[/] (most company-centred):")
        for s in result["rewrite_first"]:
            console.print(_line("  • ", plain(s["text"]), f" [dim](p={s['perspective_p']:.2f})[/]"))
    else:
        console.print("No company-centred sentences.")


def print_comparison(console: Console, comparison: dict[str, Any]) -> None:
    """Two audits of the same copy (``nlp.audit.compare_audits``): the customer-perspective share, the
    lip-service score and the promises, before → after."""
    (first, second), scores = comparison["labels"], comparison["scores"]
    before, after = (v or 0.0 for v in scores["customer_share"])
    console.rule("[bold]The difference")
    console.print(_line("Customer-perspective share: ", plain(first), f" [red]{before:.0%}[/] → ", plain(second),
                        f" [green]{after:.0%}[/] ({(after - before) * 100:+.0f} points)."))
    (lip_before, lip_after), (n_before, n_after) = scores["lip_service_score"], scores["promise_count"]
    console.print(f"Lip-service score: [red]{lip_before}[/] → [green]{lip_after}[/] out of 100; "
                  f"promises: {n_before} → {n_after}.")


def _score(value: float | None) -> str:
    """A score to three places, or "—" for a label in neither gold nor predictions (it has none)."""
    return "—" if value is None else f"{value:.3f}"


def print_metrics(console: Console, title: str, results: dict[str, dict]) -> None:
    """Macro-F1, per-class P/R/F1 and the confusion matrix for each system in ``results``."""
    for system, m in results.items():
        heading(console, plain(f"{title} — {system}", "bold"))
        if "macro_f1" not in m:  # binary metrics or a plain accuracy
            shown = {k: UNDEFINED.get(k, "n/a") if v is None else v for k, v in m.items()}
            console.print("  ".join(f"{k} [bold]{v}[/]" if k == "f1" else f"{k} {v}" for k, v in shown.items()))
            continue
        ci = m.get("macro_f1_ci95")
        ci = f" (95 % bootstrap interval {ci[0]:.3f}–{ci[1]:.3f})" if ci else ""
        absent = list(m.get("absent_labels") or [])
        note = (f"  (averaged over {', '.join(lab for lab in m['labels'] if lab not in absent)}; "
                f"{', '.join(absent)}: in neither gold nor predictions, left out)") if absent else ""
        console.print(f"n={m['n']}  macro-F1 [bold]{m['macro_f1']:.3f}[/]{ci}  accuracy {m['accuracy']:.3f}"
                      f"{note}")
        t = Table("label", "precision", "recall", "F1", "support")
        for lab, v in m["per_class"].items():
            scores = [_score(v[k]) for k in ("precision", "recall", "f1")]
            t.add_row(plain(lab), *scores, str(v["support"]))
        console.print(t)
        cm = Table("gold \\ predicted", *m["labels"])
        for lab, row in zip(m["labels"], m["confusion"]):
            cm.add_row(plain(lab), *map(str, row))
        console.print(cm)


def print_curve(console: Console, title: str, systems: dict[str, dict]) -> None:
    """One row per model of a learning curve: macro-F1 with its 95 % interval, and F1 per side."""
    n = next(iter(systems.values()))["n"] if systems else 0
    t = Table(title=plain(f"{title}, n = {n}"), title_justify="left", caption="real: documents of the other folds; "
              "every document is scored by models that never saw it. company, customer: F1 of each side",
              caption_justify="left")
    t.add_column("trained on", min_width=24)
    for name in ("macro-F1 [95 %]", "company", "customer"):
        t.add_column(name, no_wrap=True)  # figures are never cut; names wrap
    for system, m in systems.items():
        lo, hi = m["macro_f1_ci95"]
        t.add_row(plain(system), f"{m['macro_f1']:.3f} [{lo:.3f}–{hi:.3f}]",
                  *(_score(m["per_class"][lab]["f1"]) for lab in ("company", "customer")))
    console.print(t)


def _print_promises(console: Console, promises: list[dict], scores: dict) -> None:
    if not promises:
        console.print("Promises: none found.")
        return
    t = Table(title=f"Promises ({len(promises)}; specific {scores['promise_share_specific']:.0%}, "
                    f"absolute {scores['promise_share_absolute']:.0%})", expand=True, title_justify="left")
    t.add_column("promise", ratio=3, min_width=24)
    t.add_column("theme", ratio=1, overflow="fold")  # a long theme id wraps, never cut to "cancellation_co…"
    t.add_column("specificity strength", width=11)
    t.add_column("quantities", ratio=1, overflow="fold")  # normalised: "48 h (business)", "by 09:00"
    for p in promises:
        flag = " [bold red](overpromising)[/]" if p["overpromising"] else ""
        qty = "\n".join(describe(q) for q in p["quantities"]) or "-"
        t.add_row(_line(plain(p["text"]), flag), plain(p["theme"] or "-"),
                  plain(f"{p['specificity']}\n{p['strength']}"), plain(qty))
    console.print(t)


_VERDICT_STYLE = {"lip": "red", "ok": "green", "open": "yellow"}


def _verdict(claim: dict) -> str:
    words, kind = VERDICTS[claim_verdict(claim)]
    return f"[{_VERDICT_STYLE[kind]}]{words}[/]"


def _print_claims(console: Console, claims: list[dict], scores: dict) -> None:
    if claims:
        t = Table(title=f"Customer-centricity claims ({len(claims)}; cheap-talk ratio "
                        f"{scores['cheap_talk_ratio']:.0%})", expand=True, title_justify="left")
        t.add_column("claim", ratio=1)
        t.add_column("verdict", width=16)
        t.add_column("reasons", width=30)
        for c in claims:
            t.add_row(plain(c["text"]), _verdict(c), plain(", ".join(c["reasons"]) or "-"))
        console.print(t)
    else:
        console.print("Customer-centricity claims: none found.")
    console.print(f"Lip-service score: [bold]{scores['lip_service_score']}[/]/100")
    for reason in scores["lip_service_reasons"]:
        console.print(_line("  • ", plain(reason)))


def print_reviews(console: Console, summary: dict[str, Any]) -> None:
    """The reviews report: complaint rate, the theme table, discovered themes, the monthly trend."""
    console.print(_line("Reviews: ", plain(str(summary["reviews"]), "bold"), " · with a complaint: ",
                        plain(_pct(summary["complaint_rate"]), "bold"), " · complaint sentences: ",
                        plain(str(summary["complaint_sentences"]))))
    r = summary.get("ratings") or {}
    if r.get("rated"):
        def mean(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"

        stars = " · ".join(f"{k}★ {v}" for k, v in r["distribution"].items())
        console.print(plain(f"Ratings: {r['rated']} rated · mean {mean(r['mean'])} · with a complaint "
                            f"{mean(r['mean_with_complaint'])} · without {mean(r['mean_without_complaint'])} · {stars}"))
    for title, rows in (("Complaint themes", summary["themes"]), ("Discovered themes", summary["discovered"])):
        if not rows:
            continue
        rated = any(r["mean_rating"] is not None for r in rows)  # no column of blanks for unrated reviews
        shown = max((len(r.get("examples") or []) for r in rows), default=0)
        table = Table(title=title, show_lines=shown > 1, expand=True)  # a rule between rows of several quotes
        table.add_column("theme", ratio=2, overflow="fold")
        for col, width in (("complaints", 10), ("of complaints", 10), ("of reviews", 7)) + ((("mean rating", 6),)
                                                                                          if rated else ()):
            table.add_column(col, justify="right", width=width)  # headers wrap, so the example gets the room
        table.add_column("examples" if shown > 1 else "example", ratio=3, overflow="fold")
        for r in rows:
            quote = _examples(r.get("examples") or [])
            rating = (plain("" if r["mean_rating"] is None else f"{r['mean_rating']:.2f}"),) if rated else ()
            table.add_row(plain(r["label"]), plain(str(r["complaints"])), plain(_pct(r["share_of_complaints"])),
                          plain(_pct(r["share_of_reviews"])), *rating, plain(quote))
        console.print(table)
    if summary["trend"]:
        labels = {r["theme"]: r["label"] for r in summary["themes"]}  # as the theme table names them
        table = Table(title="Trend per month")
        for col in ("month", "reviews", "with a complaint", "top themes"):
            table.add_column(col)
        for t in summary["trend"]:
            table.add_row(plain(t["month"]), plain(str(t["reviews"])), plain(_pct(t["complaint_rate"])),
                          plain(", ".join(labels.get(theme, theme) for theme in t["top_themes"])))
        console.print(table)
    for warning in summary.get("warnings", ()):
        console.print(plain(warning, "yellow"))
    for name, f in summary["fields"].items():
        if f["unreadable"]:
            where = f" (field {f['field']!r})" if f.get("field", name) != name else ""
            values = "value" if f["present"] == 1 else "values"
            from .reviews import DATE_YEARS_READ

            hint = f"; {DATE_YEARS_READ}" if name == "date" else ""
            console.print(plain(f"{f['unreadable']} of {f['present']} {name} {values}{where} could not be read and "
                                f"were left out of the figures that use them{_first_unreadable(f)}{hint}", "yellow"))


def _first_unreadable(field: dict) -> str:
    """``; first: id r7 ("five"), …``: where to look."""
    shown = [f"id {e['id']} ({json.dumps(e['value'], ensure_ascii=False, default=str)})"
             for e in field.get("unreadable_examples", [])]
    return f"; first: {', '.join(shown)}" if shown else ""


def _examples(examples: list[dict]) -> str:
    """A theme's first ``TERMINAL_EXAMPLES`` quotes, each cut to ``MAX_EXAMPLE`` characters, one a line
    (marked "• " when there are several)."""
    quotes = [truncate(e["text"], MAX_EXAMPLE) for e in examples[:TERMINAL_EXAMPLES]]
    return "\n".join(f"• {q}" for q in quotes) if len(quotes) > 1 else "".join(quotes)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


VERDICT_STYLES = {"kept": "green", "at_risk": "yellow", "broken": "bold red", "untested": "grey50"}


def print_gap(console: Console, result: dict[str, Any]) -> None:
    """The gap: promise verdicts with evidence, unmet expectations, claims, and the scores."""
    scores = result["scores"]
    t = Table(title=f"Promises against {scores['reviews']} reviews", expand=True, title_justify="left")
    t.add_column("promise", ratio=2)
    t.add_column("theme", width=14)
    t.add_column("verdict", width=9)
    t.add_column("contradicting", justify="right", width=13)
    t.add_column("evidence", ratio=2)
    for p in result["promises"]:
        quote = truncate(p["evidence"][0]["text"], MAX_EXAMPLE) if p["evidence"] else ""
        t.add_row(plain(p["text"]), plain(p["theme_label"] or "-"),
                  plain(p["verdict"], VERDICT_STYLES.get(p["verdict"], "")),
                  plain(f"{p['reviews']} ({_pct(p['share'])})"), plain(quote))
    console.print(t if result["promises"] else "Promises: none found in the copy.")
    if result["unmet"]:
        u = Table(title="Unmet expectations (complaint themes no promise addresses)", expand=True,
                  title_justify="left")
        u.add_column("theme", ratio=2, overflow="fold")
        u.add_column("source", width=10)
        for col, width in (("complaints", 10), ("of reviews", 7)):
            u.add_column(col, justify="right", width=width)
        u.add_column("example", ratio=3, overflow="fold")
        for row in result["unmet"]:
            quote = truncate(row["evidence"][0]["text"], MAX_EXAMPLE) if row["evidence"] else ""
            u.add_row(plain(row["label"]), plain(row["source"]), plain(str(row["complaints"])),
                      plain(_pct(row["share"])), plain(quote))
        console.print(u)
    elif not scores["reviews"]:  # nothing was tested: "every theme meets a promise" would be an all-clear
        console.print("Unmet expectations: none found, since no review was read.")
    else:
        console.print("Unmet expectations: none (every complaint theme meets a promise).")
    for c in result["claims"]:
        console.print(_line("Claim: ", plain(c["text"]), " — ", _verdict(c),
                            _line(" (", plain(", ".join(c["reasons"])), ")") if c["reasons"] else ""))
    console.print(f"Kept {scores['kept']} · at risk {scores['at_risk']} · broken {scores['broken']} · "
                  f"untested {scores['untested']} · gap score "
                  f"{'n/a' if scores['gap_score'] is None else str(scores['gap_score']) + '/100'} · "
                  f"complaint rate {_pct(scores['complaint_rate'])}")
    for warning in (result.get("reviews_summary") or {}).get("warnings", ()):
        console.print(plain(warning, "yellow"))
