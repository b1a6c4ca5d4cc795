"""nlp/parquet_files.py: Parquet rows into records in bounded batches; bad cells and row groups
are rejects and their neighbours are kept."""
from __future__ import annotations

import datetime
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import read

from nlp.decoding import line_limit
from nlp.errors import (
    E_CORRUPT,
    E_EMPTY_TEXT,
    E_MISSING_COLUMN,
    E_TOO_LARGE,
    InputError,
)
from nlp.io import check_inputs
from nlp.parquet_files import parquet_batch_rows
from nlp.records import ReadOptions, Record, Reject


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
        ("1", "We care.", {"blob": "\\xff\x00"}), ("3", "Caf\u00e9 refund.", {"blob": "x"})]  # as file names show bytes
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


def test_parquet_id_column_named_but_absent_and_nan_values_in_meta(tmp_path):
    p = write_parquet(tmp_path / "f.parquet", pa.table({"id": ["a"], "text": ["We care."], "ts": [float("nan")]}))
    with pytest.raises(InputError, match="no 'doc' column for the ids"):
        check_inputs([str(p)], ReadOptions(id_field="doc"))
    [r] = read(p)
    assert r.meta == {"ts": None}  # JSON has no NaN: a strict reader would refuse the output line
