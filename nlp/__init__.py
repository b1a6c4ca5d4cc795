"""lipservice: who speaks in customer-centric text, and whether the customer is really at the centre.

Quick use::

    import nlp
    pipeline = nlp.load()
    doc = pipeline("We are the leading provider. You get your money back in 48 hours.")
    [(s.text, s._.perspective) for s in doc.sents]
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

__version__ = "0.1.0"

__all__ = ["load", "__version__"]


def load(config_path: str | os.PathLike | None = None, overrides: dict[str, Any] | None = None) -> "Language":
    """The lipservice spaCy pipeline, built from the packaged config (or ``config_path``).

    ``overrides`` takes dotted keys, as ``--set`` does: ``{"components.claims.threshold": 0.6}``; a relative
    path among them (``{"paths.models": "mine"}``) is read from the working directory, as ``--set`` reads it
    and as ``open`` would, not from the project's root.
    """
    from collections.abc import Mapping

    from .pipeline import build_nlp, dotted, load_config, paths_from_here

    if isinstance(overrides, Mapping):  # anything else gets load_config's own message
        overrides = paths_from_here(dotted(overrides))
    return build_nlp(load_config(config_path, overrides))
