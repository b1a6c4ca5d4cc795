"""Shared fixtures: the real spaCy model and the real encoder, loaded once per test session."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def cfg():
    from nlp.pipeline import load_config

    return load_config()


@pytest.fixture(scope="session")
def nlp(cfg):
    """The full lipservice pipeline as shipped (real models, shipped heads)."""
    from nlp.pipeline import build_nlp

    return build_nlp(cfg)


@pytest.fixture(scope="session")
def encoder(nlp):
    return nlp.get_pipe("perspective").encoder


def doc_before(nlp, component: str, text: str):
    """``text`` through every pipe before ``component`` (what it needs), but not through it."""
    doc = nlp.make_doc(text)
    for name, proc in nlp.pipeline:
        if name == component:
            break
        doc = proc(doc)
    return doc
