"""The pronoun-counting baseline: small exact checks."""
from __future__ import annotations

import pytest

from nlp.baselines import pronoun_baseline, pronoun_counts


@pytest.mark.parametrize("text,counts", [
    ("We love our customers.", (2, 0)),
    ("You and I agree.", (0, 2)),
    ("Let us show you our range.", (2, 1)),
    ("My order never arrived, tell me why.", (0, 2)),
    ("Thank u for ur help", (0, 2)),
    ("I’m still waiting.", (0, 1)),  # curly apostrophe
    ("The store opens at nine.", (0, 0)),
    ("", (0, 0)),
    ("WE ARE HERE FOR YOU", (1, 1)),
    ("Users trust usability.", (0, 0)),  # 'us' only as a whole word
])
def test_pronoun_counts(text, counts):
    assert pronoun_counts(text) == counts


@pytest.mark.parametrize("text,label", [
    ("We are proud of our team.", "company"),
    ("You get your money back.", "customer"),
    ("I waited two hours.", "customer"),
    ("Terms and conditions apply.", "neutral"),
    ("We thank you.", "neutral"),  # a tie
])
def test_pronoun_baseline(text, label):
    assert pronoun_baseline(text) == label


def test_tie_label_is_configurable():
    assert pronoun_baseline("We thank you.", tie="company") == "company"
    assert pronoun_baseline("No pronouns here.", tie="customer") == "customer"


def test_contracted_we_and_you_are_counted():
    assert pronoun_counts("We're here and you're welcome.") == (1, 1)
    assert pronoun_baseline("We’ve been trusted since 1990.") == "company"
