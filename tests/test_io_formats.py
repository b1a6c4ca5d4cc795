"""nlp/io.py, the formats batch runs meet: gzip variants of every format, HTML pages read from files.

Same contract as tests/test_io.py: a bad record or a broken file is a Reject with a
position and a reason, never an exception, and records before a break are kept.
"""
from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from conftest import read
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_markup import PAGE

from nlp.errors import E_CORRUPT, E_EMPTY_TEXT, E_TOO_LARGE
from nlp.io import check_inputs, format_of
from nlp.records import ReadOptions, Record, Reject

LINES = [{"id": f"r{i}", "text": f"Review number {i}: the parcel came late."} for i in range(50)]


def jsonl_bytes(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_format_of_sees_through_gz():
    assert format_of(Path("a/page.HTML.gz")) == (".html", True)
    assert format_of(Path("x.jsonl")) == (".jsonl", False)
    assert format_of(Path("x.gz")) == ("", True)


@pytest.mark.parametrize("name,data", [
    ("r.jsonl", jsonl_bytes(LINES[:3])),
    ("r.csv", b"id,text\nr0,Review number 0: the parcel came late.\nr1,Review number 1: the parcel came late.\n"),
    ("r.txt", b"The parcel came late.\n\nNobody called."),
    ("r.md", b"# Title\n\nThe parcel came late."),
    ("r.html", b"<html><body><p>The parcel came late and nobody called us about it.</p></body></html>"),
])
def test_gzipped_file_reads_like_the_plain_one(tmp_path, name, data):
    plain = tmp_path / name
    plain.write_bytes(data)
    packed = tmp_path / (name + ".gz")
    packed.write_bytes(gzip.compress(data))
    check_inputs([str(packed)], ReadOptions())
    a, b = read(plain), read(packed)
    assert [(r.id.replace(str(plain), "X"), r.text) for r in a] == [(r.id.replace(str(packed), "X"), r.text) for r in b]
    assert all(isinstance(r, Record) for r in b)


def test_truncated_gzip_keeps_records_before_the_break(tmp_path):
    import random

    rng = random.Random(1)
    rows = [{"id": f"r{i}", "text": " ".join(rng.choice(["late", "parcel", "refund", "rude", "app", "bill", "fee"])
                                             for _ in range(20))} for i in range(5000)]
    data = gzip.compress(jsonl_bytes(rows))
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(data[: len(data) * 2 // 3])
    items = read(p)
    recs = [i for i in items if isinstance(i, Record)]
    rejects = [i for i in items if isinstance(i, Reject)]
    assert 1000 < len(recs) < len(rows)
    assert [r.id for r in recs] == [f"r{i}" for i in range(len(recs))]
    assert len(rejects) >= 1
    last = rejects[-1]
    assert last.code == E_CORRUPT and "gzip" in last.reason and last.position.startswith("after line")


def test_small_truncated_gzip_keeps_the_records_before_the_break(tmp_path):
    """A stream that breaks within its first 64 KiB lost every record: the break was met while the
    format was sniffed, before any record was read, though the reject said they were kept."""
    rows = [{"id": f"g{i}", "text": f"Record {i}. We refund you."} for i in range(400)]
    data = gzip.compress(jsonl_bytes(rows))
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(data[:-30])
    items = read(p)
    recs = [i for i in items if isinstance(i, Record)]
    assert [r.id for r in recs] == [f"g{i}" for i in range(len(recs))] and len(recs) >= 390
    assert items[-1].code == E_CORRUPT and items[-1].position == f"after line {len(recs)}"


def test_gzip_with_trailing_garbage_keeps_its_whole_records(tmp_path):
    p = tmp_path / "tail.csv.gz"
    p.write_bytes(gzip.compress(b"id,text\nt1,We refund you.\n") + b"garbage!")
    items = read(p)
    assert [i.id for i in items if isinstance(i, Record)] == ["t1"]
    assert items[-1].code == E_CORRUPT and "records before this point were kept" in items[-1].reason


def test_not_gzip_at_all_is_one_reject(tmp_path):
    p = tmp_path / "fake.txt.gz"
    p.write_bytes(b"this is not gzip data")
    [r] = read(p)
    assert isinstance(r, Reject) and r.code == E_CORRUPT and r.position == "file"


def test_gzip_bomb_is_rejected_by_size(tmp_path):
    p = tmp_path / "big.txt.gz"
    p.write_bytes(gzip.compress(b"a" * 5000))
    [r] = read(p, ReadOptions(max_chars=100))
    assert isinstance(r, Reject) and r.code == E_TOO_LARGE


def test_html_file_keeps_title_and_url_in_meta(tmp_path):
    p = tmp_path / "about.htm"
    p.write_text(PAGE)
    [r] = read(p)
    assert r.meta["url"] == "https://acme.example/about"


def test_html_markup_has_its_own_bound_and_the_text_is_held_to_max_chars(tmp_path):
    """A scraped page is mostly markup: one with an inline image over 4 bytes per allowed
    character is read for its text; only a page over max_html_bytes is rejected by size."""
    opts = ReadOptions(max_chars=1000, max_html_bytes=100_000)
    image = "<img src='data:image/png;base64," + "A" * 60_000 + "'>"
    page = tmp_path / "page.html"
    page.write_text(PAGE.replace("</article>", image + "</article>"))
    [r] = read(page, opts)
    assert isinstance(r, Record) and "We deliver your parcels" in r.text
    page.write_text(PAGE.replace("</article>", image * 2 + "</article>"))
    [r] = read(page, opts)
    assert r.code == E_TOO_LARGE and "limit of 100,000 bytes for an HTML page" in r.reason
    assert "lipservice.max_html_bytes" in r.reason
    wordy = tmp_path / "wordy.html"
    wordy.write_text("<html><body>" + "<p>We answer every call within two minutes.</p>" * 40 + "</body></html>")
    [r] = read(wordy, opts)  # the text, not the markup, is over max_chars
    assert r.code == E_TOO_LARGE and "over the limit of 1,000 (raise lipservice.max_chars)" in r.reason


def test_html_with_no_text_is_rejected(tmp_path):
    p = tmp_path / "blank.html"
    p.write_text("<html><body><div><img src='a.png'></div></body></html>")
    [r] = read(p)
    assert isinstance(r, Reject) and r.code == E_EMPTY_TEXT and "HTML" in r.reason


EXTS = [".txt", ".md", ".html", ".jsonl", ".csv", ".parquet", ".txt.gz", ".jsonl.gz", ".csv.gz", ".parquet.gz"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), ext=st.sampled_from(EXTS), nul=st.booleans())
def test_fuzz_random_bytes_never_raise(data, ext, nul):
    if nul:
        data = data[:10] + b"\x00" + data[10:]
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / ("f" + ext)
        p.write_bytes(data)
        items = read(p)
    assert items, "every file yields at least one record or reject"
    for item in items:
        assert isinstance(item, (Record, Reject))
        if isinstance(item, Reject):
            assert item.reason and item.position and item.code


