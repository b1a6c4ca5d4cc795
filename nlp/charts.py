"""Inline-SVG charts for the HTML report, as pure functions returning markup strings.

Standard library only, so the report needs no plotting stack and no script. Every chart is
deterministic (same input, same bytes), scales through its ``viewBox``, carries a ``<title>``
and ``role="img"``, and escapes every label. The root has no ``xmlns``: the markup is meant to
be inlined in HTML (where the parser supplies the namespace) and the page stays free of URLs.
Empty input gives a small "no data" SVG, never an empty string.
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence

COLOURS = {"company": "#c62828", "customer": "#2e7d32", "neutral": "#9e9e9e"}
GROUP_COLOURS = {"taxonomy": "#1565c0", "discovered": "#8e24aa"}
DEFAULT_COLOUR = "#546e7a"
OTHER_COLOUR = "#bdbdbd"
MARK_COLOUR = "#b71c1c"
CHAR_W = 6.6  # approximate width of one 12px sans-serif character, in viewBox units
FONT = 12
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


#: Bidirectional embeddings, overrides and isolates: they make a terminal or a browser show a sentence's
#: words in another order than they have ("Trojan Source"), so input text shows them as ``\u202e``.
BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
BIDI_SHOWN = {c: f"\\u{c:04x}" for c in BIDI_CONTROLS}
#: Control characters but tab and line breaks (NUL, ESC, BEL, DEL, C1), which no page should carry raw
#: (a NUL ends the text in some readers), shown as ``\x1b`` the way the terminal shows them.
CONTROLS_SHOWN = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if chr(c) not in "\t\n\r"}
_SHOWN = {**BIDI_SHOWN, **CONTROLS_SHOWN}


def escape(value: object) -> str:
    """Input text for HTML: escaped, safe in element content and in quoted attributes, with bidirectional
    overrides shown rather than obeyed, so that no quote reads in another order than it was written, and
    control characters shown as ``\\x1b``, not written raw."""
    return html.escape(str(value).translate(_SHOWN), quote=True)


_e = escape


def _n(x: float) -> str:
    """A coordinate with at most one decimal, formatted the same way every time."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _finite(value: object) -> float | None:
    """``value`` as a finite float, or None for non-numbers, booleans, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _num(value: object) -> float:
    """A finite non-negative number from a count-like value; anything else counts as 0."""
    number = _finite(value)
    return number if number is not None and number > 0 else 0.0


def _count_text(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def _colour(value: str | None, fallback: str = DEFAULT_COLOUR) -> str:
    """Only ``#rrggbb`` colours reach the markup; anything else becomes ``fallback``."""
    return value if value and _HEX.match(value) else fallback


def truncate(text: object, limit: int) -> str:
    """``text`` cut to ``limit`` characters, the last one an ellipsis when cut (not escaped)."""
    s = " ".join(str(text).split())
    return s if len(s) <= limit else s[: max(limit - 1, 0)].rstrip() + "…"


def _svg(width: float, height: float, title: str, body: list[str]) -> str:
    """The root element: viewBox sizing, accessible name, the title first."""
    t = _e(title)
    return (f'<svg class="chart" viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
            f'role="img" aria-label="{t}" font-family="sans-serif" font-size="{FONT}">'
            f"<title>{t}</title>{''.join(body)}</svg>")


def _text(x: float, y: float, label: str, *, anchor: str = "start", fill: str = "#212121",
          extra: str = "") -> str:
    """A text element; ``label`` is raw and escaped here, ``extra`` is our own attribute markup."""
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>{_e(label)}</text>'


def _rect(x: float, y: float, w: float, h: float, fill: str, *, tip: str | None = None, extra: str = "") -> str:
    """A rectangle, with an escaped tooltip ``<title>`` when ``tip`` is given."""
    attrs = f'x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0))}" height="{_n(max(h, 0))}" fill="{fill}"{extra}'
    return f"<rect {attrs}><title>{_e(tip)}</title></rect>" if tip is not None else f"<rect {attrs}/>"


def empty_chart(title: str, message: str = "no data") -> str:
    """The small placeholder every chart returns when there is nothing to draw."""
    return _svg(300, 40, title, [_text(150, 25, message, anchor="middle", fill="#757575")])


def _items(data: Mapping[str, object] | Sequence[tuple[str, object]]) -> list[tuple[str, float]]:
    pairs = data.items() if isinstance(data, Mapping) else data
    return [(str(k), _num(v)) for k, v in pairs]


def perspective_bar(counts: Mapping[str, object], *, title: str = "Perspective mix") -> str:
    """One horizontal stacked bar: company (red), customer (green), neutral (grey) sentences, with a
    legend giving each count and share. Keys beyond those three are drawn after them in light grey."""
    order = [k for k in COLOURS if k in counts] + [str(k) for k in counts if k not in COLOURS]
    items = [(k, _num(counts.get(k))) for k in order]
    total = sum(v for _, v in items)
    if total <= 0:
        return empty_chart(title, "no sentences")
    width, bar_w = 600.0, 592.0
    body, x = [], 4.0
    for key, value in items:
        if value <= 0:
            continue
        w = bar_w * value / total
        fill = COLOURS.get(key, OTHER_COLOUR)
        body.append(_rect(x, 4, w, 24, fill, tip=f"{key}: {_count_text(value)} ({value / total:.0%})"))
        label = _count_text(value)
        if w >= len(label) * CHAR_W + 6:
            body.append(_text(x + w / 2, 20.5, label, anchor="middle", fill="#ffffff"))
        x += w
    lx, ly, row = 4.0, 48.0, 0
    for key, value in items:
        label = f"{truncate(key, 24)} {_count_text(value)} ({value / total:.0%})"
        span = 16 + len(label) * CHAR_W + 18
        if lx + span > width and lx > 4:
            lx, row = 4.0, row + 1
        y = ly + row * 18
        body.append(_rect(lx, y - 10, 11, 11, COLOURS.get(key, OTHER_COLOUR)))
        body.append(_text(lx + 16, y, label))
        lx += span
    return _svg(width, ly + row * 18 + 8, title, body)


def count_bars(data: Mapping[str, object] | Sequence[tuple[str, object]], *, title: str,
               colours: Mapping[str, str] | None = None) -> str:
    """A small vertical bar chart of counts, one bar per category, the count above each bar.
    ``colours`` maps categories to ``#rrggbb`` fills (others get the default slate)."""
    items = _items(data)
    if not items:
        return empty_chart(title)
    top = max(v for _, v in items) or 1.0
    slot, bar, plot_h, base = 62.0, 38.0, 90.0, 112.0
    width = max(slot * len(items) + 16, 180.0)
    body = [f'<line x1="8" y1="{_n(base)}" x2="{_n(width - 8)}" y2="{_n(base)}" stroke="#616161"/>']
    for i, (key, value) in enumerate(items):
        cx = 8 + slot * i + slot / 2
        h = plot_h * value / top
        fill = _colour((colours or {}).get(key))
        body.append(_rect(cx - bar / 2, base - h, bar, h, fill, tip=f"{key}: {_count_text(value)}"))
        body.append(_text(cx, base - h - 4, _count_text(value), anchor="middle"))
        body.append(_text(cx, base + 16, truncate(key, 11), anchor="middle"))
    return _svg(width, base + 24, title, body)


def theme_bars(rows: Sequence[tuple[str, object, str]], *, title: str = "Complaints per theme") -> str:
    """Horizontal bars, one per theme, longest first as given: ``(label, complaints, group)`` where
    group "taxonomy" is blue and "discovered" purple; a legend names the groups present."""
    items = [(str(label), _num(value), str(group)) for label, value, group in rows]
    if not items:
        return empty_chart(title)
    top = max(v for _, v, _ in items) or 1.0
    label_w, plot_w, row_h = 230.0, 300.0, 20.0
    width = label_w + plot_w + 70
    body = []
    for i, (label, value, group) in enumerate(items):
        y = 6 + i * row_h
        w = plot_w * value / top
        body.append(f"<g><title>{_e(label)}: {_e(_count_text(value))} ({_e(group)})</title>"
                    + _text(label_w - 6, y + 13, truncate(label, 32), anchor="end")
                    + _rect(label_w, y + 2, w, row_h - 5, GROUP_COLOURS.get(group, DEFAULT_COLOUR))
                    + _text(label_w + w + 4, y + 13, _count_text(value)) + "</g>")
    y = 6 + len(items) * row_h + 14
    lx = label_w
    for group, fill in GROUP_COLOURS.items():
        if any(g == group for _, _, g in items):
            body.append(_rect(lx, y - 10, 11, 11, fill) + _text(lx + 16, y, group))
            lx += 16 + len(group) * CHAR_W + 18
    return _svg(width, y + 8, title, body)


def _shade(frac: float) -> str:
    """White to dark blue by ``frac`` in [0, 1]."""
    lo, hi = (247, 251, 255), (8, 48, 107)
    return "#" + "".join(f"{round(a + (b - a) * frac):02x}" for a, b in zip(lo, hi))


def heatmap(rows: Sequence[str], columns: Sequence[str], counts: Sequence[Sequence[object]],
            marked: Sequence[Sequence[object]] | None = None, *, title: str = "Complaints per promise and theme",
            max_label: int = 60) -> str:
    """A grid: one row per ``rows`` label (cut to ``max_label`` characters, the full text in a
    ``<title>``), one column per ``columns`` label, cells shaded by count with the count printed;
    cells where ``marked`` is true get a thick red outline and a corner triangle."""
    if not rows or not columns:
        return empty_chart(title)

    def cell(grid: Sequence[Sequence[object]] | None, r: int, c: int) -> object:
        try:
            return grid[r][c] if grid is not None else None
        except (IndexError, KeyError, TypeError):
            return None

    values = [[_num(cell(counts, r, c)) for c in range(len(columns))] for r in range(len(rows))]
    top = max(max(row) for row in values) or 1.0
    size, col_chars = 28.0, 22
    label_w = min(max(len(truncate(r, max_label)) for r in rows), max_label) * CHAR_W + 10
    head_h = min(max(len(truncate(c, col_chars)) for c in columns), col_chars) * CHAR_W * 0.72 + 14
    grid_w = size * len(columns)
    width = label_w + grid_w + head_h + 8
    height = head_h + size * len(rows) + 8
    body = []
    for c, col in enumerate(columns):
        x, y = label_w + c * size + size / 2, head_h - 4
        body.append(f"<g><title>{_e(col)}</title>"
                    + _text(x, y, truncate(col, col_chars), extra=f' transform="rotate(-45 {_n(x)} {_n(y)})"')
                    + "</g>")
    for r, row in enumerate(rows):
        y = head_h + r * size
        body.append(f"<g><title>{_e(truncate(row, 400))}</title>"
                    + _text(label_w - 6, y + size / 2 + 4, truncate(row, max_label), anchor="end") + "</g>")
        for c, col in enumerate(columns):
            x, value = label_w + c * size, values[r][c]
            hit = cell(marked, r, c) is True
            frac = value / top
            tip = f"{truncate(col, 40)}: {_count_text(value)}" + (" (contradicting)" if hit else "")
            body.append(_rect(x, y, size, size, _shade(frac), tip=tip, extra=' stroke="#ffffff"'))
            body.append(_text(x + size / 2, y + size / 2 + 4, _count_text(value), anchor="middle",
                              fill="#ffffff" if frac > 0.5 else "#212121"))
            if hit:
                body.append(f'<rect x="{_n(x + 1.5)}" y="{_n(y + 1.5)}" width="{_n(size - 3)}" '
                            f'height="{_n(size - 3)}" fill="none" stroke="{MARK_COLOUR}" stroke-width="3"/>'
                            f'<path d="M{_n(x + size - 10)} {_n(y + 1.5)}h{_n(8.5)}v{_n(8.5)}z" '
                            f'fill="{MARK_COLOUR}"/>')
    return _svg(width, height, title, body)


def _nice_top(value: float) -> float:
    """The smallest 1/2/5 × 10^k at or above ``value``."""
    if value <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(value))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= value - 1e-12)


def trend_chart(points: Sequence[tuple[str, object]], *, title: str = "Complaint rate per month",
                percent: bool = True) -> str:
    """A line chart of ``(month, value)`` in the given order, one dot per month with a tooltip;
    ``None`` values break the line. Values are shown as percentages when ``percent``."""
    pts = [(str(m), _finite(v)) for m, v in points]
    if not pts:
        return empty_chart(title)
    fmt = (lambda v: f"{v:.0%}") if percent else _count_text
    known = [v for _, v in pts if v is not None]
    top = _nice_top(max(known, default=0.0))
    longest = max(len(truncate(m, 10)) for m, _ in pts)
    # the last month's label is centred on the right edge of the plot: leave half of it as margin
    left, right, top_m, plot_h, width = 48.0, max(16.0, longest * CHAR_W / 2 + 4), 10.0, 130.0, 600.0
    plot_w = width - left - right
    step = plot_w / max(len(pts) - 1, 1)
    base = top_m + plot_h
    body = []
    for k in range(3):
        v = top * k / 2
        y = base - plot_h * k / 2
        body.append(f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - right)}" y2="{_n(y)}" '
                    f'stroke="{"#616161" if k == 0 else "#e0e0e0"}"/>')
        body.append(_text(left - 6, y + 4, fmt(v), anchor="end", fill="#616161"))
    every = max(1, math.ceil(len(pts) * 7 * CHAR_W / plot_w))
    segments: list[list[str]] = [[]]
    dots = []
    for i, (month, value) in enumerate(pts):
        x = left + step * i if len(pts) > 1 else left + plot_w / 2
        if (len(pts) - 1 - i) % every == 0:  # counted from the newest month, which is always labelled
            body.append(_text(x, base + 16, truncate(month, 10), anchor="middle", fill="#616161"))
        if value is None:
            segments.append([])
            continue
        y = base - plot_h * min(max(value, 0.0), top) / top
        segments[-1].append(f"{_n(x)},{_n(y)}")
        dots.append(f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{DEFAULT_COLOUR}">'
                    f"<title>{_e(month)}: {_e(fmt(value))}</title></circle>")
    body += [f'<polyline points="{" ".join(s)}" fill="none" stroke="{DEFAULT_COLOUR}" stroke-width="2"/>'
             for s in segments if len(s) > 1]
    return _svg(width, base + 26, title, body + dots)
