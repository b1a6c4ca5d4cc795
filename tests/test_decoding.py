"""nlp/decoding.py through the readers: byte-order marks, binary files, invalid UTF-8, a page's
declared charset, and lines read within their bound. Each failure is a reject that says where."""
from __future__ import annotations

import codecs
import io
import json

import pytest
from conftest import assert_reject, read, records, rejects, write

from nlp.decoding import bounded_lines
from nlp.errors import (
    E_BINARY,
    E_ENCODING,
)
from nlp.io import check_inputs
from nlp.records import ReadOptions, Record

UTF16_ROWS = [{"id": "1", "text": "We put customers first."}, {"id": "2", "text": "Café refund in 2 days ☕."}]


@pytest.mark.parametrize("name", ["b.txt", "b.md", "b.html", "b.jsonl", "b.csv"])
def test_binary_file_is_a_reject_with_byte_position(tmp_path, name):
    p = write(tmp_path, name, b"PK\x03\x04" + bytes(range(256)) * 4)
    [r] = read(p)
    assert_reject(r, p, "byte 4", E_BINARY, "binary")


@pytest.mark.parametrize("name", ["u.txt", "u.md", "u.html"])
def test_invalid_utf8_document_names_line_and_column(tmp_path, name):
    data = "line one\nline two\n".encode() + b"caf\xe9 au lait\n"
    p = write(tmp_path, name, data)
    [r] = read(p)
    assert_reject(r, p, "line 3, column 4", E_ENCODING, "0xe9")


def test_latin1_file_is_rejected_not_mojibake(tmp_path):
    p = write(tmp_path, "latin1.txt", "Crème brûlée.".encode("latin-1"))
    [r] = read(p)
    assert r.code == E_ENCODING and r.position == "line 1, column 3"


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
    assert_reject(r, p, "line 2, column 14", E_ENCODING, "invalid cp1252 (byte 0x81), the charset the page declares")


def test_a_charset_in_plain_text_is_not_a_declaration(tmp_path):
    p = write(tmp_path, "note.txt", b'<meta charset="windows-1252"> caf\xe9')
    [r] = read(p)
    assert r.code == E_ENCODING


def test_bounded_lines_never_holds_a_line_over_the_limit():
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
