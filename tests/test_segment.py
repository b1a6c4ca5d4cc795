"""A blank line always ends a sentence; a single newline ends one after a short unpunctuated line only."""
from __future__ import annotations

import pytest

from nlp.component import text_sentences
from nlp.segment import ParagraphBreaks


def sentences(nlp, text: str) -> list[str]:
    with nlp.select_pipes(disable=nlp.pipe_names[nlp.pipe_names.index("perspective"):]):
        return [s.text.strip() for s in nlp(text).sents if s.text.strip()]


@pytest.mark.parametrize("blank", ["\n\n", "\n\n\n", "\n \n", "\n\t\n", "\r\n\r\n", " \n\n", "\n\n "])
def test_heading_before_a_blank_line_is_its_own_sentence(nlp, blank):
    assert sentences(nlp, f"Our Values{blank}We care about every customer.") == [
        "Our Values", "We care about every customer."]


@pytest.mark.parametrize("blank", ["\u2029", "\r\r", "\u2028\u2028", "\n\u2029", "\n\f\n"])
def test_a_paragraph_separator_or_old_mac_blank_line_ends_a_paragraph(nlp, blank):
    """Word's paragraph separator ran two sentences into one, labelled as the second."""
    from nlp.segment import paragraph_ids

    text = f"Our award-winning team is the best in the industry{blank}You get your money back in 48 hours."
    assert sentences(nlp, text) == ["Our award-winning team is the best in the industry",
                                    "You get your money back in 48 hours."]
    assert paragraph_ids(nlp(text)) == [0, 1]


def test_list_items_separated_by_blank_lines(nlp):
    text = "Why choose us\n\nFree delivery\n\nNo contracts\n\nYou can cancel at any time."
    assert sentences(nlp, text) == ["Why choose us", "Free delivery", "No contracts", "You can cancel at any time."]


def test_single_newline_does_not_force_a_break(nlp):
    text = "You can cancel your plan\nat any time without a fee."
    assert sentences(nlp, text) == ["You can cancel your plan\nat any time without a fee."]


def test_short_lines_without_punctuation_are_sentences_of_their_own(nlp):
    """A pasted offer list was one sentence, so one promise where the page makes four."""
    text = "Free returns within 30 days\nNext-day delivery on every order\nSupport 24/7\nNo hidden fees\n"
    assert sentences(nlp, text) == ["Free returns within 30 days", "Next-day delivery on every order",
                                    "Support 24/7", "No hidden fees"]
    assert sentences(nlp, "What you get:\nA refund within 5 days\n£5 off your next order") == [
        "What you get:", "A refund within 5 days", "£5 off your next order"]


@pytest.mark.parametrize("text, expected", [
    # the parser cut inside lines the rule had marked: "Free" became a vague promise of its own
    ("Our offer\nFree delivery on orders over £20\nCancel anytime\n24/7 support\n",
     ["Our offer", "Free delivery on orders over £20", "Cancel anytime", "24/7 support"]),
    ("• Free delivery\n• 24/7 support\n2. Cancel anytime\nMon – Fri 9am to 5pm\n",
     ["• Free delivery", "• 24/7 support", "2. Cancel anytime", "Mon – Fri 9am to 5pm"]),
])
def test_a_line_of_a_list_is_one_sentence(nlp, text, expected):
    assert sentences(nlp, text) == expected


@pytest.mark.parametrize("text", [
    "You can cancel your plan\nat any time without a fee.",  # the next line starts in lower case
    "We will refund you within 14 days of receiving the item and\nThe courier collects it for free.",
    "Our customers are at the heart of everything we do every day\nBecause they matter.",  # 12 words: wrapped
    "Call us on 0800 123 456,\nMonday to Friday.",  # a comma goes on
    "Thank you for shopping with Northwind Outdoor\nSupplies. Every order ships from our warehouse",  # a name
    "The shop was founded in 1987 by Jane\nSmith and her brother, who still run it today with care.",
])
def test_wrapped_prose_is_left_to_the_parser(nlp, text):
    doc = ParagraphBreaks()(nlp.make_doc(text))
    after = text.index("\n") + 1
    assert not any(t.is_sent_start for t in doc if t.idx == after)


def test_line_words_zero_turns_the_list_rule_off(nlp):
    doc = ParagraphBreaks(line_words=0)(nlp.make_doc("Free returns\nNo hidden fees"))
    assert [t.text for t in doc[1:] if t.is_sent_start] == []
    doc = ParagraphBreaks(line_words=2)(nlp.make_doc("Free returns\nNo fees\nNext day delivery on orders"))
    assert [t.text for t in doc[1:] if t.is_sent_start] == ["No"]  # the third line has five words


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
    ParagraphBreaks(min_newlines=3, line_words=0)(doc)  # the blank-line rule alone
    marked = [t.text for t in doc[1:] if t.is_sent_start is True and not t.is_space]
    assert marked == ["More"]


def test_whitespace_only_and_trailing_blank_lines_do_not_crash(nlp):
    for text in ["", "\n\n", "Heading\n\n", "\n\nHeading"]:
        doc = ParagraphBreaks()(nlp.make_doc(text))
        assert doc.text == text


def test_no_sentence_starts_inside_a_word_the_tokenizer_cut(nlp):
    """spaCy reads "id" as "i" + "d" (I'd): the parser ended a sentence between them ("Float i" | "d whole.")."""
    assert sentences(nlp, "Float id whole.") == ["Float id whole."]
    doc = nlp.make_doc("Float id whole. Open 9am to 5pm. We'd call.Next day")
    cut = ParagraphBreaks.inside_words(doc)
    assert [doc[i].text for i in cut] == ["d", "am", "pm"]  # "We|'d", "call.Next": punctuation, left to the parser
    assert ParagraphBreaks(words_whole=False)(nlp.make_doc("Float id whole."))[2].is_sent_start is None


def test_words_whole_must_be_true_or_false(nlp):
    from nlp.errors import ConfigError
    from nlp.segment import make_paragraphs

    with pytest.raises(ConfigError, match="words_whole = 'yes': must be true or false"):
        make_paragraphs(nlp, "paragraphs", 2, 8, "yes")


def test_a_paragraphs_first_word_is_not_a_sentence_of_its_own(nlp):
    """Under a heading, the parser cut the demo's first sentence after "Brightwave" (stop 28 left this)."""
    text = "About Brightwave Energy\n\nBrightwave Energy is the UK's leading provider of innovative energy solutions."
    assert sentences(nlp, text) == ["About Brightwave Energy",
                                    "Brightwave Energy is the UK's leading provider of innovative energy solutions."]
    assert sentences(nlp, "Contact\n\nHi there. We answer.") == ["Contact", "Hi there.", "We answer."]


def test_a_list_items_number_stays_with_its_item(nlp):
    """A consumer's numbered points ("…my report. 1. The account…"): the parser made "1." a sentence of its
    own, which the complaint detector scored 0.54-0.68 and theme discovery made a theme of."""
    text = ("I dispute these items on my report. 1. The account ending 4411 is not mine. 2. The late payment "
            "was paid on time.\n(iv) Nobody replied.")
    assert sentences(nlp, text) == ["I dispute these items on my report.", "1. The account ending 4411 is not mine.",
                                    "2. The late payment was paid on time.", "(iv) Nobody replied."]
    assert sentences(nlp, "It cost $1. The rest was free.") == ["It cost $1.", "The rest was free."]
    assert sentences(nlp, "We use version 2. The old one broke.") == ["We use version 2.", "The old one broke."]
    for alone in ("They claim to be No. 1. The service says otherwise.", "Score: 9. Great!"):  # no list: no 2, no 8
        assert len(sentences(nlp, alone)) == 2, sentences(nlp, alone)
    doc = nlp.make_doc("Points: 1. Late. 2) Rude.")
    assert ParagraphBreaks(items_whole=False)(doc)[3].is_sent_start is None
    from nlp.errors import ConfigError
    from nlp.segment import make_paragraphs

    with pytest.raises(ConfigError, match="items_whole = 1: must be true or false"):
        make_paragraphs(nlp, "paragraphs", 2, 8, True, 1)


@pytest.mark.parametrize("text", ["We refund you within 30 days \u200fand we call back today.",
                                  "We refund you \u200ewithin 30 days and we call back today.",
                                  "We refund you within 30 days and\u202b we call back today.",
                                  "Your parcel arrives\u2067 in two days, tracked all the way.",
                                  # a run of marks, and a mark between two words (found by a re-test)
                                  "Our agents \u200f\u200f\u200fanswer you within an hour and you always talk to a human.",
                                  "Your order ships free\u061cwithin two days and you can return it any time."])
def test_a_direction_mark_stuck_to_a_word_does_not_cut_the_sentence(nlp, text):
    """Scraped right-to-left or mixed text carries such marks: the parser cut "... 30 days \u200fand" | "we call"."""
    assert sentences(nlp, text) == [text]


@pytest.mark.parametrize("text, first", [("Our team cares about you\u200f. You can call us any time.", 1),
                                         ("We call back the same day.\u200fOur team cares.", 0),
                                         ('She said "you will love it\u200f." We agree with her.', 1)])
def test_a_mark_beside_a_full_stop_still_ends_the_sentence(nlp, text, first):
    """The stop stayed on the word with the mark ("you\u200f."), and the two sentences ran together."""
    said = sentences(nlp, text)
    assert len(said) == 2 and said[first].rstrip('"').endswith(".")


def test_a_sentence_may_still_start_at_a_mark_after_a_sentence_end(nlp):
    assert sentences(nlp, "We refund you. \u200fYou call us.") == ["We refund you.", "\u200fYou call us."]
    embedded = nlp("\u202bWe refund you.\u202c \u202bYou call us.\u202c")  # marks alone carry no text
    assert [s.text.strip("\u202b\u202c ") for s in text_sentences(embedded)] == ["We refund you.", "You call us."]



@pytest.mark.parametrize("page_break", ["\n\f", "\f", "\r\r\n"])
def test_a_page_break_or_a_doubled_carriage_return_inside_a_sentence_does_not_cut_it(nlp, page_break):
    """pdftotext ends each page with "\\n\\f", mid-sentence as often as not; "\\r\\r\\n" is Windows text converted
    twice: a form feed counted as a blank line cut "We are the leading provider of" off its sentence."""
    text = f"We are the leading provider of{page_break}fast delivery services in Europe. You get refunds."
    assert sentences(nlp, text)[-1] == "You get refunds."
    assert sentences(nlp, text)[0].startswith("We are the leading provider of") and len(sentences(nlp, text)) == 2
