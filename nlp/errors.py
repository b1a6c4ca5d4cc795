"""Coded, actionable errors: each says what was wrong, what is allowed, and the fix."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path


class LipserviceError(Exception):
    """Base class. ``code`` is stable (E001...), ``exit_code`` is what the CLI returns."""

    code = "E000"
    exit_code = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        if code:
            self.code = code
        super().__init__(message)

    def __str__(self) -> str:  # one line, prefixed with the code
        return f"[{self.code}] {super().__str__()}"


class UsageError(LipserviceError):
    """The user asked for something that cannot work (bad file, bad option). Exit 2."""

    code = "E100"
    exit_code = 2


class InputError(UsageError):
    """An input file as a whole cannot be read. Exit 2."""

    code = "E110"


class ModelMissingError(LipserviceError):
    """A model package or model file is not installed. Exit 3."""

    code = "E200"
    exit_code = 3


class ConfigError(UsageError):
    """config.cfg or an override has a bad value."""

    code = "E300"


# Stable error codes used across the package (kept in one place so docs can list them).
E_EMPTY_FILE = "E111"
E_BINARY = "E112"
E_ENCODING = "E113"
E_TOO_LARGE = "E114"
E_MISSING_COLUMN = "E115"
E_BAD_JSON = "E116"
E_UNKNOWN_EXT = "E117"
E_NOT_FOUND = "E118"
E_EMPTY_TEXT = "E119"
E_BAD_FIELD = "E120"
E_CORRUPT = "E121"
E_LANGUAGE = "E122"
E_RESUME = "E123"
E_OUTPUT = "E124"
E_NO_MATCH = "E125"
E_MISSING_EXTRA = "E126"
E_IO = "E127"
E_STDIN_TWICE = "E128"
E_EMPTY_REQUEST = "E130"
E_TOO_MANY = "E131"
E_BAD_REQUEST = "E132"
E_PORT = "E133"
E_ADDRESS = "E134"
E_NO_SPACY_MODEL = "E201"
E_NO_ENCODER = "E202"
E_NO_HEAD = "E203"
E_BAD_HEAD = "E204"
E_BAD_LABELS = "E301"
E_BAD_TASK = "E302"
E_BAD_SETTING = "E303"
E_MISSING_SETTING = "E304"
E_NEEDS_INPUT = "E305"


def nothing_read(annotated: dict[str, int], rejected: int, where: str = "listed above") -> UsageError | None:
    """E111 when every record of a kind the report needs was rejected, else None: the report (0 reviews, a
    gap score of n/a) is still written, but a script must not take it for a result."""
    none = [kind for kind, n in annotated.items() if not n]
    if not (none and rejected):
        return None
    return UsageError(f"no {' and no '.join(none)} record could be read: the {rejected} rejected "
                      f"input{'s are' if rejected != 1 else ' is'} {where}; fix {'them' if rejected != 1 else 'it'} and run again",
                      code=E_EMPTY_FILE)


def install_hint(extra: str) -> str:
    """The command that installs the optional part ``extra`` into the Python running lipservice: from the
    checkout installed there (``pip install 'lipservice[...]'`` would look for it on a package index, which a
    machine that installed from a clone may not reach), else from the checkout it runs from, else as the package.
    A checkout run through PYTHONPATH is not named when another one is installed: that would repoint the install."""
    root = editable_checkout() or Path(__file__).resolve().parent.parent
    target = f"-e {shlex.quote(f'{root}[{extra}]')}" if (root / "pyproject.toml").is_file() else \
        shlex.quote(f"lipservice[{extra}]")
    return f"{shlex.quote(sys.executable)} -m pip install {target}"


def editable_checkout() -> Path | None:
    """The checkout lipservice is installed from in editable mode into the running Python's site-packages (its
    ``direct_url.json``, PEP 610), or None."""
    import importlib.metadata
    import json
    import sysconfig
    from urllib.parse import unquote, urlparse

    for dist in importlib.metadata.distributions(name="lipservice", path=[sysconfig.get_paths()["purelib"]]):
        try:
            url = json.loads(dist.read_text("direct_url.json") or "{}")
        except ValueError:
            continue
        if url.get("dir_info", {}).get("editable") and str(url.get("url", "")).startswith("file://"):
            return Path(unquote(urlparse(url["url"]).path))
    return None
