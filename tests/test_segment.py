"""A blank line always ends a sentence; a single newline does not."""
from __future__ import annotations

import pytest

from nlp.segment import ParagraphBreaks


def sentences(nlp, text: str) -> list[str]:
    with nlp.select_pipes(disable=nlp.pipe_names[nlp.pipe_names.index("perspective"):]):
        return [s.text.strip() for s in nlp(text).sents if s.text.strip()]


@pytest.mark.parametrize("blank", ["\n\n", "\n\n\n", "\n \n", "\n\t\n", "\r\n\r\n", " \n\n", "\n\n "])
def test_heading_before_a_blank_line_is_its_own_sentence(nlp, blank):
    assert sentences(nlp, f"Our Values{blank}We care about every customer.") == [
        "Our Values", "We care about every customer."]


def test_list_items_separated_by_blank_lines(nlp):
    text = "Why choose us\n\nFree delivery\n\nNo contracts\n\nYou can cancel at any time."
    assert sentences(nlp, text) == ["Why choose us", "Free delivery", "No contracts", "You can cancel at any time."]


def test_single_newline_does_not_force_a_break(nlp):
    text = "You can cancel your plan\nat any time without a fee."
    assert sentences(nlp, text) == ["You can cancel your plan\nat any time without a fee."]


def test_paragraph_component_sits_before_the_parser(nlp):
    names = nlp.pipe_names
    assert names.index("paragraphs") < names.index("parser")


def test_component_marks_only_tokens_after_blank_lines(nlp):
    doc = nlp.make_doc("Heading\n\nFirst line\nsecond line")
    ParagraphBreaks(min_newlines=2)(doc)
    starts = {t.text: t.is_sent_start for t in doc if not t.is_space}
    assert starts["First"] is True
    assert starts["second"] is not True  # a single newline leaves the decision to the parser
    assert starts["line"] is not True


def test_min_newlines_is_honoured(nlp):
    doc = nlp.make_doc("Heading\n\nText\n\n\nMore")
    ParagraphBreaks(min_newlines=3)(doc)
    marked = [t.text for t in doc[1:] if t.is_sent_start is True and not t.is_space]
    assert marked == ["More"]


def test_whitespace_only_and_trailing_blank_lines_do_not_crash(nlp):
    for text in ["", "\n\n", "Heading\n\n", "\n\nHeading"]:
        doc = ParagraphBreaks()(nlp.make_doc(text))
        assert doc.text == text
