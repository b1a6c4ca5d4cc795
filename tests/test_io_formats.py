"""nlp/io.py, the formats batch runs meet: gzip variants, Parquet, HTML through trafilatura.

Same contract as tests/test_io.py: a bad record or a broken file is a Reject with a
position and a reason, never an exception, and records before a break are kept.
"""
from __future__ import annotations

import datetime
import gzip
import json
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.errors import E_CORRUPT, E_EMPTY_TEXT, E_MISSING_COLUMN, E_TOO_LARGE
from nlp.io import (
    ReadOptions,
    Record,
    Reject,
    check_inputs,
    extract_html,
    format_of,
    line_limit,
    parquet_batch_rows,
    read_inputs,
)

LINES = [{"id": f"r{i}", "text": f"Review number {i}: the parcel came late."} for i in range(50)]


def jsonl_bytes(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def read(path, opts=None):
    return list(read_inputs([str(path)], opts))


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


def test_small_truncated_gzip_is_one_reject(tmp_path):
    data = gzip.compress(jsonl_bytes(LINES))
    p = tmp_path / "cut.jsonl.gz"
    p.write_bytes(data[: len(data) // 2])
    items = read(p)
    assert isinstance(items[-1], Reject) and items[-1].code == E_CORRUPT


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


def write_parquet(path, table):
    pq.write_table(table, path)
    return path


def test_parquet_rows_become_records_with_meta(tmp_path):
    t = pa.table({"id": ["a", None], "text": ["We refund you in 48 hours.", "Late again."],
                  "kind": ["company", "review"],
                  "when": [datetime.datetime(2024, 5, 1, 12, 0), datetime.datetime(2024, 6, 2)],
                  "rating": [5, 1]})
    p = write_parquet(tmp_path / "d.parquet", t)
    a, b = read(p)
    assert (a.id, a.kind, a.text, a.position) == ("a", "company", "We refund you in 48 hours.", "row 1")
    assert b.id == f"{p}:2" and b.kind == "review"
    assert a.meta == {"when": "2024-05-01 12:00:00", "rating": 5}
    json.dumps(a.meta)  # JSON-safe whatever Parquet carried


def test_parquet_mapped_fields_and_bad_rows(tmp_path):
    t = pa.table({"doc": ["x", "y", "z"], "body": ["Fine text here.", None, "   "]})
    p = write_parquet(tmp_path / "m.parquet", t)
    items = read(p, ReadOptions(id_field="doc", text_field="body"))
    assert isinstance(items[0], Record) and items[0].id == "x"
    assert isinstance(items[1], Reject) and items[1].position == "row 2"
    assert isinstance(items[2], Reject) and items[2].code == E_EMPTY_TEXT


def test_parquet_without_text_column_is_a_reject_naming_the_columns(tmp_path):
    p = write_parquet(tmp_path / "n.parquet", pa.table({"id": ["a"], "body": ["x"]}))
    [r] = read(p)
    assert r.code == E_MISSING_COLUMN and "body" in r.reason and "--text-field" in r.reason


def test_parquet_without_text_column_is_a_usage_error_before_any_work(tmp_path):
    from nlp.errors import InputError

    p = write_parquet(tmp_path / "n.parquet", pa.table({"id": ["a"], "body": ["x"]}))
    with pytest.raises(InputError) as e:
        check_inputs([str(p)], ReadOptions())
    assert e.value.code == E_MISSING_COLUMN and "(columns: id, body)" in str(e.value)
    check_inputs([str(p)], ReadOptions(text_field="body"))


def test_parquet_strings_stored_as_plain_binary_are_read_as_utf8(tmp_path):
    # older Hive and Impala write strings as BINARY without the UTF8 annotation: all of them were rejected
    t = pa.table({"rid": pa.array([b"1", b"2", b"3"], pa.binary()),
                  "body": pa.array([b"We care.", "Caf\xe9.".encode("latin-1"), "Caf\u00e9 refund.".encode()], pa.binary()),
                  "blob": pa.array([b"\xff\x00", b"ok", b"x"], pa.binary())})
    p = write_parquet(tmp_path / "b.parquet", t)
    items = read(p, ReadOptions(id_field="rid", text_field="body"))
    assert [(r.id, r.text, r.meta) for r in items if isinstance(r, Record)] == [
        ("1", "We care.", {"blob": "b'\\xff\\x00'"}), ("3", "Caf\u00e9 refund.", {"blob": "x"})]
    [bad] = [r for r in items if isinstance(r, Reject)]
    assert bad.position == "row 2" and "binary data that is not UTF-8 text" in bad.reason


def test_corrupt_parquet_is_a_reject(tmp_path):
    p = tmp_path / "c.parquet"
    p.write_bytes(b"PAR1 definitely not parquet")
    [r] = read(p)
    assert r.code == E_CORRUPT and r.position == "file"


def test_gzipped_parquet(tmp_path):
    p = write_parquet(tmp_path / "g.parquet", pa.table({"text": ["One.", "Two."]}))
    gz = tmp_path / "g.parquet.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    assert [r.text for r in read(gz)] == ["One.", "Two."]


PAGE = ("<html><head><title>Acme | About</title><link rel='canonical' href='https://acme.example/about'></head>"
        "<body><nav><a href='/'>Home</a> | <a href='/shop'>Shop</a> | <a href='/contact'>Contact</a></nav>"
        "<article><h1>About us</h1><p>We deliver your parcels within 24 hours, or your money back. Our drivers "
        "call you 30 minutes before they arrive, so you never wait at home all day.</p><p>Customers come first "
        "at Acme, and we mean it: every call is answered by a person within two minutes, every day.</p></article>"
        "<footer>Copyright 2024 Acme Ltd. All rights reserved. Privacy | Terms | Cookies</footer></body></html>")


def test_html_main_text_without_navigation_and_footer_and_page_meta():
    text, meta = extract_html(PAGE)
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "About us"
    assert any(p.startswith("We deliver your parcels") for p in paragraphs)
    assert "Copyright" not in text and "Contact" not in text
    assert meta["url"] == "https://acme.example/about"
    assert meta["title"]
    assert "filedate" not in meta  # today's date would make runs differ


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


def test_a_page_of_far_too_much_text_is_not_given_to_trafilatura(monkeypatch):
    import trafilatura

    def refuse(*args, **kwargs):
        raise AssertionError("trafilatura was called")

    monkeypatch.setattr(trafilatura, "bare_extraction", refuse)
    text, meta = extract_html("<p>" + "word " * 500 + "</p>", max_chars=1000)
    assert len(text) > 2000 and meta == {}


def test_main_paragraphs_match_lines_exactly_and_search_the_rest_within_a_budget(monkeypatch):
    from nlp import io as nio

    main_text = "About us\nWe deliver within 24 hours. Our drivers call ahead."
    main = " ".join(main_text.split())
    paragraphs = ["Home | Shop", "About us", "We deliver within 24 hours.", "Our drivers call ahead."]
    assert nio._main_paragraphs(paragraphs, main_text, main) == paragraphs[1:]  # parts of a line are found
    monkeypatch.setattr(nio, "SEARCH_BUDGET", 0)
    assert nio._main_paragraphs(paragraphs, main_text, main) == ["About us"]  # exact lines need no search


HIDDEN_PARTS = ["<p>a</p>", "<noscript>", "</noscript>", "<NOSCRIPT >", "</noscript >", "<template>",
                "</template>", "<noscripts>", "text", "</TEMPLATE>"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(HIDDEN_PARTS), max_size=14))
def test_drop_hidden_removes_what_the_lazy_regex_removed(parts):
    """The linear scan gives what ``<(noscript|template)\\b.*?</\\1\\s*>`` gave, unclosed tags included."""
    import re

    from nlp.io import drop_hidden

    markup = "".join(parts)
    assert drop_hidden(markup) == re.sub(r"<(noscript|template)\b.*?</\1\s*>", "", markup, flags=re.S | re.I)


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


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.text(max_size=40), st.text(max_size=200)), min_size=1, max_size=8),
       cut=st.integers(min_value=0, max_value=400))
def test_fuzz_csv_with_quotes_and_newlines_and_truncated_gzip(rows, cut):
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "text"])
    w.writerows(rows)
    raw = buf.getvalue().encode("utf-8", "surrogatepass")
    packed = gzip.compress(raw)
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "f.csv.gz"
        full.write_bytes(packed)
        items = read(full)  # rows whose cells are all blank are blank lines, not records
        assert all(isinstance(i, (Record, Reject)) for i in items)
        assert len([i for i in items if isinstance(i, Record)]) <= len(rows)
        cut_file = Path(tmp) / "c.csv.gz"
        cut_file.write_bytes(packed[:cut])
        for item in read(cut_file):
            assert isinstance(item, (Record, Reject))


def test_parquet_batches_shrink_with_row_size(tmp_path):
    short = pq.ParquetFile(write_parquet(tmp_path / "s.parquet", pa.table({"text": ["Short row."] * 50})))
    long = pq.ParquetFile(write_parquet(tmp_path / "l.parquet", pa.table({"text": [c * 2**21 for c in "xyz"]})))
    assert parquet_batch_rows(short.metadata) == 1024
    assert 30 <= parquet_batch_rows(long.metadata) <= 32  # 64 MiB of 2 MiB rows and their encoding
    assert parquet_batch_rows(long.metadata, budget=1) == 1


def test_parquet_cells_too_long_are_rejects_and_their_neighbours_are_kept(tmp_path):
    """A text over max_chars, or a row whose cells pass the byte bound a JSONL line has, is a reject
    found from Arrow's lengths; the rows around it, in the same batch, stay records in order."""
    opts = ReadOptions(max_chars=100)
    big_meta = "m" * (line_limit(100) + 1)
    t = pa.table({"id": ["a", "b", "c", "d"], "text": ["Fine.", "y" * 101, "Also fine.", "Fine too."],
                  "html": [None, None, None, big_meta]})
    items = read(write_parquet(tmp_path / "big.parquet", t), opts)
    assert [type(x).__name__ for x in items] == ["Record", "Reject", "Record", "Reject"]
    assert [x.position for x in items] == ["row 1", "row 2", "row 3", "row 4"]
    assert items[1].code == E_TOO_LARGE and "text is 101 characters, over the limit of 100" in items[1].reason
    assert items[3].code == E_TOO_LARGE and f"row is {len('d' + 'Fine too.' + big_meta):,} bytes" in items[3].reason
    assert [items[0].text, items[2].text] == ["Fine.", "Also fine."]


def test_unreadable_parquet_row_group_is_one_reject_and_the_next_groups_are_read(tmp_path):
    t = pa.table({"id": [f"r{i}" for i in range(6)], "text": [f"Row {i} came late." for i in range(6)]})
    p = tmp_path / "broken.parquet"
    pq.write_table(t, p, row_group_size=2)
    chunk = pq.ParquetFile(p).metadata.row_group(1).column(1)
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data = bytearray(p.read_bytes())
    data[start:start + chunk.total_compressed_size] = b"\xff" * chunk.total_compressed_size
    p.write_bytes(bytes(data))
    items = read(p)
    assert [x.id for x in items if isinstance(x, Record)] == ["r0", "r1", "r4", "r5"]
    [bad] = [x for x in items if isinstance(x, Reject)]
    assert bad.code == E_CORRUPT and bad.position == "rows 3-4" and "row group 2" in bad.reason
    assert "\n" not in bad.reason
