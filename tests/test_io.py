"""nlp/io.py without models: readers, field mapping, ids, and every bad input as a Reject.

The contract under test: readers never raise for a bad record or a bad file they can
report; they yield a Reject naming the source, a position and a reason, and go on.
Only problems the user must fix before any work (missing file, unknown extension, CSV
without the text column) raise InputError, from check_inputs.
"""
from __future__ import annotations

import codecs
import io
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.errors import (
    E_BAD_FIELD,
    E_BAD_JSON,
    E_BINARY,
    E_EMPTY_FILE,
    E_EMPTY_TEXT,
    E_ENCODING,
    E_MISSING_COLUMN,
    E_NOT_FOUND,
    E_OUTPUT,
    E_TOO_LARGE,
    E_UNKNOWN_EXT,
    InputError,
    UsageError,
)
from nlp.io import (
    ReadOptions,
    Record,
    Reject,
    check_inputs,
    describe_position,
    html_to_text,
    markdown_to_text,
    prepare_outputs,
    read_inputs,
)

FIFTY_MB = 50 * 1024 * 1024


def write(tmp_path: Path, name: str, data: bytes | str) -> str:
    p = tmp_path / name
    p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return str(p)


def read(path: str, opts: ReadOptions | None = None) -> list[Record | Reject]:
    return list(read_inputs([path], opts))


def records(items) -> list[Record]:
    return [i for i in items if isinstance(i, Record)]


def rejects(items) -> list[Reject]:
    return [i for i in items if isinstance(i, Reject)]


def assert_reject(item, source: str, position: str, code: str, reason_has: str = "") -> Reject:
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


# --------------------------------------------------------------------------- documents


def test_txt_is_one_record_with_the_text_unchanged(tmp_path):
    text = "We are the market leader.\nYou get a refund in 14 days.\n\nSecond paragraph here.\n"
    p = write(tmp_path, "page.txt", text)
    [rec] = read(p)
    assert isinstance(rec, Record)
    assert rec.text == text
    assert rec.id == p and rec.source == p
    assert rec.position == "file"
    assert rec.kind == "auto"


def test_txt_default_kind_comes_from_options(tmp_path):
    p = write(tmp_path, "page.text", "Our team is proud.")
    [rec] = read(p, ReadOptions(default_kind="company"))
    assert rec.kind == "company"


def test_txt_utf8_bom_is_dropped_and_unicode_kept(tmp_path):
    p = write(tmp_path, "bom.txt", "\ufeffCafé crème — naïve “quotes”.".encode("utf-8"))
    [rec] = read(p)
    assert rec.text == "Café crème — naïve “quotes”."


def test_markdown_file_loses_its_markup(tmp_path):
    md = ("# About us\n\nWe are **award-winning** and _proud_. See [our page](https://x.example/a).\n\n"
          "![logo](logo.png)\n\n- You save money\n- You get `support`\n\n> Quote here.\n\n"
          "```\ncode = 1\n```\n\nFish &amp; chips.\n")
    p = write(tmp_path, "about.md", md)
    [rec] = read(p)
    t = rec.text
    assert "About us" in t and "#" not in t
    assert "We are award-winning and proud. See our page." in t
    assert "https://" not in t and "](" not in t
    assert "logo" in t and "logo.png" not in t
    assert "You save money" in t and "You get support" in t
    assert "- You" not in t and "`" not in t
    assert "Quote here." in t and ">" not in t
    assert "code = 1" not in t
    assert "Fish & chips." in t


def test_markdown_unclosed_brackets_stay_text_and_links_after_them_still_go():
    """Brackets that open no link (a scraped page's noise) are left as they are; the link bound
    of 1,000 characters of text and 4,000 of target keeps such a file linear to read."""
    md = "[draft [v2 ![x see [our terms](https://x.example/t) and [a long one](" + "u" * 5000 + ")."
    assert markdown_to_text(md) == "[draft [v2 ![x see our terms and [a long one](" + "u" * 5000 + ")."


def test_markdown_heading_is_its_own_paragraph():
    t = markdown_to_text("## Why us\nWe care.")
    assert t.split("\n")[0] == "Why us"
    assert "\n\n" in t  # the heading does not run into the next sentence
    assert "We care." in t


def test_markdown_emphasis_variants():
    assert markdown_to_text("a **b** __c__ *d* _e_ `f`") == "a b c d e f"


def test_markdown_keeps_intra_word_underscores():
    assert markdown_to_text("Call get_user_name from x.") == "Call get_user_name from x."
    # at word edges underscores are emphasis, as CommonMark renders them
    assert markdown_to_text("Call __init__ now.") == "Call init now."


def test_html_file_drops_script_style_head_and_keeps_blocks(tmp_path):
    page = ("<!doctype html><html><head><title>Title text</title><style>p { color: red }</style>"
            "<script>var tracking = 'secret';</script></head><body>"
            "<nav>Home</nav><h1>Welcome</h1><p>We are <b>proud</b> of our service.</p>"
            "<script type='text/javascript'>alert('x');</script>"
            "<div>You get free delivery &amp; returns.</div><noscript>Enable JS</noscript>"
            "<ul><li>First point</li><li>Second point</li></ul><p>Line<br>break</p></body></html>")
    p = write(tmp_path, "page.html", page)
    [rec] = read(p)
    t = rec.text
    for gone in ("tracking", "secret", "color", "alert", "Title text", "Enable JS", "<", ">"):
        assert gone not in t
    paragraphs = t.split("\n\n")
    assert "We are proud of our service." in paragraphs
    assert "You get free delivery & returns." in paragraphs
    assert "Welcome" in paragraphs
    assert "First point" in paragraphs and "Second point" in paragraphs
    assert paragraphs.index("Welcome") < paragraphs.index("We are proud of our service.")
    assert "Line" in paragraphs and "break" in paragraphs


def test_html_to_text_collapses_inline_whitespace_only():
    t = html_to_text("<p>one\n   two\tthree</p><p>four</p>")
    assert t == "one two three\n\nfour"


def test_html_without_closing_head_keeps_body():
    t = html_to_text("<html><head><title>T</title><body><p>Hello there.</p></body></html>")
    assert t == "Hello there."


def test_html_with_only_script_is_rejected_as_empty_text(tmp_path):
    p = write(tmp_path, "script.htm", "<html><script>var a = 1;</script><style>b{}</style></html>")
    [r] = read(p)
    assert_reject(r, p, "file", E_EMPTY_TEXT, "empty")


def test_stdin_is_read_as_one_document():
    items = list(read_inputs(["-"], stdin=io.BytesIO("You save time. We care.\n".encode())))
    [rec] = items
    assert isinstance(rec, Record)
    assert rec.text == "You save time. We care.\n"
    assert rec.id == "<stdin>" and rec.source == "<stdin>"


@pytest.mark.parametrize("data, code, position", [
    (b"", E_EMPTY_FILE, "file"),
    (b"  \n\t\n", E_EMPTY_FILE, "file"),
    (b"ab\x00cd", E_BINARY, "byte 2"),
    (b"ok\n\xff\xfe bad\n", E_ENCODING, "line 2, byte 3"),
])
def test_stdin_bad_input_is_a_reject(data, code, position):
    [r] = list(read_inputs(["-"], stdin=io.BytesIO(data)))
    assert_reject(r, "<stdin>", position, code)


class EndlessPipe(io.RawIOBase):
    """``yes | lipservice annotate -``: a stdin that never ends, counting what was asked of it."""

    def __init__(self) -> None:
        self.handed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        buf[:] = b"y\n" * (len(buf) // 2) + b"y" * (len(buf) % 2)
        self.handed += len(buf)
        return len(buf)


def test_stdin_is_read_only_up_to_what_max_chars_can_hold():
    pipe = EndlessPipe()
    [r] = list(read_inputs(["-"], ReadOptions(max_chars=1000), stdin=io.BufferedReader(pipe)))
    assert_reject(r, "<stdin>", "file", E_TOO_LARGE, "input is over 4,004 bytes, over the limit of 1,000 characters")
    assert pipe.handed < 20_000  # stopped at the limit, not at the end of the pipe
    [ok] = list(read_inputs(["-"], ReadOptions(max_chars=1000), stdin=io.BytesIO(b"y " * 500)))
    assert isinstance(ok, Record)


# --------------------------------------------------------------------------- JSON Lines


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


@pytest.mark.parametrize("line, kind_name", [("[1, 2]", "list"), ('"just a string"', "str"),
                                             ("42", "int"), ("null", "NoneType"), ("true", "bool")])
def test_jsonl_line_that_is_not_an_object(tmp_path, line, kind_name):
    p = write(tmp_path, "notobj.jsonl", '{"text": "ok"}\n' + line + '\n{"text": "also ok"}\n')
    items = read(p)
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert_reject(items[1], p, "line 2", E_BAD_JSON, "not an object")
    assert kind_name in items[1].reason


def test_jsonl_missing_text_field(tmp_path):
    p = write(tmp_path, "notext.jsonl", '{"id": "x", "body": "hello"}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "'text'")
    assert "body" in r.reason  # says which fields there are


@pytest.mark.parametrize("value", ['""', '"   \\n\\t "'])
def test_jsonl_empty_text(tmp_path, value):
    p = write(tmp_path, "empty_text.jsonl", '{"text": "fine"}\n{"text": ' + value + '}\n')
    good, r = read(p)
    assert isinstance(good, Record)
    assert_reject(r, p, "line 2", E_EMPTY_TEXT, "empty text")


@pytest.mark.parametrize("value, type_name", [("5", "int"), ("null", "NoneType"), ('["a"]', "list"),
                                              ('{"a": 1}', "dict")])
def test_jsonl_text_that_is_not_a_string(tmp_path, value, type_name):
    p = write(tmp_path, "badtype.jsonl", '{"text": ' + value + '}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_BAD_FIELD, type_name)


def test_jsonl_unknown_kind_is_a_reject(tmp_path):
    p = write(tmp_path, "kind.jsonl", '{"text": "Hi.", "kind": "tweet"}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_BAD_FIELD, "tweet")


def test_kind_is_read_whatever_its_case_and_spaces(tmp_path):
    p = write(tmp_path, "k.csv", "id,text,kind\n1,We care.,Company\n2,It broke., review \n3,Hm.,\n")
    assert [r.kind for r in read(p)] == ["company", "review", "auto"]


def test_jsonl_text_with_nul_escape_is_a_reject(tmp_path):
    p = write(tmp_path, "nul.jsonl", '{"text": "a\\u0000b"}\n')
    [r] = read(p)
    assert_reject(r, p, "line 1", E_BINARY, "nul")


def test_jsonl_invalid_utf8_line_names_line_and_byte(tmp_path):
    p = write(tmp_path, "enc.jsonl", b'{"text": "one"}\n{"text": "t\xe9st"}\n{"text": "three"}\n')
    one, bad, three = read(p)
    assert one.text == "one" and three.text == "three"
    assert_reject(bad, p, "line 2, byte 11", E_ENCODING, "utf-8")


def test_jsonl_deeply_nested_line_is_a_reject(tmp_path):
    p = write(tmp_path, "deep.jsonl", '{"text": "ok"}\n' + "[" * 100_000 + '\n{"text": "after"}\n')
    items = read(p)
    assert [type(i) for i in items] == [Record, Reject, Record]


# --------------------------------------------------------------------------- CSV


def test_csv_embedded_newlines_and_quotes(tmp_path):
    data = ('id,text,stars\n'
            'r1,"She said ""great service""\nand then\nleft.",5\n'
            'r2,"Commas, inside, quotes",4\n'
            ',"No id, so file:line",3\n')
    p = write(tmp_path, "reviews.csv", data)
    r1, r2, r3 = read(p)
    assert r1.text == 'She said "great service"\nand then\nleft.'
    assert (r1.id, r1.position, r1.meta) == ("r1", "line 2", {"stars": "5"})
    assert r2.text == "Commas, inside, quotes"
    assert r2.position == "line 5"  # positions are physical lines, after the 3-line row
    assert r3.id == f"{p}:6" and r3.position == "line 6"
    assert [r.id for r in read(p)] == ["r1", "r2", f"{p}:6"]  # stable


def test_csv_custom_text_and_id_columns_and_bom(tmp_path):
    p = write(tmp_path, "custom.csv", "\ufeffreview_id,body,kind\nx9,I waited ages.,review\n"
                                      "x10,We respond fast.,\n")
    opts = ReadOptions(id_field="review_id", text_field="body", default_kind="company")
    a, b = read(p, opts)
    assert (a.id, a.text, a.kind) == ("x9", "I waited ages.", "review")
    assert (b.id, b.text, b.kind) == ("x10", "We respond fast.", "company")


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_csv_separated_otherwise_is_read_by_its_header(tmp_path, sep):
    """Excel in much of Europe writes ";"; the header that names the text column decides."""
    rows = ["id", "text", "stars"], ["1", "We care, always.", "5"], ["2", f'"Late{sep} again."', "1"], ["3", "short"]
    p = write(tmp_path, "sep.csv", "".join(sep.join(r) + "\n" for r in rows))
    check_inputs([p], ReadOptions())
    a, b, c = read(p)
    assert (a.id, a.text, a.meta) == ("1", "We care, always.", {"stars": "5"})
    assert b.text == f"Late{sep} again."
    assert isinstance(c, Reject) and c.position == "line 4" and "2 fields, header has 3" in c.reason


def test_csv_crlf_line_endings(tmp_path):
    p = write(tmp_path, "crlf.csv", b"id,text\r\n1,First.\r\n2,\"Two\r\nlines.\"\r\n3,Third.\r\n")
    items = read(p)
    assert [r.id for r in items] == ["1", "2", "3"]
    assert items[0].text == "First." and items[2].text == "Third."
    assert "Two" in items[1].text and "lines." in items[1].text


def test_csv_empty_text_and_short_row_are_rejects(tmp_path):
    p = write(tmp_path, "gaps.csv", "id,text\n1,Good one.\n2,\n3,   \n4\n5,Another good one.\n")
    items = read(p)
    assert [type(i) for i in items] == [Record, Reject, Reject, Reject, Record]
    assert_reject(items[1], p, "line 3", E_EMPTY_TEXT)
    assert_reject(items[2], p, "line 4", E_EMPTY_TEXT)
    assert_reject(items[3], p, "line 5", E_BAD_FIELD, "fields")


def test_csv_row_with_invalid_utf8_other_rows_survive(tmp_path):
    p = write(tmp_path, "enc.csv", b"id,text\n1,Caf\xc3\xa9 is fine.\n2,Caf\xe9 is not.\n3,Last row.\n")
    a, bad, c = read(p)
    assert a.text == "Café is fine." and c.text == "Last row."
    assert_reject(bad, p, "line 3", E_ENCODING, "utf-8")


def test_csv_without_text_column_reader_still_rejects_not_raises(tmp_path):
    p = write(tmp_path, "nocol.csv", "id,body\n1,hello\n")
    [r] = read(p)
    assert_reject(r, p, "line 1", E_MISSING_COLUMN, "'text'")


def test_csv_oversized_quoted_multiline_field_is_one_reject(tmp_path):
    big = "a b c d\n" * 40_000  # 320 kB, over the 131072-char csv field limit for this max_chars
    p = write(tmp_path, "bigcell.csv", f'id,text\n1,ok\n2,"{big}"\n3,after\n')
    items = read(p, ReadOptions(max_chars=1000))
    assert [type(i) for i in items] == [Record, Reject, Record]
    assert items[2].text == "after"


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("name", ["e.txt", "e.md", "e.html", "e.jsonl", "e.csv"])
@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n"])
def test_empty_file_is_a_reject(tmp_path, name, data):
    p = write(tmp_path, name, data)
    [r] = read(p)
    assert_reject(r, p, "file", E_EMPTY_FILE, "empty file")


@pytest.mark.parametrize("name", ["b.txt", "b.md", "b.html", "b.jsonl", "b.csv"])
def test_binary_file_is_a_reject_with_byte_position(tmp_path, name):
    p = write(tmp_path, name, b"PK\x03\x04" + bytes(range(256)) * 4)
    [r] = read(p)
    assert_reject(r, p, "byte 4", E_BINARY, "binary")


def test_binary_csv_passes_check_inputs_and_becomes_a_reject(tmp_path):
    p = write(tmp_path, "b.csv", b"\x00\x01\x02")
    check_inputs([p], ReadOptions())  # not a usage error
    [r] = read(p)
    assert r.code == E_BINARY


@pytest.mark.parametrize("name", ["u.txt", "u.md", "u.html"])
def test_invalid_utf8_document_names_line_and_byte(tmp_path, name):
    data = "line one\nline two\n".encode() + b"caf\xe9 au lait\n"
    p = write(tmp_path, name, data)
    [r] = read(p)
    assert_reject(r, p, "line 3, byte 21", E_ENCODING, "0xe9")


def test_latin1_file_is_rejected_not_mojibake(tmp_path):
    p = write(tmp_path, "latin1.txt", "Crème brûlée.".encode("latin-1"))
    [r] = read(p)
    assert r.code == E_ENCODING and r.position.startswith("line 1, byte ")


UTF16_ROWS = [{"id": "1", "text": "We put customers first."}, {"id": "2", "text": "Café refund in 2 days ☕."}]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be-bom", "utf-32"])
@pytest.mark.parametrize("name", ["w.txt", "w.jsonl", "w.csv"])
def test_utf16_and_utf32_files_with_a_byte_order_mark_are_read(tmp_path, name, encoding):
    # what PowerShell 5's ">", Notepad's "Unicode" and Excel's "Unicode Text" write
    if name.endswith(".txt"):
        text = "We put customers first.\r\nCafé refund in 2 days ☕."
    elif name.endswith(".jsonl"):
        text = "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in UTF16_ROWS)
    else:
        text = "id\ttext\r\n" + "".join(f"{r['id']}\t{r['text']}\r\n" for r in UTF16_ROWS)
    data = (codecs.BOM_UTF16_BE + text.encode("utf-16-be")) if encoding == "utf-16-be-bom" else text.encode(encoding)
    p = write(tmp_path, name, data)
    check_inputs([p], ReadOptions())  # the CSV header check reads the encoding too
    items = read(p)
    assert not rejects(items)
    if name.endswith(".txt"):
        assert [r.text for r in items] == ["We put customers first.\r\nCafé refund in 2 days ☕."]
    else:
        assert [(r.id, r.text) for r in items] == [(r["id"], r["text"]) for r in UTF16_ROWS]


def test_utf16_jsonl_with_a_broken_unit_rejects_that_line_and_reads_on(tmp_path):
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in UTF16_ROWS]
    broken = lines[0].replace("We", "\ud800We")
    data = codecs.BOM_UTF16_LE + lines[0].encode("utf-16-le") + broken.encode("utf-16-le", "surrogatepass") + \
        lines[1].encode("utf-16-le")
    p = write(tmp_path, "bad16.jsonl", data)
    items = read(p)
    assert [r.id for r in records(items)] == ["1", "2"]
    assert_reject(rejects(items)[0], p, "line 2", E_ENCODING, "invalid UTF-16")


def test_utf16_document_cut_mid_character_is_a_reject(tmp_path):
    p = write(tmp_path, "odd.txt", "Hello there.".encode("utf-16") + b"A")
    [r] = read(p)
    assert_reject(r, p, "byte 26", E_ENCODING, "invalid UTF-16")


@pytest.mark.parametrize("name", ["n.txt", "n.jsonl", "n.csv"])
def test_utf16_without_a_byte_order_mark_gets_its_own_fix(tmp_path, name):
    p = write(tmp_path, name, "id,text\n1,We put customers first.\n".encode("utf-16-le"))
    [r] = read(p)
    assert_reject(r, p, "byte 1", E_BINARY, "UTF-16 text without a byte-order mark; re-save the file as UTF-8")


def test_a_file_of_zeros_is_binary_not_utf16(tmp_path):
    p = write(tmp_path, "z.txt", bytes(4096))
    [r] = read(p)
    assert_reject(r, p, "byte 0", E_BINARY, "binary file (NUL byte)")


@pytest.mark.parametrize("name, data, says", [
    ("h.csv", "id,text\n", "a header and no rows"),
    ("hb.csv", "id,text\n\n\n", "a header and no rows"),
    ("blank16.jsonl", codecs.BOM_UTF16_LE + "\n  \n".encode("utf-16-le"), "only blank lines"),
])
def test_a_table_file_without_records_is_one_reject(tmp_path, name, data, says):
    p = write(tmp_path, name, data)
    [r] = read(p)
    assert_reject(r, p, "file", E_EMPTY_FILE, says)


def test_jsonl_number_too_long_to_convert_is_a_plain_reject(tmp_path):
    p = write(tmp_path, "big.jsonl", '{"id": ' + "9" * 5000 + ', "text": "Hi."}\n{"id": 7, "text": "Ok."}\n')
    items = read(p)
    r = assert_reject(items[0], p, "line 1", E_BAD_JSON, "a number of 5,000 digits (at most 4,300)")
    assert "sys." not in r.reason  # no advice meant for programmers
    assert [(x.id, x.text) for x in records(items)] == [("7", "Ok.")]


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


def test_a_file_name_that_is_not_utf8_is_carried_escaped(tmp_path):
    raw = bytes(tmp_path) + b"/caf\xe9.jsonl"
    with open(raw, "wb") as fh:
        fh.write(b'{"text": "We care."}\n')
    name = os.fsdecode(raw)  # what a directory listing or a shell glob hands over
    [r] = read(name)
    assert r.source == f"{tmp_path}/caf\\xe9.jsonl" and r.id == f"{tmp_path}/caf\\xe9.jsonl:1"
    json.dumps(r.id).encode("utf-8")  # writable


@pytest.mark.parametrize("head, encoding", [
    ('<meta charset="windows-1252">', "cp1252"),
    ("<META HTTP-EQUIV='Content-Type' CONTENT='text/html; charset=ISO-8859-1'>", "cp1252"),  # read as browsers do
    ('<meta charset=shift_jis>', "shift_jis"),
])
def test_html_in_the_charset_it_declares_is_read(tmp_path, head, encoding):
    text = "お客様第一、いつも ｶﾌｪ" if encoding == "shift_jis" else "Crème brûlée “first” — 5 €."
    page = f"<html><head>{head}<title>t</title></head><body><p>{text}</p></body></html>"
    p = write(tmp_path, "page.html", page.encode(encoding))
    [r] = read(p)
    assert isinstance(r, Record) and text in r.text


def test_html_that_is_utf8_despite_its_declaration_is_read_as_utf8(tmp_path):
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Crème brûlée, as written.</p></body></html>'
    [r] = read(write(tmp_path, "page.html", page.encode("utf-8")))
    assert "Crème brûlée, as written." in r.text


@pytest.mark.parametrize("charset, says", [("x-klingon", "'x-klingon', which is not known"),
                                          ("unicode_escape", "which is not known"), ("rot13", "which is not known")])
def test_html_declaring_an_unknown_or_non_text_charset_is_a_reject(tmp_path, charset, says):
    page = f'<html><head><meta charset="{charset}"></head><body><p>Caf\xe9</p></body></html>'.encode("latin-1")
    p = write(tmp_path, "page.html", page)
    [r] = read(p)
    assert_reject(r, p, "file", E_ENCODING, says)


def test_html_not_in_its_declared_charset_names_the_byte(tmp_path):
    page = b'<html><head><meta charset="windows-1252"></head>\n<body><p>bad \x81 byte</p></body></html>'
    p = write(tmp_path, "page.html", page)
    [r] = read(p)
    assert_reject(r, p, "line 2, byte 62", E_ENCODING, "invalid cp1252 (byte 0x81), the charset the page declares")


def test_a_charset_in_plain_text_is_not_a_declaration(tmp_path):
    p = write(tmp_path, "note.txt", b'<meta charset="windows-1252"> caf\xe9')
    [r] = read(p)
    assert r.code == E_ENCODING


def test_csv_with_excels_sep_line_uses_that_separator_and_keeps_file_line_numbers(tmp_path):
    p = write(tmp_path, "x.csv", "sep=;\r\nid;text\r\n1;We care, always.\r\n2;\r\n3;You get refunds.\r\n")
    check_inputs([p], ReadOptions())
    items = read(p)
    assert [(r.id, r.text) for r in records(items)] == [("1", "We care, always."), ("3", "You get refunds.")]
    assert_reject(rejects(items)[0], p, "line 4", E_EMPTY_TEXT)
    bad = write(tmp_path, "y.csv", "sep=;\nid;body\n1;x\n")
    with pytest.raises(InputError, match="line 2: no 'text' column \\(columns: id, body\\)"):
        check_inputs([bad], ReadOptions())


def test_csv_repeated_text_or_id_column_is_a_usage_error(tmp_path):
    p = write(tmp_path, "twice.csv", "id,text,note,text\n1,first,x,second\n")
    with pytest.raises(InputError) as err:
        check_inputs([p], ReadOptions())
    assert err.value.code == E_MISSING_COLUMN and "'text' appears 2 times (columns 2, 4)" in str(err.value)


def test_csv_repeated_other_columns_are_all_kept_in_meta(tmp_path):
    p = write(tmp_path, "tags.csv", "id,text,tag,tag,tag\n1,We care.,a,b,c\n")
    [r] = read(p)
    assert r.meta == {"tag": "a", "tag.1": "b", "tag.2": "c"}


def test_50mb_single_line_txt_is_rejected_for_size(tmp_path):
    p = tmp_path / "huge.txt"
    p.write_bytes(b"x" * FIFTY_MB)  # one line, no newline, default ReadOptions
    [r] = read(str(p))
    assert_reject(r, str(p), "file", E_TOO_LARGE, "over the limit")
    assert f"{FIFTY_MB:,}" in r.reason  # says how big it is


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


def test_bounded_lines_never_holds_a_line_over_the_limit():
    from nlp.io import bounded_lines

    data = b"short\n" + b"z" * 5000 + b"\nlast"
    calls: list[int] = []

    def readline(size: int, fh=io.BytesIO(data)) -> bytes:
        calls.append(size)
        return fh.readline(size)

    assert list(bounded_lines(readline, 100)) == [(1, b"short\n", 6), (2, None, 5001), (3, b"last", 4)]
    assert max(calls) <= 2**20  # never asks for the whole line
    text = io.StringIO("a,b\r\n" + "q" * 300 + "\n" + "x" * 100 + "\n", newline="")
    assert [(n, line) for n, line, _ in bounded_lines(text.readline, 100)] == [(1, "a,b\r\n"), (2, None),
                                                                                 (3, "x" * 100 + "\n")]


SMALL = ReadOptions(max_chars=10)  # line limit 12 * 10 + 1 MiB


def test_jsonl_line_over_the_line_limit_is_a_reject_and_reading_goes_on(tmp_path):
    from nlp.io import line_limit

    p = tmp_path / "long.jsonl"
    p.write_bytes(b'{"text": "Before."}\n{"text": "' + b"y" * 2**21 + b'"}\n{"text": "After."}\n')
    before, r, after = read(str(p), SMALL)
    assert (before.text, after.text) == ("Before.", "After.")
    assert_reject(r, str(p), "line 2", E_TOO_LARGE, f"line is {2**21 + 13:,} bytes, over the limit")
    assert f"{line_limit(10):,}" in r.reason and "lipservice.max_chars" in r.reason


def test_csv_line_over_the_line_limit_is_a_reject_and_reading_goes_on(tmp_path):
    p = write(tmp_path, "long.csv", "id,text\na,Before.\nb," + "y" * 2**21 + "\nc,After.\n")
    a, r, c = read(p, SMALL)
    assert (a.text, c.text, c.position) == ("Before.", "After.", "line 4")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "over the limit")


def test_csv_quoted_cell_spanning_lines_past_the_limit_is_one_reject(tmp_path):
    """Many short lines inside one quoted cell: the row is cut at the limit, the rest of the
    cell skipped to its closing quote, and the next row is read where the file has it."""
    cell = ("x" * 999 + "\n") * 1200  # 1.2 MB over 1,200 lines, none of them long
    p = write(tmp_path, "cell.csv", 'id,text\na,Before.\nb,"' + cell + '"\nc,After.\n')
    a, r, c = read(p, SMALL)
    assert (a.text, c.text, c.position) == ("Before.", "After.", f"line {3 + 1200 + 1}")
    assert_reject(r, p, "line 3", E_TOO_LARGE, "row is over the limit")
    assert "by line" in r.reason


def test_records_and_rejects_come_in_input_order(tmp_path):
    a = write(tmp_path, "a.txt", "First file.")
    b = write(tmp_path, "b.jsonl", '{"text": "j1"}\nnope\n{"text": "j3"}\n')
    c = write(tmp_path, "c.txt", "")
    d = write(tmp_path, "d.csv", "text\nc1\n")
    items = list(read_inputs([a, b, c, d]))
    summary = [(i.source, type(i).__name__) for i in items]
    assert summary == [(a, "Record"), (b, "Record"), (b, "Reject"), (b, "Record"), (c, "Reject"), (d, "Record")]


# --------------------------------------------------------------------------- check_inputs


def test_tsv_and_ndjson_are_read_as_csv_and_jsonl(tmp_path):
    import gzip

    tsv = write(tmp_path, "r.tsv", "id\ttext\n1\tWe care, always.\n")
    nd = tmp_path / "r.ndjson.gz"
    nd.write_bytes(gzip.compress(b'{"id": "2", "text": "You get refunds."}\n'))
    check_inputs([tsv, str(nd)], ReadOptions())
    assert [(r.id, r.text) for r in read_inputs([tsv, str(nd)])] == [("1", "We care, always."), ("2", "You get refunds.")]


@pytest.mark.parametrize("name, says", [
    ("r.jsonl.bz2", "compressed with bzip2 (.bz2), which is not read; decompress it, or compress it with gzip (.gz)"),
    ("corpus.zip", "compressed with zip (.zip)"),
    ("r.doc", "unknown extension '.doc'; supported: .csv, .htm, .html, .json, .jsonl, .markdown, .md, .ndjson, "
              ".parquet"),
])
def test_an_unread_format_says_what_to_do(tmp_path, name, says):
    p = write(tmp_path, name, b"x")
    with pytest.raises(InputError) as e:
        check_inputs([p], ReadOptions())
    assert e.value.code == E_UNKNOWN_EXT and says in str(e.value)


@pytest.mark.parametrize("url", ["https://example.com/about.html", "HTTP://example.com", "s3://bucket/a.jsonl"])
def test_a_web_address_is_a_usage_error_saying_how_to_read_it(url):
    with pytest.raises(InputError) as e:
        check_inputs([url], ReadOptions())
    assert e.value.code == E_NOT_FOUND and "never goes online: copy it here first" in str(e.value)


JSON_ROWS = [{"id": "a", "text": "We care."}, {"id": "b", "text": ""}, 5, {"text": "You get refunds."}]


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
    monkeypatch.setattr("nlp.io.JSON_ARRAY_BYTES", 100)
    p = write(tmp_path, "big.json", json.dumps([{"text": "We care about you."}] * 20))
    [r] = read(p)
    assert_reject(r, p, "file", E_TOO_LARGE, "make it JSON Lines (jq -c '.[]' big.json > records.jsonl)")


def test_a_named_broken_link_is_a_usage_error_saying_so(tmp_path):
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(InputError) as e:
        check_inputs([str(tmp_path / "gone.txt")], ReadOptions())
    assert e.value.code == E_NOT_FOUND and f"a broken symbolic link (to {tmp_path / 'nowhere.txt'})" in str(e.value)


def test_csv_without_text_column_is_a_usage_error(tmp_path):
    p = write(tmp_path, "nocol.csv", "id,body,stars\n1,hello,5\n")
    with pytest.raises(InputError) as exc:
        check_inputs([p], ReadOptions())
    e = exc.value
    assert isinstance(e, UsageError) and e.exit_code == 2
    assert e.code == E_MISSING_COLUMN
    msg = str(e)
    assert p in msg and "line 1" in msg and "'text'" in msg and "body" in msg
    assert "--text-field" in msg  # says how to fix it
    assert "\n" not in msg
    check_inputs([p], ReadOptions(text_field="body"))  # naming the column fixes it


def test_csv_header_check_handles_bom_and_quoted_names(tmp_path):
    p = write(tmp_path, "q.csv", '\ufeff"id","text"\n1,hello\n')
    check_inputs([p], ReadOptions())


def test_an_output_that_is_an_input_or_another_output_is_refused(tmp_path):
    src = write(tmp_path, "in.jsonl", '{"text": "Hi."}\n')
    link = tmp_path / "link.jsonl"
    link.symlink_to(src)
    for out in (src, link, tmp_path / "." / "in.jsonl"):
        with pytest.raises(UsageError) as exc:
            prepare_outputs([src], {"--output": out, "--json": None})
        assert exc.value.code == E_OUTPUT and exc.value.exit_code == 2 and "is also an input" in str(exc.value)
    with pytest.raises(UsageError, match="--json and --html both write"):
        prepare_outputs([src], {"--json": tmp_path / "r.json", "--html": tmp_path / "r.json"})
    prepare_outputs([src, "-"], {"--output": tmp_path / "new" / "o.jsonl", "--json": None})  # nothing to refuse
    assert (tmp_path / "new").is_dir()  # its folder is made before the work, not after


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        prepare_outputs([], {"--json": tmp_path})
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    with pytest.raises(UsageError) as exc:
        prepare_outputs([], {"--output": blocker / "out.jsonl"})
    assert exc.value.code == E_OUTPUT and "cannot write there" in str(exc.value)


def test_unknown_extension_is_a_usage_error(tmp_path):
    p = write(tmp_path, "report.pdf", b"%PDF-1.4")
    with pytest.raises(InputError) as exc:
        check_inputs([p], ReadOptions())
    assert exc.value.exit_code == 2 and exc.value.code == E_UNKNOWN_EXT
    assert p in str(exc.value) and ".pdf" in str(exc.value) and ".txt" in str(exc.value)


def test_no_extension_is_a_usage_error(tmp_path):
    p = write(tmp_path, "README", "text")
    with pytest.raises(InputError) as exc:
        check_inputs([p], ReadOptions())
    assert exc.value.code == E_UNKNOWN_EXT and p in str(exc.value)


def test_missing_file_is_a_usage_error(tmp_path):
    good = write(tmp_path, "ok.txt", "fine")
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(InputError) as exc:
        check_inputs([good, missing], ReadOptions())
    assert exc.value.exit_code == 2 and exc.value.code == E_NOT_FOUND
    assert missing in str(exc.value) and "not found" in str(exc.value)


def test_directory_is_a_usage_error(tmp_path):
    with pytest.raises(InputError) as exc:
        check_inputs([str(tmp_path)], ReadOptions())
    assert exc.value.exit_code == 2 and str(tmp_path) in str(exc.value)


def test_check_inputs_accepts_stdin_empty_and_good_files(tmp_path):
    paths = ["-", write(tmp_path, "a.txt", "x"), write(tmp_path, "e.csv", ""),
             write(tmp_path, "t.csv", "text\nx\n"), write(tmp_path, "j.jsonl", "{}")]
    check_inputs(paths, ReadOptions())


def test_errors_print_as_one_line_with_their_code():
    e = InputError("f.csv: line 1: no 'text' column", code=E_MISSING_COLUMN)
    assert str(e) == "[E115] f.csv: line 1: no 'text' column"


# --------------------------------------------------------------------------- property

FRAGMENTS = [b'{"text": "', b'{"id": 1, ', b'"text": ', b'"kind": "review"', b'"}', b"}", b"{", b"[", b"]",
             b'"', b'""', b",", b"\n", b"\r\n", b"\r", b"\x00", b"\xff", b"\xc3", b"\xef\xbb\xbf",
             b"id,text\n", b"text\n", b"We care. ", b"\\u0000", b"\\ud800", b"null", b"1e999", b"   "]

bytes_payload = st.one_of(
    st.binary(max_size=600),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join),
    st.text(max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass")),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=bytes_payload, ext=st.sampled_from([".txt", ".jsonl", ".csv"]),
       header=st.booleans(), max_chars=st.sampled_from([5, 2_000_000]))
def test_random_bytes_never_raise(payload, ext, header, max_chars):
    if header and ext == ".csv":
        payload = b"id,text\n" + payload
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"random{ext}"
        p.write_bytes(payload)
        items = list(read_inputs([str(p)], ReadOptions(max_chars=max_chars)))
    for item in items:
        assert isinstance(item, (Record, Reject))
        assert item.source == str(p)
        if isinstance(item, Reject):
            assert item.position and item.reason and item.code.startswith("E")
        else:
            assert isinstance(item.text, str) and item.text.strip() and len(item.text) <= max_chars
            assert isinstance(item.id, str) and item.id
