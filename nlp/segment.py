"""The ``lipservice_paragraphs`` component: a blank line always ends a sentence, and so does the
newline after a short line with no final punctuation (a heading, a list line, an offer).

Headings, list items and HTML blocks carry no final punctuation, so the parser would glue
them to the next sentence ("Free returns within 30 days\nNext-day delivery" read as one promise).
A line longer than ``line_words`` words is taken for wrapped prose and left to the parser, as is
one ending in a comma, colon or joining word, or followed by a line that starts in lower case.
This runs before the parser, which respects preset boundaries.
"""
from __future__ import annotations

import numpy as np
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.tokens import Doc

from .errors import E_BAD_SETTING, E_NEEDS_INPUT, ConfigError

#: What a line that goes on in the next one ends with: the parser decides there.
CONTINUES = frozenset({",", ":", ";", "-", "–", "—", "&", "/", "(", "and", "or", "but", "nor", "to", "of", "the",
                       "a", "an", "with", "for", "in", "on", "at", "by", "from", "your", "our", "we", "you"})


@Language.factory("lipservice_paragraphs", default_config={"min_newlines": 2, "line_words": 8},
                  assigns=["token.is_sent_start"])
def make_paragraphs(nlp: Language, name: str, min_newlines: int, line_words: int) -> "ParagraphBreaks":
    for setting, value, least in (("min_newlines", min_newlines, 1), ("line_words", line_words, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            default = {"min_newlines": "2: a blank line", "line_words": "8; 0 turns the rule off"}[setting]
            raise ConfigError(f"components.{name}.{setting} = {value!r}: must be a whole number, {least} or more "
                              f"(the default is {default}); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    return ParagraphBreaks(min_newlines, line_words)


class ParagraphBreaks:
    """Mark the token after a whitespace run with ``min_newlines`` or more newlines as a sentence start,
    and the token after one newline that ends a short unpunctuated line (``line_words`` words at most)."""

    def __init__(self, min_newlines: int = 2, line_words: int = 8) -> None:
        self.min_newlines = min_newlines
        self.line_words = line_words

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) and doc.has_annotation("DEP"):  # spaCy's E043 otherwise: a parsed Doc's boundaries are fixed
            raise ConfigError("the lipservice_paragraphs component must run before the parser, which respects the "
                              "boundaries it sets: nlp.add_pipe('lipservice_paragraphs', before='parser')",
                              code=E_NEEDS_INPUT)
        # only whitespace tokens can hold a newline: find them in C, not token by token in Python
        spaces = np.flatnonzero(doc.to_array(IS_SPACE)[:-1]) if len(doc) > 1 else ()
        for i in spaces:
            i = int(i)
            newlines = doc[i].text.count("\n")
            if newlines >= self.min_newlines or (newlines and self.ends_a_short_line(doc, i)):
                doc[i + 1].is_sent_start = True
        return doc

    def ends_a_short_line(self, doc: Doc, i: int) -> bool:
        """Whether the newline at token ``i`` ends a line of ``line_words`` words or fewer that ends without
        punctuation or a joining word, before a line that starts as a sentence or a list item would."""
        if not self.line_words or i == 0:
            return False
        nxt, last = doc[i + 1], doc[i - 1]
        if last.is_space or last.text.lower() in CONTINUES or not (nxt.text[:1].isupper() or nxt.text[:1].isdigit()
                                                                      or nxt.is_punct or nxt.is_currency):
            return False
        words = 0
        for j in range(i - 1, -1, -1):  # back to the line's start: at most line_words + 1 words
            token = doc[j]
            if "\n" in token.text:
                break
            words += not (token.is_punct or token.is_space)
            if words > self.line_words:
                return False
        return True

    def to_disk(self, path, *, exclude=()):  # stateless: nothing to save
        return None

    def from_disk(self, path, *, exclude=()):
        return self


def paragraph_ids(doc: Doc, min_newlines: int = 2) -> list[int]:
    """The paragraph number of each sentence: a blank line between two sentences starts a new one."""
    ids: list[int] = []
    current, prev_end = 0, None
    text = doc.text  # built from the tokens on every access: once, not once per sentence
    for sent in doc.sents:
        raw = sent.text
        start = sent.start_char + (len(raw) - len(raw.lstrip()))
        if prev_end is not None and text.count("\n", prev_end, start) >= min_newlines:
            current += 1
        ids.append(current)
        prev_end = sent.start_char + len(raw.rstrip())
    return ids
