"""Bytes into text, within bounds: byte-order marks, binary files, a page's declared charset, and
lines read without holding one over the limit. Every failure is a reject that says where.
"""
from __future__ import annotations

import codecs
import gzip
import re
import zlib
from pathlib import Path
from typing import AnyStr, BinaryIO, Callable, Iterator

from .errors import E_BINARY, E_EMPTY_FILE, E_ENCODING, E_TOO_LARGE
from .records import ReadOptions, Reject

NUL = b"\x00"
#: Byte-order marks of the Unicode encodings read besides UTF-8, longest first (UTF-32 LE's starts with
#: UTF-16 LE's). Windows tools write them: PowerShell 5's ``>``, Notepad's "Unicode", Excel's "Unicode Text".
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: The decoding error handler of UTF-16/32 streams: an undecodable unit becomes a lone surrogate,
#: which the readers reject with the record's position (``surrogateescape`` cannot do this for them).
UNDECODABLE = "lipservice-undecodable"
codecs.register_error(UNDECODABLE, lambda err: ("\udcff", err.end))


#: What a broken compressed stream raises while it is read.
STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def open_binary(path: Path, compressed: bool) -> BinaryIO:
    """The file's bytes, decompressed on the fly when it is gzipped."""
    return gzip.open(path, "rb") if compressed else path.open("rb")


def bom_encoding(head: bytes) -> str:
    """The encoding a file's first bytes announce with a byte-order mark: utf-32, utf-16, or utf-8
    (with or without its mark). Python's utf-16/utf-32 codecs read the mark and the byte order."""
    return next((name for bom, name in BOMS if head.startswith(bom)), "utf-8")


#: How gzip data begins.
GZIP_MAGIC = b"\x1f\x8b"
_PRINTABLE = frozenset(b"\t\n\r" + bytes(range(0x20, 0x7F)))


def binary_reason(head: bytes, what: str, reads_gzip: bool = True, source: str = "") -> str:
    """Why a file with a NUL byte is refused: UTF-16 text without a byte-order mark (ASCII-range text
    with a NUL in every other byte) gets a fix of its own, and so does gzip data (named ``.gz`` where the
    reader ``reads_gzip``, else decompressed; inside a ``.gz`` ``source``, compressed twice); anything else
    is binary."""
    def mostly(part: bytes, ok) -> bool:
        return sum(map(ok, part)) >= 0.9 * len(part)

    if head.startswith(GZIP_MAGIC):  # gzip without its name (stdin, or a file not ending in .gz)
        if source.lower().endswith(".gz") and reads_gzip:  # what its .gz held is gzip again
            return f"gzip-compressed twice: what its .gz holds is gzip data again; read it as zcat {source} | zcat | " \
                   "lipservice … -"
        if not reads_gzip:
            return f"gzip-compressed data, {what}; decompress it first (zcat FILE > FILE.csv)"
        return "gzip-compressed data; name the file with its .gz ending, or decompress it (zcat FILE | lipservice … -)"

    for text, zeros in ((head[0::2], head[1::2]), (head[1::2], head[0::2])):  # little-, then big-endian
        if len(head) >= 8 and mostly(zeros, lambda b: b == 0) and mostly(text, _PRINTABLE.__contains__):
            return "looks like UTF-16 text without a byte-order mark; re-save the file as UTF-8"
    return f"binary file (NUL byte), {what}"


#: A page's ``<meta charset>`` or ``http-equiv`` declaration, looked for in its first ``CHARSET_PRESCAN`` bytes.
HTML_CHARSET = re.compile(rb"<meta[^>]{0,512}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.-]{1,40})", re.IGNORECASE)
CHARSET_PRESCAN = 4096
#: Labels that browsers read as another encoding (WHATWG Encoding): a page "in Latin-1" is windows-1252.
CHARSET_ALIASES = {"iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252",
                   "l1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252", "windows-1252": "cp1252"}
#: Python codecs that are no page's charset (escape formats, no-op and failing codecs).
NOT_PAGE_CHARSETS = {"unicode-escape", "raw-unicode-escape", "undefined", "punycode", "idna"}


def html_charset(data: bytes) -> str | None:
    """The encoding an HTML page declares in its first bytes, as Python names it, or None. UTF-16 is
    read as UTF-8, as browsers do: a page in UTF-16 has a byte-order mark instead."""
    found = HTML_CHARSET.search(data, 0, CHARSET_PRESCAN)
    if not found:
        return None
    label = found.group(1).decode("ascii").lower()
    return None if label.startswith("utf-16") else CHARSET_ALIASES.get(label, label)


def decode_text(source: str, data: bytes, declared: str | None = None) -> tuple[str | None, Reject | None]:
    """UTF-8 (BOM allowed), UTF-16 or UTF-32 with a byte-order mark, or a reject that says where the
    first bad byte is. ``declared`` (an HTML page's charset) is used when the bytes are not UTF-8."""
    encoding = bom_encoding(data)
    if encoding == "utf-8":
        nul = data.find(b"\x00", 0, 65536)
        if nul >= 0 and data.strip():
            return None, Reject(source, f"byte {nul}", binary_reason(data[:65536], "give a text, HTML or "
                                                                                   "markdown file", source=source),
                                E_BINARY)
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        if encoding == "utf-8" and declared and declared.replace("_", "-") not in ("utf-8", "utf8"):
            return _decode_declared(source, data, declared)
        return None, _undecodable(source, data, err, encoding.upper(), lines=encoding == "utf-8")
    if not text.strip():
        return None, Reject(source, "file", "empty file: no text to analyse", E_EMPTY_FILE)
    return text, None


def _undecodable(source: str, data: bytes, err: UnicodeDecodeError, name: str, lines: bool = True,
                 note: str = "") -> Reject:
    """The reject of bytes that are not ``name``: the line (in encodings where a newline is one byte) and
    the byte where it breaks, the byte's value, and the fix."""
    where = byte_position(data, err.start) if lines else f"byte {err.start}"
    return Reject(source, where, f"invalid {name} (byte 0x{data[err.start]:02x}){note}; re-save the file as UTF-8",
                  E_ENCODING)


def byte_position(data: bytes, start: int, first_line: int = 1) -> str:
    """``line L, column C`` of the byte at ``start``: C counts the characters before it on its line from 1
    (as an editor does), not bytes from the file's start."""
    line_start = data.rfind(b"\n", 0, start) + 1
    column = len(data[line_start:start].decode("utf-8", "replace")) + 1
    line = first_line + data.count(b"\n", 0, line_start)
    return f"line {line}, column {column}"


def _decode_declared(source: str, data: bytes, declared: str) -> tuple[str | None, Reject | None]:
    """A page's bytes in the charset it declares, or a reject naming the charset and the bad byte."""
    try:
        info = codecs.lookup(declared)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in NOT_PAGE_CHARSETS:
        return None, Reject(source, "file", f"not UTF-8, and the page declares charset {declared!r}, which "
                                            "is not known; re-save the file as UTF-8", E_ENCODING)
    try:
        return data.decode(declared), None
    except UnicodeDecodeError as err:
        return None, _undecodable(source, data, err, info.name, note=", the charset the page declares")


#: Control bytes that text does not hold (all below 0x20 but tab, line ends and form feeds).
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r\f\v")


def looks_binary(head: bytes) -> bool:
    """Whether a table file whose first bytes hold a NUL is binary data (or UTF-16 without its mark): not
    UTF-8, or a tenth control bytes. A stray NUL in UTF-8 text is not: its row is the reject, wherever the
    NUL stands (one in the first 64 KiB lost the whole file, one later only its row)."""
    if NUL not in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.end < len(head) - 3:  # not merely a character cut at the end of the head
            return True
    return len(head) - len(head.translate(None, _CONTROL_BYTES)) > 0.1 * len(head)


def open_table(source: str, fh: BinaryIO, what: str) -> tuple[Reject | None, str]:
    """An empty or binary table file is one reject; otherwise rewind and return its encoding."""
    head, broken = read_head(fh, 65536)
    if not head.strip() and not broken and not read_head(fh, 1)[0]:
        return Reject(source, "file", "empty file: no records", E_EMPTY_FILE), ""
    encoding = bom_encoding(head)
    if encoding == "utf-8" and looks_binary(head):
        return Reject(source, f"byte {head.find(NUL)}", binary_reason(head, f"not {what}", source=source),
                      E_BINARY), ""
    fh.seek(0)
    return None, encoding


def read_head(fh: BinaryIO, size: int) -> tuple[bytes, bool]:
    """Up to ``size`` first bytes, and whether a compressed stream broke within them. What came before
    the break is kept: the reader meets the break again after the records before it, which it keeps
    (a read of the whole head at once raised and lost them all)."""
    parts: list[bytes] = []
    got = 0
    try:
        while got < size:
            chunk = fh.read(min(8192, size - got))
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
    except STREAM_ERRORS:
        return b"".join(parts), True
    return b"".join(parts), False


def invalid_encoding(encoding: str) -> str:
    return f"invalid {encoding.upper()}; re-save the file as UTF-8"


LINE_ENDS = ("\n", "\r", b"\n")  # a text reader with newline="" also ends a line at a lone "\r"


def line_limit(max_chars: int) -> int:
    """The longest line a table file may have: a text of ``max_chars`` characters written as JSON
    escapes (up to 12 bytes each), plus 1 MiB for the other fields. Longer lines are not read into memory."""
    return 12 * max_chars + 2**20


def bounded_lines(readline: Callable[[int], AnyStr], limit: int,
                  tally: Callable[[int, AnyStr], None] | None = None) -> Iterator[tuple[int, AnyStr | None, int]]:
    """``(line number, line, length)`` from ``readline``; ``line`` is None for a line over ``limit``,
    whose rest is skipped in 1 MiB steps: a gzipped or broken file with one line of gigabytes
    costs no more memory than a line at the limit. ``tally`` is given each skipped part of such a line,
    first to last, with its line number, before the line is yielded (the CSV reader looks for its quotes)."""
    lineno = 0
    while True:
        line = readline(limit + 1)
        if not line:
            return
        lineno += 1
        if len(line) > limit and line[-1:] not in LINE_ENDS:
            length = len(line)
            while line:
                if tally:
                    tally(lineno, line)
                if line[-1:] in LINE_ENDS:
                    break
                line = readline(2**20)
                length += len(line)
            yield lineno, None, length
            continue
        yield lineno, line, len(line)


def too_long_reason(what: str, opts: ReadOptions) -> str:
    return (f"{what}, the most a record with a text of {opts.max_chars:,} characters can take "
            f"(raise {opts.max_chars_setting})")


def too_long(source: str, position: str, what: str, opts: ReadOptions) -> Reject:
    return Reject(source, position, too_long_reason(what, opts), E_TOO_LARGE)
