"""nlp/records.py: the checks every record passes whatever its format (text field, type, kind,
NUL bytes, lone surrogates), each failure a reject naming the field; and the count of repeated ids."""
from __future__ import annotations

from collections import Counter

import pytest
from conftest import assert_reject, read, records, write
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.errors import (
    E_BAD_FIELD,
    E_BINARY,
    E_EMPTY_TEXT,
    E_ENCODING,
    E_MISSING_COLUMN,
)
from nlp.records import MadeUpIds, ReadOptions, Record, RepeatedIds, record_from_mapping, repeated_ids_warning


def test_jsonl_missing_text_field(tmp_path):
    p = write(tmp_path, "notext.jsonl", '{"id": "x", "body": "hello"}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "'text'")
    assert "body" in r.reason  # says which fields there are


def test_a_line_holding_the_records_under_a_key_names_the_key_and_the_jq_command(tmp_path):
    """A minified export longer than the head read to tell it apart was one line without a 'text' field, and
    the reject named no key (a small one got the hint)."""
    p = write(tmp_path, "export.jsonl", '{"records": [{"text": "We refund you."}]}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "the records look to be under 'records': jq -c "
                  f"'.[\"records\"][]' {p} > records.jsonl, then read that")


@pytest.mark.parametrize("value", ['""', '"   \\n\\t "'])
def test_jsonl_empty_text(tmp_path, value):
    p = write(tmp_path, "empty_text.jsonl", '{"text": "fine"}\n{"text": ' + value + '}\n')
    good, r = read(p)
    assert isinstance(good, Record)
    assert_reject(r, p, "line 2", E_EMPTY_TEXT, "empty text")


def test_a_text_of_invisible_characters_only_is_empty_and_says_so(tmp_path):
    """A zero-width space and a direction mark were a record of no sentence, annotated as if it were text."""
    p = write(tmp_path, "zw.jsonl", '{"text": "fine"}\n{"text": "\\u200b \\n\\u200f"}\n{"text": "\\u200bok"}\n'
              '{"text": "\\udb40\\udc41\\udb40\\udc42"}\n')  # tag characters alone, too
    good, r, kept, tags = read(p)
    assert_reject(r, p, "line 2", E_EMPTY_TEXT, "only invisible or control characters")
    assert_reject(tags, p, "line 4", E_EMPTY_TEXT, "only invisible or control characters")
    assert kept.text == "\u200bok"
    controls = write(tmp_path, "cc.jsonl", '{"text": "\\u0007\\u001b\\u007f"}\n{"text": "\\u0000\\u0000"}\n')
    bell, nul = read(controls)  # control characters alone are no text; NULs are still binary data
    assert_reject(bell, controls, "line 1", E_EMPTY_TEXT, "only invisible or control characters")
    assert_reject(nul, controls, "line 2", E_BINARY, "nul bytes")


@pytest.mark.parametrize("value, type_name", [("5", "a number"), ("null", "null"), ('["a"]', "an array"),
                                              ('{"a": 1}', "an object")])
def test_jsonl_text_that_is_not_a_string(tmp_path, value, type_name):
    p = write(tmp_path, "badtype.jsonl", '{"text": ' + value + '}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_BAD_FIELD, f"field 'text' is {type_name}, not a string")


def test_jsonl_unknown_kind_is_a_reject(tmp_path):
    p = write(tmp_path, "kind.jsonl", '{"text": "Hi.", "kind": "tweet"}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_BAD_FIELD, 'kind "tweet" is not one of')


def test_a_kind_that_is_not_text_is_shown_as_written():
    opts = ReadOptions(default_kind="auto")
    r = record_from_mapping("f.jsonl", "line 1", "f.jsonl:1", {"text": "Hi.", "kind": True}, opts)
    assert r.reason.startswith("kind true is not one of")  # JSON's true, not Python's True


def test_kind_is_read_whatever_its_case_and_spaces(tmp_path):
    p = write(tmp_path, "k.csv", "id,text,kind\n1,We care.,Company\n2,It broke., review \n3,Hm.,\n")
    assert [r.kind for r in read(p)] == ["company", "review", "auto"]


def test_jsonl_text_with_nul_escape_is_a_reject(tmp_path):
    p = write(tmp_path, "nul.jsonl", '{"text": "a\\u0000b"}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_BINARY, "nul")


@pytest.mark.parametrize("line, field", [
    ('{"id": "a\\ud800", "text": "Fine."}', "id"),
    ('{"id": "a", "text": "Fine.", "tags": ["ok", {"deep": "x\\udc00"}]}', "tags"),
    ('{"id": "a", "text": "Fine.", "k\\ud83d": 1}', "k\\ud83d"),
])
def test_jsonl_lone_surrogate_in_any_field_is_a_reject_naming_it(tmp_path, line, field):
    # no output (JSON, Parquet) can write a lone surrogate: it would fail the run when written
    p = write(tmp_path, "s.jsonl", line + '\n{"id": "b", "text": "Also fine."}\n')
    items = read(p)
    assert_reject(items[0], p, "line 1", E_ENCODING, f"field {field!r} contains unpaired surrogates")
    assert [x.id for x in records(items)] == ["b"]


def test_a_lone_surrogate_deep_in_nested_meta_is_found_without_recursion(tmp_path):
    deep = "[" * 900 + '"x\\ud800"' + "]" * 900  # as deep as json.loads goes: no RecursionError on the walk
    p = write(tmp_path, "deep.jsonl", '{"text": "Fine.", "m": ' + deep + '}\n{"text": "Also fine.", "m": '
              + deep.replace("\\ud800", "") + "}\n")
    items = read(p)
    assert_reject(items[0], p, "line 1", E_ENCODING, "field 'm' contains unpaired surrogates")
    assert [x.text for x in records(items)] == ["Also fine."]


def test_repeated_ids_counts_the_ids_that_repeat_and_the_records_carrying_them():
    ids = RepeatedIds()
    assert ids.summary() == {"ids": 0, "records": 0}
    for rid in ["a", "b", "a", "c", "a", "b", "d"]:
        ids.add(rid)
    assert ids.summary() == {"ids": 2, "records": 5}  # a three times, b twice
    assert repeated_ids_warning(ids.summary(), "so what") == ("warning: 2 ids occur more than once (5 records "
                                                             "carry them); so what")
    assert repeated_ids_warning({"ids": 0, "records": 0}, "so what") is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from("abcdefgh"), max_size=40), st.lists(st.sampled_from("ghij"), max_size=10))
def test_repeated_ids_agree_with_counting_the_ids_themselves(first, then):
    ids = RepeatedIds()
    for rid in first:
        ids.add(rid)
    assert ids.summary() == ids.summary() == _by_counting(first)  # sorting in place changes nothing
    for rid in then:  # ids may still come after a summary
        ids.add(rid)
    assert ids.summary() == _by_counting(first + then)


def _by_counting(rids: list[str]) -> dict[str, int]:
    repeated = [n for n in Counter(rids).values() if n > 1]
    return {"ids": len(repeated), "records": sum(repeated)}


def test_repeated_ids_hold_eight_bytes_a_record_not_the_ids():
    ids = RepeatedIds()
    for i in range(10_000):
        ids.add(f"https://example.com/a/very/long/page/address/number/{i}")
    assert ids._hashes.itemsize * len(ids._hashes) == 80_000 and ids.summary()["ids"] == 0



@pytest.mark.parametrize("value, shown", [("true", "a boolean true"), ('["x"]', 'an array ["x"]'),
                                          ('{"n": 1}', 'an object {"n": 1}'),
                                          ("Infinity", "inf")])
def test_an_id_that_is_not_a_string_or_number_is_a_reject_not_python_text(tmp_path, value, shown):
    """Before, ``["x"]`` became the id "['x']" and ``true`` "True": ids nobody wrote, that no join would find."""
    p = write(tmp_path, "ids.jsonl", '{"id": ' + value + ', "text": "Fine."}\n{"id": 7, "text": "Also fine."}\n')
    items = read(p)
    assert_reject(items[0], p, "line 1", E_BAD_FIELD, f"field 'id' is {shown}, not a string or number")
    assert [x.id for x in records(items)] == ["7"]


def test_a_nan_id_is_a_missing_one_and_gets_the_stable_default(tmp_path):
    p = write(tmp_path, "nan.jsonl", '{"id": NaN, "text": "Fine."}\n')
    assert [x.id for x in records(read(p))] == [f"{p}:1"]


def test_nan_and_infinity_in_meta_become_null_so_every_output_line_is_strict_json(tmp_path):
    import json

    p = write(tmp_path, "m.jsonl", '{"text": "Fine.", "ts": NaN, "deep": [1, {"x": -Infinity}], "ok": 2.5}\n')
    [rec] = records(read(p))
    assert rec.meta == {"ts": None, "deep": [1, {"x": None}], "ok": 2.5}
    json.dumps(rec.meta, allow_nan=False)  # what JSON.parse and jq accept


def test_whole_number_ids_stored_as_floats_read_as_whole_numbers(tmp_path):
    """pandas writes an id column of whole numbers with a gap as floats: "7.0" would join with no "7"."""
    p = write(tmp_path, "f.jsonl", '{"id": 7.0, "text": "Fine."}\n{"id": 7.5, "text": "Also fine."}\n')
    assert [r.id for r in records(read(p))] == ["7", "7.5"]


def test_a_text_column_in_another_case_is_named_with_the_option_that_reads_it(tmp_path):
    """A CSV with "Text" got "no 'text' column … name the text column with --text-field", no word of "Text"."""
    from nlp.errors import InputError
    from nlp.io import check_inputs

    p = write(tmp_path, "cased.csv", "id,Text\n1,We care.\n")
    with pytest.raises(InputError) as e:
        check_inputs([str(p)], ReadOptions())
    assert "the column 'Text' differs only in case: name it with --text-field 'Text'" in str(e.value)


def test_made_up_ids_warn_when_a_named_field_is_missing_or_some_ids_are_empty_among_given_ones():
    def counted(id_field, ids, source="in.jsonl"):
        made_up = MadeUpIds(id_field)
        for rid in ids:
            made_up.add(rid, source)
        return made_up

    assert counted("id", ["in.jsonl:1", "in.jsonl:2"]).warning() is None  # no record has one: the default
    assert counted("id", ["a", "b"]).warning() is None
    mixed = counted("id", ["a", "in.jsonl:2", "in.jsonl[3]"])
    assert (mixed.made_up, mixed.given) == (2, 1) and mixed.warning().startswith("warning: 2 of 3 records have an")
    assert counted("review_id", ["in.jsonl:1"]).warning().startswith("warning: 1 of 1 records have no 'review_id'")
    assert counted("id", ["page.txt"], source="page.txt").given == 0  # a whole file's id is its path, no field's
    two_files = counted("id", ["a.jsonl:1", "a.jsonl:2"], source="a.jsonl")
    two_files.add("x", "b.jsonl")  # one file without ids, another with: each as it is, no warning
    assert two_files.warning() is None and two_files.counts() == {
        "ids_made_up": 2, "ids_given": 1, "ids_made_up_beside_given": 0, "records_beside_given": 0}
    assert two_files.merge({"b.jsonl": [1, 0]}).warning().startswith("warning: 1 of 2 records have an empty")
