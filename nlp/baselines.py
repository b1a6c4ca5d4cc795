"""The peer every perspective model must beat: counting pronouns (we/our vs you/I/my)."""
from __future__ import annotations

import re

from .perspective_features import WE, YOU, I

_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?")


def pronoun_words(text: str) -> list[str]:
    """Lower-case words with contractions cut at the apostrophe: "we're" → "we", "I’ll" → "i"."""
    return [w.replace("’", "'").split("'")[0] for w in _WORD.findall(text.lower())]


def pronoun_counts(text: str) -> tuple[int, int]:
    """(company pronouns, customer pronouns) in ``text``."""
    words = pronoun_words(text)
    return sum(w in WE for w in words), sum(w in YOU or w in I for w in words)


def pronoun_baseline(text: str, tie: str = "neutral") -> str:
    """company if we/our/us outnumber you/your/I/my/me, customer if fewer, else ``tie``."""
    we, them = pronoun_counts(text)
    if we > them:
        return "company"
    if them > we:
        return "customer"
    return tie


_PROMISE_WORDS = re.compile(r"\b(will|'ll|shall|guarantee[ds]?|promise[sd]?|commit(ted)?|always|never|free|"
                            r"24/7|money[- ]back)\b", re.I)


def keyword_promise_baseline(text: str) -> bool:
    """The usual first attempt: a modal verb or a commitment keyword means a promise."""
    return bool(_PROMISE_WORDS.search(text))
