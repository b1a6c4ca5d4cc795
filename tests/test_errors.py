"""nlp/errors.py: coded errors, one line each, with the CLI exit code."""
from __future__ import annotations

import sys

import pytest

from nlp import errors
from nlp.errors import ConfigError, InputError, LipserviceError, ModelMissingError, UsageError


@pytest.mark.parametrize("cls, code", [(LipserviceError, "E000"), (UsageError, "E100"), (InputError, "E110"),
                                       (ModelMissingError, "E200"), (ConfigError, "E300")])
def test_str_starts_with_the_code_in_brackets(cls, code):
    err = cls("something is wrong; fix it")
    assert str(err) == f"[{code}] something is wrong; fix it"
    assert str(err).startswith(f"[{err.code}] ")


@pytest.mark.parametrize("cls, exit_code", [(LipserviceError, 1), (UsageError, 2), (InputError, 2), (ConfigError, 2),
                                            (ModelMissingError, 3)])
def test_exit_codes(cls, exit_code):
    assert cls("x").exit_code == exit_code


def test_the_hierarchy():
    assert issubclass(InputError, UsageError) and issubclass(ConfigError, UsageError)
    assert issubclass(UsageError, LipserviceError) and issubclass(ModelMissingError, LipserviceError)
    assert not issubclass(ModelMissingError, UsageError)


def test_a_custom_code_overrides_the_default_for_that_error_only():
    err = InputError("a.csv: line 1: no 'text' column", code=errors.E_MISSING_COLUMN)
    assert err.code == "E115" and str(err) == "[E115] a.csv: line 1: no 'text' column"
    assert err.exit_code == 2
    assert InputError.code == "E110" and InputError("y").code == "E110"


def test_an_empty_code_keeps_the_default():
    assert ModelMissingError("m", code="").code == "E200"
    assert ModelMissingError("m", code=None).code == "E200"


def test_errors_can_be_caught_as_lipservice_errors_and_keep_the_message():
    with pytest.raises(LipserviceError) as info:
        raise ModelMissingError("no head", code=errors.E_NO_HEAD)
    assert info.value.args == ("no head",)
    assert str(info.value) == "[E203] no head"


def test_the_stable_codes_are_unique():
    codes = {name: value for name, value in vars(errors).items() if name.startswith("E_")}
    assert len(set(codes.values())) == len(codes)
    assert all(len(v) == 4 and v[0] == "E" and v[1:].isdigit() for v in codes.values())


def test_nothing_read_names_the_kinds_and_counts_its_rejects_in_good_english():
    one = errors.nothing_read({"review": 0}, 1)
    assert one.code == errors.E_EMPTY_FILE and one.exit_code == 2
    assert str(one).endswith("no review record could be read: the 1 rejected input is listed above; fix it and run again")
    assert "the 3 rejected inputs are listed above; fix them" in str(errors.nothing_read({"review": 0}, 3))
    assert errors.nothing_read({"review": 2}, 3) is None and errors.nothing_read({"review": 0}, 0) is None


def test_the_install_hint_names_the_installed_checkout_not_one_run_through_pythonpath(monkeypatch, tmp_path):
    installed = errors.editable_checkout()
    hint = errors.install_hint("dask")
    assert hint.startswith(f"{sys.executable} -m pip install -e ") and hint.endswith("[dask]'")
    if installed is not None:  # make test installs the project editable: the hint names that checkout
        assert f"{installed}[dask]" in hint
    monkeypatch.setattr(errors, "editable_checkout", lambda: tmp_path)  # a checkout without pyproject.toml
    assert errors.install_hint("serve").endswith("-m pip install 'lipservice[serve]'")
