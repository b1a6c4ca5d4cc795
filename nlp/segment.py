"""The ``lipservice_paragraphs`` component: a blank line always ends a sentence.

Headings, list items and HTML blocks carry no final punctuation, so the parser would glue
them to the next sentence. This runs before the parser, which respects preset boundaries.
"""
from __future__ import annotations

import numpy as np
from spacy.attrs import IS_SPACE
from spacy.language import Language
from spacy.tokens import Doc

from .errors import E_BAD_SETTING, E_NEEDS_INPUT, ConfigError


@Language.factory("lipservice_paragraphs", default_config={"min_newlines": 2},
                  assigns=["token.is_sent_start"])
def make_paragraphs(nlp: Language, name: str, min_newlines: int) -> "ParagraphBreaks":
    if isinstance(min_newlines, bool) or not isinstance(min_newlines, int) or min_newlines < 1:
        raise ConfigError(f"components.{name}.min_newlines = {min_newlines!r}: must be a whole number, 1 or more "
                          "(the default is 2: a blank line); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    return ParagraphBreaks(min_newlines)


class ParagraphBreaks:
    """Mark the token after a whitespace run with ``min_newlines`` or more newlines as a sentence start."""

    def __init__(self, min_newlines: int = 2) -> None:
        self.min_newlines = min_newlines

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) and doc.has_annotation("DEP"):  # spaCy's E043 otherwise: a parsed Doc's boundaries are fixed
            raise ConfigError("the lipservice_paragraphs component must run before the parser, which respects the "
                              "boundaries it sets: nlp.add_pipe('lipservice_paragraphs', before='parser')",
                              code=E_NEEDS_INPUT)
        # only whitespace tokens can hold a blank line: find them in C, not token by token in Python
        spaces = np.flatnonzero(doc.to_array(IS_SPACE)[:-1]) if len(doc) > 1 else ()
        for i in spaces:
            if doc[int(i)].text.count("\n") >= self.min_newlines:
                doc[int(i) + 1].is_sent_start = True
        return doc

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
