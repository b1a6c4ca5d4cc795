"""The ``lipservice_paragraphs`` component: a blank line always ends a sentence, and so does the
newline between two lines of a list (a heading and its items, offers one a line).

Headings, list items and HTML blocks carry no final punctuation, so the parser would glue
them to the next sentence ("Free returns within 30 days\nNext-day delivery" read as one promise).
Two lines are a list's when both are short (``line_words`` words at most) and neither has a
sentence end inside it; the first must not end in a comma, dash or joining word and the second
must start as a sentence or an item does. Such a line is then one sentence: the parser may not cut
it. Anything else (wrapped prose) is left to the parser. With ``words_whole`` no sentence starts inside
a word: spaCy's tokenizer cuts "id" into "i" + "d" and "5pm" into "5" + "pm", and the parser could end a
sentence between the two ("Float i | d whole."). With ``items_whole`` a list item's number or letter
stays with its item ("1. The account is not mine." is one sentence, not "1." and the rest: a sentence of a
number alone was scored as a complaint). This runs before the parser, which respects preset boundaries.
"""
from __future__ import annotations

import re

import numpy as np
from spacy.attrs import IS_ALPHA, IS_DIGIT, IS_PUNCT, IS_SPACE, ORTH, SPACY
from spacy.language import Language
from spacy.tokens import Doc

from .errors import E_BAD_SETTING, E_NEEDS_INPUT, ConfigError

#: What a line that goes on in the next one ends with: the parser decides there.
CONTINUES = frozenset({",", ";", "-", "–", "—", "&", "/", "(", "and", "or", "but", "nor", "to", "of", "the",
                       "a", "an", "with", "for", "in", "on", "at", "by", "from", "your", "our", "we", "you"})
#: A list item's number or letter ("1", "b", "iv"), before its "." or ")".
ENUMERATOR = re.compile(r"\d{1,3}|[A-Za-z]|[ivxIVX]{2,4}")
#: What may stand before an item's number within a line: the end of a sentence or of a lead-in.
ITEM_FOLLOWS = frozenset({".", "!", "?", ":", ";"})
#: Direction marks and zero-width spaces, which scraped text carries stuck to words; the tokenizer splits them
#: off (``pipeline.split_off_marks``), and no sentence starts at one, or just after one, inside a sentence.
STUCK_MARKS = "\u061c\u200b\u200e\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
#: Those of them that only set the direction of text: between two words they part them (a zero-width space
#: or a word joiner inside a word is left in it, where it marks where the word may break).
DIRECTION_MARKS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_MARKS = re.compile(f"[{STUCK_MARKS}]+")
#: What ends a sentence, with the quotes or brackets that may close after it.
_SENTENCE_END = re.compile(r"[.!?…][\'\"”’)\]]*$")
ROMAN = {r: n for n, r in enumerate(("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"), 1)}


def _item_keys(number: str) -> set[tuple[str, int]]:
    """An item number's place in its sequence: ("n", 3) for "3", ("a", 2) for "b", ("r", 4) for "iv" ("i" is
    both the 9th letter and the first Roman numeral)."""
    keys = {("n", int(number))} if number.isdigit() else set()
    if len(number) == 1 and number.isalpha():
        keys.add(("a", ord(number) - ord("a") + 1))
    if number in ROMAN:
        keys.add(("r", ROMAN[number]))
    return keys


@Language.factory("lipservice_paragraphs",
                  default_config={"min_newlines": 2, "line_words": 8, "words_whole": True, "items_whole": True},
                  assigns=["token.is_sent_start"])
def make_paragraphs(nlp: Language, name: str, min_newlines: int, line_words: int,
                    words_whole: bool = True, items_whole: bool = True) -> "ParagraphBreaks":
    for setting, value, least in (("min_newlines", min_newlines, 1), ("line_words", line_words, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            default = {"min_newlines": "2: a blank line", "line_words": "8; 0 turns the rule off"}[setting]
            raise ConfigError(f"components.{name}.{setting} = {value!r}: must be a whole number, {least} or more "
                              f"(the default is {default}); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    for setting, value in (("words_whole", words_whole), ("items_whole", items_whole)):
        if not isinstance(value, bool):
            raise ConfigError(f"components.{name}.{setting} = {value!r}: must be true or false (the default is "
                              "true); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    return ParagraphBreaks(min_newlines, line_words, words_whole, items_whole)


class ParagraphBreaks:
    """Mark the token after a whitespace run with ``min_newlines`` or more newlines as a sentence start,
    and the token after a single newline between two lines of a list (:meth:`list_lines`), each then
    kept one sentence; with ``words_whole``, no sentence start inside a word; with ``items_whole``, none
    just after a list item's number."""

    def __init__(self, min_newlines: int = 2, line_words: int = 8, words_whole: bool = True,
                 items_whole: bool = True) -> None:
        self.min_newlines = min_newlines
        self.line_words = line_words
        self.words_whole = words_whole
        self.items_whole = items_whole

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) and doc.has_annotation("DEP"):  # spaCy's E043 otherwise: a parsed Doc's boundaries are fixed
            raise ConfigError("this Doc is parsed already, and lipservice_paragraphs must run before the parser, "
                              "which respects the boundaries it sets: pass the pipeline text, not a Doc another "
                              "pipeline (or this one) made; in a pipeline you build, nlp.add_pipe("
                              "'lipservice_paragraphs', before='parser')", code=E_NEEDS_INPUT)
        if len(doc) < 2:
            return doc
        if self.words_whole:
            for i in self.inside_words(doc):
                doc[i].is_sent_start = False
        if self.items_whole:
            for i in self.item_texts(doc):
                doc[i].is_sent_start = False
        if _MARKS.search(doc.text):  # rare: a string search first, the tokens only when there is one
            for i in self.marks_inside(doc):
                doc[i].is_sent_start = False
        # only whitespace tokens can hold a newline: find them in C, not token by token in Python
        breaks = [int(i) for i in np.flatnonzero(doc.to_array(IS_SPACE)[:-1]) if line_breaks(doc[int(i)].text, 1)]
        single = self.line_words and any(line_breaks(doc[i].text, self.min_newlines) < self.min_newlines
                                         for i in breaks)
        lines = _Lines(doc, breaks) if single else None  # only a single newline can part two lines of a list
        for k, i in enumerate(breaks):
            if line_breaks(doc[i].text, self.min_newlines) >= self.min_newlines:
                doc[i + 1].is_sent_start = True
                self.first_word_stays(doc, i + 1)
            elif lines is not None and self.list_lines(doc, lines, k):
                doc[i + 1].is_sent_start = True
                for line in (k, k + 1):  # a line of a list is one sentence: the parser cut "Free | delivery"
                    for j in range(lines.first[line] + 1, lines.end[line]):
                        doc[j].is_sent_start = False
        return doc

    @staticmethod
    def first_word_stays(doc: Doc, start: int) -> None:
        """A paragraph's first word is no sentence of its own when a space, not a line break, follows it:
        the parser made "Brightwave" one sentence and "Energy is the UK's leading provider…" the next once
        a heading stood above the paragraph."""
        first = doc[start]
        if start + 1 < len(doc) and first.is_alpha and first.whitespace_ and not doc[start + 1].is_space:
            doc[start + 1].is_sent_start = False

    @staticmethod
    def marks_inside(doc: Doc) -> list[int]:
        """A mark inside a sentence, and the token after it: the parser, which has no idea of such a token, cut
        "within 30 days \u200fand | we call back today". A mark after a sentence's end or a line break is left
        to the parser: the next sentence may start at it."""
        kept = []
        for i, tok in enumerate(doc):
            if i == 0 or not _MARKS.fullmatch(tok.text):
                continue
            j = i - 1
            while j >= 0 and _MARKS.fullmatch(doc[j].text):
                j -= 1
            if j < 0 or doc[j].is_space or _SENTENCE_END.search(doc[j].text):
                continue
            kept += [k for k in (i, i + 1) if k < len(doc) and doc[k].is_sent_start is not True
                     and not doc[k].is_space]
        return kept

    @staticmethod
    def inside_words(doc: Doc) -> list[int]:
        """Tokens that go on a word of letters or digits with no space between ("i|d", "5|pm"): found in C."""
        a = doc.to_array([SPACY, IS_ALPHA, IS_DIGIT])
        word = (a[:, 1] | a[:, 2]).astype(bool)
        joined = (a[:-1, 0] == 0) & word[:-1] & word[1:]
        return [int(i) + 1 for i in np.flatnonzero(joined)]

    @staticmethod
    def item_texts(doc: Doc) -> list[int]:
        """The first token of a list item's text, after its number or letter and its "." or ")": at the start of
        a line ("(iv) Nobody" after a line break), or after a sentence end when the next or previous number is
        an item too ("…my report. 1. The account… 2. The payment…"): the parser made "1." a sentence of its
        own. "No. 1. The…", "Score: 9. Great!", "$1. The…" and "version 2. The…" are left to the parser."""
        found = []  # (the item's first token, its number's keys, at a line start)
        for j in np.flatnonzero(doc.to_array(IS_PUNCT)[:-1]).tolist():
            if doc[j].text not in (".", ")") or j == 0 or doc[j].whitespace_ == "" or doc[j + 1].is_space:
                continue
            k = j - 1
            if not ENUMERATOR.fullmatch(doc[k].text) or doc[k].whitespace_:
                continue
            number = doc[k].text.lower()
            if k > 0 and doc[k - 1].text == "(" and not doc[k - 1].whitespace_:
                k -= 1
            before = doc[k - 1] if k > 0 else None
            if before is None or (before.is_space and line_breaks(before.text, 1)):
                found.append((j + 1, _item_keys(number), True))
            elif before.text in ITEM_FOLLOWS and before.whitespace_:
                found.append((j + 1, _item_keys(number), False))
        keys = {key for _, item_keys, _ in found for key in item_keys}
        return [i for i, item_keys, line_start in found
                if line_start or any((kind, n + step) in keys for kind, n in item_keys for step in (-1, 1))]

    def list_lines(self, doc: Doc, lines: "_Lines", k: int) -> bool:
        """Whether the newline between line ``k`` and line ``k + 1`` parts two lines of a list or a heading
        from its first item: both short (``line_words`` words at most), neither with a sentence end inside
        it, the first not ending in a joining word, the second starting as a sentence or an item does.
        Wrapped prose fails one of these ("…Northwind Outdoor\nSupplies. Every order ships…")."""
        if not all(lines.short(line, self.line_words) for line in (k, k + 1)):
            return False
        last, nxt = doc[lines.end[k] - 1], doc[lines.first[k + 1]]
        return (last.text.lower() not in CONTINUES
                and (nxt.text[:1].isupper() or nxt.text[:1].isdigit() or nxt.is_punct or nxt.is_currency))

    def to_disk(self, path, *, exclude=()):  # stateless: nothing to save
        return None

    def from_disk(self, path, *, exclude=()):
        return self


class _Lines:
    """A Doc's lines between its newline tokens: each line's first and after-last non-space token, its
    word count and whether a sentence ends inside it, from arrays spaCy fills in C."""

    STOPS = (".", "!", "?", "…")

    def __init__(self, doc: Doc, breaks: list[int]) -> None:
        arr = doc.to_array([IS_SPACE, IS_PUNCT, ORTH])
        space, punct = arr[:, 0].astype(bool), arr[:, 1].astype(bool)
        stop = np.isin(arr[:, 2], [doc.vocab.strings.add(s) for s in self.STOPS])
        words = np.concatenate([[0], np.cumsum(~space & ~punct)])
        stops = np.concatenate([[0], np.cumsum(stop)])
        self.first, self.end, self.words, self.inner_stop = [], [], [], []
        for a, b in zip([0, *(i + 1 for i in breaks)], [*breaks, len(doc)]):
            while a < b and space[a]:
                a += 1
            while b > a and space[b - 1]:
                b -= 1
            self.first.append(a)
            self.end.append(b)
            self.words.append(int(words[b] - words[a]))
            inner = int(stops[b - 1] - stops[a]) if b - a > 1 else 0  # the line's last token may end it
            if inner and b - a > 2 and stop[a + 1] and doc[a].text.isdigit():
                inner -= 1  # "2. Cancel anytime": a numbered item's mark, not a sentence's end
            self.inner_stop.append(inner > 0)

    def short(self, k: int, most: int) -> bool:
        return 0 < self.words[k] <= most and not self.inner_stop[k]


def line_breaks(space: str, paragraph: int) -> int:
    """The line breaks in a run of white space: newlines and line separators (U+2028), or the carriage returns
    of a run without a newline (old Mac text; "\\r\\r\\n", Windows text converted twice, is one break), and
    ``paragraph`` for each paragraph separator (U+2029, Word's), which ends a paragraph as a blank line does: a
    sentence ran on across it. A form feed is white space only: a PDF's page break falls mid-sentence as often."""
    lines = space.count("\n") + space.count("\u2028")
    if not lines:
        lines = space.count("\r")
    return lines + paragraph * space.count("\u2029")


def paragraph_ids(doc: Doc, min_newlines: int = 2) -> list[int]:
    """The paragraph number of each sentence: a blank line between two sentences starts a new one."""
    ids: list[int] = []
    current, prev_end = 0, None
    text = doc.text  # built from the tokens on every access: once, not once per sentence
    for sent in doc.sents:
        raw = sent.text
        start = sent.start_char + (len(raw) - len(raw.lstrip()))
        if prev_end is not None and line_breaks(text[prev_end:start], min_newlines) >= min_newlines:
            current += 1
        ids.append(current)
        prev_end = sent.start_char + len(raw.rstrip())
    return ids
