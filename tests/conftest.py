"""Shared fixtures: the real spaCy model and the real encoder, loaded once per test session."""
from __future__ import annotations

import os
import re

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIFTY_MB = 50 * 1024 * 1024
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def invoke(args: list, input: str | bytes | None = None):
    """The CLI run in this process (a usage error costs no interpreter start, about 3 s a run): anything but a
    clean exit is an unhandled exception, i.e. a traceback for the user."""
    from typer.testing import CliRunner

    from nlp.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    return result


def stderr_lines(result) -> list[str]:
    return [ANSI.sub("", line) for line in result.stderr.splitlines() if line.strip()]


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


def write(tmp_path, name: str, data: bytes | str) -> str:
    """A file of ``data`` (text as UTF-8) in ``tmp_path``; its path as the readers take it."""
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(p)


def read(path, opts=None) -> list:
    """Every record and reject the readers yield for one file."""
    from nlp.io import read_inputs

    return list(read_inputs([str(path)], opts))


def records(items) -> list:
    from nlp.records import Record

    return [i for i in items if isinstance(i, Record)]


def rejects(items) -> list:
    from nlp.records import Reject

    return [i for i in items if isinstance(i, Reject)]


def assert_reject(item, source: str, position: str, code: str, reason_has: str = ""):
    """``item`` is a reject of ``source`` at ``position`` with ``code``, and prints as one line."""
    from nlp.records import Reject, describe_position

    assert isinstance(item, Reject), item
    assert item.source == source
    assert item.position == position
    assert item.code == code
    assert item.reason.strip()
    assert reason_has.lower() in item.reason.lower()
    # the one-line form printed to the terminal names file, position and reason
    line = describe_position(item)
    assert line == f"{source}: {position}: {item.reason}"
    assert "\n" not in line
    assert set(item.to_json()) >= {"source", "position", "reason"}
    return item
