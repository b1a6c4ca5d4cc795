"""A faster run of the base model's attribute ruler, with the same result.

spaCy's ``attribute_ruler`` (tag map, morph rules and exceptions: 179 rules in
en_core_web_sm) runs every rule through a ``Matcher``, and a few rules with ``IN``,
``NOT_IN`` and ``REGEX`` predicates are checked in Python on every token: it costs more
than the parser. Almost all rules look at one token's ``TAG``, ``LOWER``, ``DEP`` and
``IS_SPACE`` only, so their outcome is a function of those four values: it is computed once
per distinct combination and remembered. The few other rules (two-token exceptions such as
"gon na") stay with a ``Matcher``. Matches are returned in the ruler's own order, and the
ruler applies them itself, so the annotations are the same (checked by the tests).
"""
from __future__ import annotations

import logging
import re
from typing import Any

from spacy.attrs import DEP, IS_SPACE, LOWER, TAG
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

log = logging.getLogger(__name__)

#: The token attributes a rule may test to be decided per distinct token.
TOKEN_KEYS = ("TAG", "LOWER", "DEP", "IS_SPACE")
OPERATORS = ("IN", "NOT_IN", "REGEX")
#: Distinct (tag, lower, dep, is_space) combinations remembered; the memo restarts past this.
MEMO_SIZE = 200_000


def _is_token_rule(patterns: list[list[dict[str, Any]]]) -> bool:
    """One token per pattern, testing only TOKEN_KEYS by value or by IN / NOT_IN / REGEX."""
    for pattern in patterns:
        if len(pattern) != 1:
            return False
        for key, pred in pattern[0].items():
            if key not in TOKEN_KEYS:
                return False
            if isinstance(pred, dict) and (len(pred) != 1 or next(iter(pred)) not in OPERATORS):
                return False
    return True


def _required(alternatives: list[dict[str, Any]], key: str) -> str | None:
    """The one plain value every alternative requires for ``key``, if there is one."""
    values = [alt.get(key) for alt in alternatives]
    if all(isinstance(v, str) for v in values) and len(set(values)) == 1:
        return values[0]
    return None


def _holds(pred: Any, value: str | bool) -> bool:
    if not isinstance(pred, dict):
        return value == pred
    op, arg = next(iter(pred.items()))
    if op == "IN":
        return value in arg
    if op == "NOT_IN":
        return value not in arg
    return re.search(arg, value) is not None  # REGEX, as the Matcher does it


class FastAttributeMatch:
    """Stands in for ``AttributeRuler.match``: same matches, same order."""

    def __init__(self, ruler: Any) -> None:
        self.strings = ruler.vocab.strings
        self.token_rules: list[tuple[int, int, list[dict[str, Any]]]] = []
        self.other = Matcher(ruler.vocab, validate=False)
        # Rules indexed by the TAG (else the LOWER) value all their alternatives require, so a new
        # token is checked against a handful of rules instead of all of them.
        self.by_tag: dict[str, list] = {}
        self.by_lower: dict[str, list] = {}
        self.anywhere: list = []
        for attr_id, rule in enumerate(ruler.patterns):
            key = str(attr_id)
            if not _is_token_rule(rule["patterns"]):
                self.other.add(key, rule["patterns"])
                continue
            entry = (attr_id, self.strings.add(key), [p[0] for p in rule["patterns"]])
            self.token_rules.append(entry)
            tag, lower = _required(entry[2], "TAG"), _required(entry[2], "LOWER")
            if tag is not None:
                self.by_tag.setdefault(tag, []).append(entry)
            elif lower is not None:
                self.by_lower.setdefault(lower, []).append(entry)
            else:
                self.anywhere.append(entry)
        self.memo: dict[tuple[int, int, int, int], tuple[tuple[int, int], ...]] = {}

    def _rules_for(self, row: tuple[int, int, int, int], strings: Any) -> tuple[tuple[int, int], ...]:
        tag, lower, dep, space = row
        values = {"TAG": strings[tag] if tag else "", "LOWER": strings[lower] if lower else "",
                  "DEP": strings[dep] if dep else "", "IS_SPACE": bool(space)}
        candidates = (self.by_tag.get(values["TAG"], []) + self.by_lower.get(values["LOWER"], [])
                      + self.anywhere)
        hits = tuple((attr_id, match_id) for attr_id, match_id, alternatives in candidates
                     if any(all(_holds(pred, values[k]) for k, pred in alt.items()) for alt in alternatives))
        if len(self.memo) >= MEMO_SIZE:
            self.memo.clear()
        self.memo[row] = hits
        return hits

    def __call__(self, doc: Doc) -> list[tuple[int, int, int, int]]:
        matches = []
        memo = self.memo
        for i, row in enumerate(map(tuple, doc.to_array([TAG, LOWER, DEP, IS_SPACE]).tolist())):
            hits = memo.get(row)
            if hits is None:
                hits = self._rules_for(row, doc.vocab.strings)
            matches += [(attr_id, match_id, i, i + 1) for attr_id, match_id in hits]
        if len(self.other):
            matches += [(int(self.strings[m_id]), m_id, s, e)
                        for m_id, s, e in self.other(doc, allow_missing=True, as_spans=False)]
        matches.sort()
        return matches


def speed_up_attribute_ruler(nlp: Language, name: str = "attribute_ruler") -> bool:
    """Give the pipeline's attribute ruler the fast ``match``; False when there is none to speed up."""
    if name not in nlp.component_names:
        return False
    ruler = nlp.get_pipe(name)
    if not hasattr(ruler, "patterns") or not hasattr(ruler, "match"):
        return False
    ruler.match = FastAttributeMatch(ruler)
    log.debug("attribute ruler: %d rules decided per token, %d by a Matcher",
              len(ruler.match.token_rules), len(ruler.match.other))
    return True

