"""nlp/json_files.py: JSON Lines and JSON files into records; a broken line or item is a reject
with its position, and reading goes on."""
from __future__ import annotations

import codecs
import json

import pytest
from conftest import FIFTY_MB, assert_reject, read, records, rejects, write

from nlp.decoding import line_limit
from nlp.errors import (
    E_BAD_JSON,
    E_EMPTY_TEXT,
    E_ENCODING,
    E_MISSING_COLUMN,
    E_TOO_LARGE,
)
from nlp.records import ReadOptions, Record, Reject

JSON_ROWS = [{"id": "a", "text": "We care."}, {"id": "b", "text": ""}, 5, {"text": "You get refunds."}]


def test_jsonl_maps_fields_and_keeps_the_rest_as_meta(tmp_path):
    lines = [{"id": "a1", "text": "We are proud.", "kind": "company", "url": "https://x", "stars": 2},
             {"id": 7, "text": "I waited two weeks.", "kind": "review"},
             {"text": "No id here."}]
    p = write(tmp_path, "docs.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    items = read(p)
    assert all(isinstance(i, Record) for i in items)
    a, b, c = items
    assert (a.id, a.text, a.kind, a.meta) == ("a1", "We are proud.", "company", {"url": "https://x", "stars": 2})
    assert (b.id, b.kind) == ("7", "review")  # ids are strings
    assert c.id == f"{p}:3" and c.kind == "auto"
    assert [i.position for i in items] == ["line 1", "line 2", "line 3"]
    assert all(i.source == p for i in items)


def test_jsonl_custom_id_text_kind_fields(tmp_path):
    lines = [{"doc": "d1", "body": "Your order ships today.", "type": "company", "text": "not this"},
             {"body": "I love it.", "id": "ignored"}]
    p = write(tmp_path, "custom.jsonl", "\n".join(json.dumps(x) for x in lines))
    opts = ReadOptions(id_field="doc", text_field="body", kind_field="type", default_kind="review")
    first, second = read(p, opts)
    assert (first.id, first.text, first.kind) == ("d1", "Your order ships today.", "company")
    assert first.meta == {"text": "not this"}
    assert (second.id, second.text, second.kind) == (f"{p}:2", "I love it.", "review")
    assert second.meta == {"id": "ignored"}


def test_jsonl_default_ids_are_file_colon_line_and_stable(tmp_path):
    # blank lines are skipped but still counted, so ids name the physical line
    p = write(tmp_path, "ids.jsonl", '{"text": "one"}\n\n{"text": "two"}\n   \n{"text": "three", "id": ""}\n')
    first = [r.id for r in read(p)]
    assert first == [f"{p}:1", f"{p}:3", f"{p}:5"]
    assert [r.id for r in read(p)] == first  # same file, same ids


def test_jsonl_broken_line_in_the_middle_is_a_reject_and_neighbours_survive(tmp_path):
    p = write(tmp_path, "broken.jsonl", '{"id": "a", "text": "Before."}\n{"id": "b", "text": "oops\n'
                                        '{"id": "c", "text": "After."}\n')
    before, bad, after = read(p)
    assert isinstance(before, Record) and before.text == "Before."
    assert_reject(bad, p, "line 2, column 21", E_BAD_JSON, "invalid json: unterminated string")
    assert "line 1" not in bad.reason  # the decoder's own position within the line is not repeated
    assert isinstance(after, Record) and after.text == "After." and after.id == "c"


@pytest.mark.parametrize("line, kind_name", [("[1, 2]", "an array"), ('"just a string"', "a string"),
                                             ("42", "a number"), ("null", "null"), ("true", "a boolean")])
def test_jsonl_line_that_is_not_an_object(tmp_path, line, kind_name):
    p = write(tmp_path, "notobj.jsonl", '{"text": "ok"}\n' + line + '\n{"text": "also ok"}\n')
    items = read(p)
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert_reject(items[1], p, "line 2", E_BAD_JSON, "not an object")
    assert items[1].reason.startswith(kind_name + ",")  # JSON's names for what the line holds, not Python's


def test_jsonl_record_giving_its_text_or_id_twice_is_a_reject_not_the_last_value(tmp_path):
    p = write(tmp_path, "twice.jsonl", '{"id": "a", "text": "We refund you.", "text": "Other."}\n'
                                       '{"id": "b", "text": "Says \\"text\\" twice: \\"text\\"."}\n'
                                       '{"id": "c", "id": "d", "text": "Ids twice."}\n'
                                       '{"id": "e", "meta": {"text": 1}, "text": "A nested text key."}\n')
    text_twice, quoted, id_twice, nested = read(p)
    assert_reject(text_twice, p, "line 1", E_BAD_JSON, "the field 'text' appears 2 times")
    assert_reject(id_twice, p, "line 3", E_BAD_JSON, "the field 'id' appears 2 times")
    assert quoted.id == "b" and nested.id == "e" and nested.meta == {"meta": {"text": 1}}
    escaped = write(tmp_path, "escaped.jsonl", '{"id": "a", "te\\u0078t": "Escaped.", "text": "Plain."}\n'
                                               '{"id": "u", "тест": "First.", "тест": "Second."}\n')
    assert_reject(read(escaped)[0], escaped, "line 1", E_BAD_JSON, "the field 'text' appears 2 times")
    assert_reject(read(escaped, ReadOptions(text_field="тест"))[1], escaped, "line 2", E_BAD_JSON,
                  "the field 'тест' appears 2 times")
    items = read(p, ReadOptions(text_field="body"))  # the field read is the one checked
    assert "'id' appears 2 times" in items[2].reason and all("'text'" not in getattr(i, "reason", "") for i in items)


def test_json_array_or_object_giving_a_record_text_twice_rejects_that_record(tmp_path):
    p = write(tmp_path, "twice.json", '[{"id": "a", "text": "One.", "text": "Two."},\n {"id": "b", "text": "Fine."},'
                                      ' 3, {"id": "c", "id": "d", "text": "x"}]')
    items = read(p)
    assert_reject(items[0], p, "[0]", E_BAD_JSON, "the field 'text' appears 2 times")
    assert items[1].id == "b" and "not an object" in items[2].reason
    assert_reject(items[3], p, "[3]", E_BAD_JSON, "the field 'id' appears 2 times")
    one = write(tmp_path, "one.json", '{"id": "a",\n "text": "One.",\n "text": "Two."}')
    assert_reject(read(one)[0], one, "file", E_BAD_JSON, "the field 'text' appears 2 times")


def test_jsonl_invalid_utf8_line_names_line_and_column(tmp_path):
    p = write(tmp_path, "enc.jsonl", b'{"text": "one"}\n{"text": "t\xe9st"}\n{"text": "three"}\n')
    one, bad, three = read(p)
    assert one.text == "one" and three.text == "three"
    assert_reject(bad, p, "line 2, column 12", E_ENCODING, "utf-8")


def test_jsonl_deeply_nested_line_is_a_reject(tmp_path):
    p = write(tmp_path, "deep.jsonl", '{"text": "ok"}\n' + "[" * 100_000 + '\n{"text": "after"}\n')
    items = read(p)
    assert [type(i) for i in items] == [Record, Reject, Record]


def test_jsonl_number_too_long_to_convert_is_a_plain_reject(tmp_path):
    p = write(tmp_path, "big.jsonl", '{"id": ' + "9" * 5000 + ', "text": "Hi."}\n{"id": 7, "text": "Ok."}\n')
    items = read(p)
    r = assert_reject(items[0], p, "line 1", E_BAD_JSON, "a number of 5,000 digits (at most 4,300)")
    assert "sys." not in r.reason  # no advice meant for programmers
    assert [(x.id, x.text) for x in records(items)] == [("7", "Ok.")]


def test_50mb_single_line_jsonl_is_rejected_for_size_and_reading_goes_on(tmp_path):
    p = tmp_path / "huge.jsonl"
    with p.open("wb") as fh:
        fh.write(b'{"id": "small", "text": "Before."}\n')
        fh.write(b'{"id": "huge", "text": "')
        fh.write(b"y" * FIFTY_MB)
        fh.write(b'"}\n')
        fh.write(b'{"id": "after", "text": "After."}\n')
    before, r, after = read(str(p))
    assert before.id == "small" and after.id == "after"
    assert_reject(r, str(p), "line 2", E_TOO_LARGE, "over the limit")
    line_bytes = len(b'{"id": "huge", "text": "') + FIFTY_MB + len(b'"}\n')
    assert f"line is {line_bytes:,} bytes" in r.reason  # the whole line's size, counted without holding it


def test_jsonl_line_over_the_line_limit_is_a_reject_and_reading_goes_on(tmp_path):
    p = tmp_path / "long.jsonl"
    p.write_bytes(b'{"text": "Before."}\n{"text": "' + b"y" * 2**21 + b'"}\n{"text": "After."}\n')
    before, r, after = read(str(p), ReadOptions(max_chars=10))  # line limit 12 * 10 + 1 MiB
    assert (before.text, after.text) == ("Before.", "After.")
    assert_reject(r, str(p), "line 2", E_TOO_LARGE, f"line is {2**21 + 13:,} bytes, over the limit")
    assert f"{line_limit(10):,}" in r.reason and "lipservice.max_chars" in r.reason


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_json_array_of_records_is_read_with_item_positions(tmp_path, encoding):
    p = write(tmp_path, "arr.json", json.dumps(JSON_ROWS, indent=2).encode(encoding))
    items = read(p)
    assert [(r.id, r.text) for r in records(items)] == [("a", "We care."), (f"{p}[3]", "You get refunds.")]
    assert [(r.position, r.code) for r in rejects(items)] == [("[1]", E_EMPTY_TEXT), ("[2]", E_BAD_JSON)]


def test_json_lines_named_json_are_read_as_json_lines(tmp_path):
    # BigQuery and others export newline-delimited JSON as .json
    p = write(tmp_path, "nd.json", "".join(json.dumps(r) + "\n" for r in JSON_ROWS if isinstance(r, dict)))
    assert [(r.position, getattr(r, "text", None)) for r in read(p)] == [
        ("line 1", "We care."), ("line 2", None), ("line 3", "You get refunds.")]


def test_json_lines_named_json_with_a_broken_first_line_lose_that_line_only(tmp_path):
    deep = '{"a": ' + "[" * 20000 + "]" * 20000 + "}"  # nested past Python's recursion: no traceback either
    p = write(tmp_path, "nd.json", deep + '\n{"text": "We care."}\n')
    bad, good = read(p)
    assert_reject(bad, p, "line 1", E_BAD_JSON, "nested too deeply")
    assert good.text == "We care."


def test_json_single_object_is_one_record_and_a_wrapper_object_names_its_array(tmp_path):
    one = write(tmp_path, "one.json", '{\n  "id": "x",\n  "text": "We care."\n}\n')
    assert [(r.id, r.position) for r in read(one)] == [("x", "file")]
    wrapped = write(tmp_path, "wrapped.json", '{\n  "shop": "L",\n  "reviews": [{"id": "r1", "text": "It broke."}]\n}')
    [r] = read(wrapped)
    assert_reject(r, wrapped, "file", E_MISSING_COLUMN, """under 'reviews': jq -c '.["reviews"][]' wrapped.json""")


@pytest.mark.parametrize("data, position, says", [
    ('[{"id": "a", "text": "x"},\n {"id": "b", "text": "y"\n]', "line 3, column 1", "invalid JSON: Expecting ','"),
    ('"just a string"', "file", "neither a JSON array of objects nor JSON Lines"),
    ("[]", "file", "no records: an empty array"),
])
def test_json_that_is_not_records_is_one_reject_with_its_position(tmp_path, data, position, says):
    p = write(tmp_path, "x.json", data)
    [r] = read(p)
    assert r.position == position and says in r.reason


def test_json_array_too_large_to_read_whole_says_how_to_make_json_lines(tmp_path, monkeypatch):
    monkeypatch.setattr("nlp.json_files.JSON_ARRAY_BYTES", 100)
    p = write(tmp_path, "big.json", json.dumps([{"text": "We care about you."}] * 20))
    [r] = read(p)
    assert_reject(r, p, "file", E_TOO_LARGE, "make it JSON Lines (jq -c '.[]' big.json > records.jsonl)")


def test_jsonl_files_joined_with_cat_keep_the_record_after_a_byte_order_mark(tmp_path):
    """Two Windows exports joined: the second's mark stands at the start of a line in the middle."""
    p = tmp_path / "joined.jsonl"
    p.write_bytes(codecs.BOM_UTF8 + b'{"id": "a", "text": "First."}\n' + codecs.BOM_UTF8 + b'{"id": "b", "text": "Second."}\n')
    assert [r.id for r in read(str(p))] == ["a", "b"]


@pytest.mark.parametrize("indent", [None, 2])
def test_an_object_holding_the_records_names_its_key_minified_or_pretty_printed(tmp_path, indent):
    """A minified ``{"data": [...]}`` was read as JSON Lines: "no 'text' field (fields: data); name the
    text field with --text-field", where the pretty-printed one named the key and the jq command."""
    p = write(tmp_path, "export.json", json.dumps({"data": [{"text": "a"}, {"text": "b"}]}, indent=indent))
    [r] = read(p)
    assert_reject(r, p, "file", E_MISSING_COLUMN, "the records look to be under 'data': jq -c '.[\"data\"][]'")


def test_a_one_line_json_file_of_one_record_is_still_read(tmp_path):
    p = write(tmp_path, "one.json", '{"id": "x", "text": "We care.", "tags": [{"a": 1}]}\n')
    [r] = read(p)
    assert isinstance(r, Record) and r.id == "x" and r.text == "We care."
