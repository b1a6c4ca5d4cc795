"""HTML and Markdown into plain text: a page's main text (trafilatura) with its paragraphs and
metadata, or all its visible text; Markdown without its markup.
"""
from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from typing import Any

log = logging.getLogger(__name__)

#: Page metadata kept from an HTML file's ``meta`` (trafilatura's names).
HTML_META = ("title", "url", "hostname", "sitename", "author", "date", "description")


class _TextExtractor(HTMLParser):
    """Visible text with a paragraph break at each block element; a table row is one paragraph, its
    cells set off by " | " as trafilatura writes them (a block inside a cell, such as ``<br>``, is a space)."""

    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article",
             "header", "footer", "blockquote", "title", "ul", "ol", "table", "main", "nav", "dl", "dt", "dd",
             "details", "summary", "figure", "figcaption", "hr", "aside", "address", "caption", "form",
             "fieldset", "legend", "pre", "thead", "tbody", "tfoot", "menu", "hgroup", "search", "dialog"}
    SKIP = {"script", "style", "noscript", "template", "svg", "title"}
    CELL = {"td", "th"}
    ROW = {"tr", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._cells = 0  # cells so far in the table row: the next one is set off by " | "
        self._in_cell = False  # within a cell, blocks are spaces: the row stays one paragraph

    def _block(self, tag: str) -> None:
        if tag in self.ROW:
            self._cells, self._in_cell = 0, False
        self.parts.append(" " if self._in_cell else "\n\n")

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.CELL:
            self.parts.append(" | " if self._cells else "")
            self._cells += 1
            self._in_cell = True
        elif tag in self.BLOCK:
            self._block(tag)

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self.CELL:
            self._in_cell = False
        elif tag in self.BLOCK:
            self._block(tag)

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


_HIDDEN_OPEN = re.compile(r"<(noscript|template)\b", re.I)
_HIDDEN_CLOSE = {tag: re.compile(rf"</{tag}\s*>", re.I) for tag in ("noscript", "template")}


def drop_hidden(markup: str) -> str:
    """The markup without ``<noscript>`` and ``<template>`` elements, each up to its first closing
    tag. One search per element, and none after a tag is found unclosed: linear, where a regex
    with a lazy ``.*?`` took 68 s on 40,000 unclosed tags."""
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    for opening in _HIDDEN_OPEN.finditer(markup):
        tag = opening.group(1).lower()
        if opening.start() < pos or tag in unclosed:
            continue
        closing = _HIDDEN_CLOSE[tag].search(markup, opening.end())
        if closing is None:
            unclosed.add(tag)
            continue
        out.append(markup[pos:opening.start()])
        pos = closing.end()
    out.append(markup[pos:])
    return "".join(out)


#: Pages longer than this skip trafilatura's second opinion (readability), whose time grows faster
#: than the page: 46 of the 77 s a 20 MB page took, against 17 s in all without it.
FAST_EXTRACTION_CHARS = 2_000_000


def extract_html(markup: str, max_chars: int | None = None) -> tuple[str, dict[str, Any]]:
    """Main text of a page (boilerplate removed by trafilatura) and its title, URL and date.

    Paragraphs are separated by blank lines. Pages trafilatura finds no main text in fall
    back to all visible text, so a short page is never lost. A page whose visible text is over
    twice ``max_chars`` gives that text without trafilatura's minute of work: the caller
    rejects it as too long either way.
    """
    import trafilatura

    markup = drop_hidden(markup)  # trafilatura keeps what browsers with JavaScript never show
    visible = html_to_text(markup)
    if max_chars is not None and len(visible) > 2 * max_chars:
        return _cells_apart(visible.split("\n\n")), {}
    try:
        doc = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False,
                                          include_tables=True, deduplicate=False,
                                          fast=len(markup) > FAST_EXTRACTION_CHARS)
    except Exception as err:  # noqa: BLE001 - a parser failure on one page must not stop the run
        log.debug("trafilatura failed (%s); using all visible text", err)
        doc = None
    found = doc.as_dict() if doc is not None else {}
    meta = {k: found[k] for k in HTML_META if found.get(k)}
    main = " ".join((found.get("text") or "").split())
    if not main:
        return _cells_apart(visible.split("\n\n")), meta
    # trafilatura decides what is main content (its rows are matched whole); our parser keeps the paragraphs
    kept = _main_paragraphs(visible.split("\n\n"), found["text"], main)
    return _cells_apart(kept or found["text"].splitlines()), meta


#: A table cell's edge in a row as ``html_to_text`` and trafilatura write it (``| Phone | 24/7 |``).
_CELL_EDGE = re.compile(r"(?:^|\s)\|(?=\s|$)")
#: A Markdown table's rule row (``|---|:--|``), which trafilatura writes under a header.
_RULE_ROW = re.compile(r"[\s|:-]*-[\s|:-]*")


def _cells_apart(paragraphs: list[str]) -> str:
    """The page's text with each table cell a paragraph of its own: a row's cells, joined, were read as
    one sentence ("| We refund you…" with its pipe), and a cell is one thing said."""
    out = []
    for p in paragraphs:
        if _RULE_ROW.fullmatch(p):
            continue
        out.extend(c.strip() for c in _CELL_EDGE.split(p) if c.strip())
    return "\n\n".join(out)


#: Characters of substring search spent on paragraphs that are not one of trafilatura's lines; past
#: it, such paragraphs count as boilerplate. Keeps a page of many paragraphs linear, not quadratic.
SEARCH_BUDGET = 200_000_000


#: Characters no one sees (soft hyphens, zero-width and direction marks, fillers, tag characters), which
#: trafilatura drops from its text: a paragraph holding one was not found in it and was lost. Both sides are
#: compared without them. A regex class.
INVISIBLE_CHARS = ("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064"
                   "\u2066-\u206f\u2800\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f")
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARS}]")
_VISIBLE = re.compile(f"[^\\s{INVISIBLE_CHARS}\\x00-\\x1f\\x7f-\\x9f]")


def has_visible_text(text: str) -> bool:
    """Whether ``text`` holds a character one can see: not only whitespace, invisible characters and control
    characters ("\\x00\\x00\\x00" was a sentence scored neutral); it stops at the first visible one, so a long
    text costs nothing."""
    return _VISIBLE.search(text) is not None


def _comparable(text: str) -> str:
    return " ".join(_INVISIBLE.sub("", text).split())


def _main_paragraphs(paragraphs: list[str], main_text: str, main: str) -> list[str]:
    """The paragraphs that are part of trafilatura's main text: most are one of its lines (a set
    lookup); the others are looked for inside it, within ``SEARCH_BUDGET``. Invisible characters
    are left out of the comparison, not of the paragraphs kept."""
    lines = {_comparable(line) for line in main_text.splitlines()}
    main = _comparable(main)
    budget = SEARCH_BUDGET
    kept = []
    for p in paragraphs:
        norm = _comparable(p)
        if not norm:  # a spacer (<p>&#8203;</p>): nothing to read, and "" is found in any text
            continue
        if norm in lines:
            kept.append(p)
        elif budget > 0:
            budget -= len(main)
            if norm in main:
                kept.append(p)
    return kept


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, one paragraph per block element (scripts and styles dropped)."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    paragraphs = [re.sub(r"[ \t\r\f\v\n]+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


#: Inline HTML whose content a browser does not show as text.
_SKIPPED_INLINE = re.compile(r"<(/?)(script|style|noscript|template|svg)\b", re.I)
#: Inline HTML that breaks the line, as a reader sees it (common in table cells, where Markdown has no break).
_BREAK_INLINE = re.compile(r"<(br|hr)\b", re.I)
#: YAML (``---``) or TOML (``+++``) front matter, which static-site generators read and never show.
_FRONT_MATTER = re.compile(r"\A\ufeff?(---|\+\+\+)[ \t]*\r?\n.{0,65536}?\r?\n\1[ \t]*(?:\r?\n|\Z)", re.S)
#: How deep lists and quotes may nest: markdown-it drops what lies deeper (its default, 20, dropped a
#: promise quoted 21 levels deep). A page nested deeper still is read as plain text, so nothing is lost.
MARKDOWN_MAX_NESTING = 200
#: Inline nesting (brackets in brackets) keeps markdown-it's default: at 200, 400,000 "[" took 44 s, not 4.
INLINE_MAX_NESTING = 20


def _inline_text(token: Any) -> str:
    """The text a reader sees in one inline token: link and image text, inline code, no tags."""
    parts: list[str] = []
    skip = 0
    for child in token.children or []:
        if child.type == "html_inline":
            tag = _SKIPPED_INLINE.match(child.content)
            if tag:
                skip = max(0, skip - 1) if tag.group(1) else skip + (not child.content.rstrip().endswith("/>"))
            elif not skip and _BREAK_INLINE.match(child.content):
                parts.append("\n")
        elif skip:
            continue
        elif child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts).strip()


def markdown_to_text(md: str) -> str:
    """Markdown as a reader sees it (CommonMark, with tables): each heading, paragraph, list item and
    table cell its own paragraph; front matter, code, comments, scripts, styles and link definitions dropped."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"maxNesting": MARKDOWN_MAX_NESTING}).enable("table")
    parser.validateLink = lambda url: True  # a javascript: link's text is still text, not "[x](…)"

    def inline_nesting(state: Any) -> None:  # blocks are parsed by now; inline parsing keeps the default bound
        state.md.options["maxNesting"] = INLINE_MAX_NESTING

    parser.core.ruler.before("inline", "lipservice_inline_nesting", inline_nesting)
    md = _FRONT_MATTER.sub("", md, count=1)
    tokens = parser.parse(md)
    if any(t.level >= MARKDOWN_MAX_NESTING - 1 for t in tokens):  # markdown-it dropped what lies deeper
        log.debug("Markdown nested over %d levels: read as plain text", MARKDOWN_MAX_NESTING)
        return md.strip()
    paragraphs: list[str] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            paragraphs.extend(row)  # each cell a paragraph, as in HTML (``_cells_apart``)
            row = None
        elif token.type == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(" ".join(text.split()))
            else:
                paragraphs.append(text)
        elif token.type == "html_block":
            paragraphs.append(html_to_text(token.content))
    return "\n\n".join(p for p in paragraphs if p)
