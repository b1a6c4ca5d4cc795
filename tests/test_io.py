"""nlp/io.py without models: documents and stdin, every format's dispatch, bad files as Rejects,
and the checks and output preparation done before any work. Each table reader has its own test file.

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
from conftest import FIFTY_MB, assert_reject, read, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp.errors import (
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
    DOCUMENTS_ONLY,
    ReadOptions,
    Record,
    Reject,
    check_inputs,
    prepare_outputs,
    read_inputs,
)

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
    (b"ok\n\xff\xfe bad\n", E_ENCODING, "line 2, column 1"),
])
def test_stdin_bad_input_is_a_reject(data, code, position):
    [r] = list(read_inputs(["-"], stdin=io.BytesIO(data)))
    assert_reject(r, "<stdin>", position, code)


@pytest.mark.parametrize("page", [b"<!DOCTYPE html><html><head><title>Acme</title></head>",
                                  b"\xef\xbb\xbf\n  <!-- saved --> <html lang='en'><body>",
                                  b"<HTML>\n<BODY>"])
def test_stdin_that_is_an_html_page_is_read_as_one(page):
    """``curl URL | lipservice audit -`` audited the markup: the first "sentence" was the doctype and title."""
    [rec] = list(read_inputs(["-"], stdin=io.BytesIO(page + b"<script>var x;</script><p>We refund you in 5 days.</p>")))
    assert rec.text.strip() == "We refund you in 5 days."


def test_stdin_that_mentions_html_is_still_text():
    text = "Reply with <html> tags and we fix it.\n<body> is fine too."
    [rec] = list(read_inputs(["-"], stdin=io.BytesIO(text.encode())))
    assert rec.text == text


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


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("name", ["e.txt", "e.md", "e.html", "e.jsonl", "e.csv"])
@pytest.mark.parametrize("data", [b"", b"\n\n  \r\n"])
def test_empty_file_is_a_reject(tmp_path, name, data):
    p = write(tmp_path, name, data)
    [r] = read(p)
    assert_reject(r, p, "file", E_EMPTY_FILE, "empty file")


@pytest.mark.parametrize("name, data, says", [
    ("h.csv", "id,text\n", "a header and no rows"),
    ("hb.csv", "id,text\n\n\n", "a header and no rows"),
    ("blank16.jsonl", codecs.BOM_UTF16_LE + "\n  \n".encode("utf-16-le"), "only blank lines"),
])
def test_a_table_file_without_records_is_one_reject(tmp_path, name, data, says):
    p = write(tmp_path, name, data)
    [r] = read(p)
    assert_reject(r, p, "file", E_EMPTY_FILE, says)


def test_a_file_name_that_is_not_utf8_is_carried_escaped(tmp_path):
    raw = bytes(tmp_path) + b"/caf\xe9.jsonl"
    with open(raw, "wb") as fh:
        fh.write(b'{"text": "We care."}\n')
    name = os.fsdecode(raw)  # what a directory listing or a shell glob hands over
    [r] = read(name)
    assert r.source == f"{tmp_path}/caf\\xe9.jsonl" and r.id == f"{tmp_path}/caf\\xe9.jsonl:1"
    json.dumps(r.id).encode("utf-8")  # writable


def test_50mb_single_line_txt_is_rejected_for_size(tmp_path):
    p = tmp_path / "huge.txt"
    p.write_bytes(b"x" * FIFTY_MB)  # one line, no newline, default ReadOptions
    [r] = read(str(p))
    assert_reject(r, str(p), "file", E_TOO_LARGE, "over the limit")
    assert f"{FIFTY_MB:,}" in r.reason  # says how big it is


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


def test_a_named_broken_link_is_a_usage_error_saying_so(tmp_path):
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(InputError) as e:
        check_inputs([str(tmp_path / "gone.txt")], ReadOptions())
    assert e.value.code == E_NOT_FOUND and f"a broken symbolic link (to {tmp_path / 'nowhere.txt'})" in str(e.value)


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
    prepare_outputs([src, "-"], {"--output": tmp_path / "o.jsonl", "--json": None})  # nothing to refuse


def test_an_output_in_a_folder_that_does_not_exist_is_refused_not_made(tmp_path):
    """``--json /nonexist/x.json`` made /nonexist at the root: a mistyped folder became a tree of folders."""
    with pytest.raises(UsageError) as exc:
        prepare_outputs([], {"--json": tmp_path / "typo" / "deeper" / "x.json"})
    assert exc.value.code == E_OUTPUT and exc.value.exit_code == 2
    assert f"{tmp_path / 'typo' / 'deeper'} does not exist; create the folder first" in str(exc.value)
    assert not (tmp_path / "typo").exists()


def test_an_output_that_cannot_be_written_is_refused_before_any_work(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        prepare_outputs([], {"--json": tmp_path})
    blocker = tmp_path / "report.txt"
    blocker.write_text("a file, not a folder")
    with pytest.raises(UsageError) as exc:
        prepare_outputs([], {"--output": blocker / "out.jsonl"})
    assert exc.value.code == E_OUTPUT and f"{blocker} is not a folder" in str(exc.value)


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


class Pipe(io.RawIOBase):
    """A pipe: hands out what it holds a little at a time, and cannot seek."""

    def __init__(self, data: bytes, step: int = 5000) -> None:
        self.data, self.step, self.pos = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        chunk = self.data[self.pos:self.pos + min(len(buf), self.step)]
        buf[:len(chunk)] = chunk
        self.pos += len(chunk)
        return len(chunk)


def test_json_lines_on_stdin_are_records_not_one_text():
    """`head -50 reviews.jsonl | lipservice reviews -` reported "read 1": the whole stream was one review."""
    lines = [json.dumps({"id": f"r{i}", "text": f"Parcel {i} came late. " * 8}) for i in range(3000)]  # ~600 KB
    data = ("\n".join(lines[:2]) + "\n{broken\n" + "\n".join(lines[2:]) + "\n").encode()
    items = list(read_inputs(["-"], stdin=io.BufferedReader(Pipe(data))))
    records = [r for r in items if isinstance(r, Record)]
    assert len(items) == 3001 and [r.id for r in records] == [f"r{i}" for i in range(3000)]
    [bad] = [r for r in items if isinstance(r, Reject)]
    assert_reject(bad, "<stdin>", "line 3, column 2", E_BAD_JSON, "invalid JSON")
    [one] = list(read_inputs(["-"], ReadOptions(text_field="body"), stdin=io.BytesIO(b'\xef\xbb\xbf{"body": "Late."}')))
    assert one.text == "Late." and one.id == "<stdin>:1"


@pytest.mark.parametrize("text", ["{Note} Our team calls you back.\n", '{"braces": in a sentence} we care.',
                                  "  \n[1, 2] is a list, not a record.",
                                  '{"title": "Returns"}\nSend it back within 30 days.\nWe refund you in a week.\n',
                                  '{"lang": "en"}\nOur team calls you back.'])
def test_stdin_that_only_starts_with_a_brace_is_still_one_text(text):
    [rec] = list(read_inputs(["-"], stdin=io.BytesIO(text.encode())))
    assert isinstance(rec, Record) and rec.text == text


def test_stdin_json_lines_with_a_broken_first_line_or_in_utf16_are_still_records():
    """A broken first record, or UTF-16 with its mark, made the whole stream one text document."""
    broken = b'{"id": "x", "text": "cut\n{"id": "a", "text": "Late."}\n'
    items = list(read_inputs(["-"], stdin=io.BytesIO(broken)))
    assert [type(i).__name__ for i in items] == ["Reject", "Record"] and items[1].id == "a"
    utf16 = codecs.BOM_UTF16_LE + '{"id": "a", "text": "Late."}\n{"id": "b", "text": "Fine."}\n'.encode("utf-16-le")
    assert [r.id for r in read_inputs(["-"], stdin=io.BytesIO(utf16))] == ["a", "b"]


def test_a_csv_table_on_stdin_is_records_not_one_review():
    """`cat reviews.csv | lipservice reviews -` was one review of every row, without a warning."""
    rows = "".join(f'r{i},"Parcel {i} came late, again.",{i % 5 + 1}\n' for i in range(4000))  # ~150 KB
    data = ("id,text,stars\n" + rows + 'r4000,"late\n""and"" lost",1\n').encode()
    items = list(read_inputs(["-"], stdin=io.BufferedReader(Pipe(data))))
    assert [r.id for r in items] == [f"r{i}" for i in range(4001)] and items[-1].text == 'late\n"and" lost'
    assert items[0].meta == {"stars": "1"} and items[0].position == "line 2"
    semi = list(read_inputs(["-"], ReadOptions(text_field="body"), stdin=io.BytesIO(b"sep=;\nid;body\na;Late.\n")))
    assert [(r.id, r.text) for r in semi] == [("a", "Late.")]


@pytest.mark.parametrize("text", ["text, then more\nWe call you back.\n", "Our text,\nfine\n",
                                  "We care.\rYou get free returns.\r", "id,text\rMac line ends, a bare return\r"])
def test_stdin_whose_first_line_only_names_a_text_is_still_one_text(text):
    """A bare return before any newline made the csv module raise: a traceback for `… | lipservice audit -`."""
    [rec] = list(read_inputs(["-"], stdin=io.BytesIO(text.encode())))
    assert isinstance(rec, Record) and rec.text == text


def test_stdin_csv_with_a_header_alone_or_a_first_row_longer_than_the_head_is_a_table():
    """A header alone was one document; a first row longer than what stdin's sniff reads was the whole table
    as one text (or one reject for its size)."""
    [alone] = list(read_inputs(["-"], stdin=io.BytesIO(b"id,text\n")))
    assert_reject(alone, "<stdin>", "file", E_EMPTY_FILE, "a header and no rows")
    data = b'id,text\na,"' + b"long " * 60_000 + b'"\nb,Late.\n'  # 300 KB first row
    assert [r.id for r in read_inputs(["-"], stdin=io.BufferedReader(Pipe(data)))] == ["a", "b"]


def test_a_json_document_on_stdin_is_records_not_one_text(monkeypatch):
    """`cat export.json | lipservice annotate -` (jq and json.dump pretty-print) was one text of every record."""
    records = [{"id": f"r{i}", "text": f"Parcel {i} came late."} for i in range(3000)]  # ~200 KB pretty-printed
    data = json.dumps(records + [5], indent=2).encode()
    items = list(read_inputs(["-"], stdin=io.BufferedReader(Pipe(data))))
    assert [r.id for r in items[:-1]] == [f"r{i}" for i in range(3000)] and items[0].position == "[0]"
    assert_reject(items[-1], "<stdin>", "[3000]", E_BAD_JSON, "a number, not an object")
    [one] = list(read_inputs(["-"], stdin=io.BytesIO(json.dumps({"id": "x", "text": "Late."}, indent=2).encode())))
    assert (one.id, one.text) == ("x", "Late.")
    [cut] = list(read_inputs(["-"], stdin=io.BytesIO(b'[\n {"id": 1, "text": "cut"\n')))
    assert_reject(cut, "<stdin>", "line 3, column 1", E_BAD_JSON, "invalid JSON")
    monkeypatch.setattr("nlp.json_files.JSON_ARRAY_BYTES", 100)
    [big] = list(read_inputs(["-"], stdin=io.BytesIO(data)))
    assert_reject(big, "<stdin>", "file", E_TOO_LARGE, "make it JSON Lines (… | jq -c '.[]' > records.jsonl)")
    [refused] = list(read_inputs(["-"], ReadOptions(stdin_records=False), stdin=io.BytesIO(data)))
    assert_reject(refused, "<stdin>", "file", E_UNKNOWN_EXT, "a JSON document of records, and this command reads documents")


def test_a_json_array_on_stdin_longer_than_the_sniffed_head_is_still_records():
    """A first record over 256 KiB, or a string before the records, made a long array one text."""
    long_first = [{"id": "L", "text": "We promise to answer every message quickly. " * 7000}, {"id": "s", "text": "Hi."}]
    after_a_string = ["export v1"] + [{"id": f"r{i}", "text": "Late parcel."} for i in range(5000)]
    for doc, ids in ((long_first, ["L", "s"]), (after_a_string, [f"r{i}" for i in range(5000)])):
        items = list(read_inputs(["-"], stdin=io.BufferedReader(Pipe(json.dumps(doc, indent=2).encode()))))
        assert [i.id for i in items if isinstance(i, Record)] == ids
    [cut] = list(read_inputs(["-"], stdin=io.BytesIO(b'[\n  {\n    "text": "We refund')))
    assert_reject(cut, "<stdin>", "line 3, column 13", E_BAD_JSON, "Unterminated string")
    # an array of strings longer than the head was one text of brackets (exit 0): a reject per item now
    strings = ["We promise you a full refund within 30 days, no questions asked."] * 4500
    items = list(read_inputs(["-"], stdin=io.BufferedReader(Pipe(json.dumps(strings).encode()))))
    assert len(items) == 4500 and all(isinstance(i, Reject) for i in items) and items[-1].position == "[4499]"


def test_stdin_json_documents_without_a_record_first_are_read_as_the_file_would_be():
    """"[]", "{}" and an array opening with a string were one text on stdin; as a file, rejects and records."""
    [empty] = list(read_inputs(["-"], stdin=io.BytesIO(b"[]\n")))
    assert_reject(empty, "<stdin>", "file", E_EMPTY_FILE, "no records: an empty array")
    [no_text] = list(read_inputs(["-"], stdin=io.BytesIO(b"{\n}\n")))
    assert isinstance(no_text, Reject) and "a JSON object without a 'text' field" in no_text.reason
    mixed = list(read_inputs(["-"], stdin=io.BytesIO(b'[\n "s",\n {"text": "We promise fast delivery."}\n]\n')))
    assert [type(i).__name__ for i in mixed] == ["Reject", "Record"] and mixed[1].text == "We promise fast delivery."
    # a minified export on one line: its reject names the key the records are under, as a file's does
    [nested] = list(read_inputs(["-"], stdin=io.BytesIO(b'{"records": [{"text": "We refund you."}]}\n')))
    assert_reject(nested, "<stdin>", "file", E_MISSING_COLUMN, "… | jq -c '.[\"records\"][]' > records.jsonl")
    # a whole array with no record in it: a reject per item, not one text of brackets and quotes
    items = list(read_inputs(["-"], stdin=io.BytesIO(b'["We refund you.", "Call us."]\n')))
    assert [i.position for i in items] == ["[0]", "[1]"] and all(isinstance(i, Reject) for i in items)
    assert "a string, not an object" in items[0].reason


@pytest.mark.parametrize("text", ["[1] Our team calls you back.\n", "[1, 2] we care.\n", "{\nbraces}, then we care.\n",
                                  "[{Company name}] We promise free returns within 30 days.\n",
                                  '{\n"Great service" is what customers say. We deliver in two days.\n'])
def test_stdin_that_opens_a_bracket_but_no_record_is_still_one_text(text):
    [rec] = list(read_inputs(["-"], stdin=io.BytesIO(text.encode())))
    assert isinstance(rec, Record) and rec.text == text


def test_a_csv_table_on_stdin_without_the_text_column_is_one_text_and_a_warning_says_so(caplog):
    table = b"id,body,stars\na,Late again.,1\nb,Fine.,5\n"
    [rec] = list(read_inputs(["-"], stdin=io.BytesIO(table)))
    assert rec.text == table.decode()
    assert ("<stdin> looks like a CSV table without a 'text' column (columns: id, body, stars), so it is read as one "
            "text; name the text column with --text-field") in caplog.messages
    caplog.clear()
    list(read_inputs(["-"], ReadOptions(stdin_records=False), stdin=io.BytesIO(table)))
    assert caplog.messages[0].endswith(f"for its rows, {DOCUMENTS_ONLY}")
    caplog.clear()
    for prose in (b"Hello, world\nThis is fine, really\nAnd so, on\n", b"We care.\nYou, first.\nAlways, now.\n",
                  b"Roses are red|violets are blue\nWe ship fast|we ship to you\nOrders today|arrive by two\n"):
        list(read_inputs(["-"], stdin=io.BytesIO(prose)))
    assert not caplog.messages


def test_json_lines_on_stdin_joined_from_files_with_byte_order_marks_are_records():
    mark = b"\xef\xbb\xbf"
    data = b"".join(mark + json.dumps({"id": i, "text": "Late."}).encode() + b"\n" for i in "xyz") + mark + b"\n"
    assert [r.id for r in read_inputs(["-"], stdin=io.BytesIO(data))] == ["x", "y", "z"]


def test_a_byte_order_mark_on_a_line_of_its_own_is_a_blank_line_not_a_reject(tmp_path):
    """A mark then a blank line (a Windows export cut by hand) was a reject for line 1, as invalid JSON."""
    data = b'\xef\xbb\xbf\n{"id": "a", "text": "Late."}\n'
    path = tmp_path / "r.jsonl"
    path.write_bytes(data)
    for items in (list(read_inputs([str(path)])), list(read_inputs(["-"], stdin=io.BytesIO(data)))):
        assert [(type(i).__name__, i.id) for i in items] == [("Record", "a")]


def test_gzip_on_stdin_says_to_decompress_it():
    import gzip

    data = gzip.compress(b'{"text": "Late."}\n')
    [r] = list(read_inputs(["-"], stdin=io.BytesIO(data)))
    assert_reject(r, "<stdin>", f"byte {data.find(0)}", E_BINARY,
                  "gzip-compressed data; name the file with its .gz ending, or decompress")


@pytest.mark.parametrize("name", ["twice.jsonl.gz", "twice.csv.gz", "twice.txt.gz"])
def test_a_file_gzipped_twice_says_so_not_to_name_it_gz(tmp_path, name):
    """Its .gz held gzip data again, and the reject said to name the file with the .gz ending it has."""
    import gzip

    path = tmp_path / name
    path.write_bytes(gzip.compress(gzip.compress(b'{"text": "Late."}\n' if "json" in name else b"text\nLate.\n")))
    [r] = list(read_inputs([str(path)]))
    assert r.code == E_BINARY and f"gzip-compressed twice: what its .gz holds is gzip data again; read it as zcat " \
        f"{path} | zcat | lipservice … -" in r.reason
