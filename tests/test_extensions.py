"""nlp/extensions.py: the single list of Doc/Span extensions, installed idempotently."""
from __future__ import annotations

import spacy
from spacy.tokens import Doc, Span

from nlp.extensions import EXTENSIONS, install_extensions


def test_install_twice_is_harmless():
    install_extensions()
    install_extensions()
    for obj, name, _ in EXTENSIONS:
        assert obj.has_extension(name)


def test_every_extension_exists_with_its_default():
    install_extensions()
    doc = spacy.blank("en")("We value you. You get a refund.")
    span = doc[0:3]
    for obj, name, default in EXTENSIONS:
        assert obj in (Doc, Span)
        target = doc if obj is Doc else span
        assert getattr(target._, name) == default


def test_names_are_unique_per_object():
    keys = [(obj, name) for obj, name, _ in EXTENSIONS]
    assert len(keys) == len(set(keys))


def test_an_extension_set_elsewhere_is_left_alone():
    """Reinstalling does not reset an extension another part of the program already declared."""
    install_extensions()
    obj, name, _ = EXTENSIONS[0]
    before = obj.get_extension(name)
    install_extensions()
    assert obj.get_extension(name) == before


def test_an_extension_other_code_registered_under_a_lipservice_name_is_refused():
    """Doc.set_extension("complaint_rate", getter=...) before loading hid lipservice's value in silence."""
    import pytest

    from nlp.errors import ConfigError

    install_extensions()
    Doc.remove_extension("complaint_rate")
    Doc.set_extension("complaint_rate", getter=lambda doc: 42)
    try:
        with pytest.raises(ConfigError, match=r"Doc._.complaint_rate is registered already, by other code, with a "
                                              r"getter.*Doc.remove_extension\('complaint_rate'\)"):
            install_extensions()
    finally:
        Doc.remove_extension("complaint_rate")
        install_extensions()
    assert Doc.get_extension("complaint_rate") == (None, None, None, None)
