"""nlp/markup.py: HTML and Markdown into plain text, the main text of a page, hidden elements dropped."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import markup
from nlp.markup import drop_hidden, extract_html, html_to_text, markdown_to_text

PAGE = ("<html><head><title>Acme | About</title><link rel='canonical' href='https://acme.example/about'></head>"
        "<body><nav><a href='/'>Home</a> | <a href='/shop'>Shop</a> | <a href='/contact'>Contact</a></nav>"
        "<article><h1>About us</h1><p>We deliver your parcels within 24 hours, or your money back. Our drivers "
        "call you 30 minutes before they arrive, so you never wait at home all day.</p><p>Customers come first "
        "at Acme, and we mean it: every call is answered by a person within two minutes, every day.</p></article>"
        "<footer>Copyright 2024 Acme Ltd. All rights reserved. Privacy | Terms | Cookies</footer></body></html>")


def test_markdown_unclosed_brackets_stay_text_and_links_after_them_still_go():
    """Brackets that open no link (a scraped page's noise) are left as they are (CommonMark)."""
    md = "[draft [v2 ![x see [our terms](https://x.example/t) and [a long one](" + "u" * 5000 + ")."
    assert markdown_to_text(md) == "[draft [v2 ![x see our terms and a long one."


def test_markdown_blocks_are_paragraphs_and_list_items_do_not_run_together():
    """A heading, each list item and a quote are separate paragraphs, blank lines or not: merged, four
    promises were read as one sentence."""
    md = "# Why us\n\n- Free returns within 30 days\n- 24/7 support\n1. No hidden fees\n\n> We refund you.\nFast."
    assert markdown_to_text(md).split("\n\n") == [
        "Why us", "Free returns within 30 days", "24/7 support", "No hidden fees", "We refund you.\nFast."]


def test_markdown_drops_what_a_reader_never_sees_as_copy():
    md = ("Intro.\n\n<!-- We always refund within 1 hour. -->\n\n<style>p{content:'We lead'}</style>\n\n"
          "~~~\nwe_refund()\n~~~\n\n```\nmore code\n```\n\n    indented code\n\n"
          "[pol]: https://x.example \"We always refund you\"\n\n***\n\nTitle\n=====\n\n"
          "Say <script>alert('We refund')</script>hi <!-- no -->there.")
    assert markdown_to_text(md).split("\n\n") == ["Intro.", "Title", "Say hi there."]


def test_markdown_links_keep_their_text_even_with_parentheses_in_the_address():
    assert markdown_to_text("Read [our FAQ](https://en.wikipedia.org/wiki/Refund_(policy)) now.") == "Read our FAQ now."
    assert markdown_to_text("See ![the chart](c.png) and [x](javascript:alert('x')).") == "See the chart and x."


def test_markdown_tables_give_a_paragraph_per_cell_and_html_blocks_their_visible_text():
    """A row's cells joined were split by the sentence segmenter anyway, the pipe left on a sentence."""
    md = "| Channel | Hours |\n|---|---|\n| Phone | 24/7 |\n\n<div>We <b>refund</b> you.</div>\n"
    assert markdown_to_text(md).split("\n\n") == ["Channel", "Hours", "Phone", "24/7", "We refund you."]


def test_markdown_heading_is_its_own_paragraph():
    t = markdown_to_text("## Why us\nWe care.")
    assert t.split("\n")[0] == "Why us"
    assert "\n\n" in t  # the heading does not run into the next sentence
    assert "We care." in t


def test_markdown_emphasis_variants():
    assert markdown_to_text("a **b** __c__ *d* _e_ `f`") == "a b c d e f"


def test_markdown_keeps_intra_word_underscores():
    assert markdown_to_text("Call get_user_name from x.") == "Call get_user_name from x."
    # at word edges underscores are emphasis, as CommonMark renders them
    assert markdown_to_text("Call __init__ now.") == "Call init now."


def test_html_to_text_collapses_inline_whitespace_only():
    t = html_to_text("<p>one\n   two\tthree</p><p>four</p>")
    assert t == "one two three\n\nfour"


def test_html_table_rows_are_paragraphs_with_their_cells_set_apart():
    assert html_to_text("<table><tr><th>Channel</th><th>Hours</th></tr><tr><td>Support</td><td>24/7</td></tr>"
                        "</table>") == "Channel | Hours\n\nSupport | 24/7"


def test_html_main_text_keeps_its_tables():
    """Rows are found in trafilatura's main text (which writes them as ``| a | b |``), not dropped."""
    page = PAGE.replace("</article>", "<table><tr><td>Refunds</td><td>within 48 hours, to your card</td></tr>"
                                      "</table></article>")
    assert extract_html(page)[0].split("\n\n")[-2:] == ["Refunds", "within 48 hours, to your card"]


def test_html_without_closing_head_keeps_body():
    t = html_to_text("<html><head><title>T</title><body><p>Hello there.</p></body></html>")
    assert t == "Hello there."


def test_html_main_text_without_navigation_and_footer_and_page_meta():
    text, meta = extract_html(PAGE)
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "About us"
    assert any(p.startswith("We deliver your parcels") for p in paragraphs)
    assert "Copyright" not in text and "Contact" not in text
    assert meta["url"] == "https://acme.example/about"
    assert meta["title"]
    assert "filedate" not in meta  # today's date would make runs differ


def test_a_page_of_far_too_much_text_is_not_given_to_trafilatura(monkeypatch):
    import trafilatura

    def refuse(*args, **kwargs):
        raise AssertionError("trafilatura was called")

    monkeypatch.setattr(trafilatura, "bare_extraction", refuse)
    text, meta = extract_html("<p>" + "word " * 500 + "</p>", max_chars=1000)
    assert len(text) > 2000 and meta == {}


def test_main_paragraphs_match_lines_exactly_and_search_the_rest_within_a_budget(monkeypatch):
    main_text = "About us\nWe deliver within 24 hours. Our drivers call ahead."
    main = " ".join(main_text.split())
    paragraphs = ["Home | Shop", "About us", "We deliver within 24 hours.", "Our drivers call ahead."]
    assert markup._main_paragraphs(paragraphs, main_text, main) == paragraphs[1:]  # parts of a line are found
    monkeypatch.setattr(markup, "SEARCH_BUDGET", 0)
    assert markup._main_paragraphs(paragraphs, main_text, main) == ["About us"]  # exact lines need no search


HIDDEN_PARTS = ["<p>a</p>", "<noscript>", "</noscript>", "<NOSCRIPT >", "</noscript >", "<template>",
                "</template>", "<noscripts>", "text", "</TEMPLATE>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(HIDDEN_PARTS), max_size=14))
def test_drop_hidden_removes_what_the_lazy_regex_removed(parts):
    """The linear scan gives what ``<(noscript|template)\\b.*?</\\1\\s*>`` gave, unclosed tags included."""
    import re

    markup = "".join(parts)
    assert drop_hidden(markup) == re.sub(r"<(noscript|template)\b.*?</\1\s*>", "", markup, flags=re.S | re.I)


def test_markdown_inline_br_breaks_the_line_and_front_matter_is_not_copy():
    md = ("---\ntitle: Shipping promises\nlayout: page\n---\n\nCall us<br>We answer in 2 minutes.\n\n"
          "| Channel | Hours |\n|---|---|\n| Phone | 24/7<br>Weekends included |\n")
    assert markdown_to_text(md).split("\n\n") == ["Call us\nWe answer in 2 minutes.", "Channel", "Hours", "Phone",
                                                  "24/7 Weekends included"]
    assert markdown_to_text("+++\ntitle = 'x'\n+++\nBody.") == "Body."
    assert markdown_to_text("Intro.\n\n---\n\nMore.") == "Intro.\n\nMore."  # a rule is no front matter


def test_markdown_nested_deeper_than_the_parser_goes_loses_nothing():
    """markdown-it drops what lies past its nesting bound: a promise quoted 21 levels deep vanished."""
    assert markdown_to_text(">" * 21 + " We refund you in 48 hours.\n\nAfter.") == "We refund you in 48 hours.\n\nAfter."
    deeper = ">" * 1000 + " We refund you in 48 hours."
    assert markdown_to_text(deeper).endswith("We refund you in 48 hours.")  # read as plain text
    items = "".join("  " * i + f"- level {i}\n" for i in range(60))
    assert markdown_to_text(items).split("\n\n") == [f"level {i}" for i in range(60)]


def test_html_blocks_inside_a_table_cell_keep_the_row_whole_and_faq_elements_are_paragraphs():
    """A <br> in a cell ended the row: the cells after it ran together and the row left the main text."""
    filler = "<p>" + "We make shoes for people who walk a lot every single day of the year. " * 3 + "</p>"
    page = ("<html><body><main><article><h1>Our service</h1>" + filler +
            "<table><tr><td>Free returns<br>within 30 days</td><td>We refund you within 48 hours.</td></tr></table>"
            "<dl><dt>Returns</dt><dd>Free within 30 days.</dd></dl>"
            "<details><summary>How fast are refunds?</summary>Within two days.</details>" + filler +
            "</article></main></body></html>")
    paragraphs = extract_html(page)[0].split("\n\n")
    assert paragraphs[2:-1] == ["Free returns within 30 days", "We refund you within 48 hours.", "Returns",
                                "Free within 30 days.", "How fast are refunds?", "Within two days."]


def test_trafilatura_s_own_rows_when_no_paragraph_matches_are_cells_without_the_rule_row():
    from nlp.markup import _cells_apart

    assert _cells_apart(["| Phone | 24/7 |", "|---|:--|", "A | B", "Price|Value"]) == "Phone\n\n24/7\n\nA\n\nB\n\nPrice|Value"


def test_a_paragraph_holding_an_invisible_character_is_kept():
    """trafilatura drops soft hyphens, zero-width and direction marks: such a paragraph was not found in its text
    and was lost in silence (a refund promise with "Kunden&shy;service" in it)."""
    marks = ["&shy;", "\u200b", "\u200d", "\u200e", "\u202e", "&#x2066;", "\u2069"]
    body = "".join(f"<p>You get your money back within 48 hours, {i}{m}.</p>" for i, m in enumerate(marks))
    page = f"<html><body><main><h1>About us</h1><p>We guarantee next-day delivery.</p>{body}</main></body></html>"
    text = extract_html(page)[0]
    assert text.count("You get your money back within 48 hours") == len(marks)
    assert "Kunden\xadservice" in extract_html(page.replace("0&shy;", "Kunden&shy;service"))[0]
    spacers = page.replace("</main>", "<p>&#8203;</p><p>&shy;&#8204;</p><p>\u3164</p><p>\u2800\ufe0f</p></main>"
                                      "<footer><p>&#8203;</p></footer>")
    assert extract_html(spacers)[0] == text  # paragraphs of invisible characters alone are no text
