"""Read inputs into records; anything that cannot be read becomes a reject with a position.

A record is ``{"id", "text", "kind", "source", "meta"}``. Readers never raise for a bad
record: they yield a :class:`Reject` and go on, so read = annotated + rejected, always.
Problems with a whole file that the user must fix (missing file, unknown extension, a CSV
without the text column) raise :class:`~nlp.errors.InputError` before any work starts.
"""
from __future__ import annotations

import codecs
import csv
import gzip
import html
import io
import itertools
import json
import logging
import os
import re
import stat
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, AnyStr, BinaryIO, Callable, Iterator

from .errors import (
    E_BAD_FIELD,
    E_BAD_JSON,
    E_BINARY,
    E_CORRUPT,
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

TEXT_EXTS = {".txt", ".text"}
MARKDOWN_EXTS = {".md", ".markdown"}
HTML_EXTS = {".html", ".htm"}
DOCUMENT_EXTS = TEXT_EXTS | MARKDOWN_EXTS | HTML_EXTS
TABLE_EXTS = {".jsonl", ".json", ".csv", ".parquet"}
SUPPORTED_EXTS = DOCUMENT_EXTS | TABLE_EXTS
#: Other names of the table formats: tab-separated CSV, and newline-delimited JSON as other tools name it.
FORMAT_ALIASES = {".tsv": ".csv", ".ndjson": ".jsonl"}
GZIP_SUFFIX = ".gz"
#: Compressions that are not read, with their names, for an error that says what to do instead.
OTHER_COMPRESSIONS = {".bz2": "bzip2", ".xz": "xz", ".zst": "zstd", ".lz4": "lz4", ".zip": "zip", ".7z": "7-Zip",
                      ".tgz": "tar and gzip", ".tar": "tar"}
#: What a broken compressed stream raises while it is read.
STREAM_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
#: Page metadata kept from an HTML file's ``meta`` (trafilatura's names).
HTML_META = ("title", "url", "hostname", "sitename", "author", "date", "description")
KINDS = ("company", "review", "auto")
STDIN = "-"
NUL = b"\x00"
#: Byte-order marks of the Unicode encodings read besides UTF-8, longest first (UTF-32 LE's starts with
#: UTF-16 LE's). Windows tools write them: PowerShell 5's ``>``, Notepad's "Unicode", Excel's "Unicode Text".
BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: The decoding error handler of UTF-16/32 streams: an undecodable unit becomes a lone surrogate,
#: which the readers reject with the record's position (``surrogateescape`` cannot do this for them).
UNDECODABLE = "lipservice-undecodable"
codecs.register_error(UNDECODABLE, lambda err: ("\udcff", err.end))
#: The most digits a JSON integer may have (Python's limit on converting digits to int).
JSON_INT_DIGITS = sys.get_int_max_str_digits() or 4300
log = logging.getLogger(__name__)


@dataclass
class Record:
    id: str
    text: str
    kind: str = "auto"
    source: str = ""
    position: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reject:
    source: str
    position: str
    reason: str
    code: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "position": self.position, "reason": self.reason, "code": self.code}


@dataclass
class ReadOptions:
    id_field: str = "id"
    text_field: str = "text"
    kind_field: str = "kind"
    default_kind: str = "auto"
    max_chars: int = 2_000_000
    #: An HTML page is mostly markup (scripts, inline images): its bytes get their own bound.
    max_html_bytes: int = 50_000_000

    @classmethod
    def from_config(cls, cfg: Any, **fields: Any) -> "ReadOptions":
        """Options with the ``[lipservice]`` input bounds of ``cfg`` and the given fields."""
        ls = cfg["lipservice"]
        return cls(**{"max_chars": int(ls["max_chars"]), "max_html_bytes": int(ls["max_html_bytes"]), **fields})


def check_inputs(paths: list[str], opts: ReadOptions) -> None:
    """Fail fast, before any work, on inputs the user must fix: exit 2 with file and position."""
    for p in paths:
        if p == STDIN:
            continue
        path = Path(p)
        if not path.exists():
            raise InputError(f"{p}: {not_a_file(path) or missing_reason(p)}", code=E_NOT_FOUND)
        if path.is_dir():
            raise InputError(f"{p}: is a directory; pass the files in it (e.g. {p}/*.txt)", code=E_NOT_FOUND)
        ext, compressed = format_of(path)
        if ext not in SUPPORTED_EXTS:
            raise InputError(f"{p}: {unknown_format(ext)}", code=E_UNKNOWN_EXT)
        if ext == ".csv" and not compressed:
            _check_csv_header(path, opts)
        elif ext == ".parquet" and not compressed:
            _check_parquet_columns(path, opts)


def _check_parquet_columns(path: Path, opts: ReadOptions) -> None:
    """A Parquet file without the text column is a usage error before any work, as a CSV's is; a file
    that is not Parquet at all is left to the reader's reject."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        columns = pq.read_schema(path).names
    except (pa.ArrowException, OSError):
        return
    if opts.text_field not in columns:
        raise InputError(f"{path}: no {opts.text_field!r} column (columns: {', '.join(columns) or 'none'}); name "
                         "the text column with --text-field", code=E_MISSING_COLUMN)


def missing_reason(arg: str) -> str:
    """What to say about an input that is not there; a web address gets the way to read it."""
    if re.match(r"(?i)(https?|ftp|s3|gs)://", arg):
        return ("a remote address; lipservice reads local files and never goes online: copy it here first "
                "(curl -o page.html URL, aws s3 cp ...) and pass the file")
    return "file not found"


def not_a_file(path: Path) -> str | None:
    """Why a directory entry is not read: a broken link, a link to a directory (not followed, as a
    link to ``..`` would read everything above), or a pipe, socket or device (reading may never end).
    None for a file, a link to one, a directory, or a path that is not there at all."""
    try:
        if path.is_symlink():
            if not path.exists():
                return f"a broken symbolic link (to {os.readlink(path)}); nothing to read"
            if path.is_dir():
                return f"a symbolic link to a directory, not followed; name it ({path}/) to read it"
            return None
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"cannot be examined ({err.strerror or err})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = "a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return f"{kind}, not a regular file; save its content to a file to read it"


def prepare_outputs(inputs: list[str], outputs: dict[str, Path | None]) -> None:
    """Before any work: refuse an output that is one of the inputs, that another output also
    writes, or that is a directory, and make each output's folder, so that a run of hours never
    ends unable to write. ``outputs`` maps each option (``"--json"``) to its path, or None."""
    def same(a: Path, b: Path) -> bool:
        if a.exists() and b.exists():
            return a.samefile(b)  # also through links
        return a.resolve() == b.resolve()

    given = [(option, Path(path)) for option, path in outputs.items() if path is not None]
    for option, path in given:
        if str(path) == STDIN:  # not a file named "-" that the user would then have to find
            raise UsageError(f"{option} -: this output cannot go to stdout; give a file name", code=E_OUTPUT)
    for i, (option, path) in enumerate(given):
        for p in inputs:
            if p != STDIN and same(path, Path(p)):
                raise UsageError(f"{option} {path}: is also an input; write the output to another file",
                                 code=E_OUTPUT)
        for other, other_path in given[i + 1:]:
            if same(path, other_path):
                raise UsageError(f"{option} and {other} both write {path}; give them different files", code=E_OUTPUT)
        if path.is_dir():
            raise UsageError(f"{option} {path}: is a directory; give a file name in it", code=E_OUTPUT)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=path.parent):  # can a file be written there at all?
                pass
        except OSError as err:
            raise UsageError(f"{option} {path}: cannot write there ({err.strerror}); choose another place",
                             code=E_OUTPUT) from None


def unknown_format(ext: str) -> str:
    """The one message for a file lipservice cannot read, naming what it can."""
    if ext in OTHER_COMPRESSIONS:
        return (f"compressed with {OTHER_COMPRESSIONS[ext]} ({ext}), which is not read; decompress it, or "
                "compress it with gzip (.gz)")
    return (f"unknown extension {ext or '(none)'!r}; supported: "
            f"{', '.join(sorted(SUPPORTED_EXTS | set(FORMAT_ALIASES)))} (each also gzipped, .gz)")


def format_of(path: Path) -> tuple[str, bool]:
    """``(format's extension, gzipped)``: ``page.html.gz`` → ``(".html", True)``, ``a.tsv`` → ``(".csv", False)``."""
    name = path.name.lower()
    compressed = name.endswith(GZIP_SUFFIX)
    ext = Path(name[:-len(GZIP_SUFFIX)] if compressed else name).suffix
    return FORMAT_ALIASES.get(ext, ext), compressed


def open_binary(path: Path, compressed: bool) -> BinaryIO:
    """The file's bytes, decompressed on the fly when it is gzipped."""
    return gzip.open(path, "rb") if compressed else path.open("rb")


def _check_csv_header(path: Path, opts: ReadOptions) -> None:
    with path.open("rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        return  # an empty file is a reject row, not a usage error
    encoding = bom_encoding(head)
    if encoding == "utf-8" and NUL in head:
        return  # binary: reported as a reject by the reader
    lines = head.decode(encoding, "replace").lstrip("\ufeff").splitlines() or [""]
    declared = EXCEL_SEP.match(lines[0])  # Excel's "sep=;" line: the header is the next one
    at = 2 if declared else 1
    first = lines[at - 1] if len(lines) >= at else ""
    delimiter = declared.group(1) if declared else csv_delimiter(first, opts.text_field)
    columns = next(csv.reader([first], delimiter=delimiter or ","), [])
    if opts.text_field not in columns:
        raise InputError(f"{path}: line {at}: no {opts.text_field!r} column (columns: "
                         f"{', '.join(columns) or 'none'}); name the text column with --text-field",
                         code=E_MISSING_COLUMN)
    for name, option in ((opts.text_field, "--text-field"), (opts.id_field, "--id-field")):
        places = [i + 1 for i, column in enumerate(columns) if column == name]
        if len(places) > 1:  # which one holds the text? Taking either would drop the other in silence
            raise InputError(f"{path}: line {at}: the column {name!r} appears {len(places)} times (columns "
                             f"{', '.join(map(str, places))}); rename all but one, or name another with {option}",
                             code=E_MISSING_COLUMN)


def read_inputs(paths: list[str], opts: ReadOptions | None = None, stdin: BinaryIO | None = None
                ) -> Iterator[Record | Reject]:
    """Records and rejects from every input, in input order."""
    opts = opts or ReadOptions()
    for p in paths:
        if p == STDIN:
            limit = document_byte_limit(opts.max_chars)
            data = (stdin or sys.stdin.buffer).read(limit + 1)  # an endless pipe is never read whole
            if len(data) > limit:
                yield Reject("<stdin>", "file", _over_bytes(f"input is over {limit:,} bytes", opts), E_TOO_LARGE)
                continue
            yield from _read_document("<stdin>", data, ".txt", opts)
        else:
            yield from read_file(p, opts)


def read_file(p: str, opts: ReadOptions) -> Iterator[Record | Reject]:
    """Records and rejects of one file of any supported format, gzipped or not.

    A compressed stream that breaks part-way (a truncated download) ends the file with one
    reject that says after which record it broke; the records before it are kept.
    """
    path, source = Path(p), source_name(p)
    ext, compressed = format_of(path)
    if ext not in SUPPORTED_EXTS:
        yield Reject(source, "file", unknown_format(ext), E_UNKNOWN_EXT)
        return
    if ext in DOCUMENT_EXTS:
        yield _read_document_file(source, path, ext, compressed, opts)
        return
    reader = {".jsonl": _read_jsonl, ".json": _read_json, ".csv": _read_csv, ".parquet": _read_parquet}[ext]
    last, items = "file", 0
    try:
        for item in reader(source, path, compressed, opts):
            last, items = item.position, items + 1
            yield item
    except STREAM_ERRORS as err:
        where = "file" if last == "file" else f"after {last}"
        yield Reject(source, where, f"broken gzip stream ({err}); records before this point were kept", E_CORRUPT)
        return
    if not items:  # a file that is not empty but holds no record is not passed over in silence
        yield Reject(source, "file", NO_RECORDS[ext], E_EMPTY_FILE)


def source_name(path: str) -> str:
    """A file's name as records and rejects carry it: bytes of a name that are not UTF-8 (which
    Python holds as lone surrogates, and JSON and Parquet cannot write) are shown as ``\\xff``."""
    try:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # surrogates that did not come from the file system
        return path.encode("utf-8", "replace").decode("utf-8")


#: Why a table file that yields neither a record nor a reject is one reject itself.
NO_RECORDS = {".jsonl": "no records: only blank lines",
              ".json": "no records: an empty array",
              ".csv": "no records: a header and no rows",
              ".parquet": "no records: the table has no rows"}


def _read_document_file(source: str, path: Path, ext: str, compressed: bool, opts: ReadOptions) -> Record | Reject:
    limit = document_byte_limit(opts.max_chars)
    if ext in HTML_EXTS:  # the text's bound is checked once the markup is gone
        limit = max(limit, opts.max_html_bytes)
    if not compressed and path.stat().st_size > limit:
        return Reject(source, "file", _over_bytes(f"file is {path.stat().st_size:,} bytes", opts, ext), E_TOO_LARGE)
    try:
        with open_binary(path, compressed) as fh:
            data = fh.read(limit + 1)
    except (*STREAM_ERRORS, OSError) as err:
        return Reject(source, "file", f"not a readable gzip file ({err})", E_CORRUPT)
    if len(data) > limit:
        return Reject(source, "file", _over_bytes(f"decompresses to over {limit:,} bytes", opts, ext), E_TOO_LARGE)
    return next(_read_document(source, data, ext, opts))


def document_byte_limit(max_chars: int) -> int:
    """The most bytes a one-document input may have: more cannot fit in ``max_chars`` characters
    whatever the encoding, so reading stops there."""
    return 4 * max_chars + 4


def _over_bytes(what: str, opts: ReadOptions, ext: str = ".txt") -> str:
    if ext in HTML_EXTS and opts.max_html_bytes >= document_byte_limit(opts.max_chars):
        return f"{what}, over the limit of {opts.max_html_bytes:,} bytes for an HTML page (raise lipservice.max_html_bytes)"
    return f"{what}, over the limit of {opts.max_chars:,} characters (raise lipservice.max_chars)"


def bom_encoding(head: bytes) -> str:
    """The encoding a file's first bytes announce with a byte-order mark: utf-32, utf-16, or utf-8
    (with or without its mark). Python's utf-16/utf-32 codecs read the mark and the byte order."""
    return next((name for bom, name in BOMS if head.startswith(bom)), "utf-8")


_PRINTABLE = frozenset(b"\t\n\r" + bytes(range(0x20, 0x7F)))


def binary_reason(head: bytes, what: str) -> str:
    """Why a file with a NUL byte is refused: UTF-16 text without a byte-order mark (ASCII-range text
    with a NUL in every other byte) gets a fix of its own, anything else is binary."""
    def mostly(part: bytes, ok) -> bool:
        return sum(map(ok, part)) >= 0.9 * len(part)

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
            return None, Reject(source, f"byte {nul}", binary_reason(data[:65536], "give a text, HTML, markdown, "
                                                                                   "JSONL or CSV file"), E_BINARY)
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
    line = data.count(b"\n", 0, err.start) + 1
    where = f"line {line}, byte {err.start}" if lines else f"byte {err.start}"
    return Reject(source, where, f"invalid {name} (byte 0x{data[err.start]:02x}){note}; re-save the file as UTF-8",
                  E_ENCODING)


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


def _read_document(source: str, data: bytes, ext: str, opts: ReadOptions) -> Iterator[Record | Reject]:
    text, reject = decode_text(source, data, html_charset(data) if ext in HTML_EXTS else None)
    if reject:
        yield reject
        return
    meta: dict[str, Any] = {}
    if ext in HTML_EXTS:
        text, meta = extract_html(text, opts.max_chars)
    elif ext in MARKDOWN_EXTS:
        text = markdown_to_text(text)
    reject = check_text(source, "file", text, opts)
    if reject:
        if ext in HTML_EXTS and reject.code == E_EMPTY_TEXT:
            reject.reason = "empty HTML page: no visible text"
        yield reject
        return
    yield Record(id=source, text=text, kind=opts.default_kind, source=source, position="file", meta=meta)


def check_text(source: str, position: str, text: Any, opts: ReadOptions) -> Reject | None:
    """The checks every record's text passes, whatever its format."""
    if isinstance(text, bytes):  # binary that json_safe could not read as UTF-8
        return Reject(source, position, f"field {opts.text_field!r} is binary data that is not UTF-8 text",
                      E_ENCODING)
    if not isinstance(text, str):
        return Reject(source, position, f"field {opts.text_field!r} is {type(text).__name__}, not a string",
                      E_BAD_FIELD)
    if not text.strip():
        return Reject(source, position, "empty text", E_EMPTY_TEXT)
    if len(text) > opts.max_chars:
        return Reject(source, position, _over_max_chars(len(text), opts), E_TOO_LARGE)
    if "\x00" in text:
        return Reject(source, position, "text contains NUL bytes (binary data)", E_BINARY)
    if _has_surrogates(text):
        return Reject(source, position, "text contains unpaired surrogates (invalid Unicode)", E_ENCODING)
    return None


def _over_max_chars(chars: int, opts: ReadOptions) -> str:
    return f"text is {chars:,} characters, over the limit of {opts.max_chars:,} (raise lipservice.max_chars)"


def record_from_mapping(source: str, position: str, default_id: str, obj: dict, opts: ReadOptions
                        ) -> Record | Reject:
    """A record from one row/object (JSONL, CSV, Parquet, API), or a reject saying what is wrong."""
    if opts.text_field not in obj:
        return Reject(source, position, f"no {opts.text_field!r} field (fields: {', '.join(map(str, obj)) or 'none'}); "
                                        "name it with --text-field", E_MISSING_COLUMN)
    text = obj[opts.text_field]
    reject = check_text(source, position, text, opts)
    if reject:
        return reject
    broken = _surrogate_field(obj, skip=opts.text_field)  # the text was checked just above
    if broken is not None:  # JSON's "\ud83d" without its pair: no output format can write it
        return Reject(source, position, f"field {broken!r} contains unpaired surrogates (invalid Unicode)",
                      E_ENCODING)
    rid = obj.get(opts.id_field)
    rid = default_id if rid is None or str(rid).strip() == "" else str(rid)
    kind = obj.get(opts.kind_field)
    kind = (kind.strip().lower() if isinstance(kind, str) else kind) or opts.default_kind  # " Review" is review
    if kind not in KINDS:
        return Reject(source, position, f"kind {kind!r} is not one of {', '.join(KINDS)}", E_BAD_FIELD)
    meta = {k: v for k, v in obj.items() if k not in (opts.id_field, opts.text_field, opts.kind_field)}
    return Record(id=rid, text=text, kind=kind, source=source, position=position, meta=meta)


def _open_table(source: str, fh: BinaryIO, what: str) -> tuple[Reject | None, str]:
    """An empty or binary table file is one reject; otherwise rewind and return its encoding."""
    head = fh.read(65536)
    if not head.strip() and not fh.read(1):
        return Reject(source, "file", "empty file: no records", E_EMPTY_FILE), ""
    encoding = bom_encoding(head)
    if encoding == "utf-8" and NUL in head:
        return Reject(source, f"byte {head.find(NUL)}", binary_reason(head, f"not {what}"), E_BINARY), ""
    fh.seek(0)
    return None, encoding


def _invalid_encoding(encoding: str) -> str:
    return f"invalid {encoding.upper()}; re-save the file as UTF-8"


def _json_int(digits: str) -> int:
    """A JSON integer, refused past ``JSON_INT_DIGITS`` digits with a message for the user."""
    if len(digits.lstrip("-")) > JSON_INT_DIGITS:
        raise ValueError(f"a number of {len(digits):,} digits (at most {JSON_INT_DIGITS:,})")
    return int(digits)


LINE_ENDS = ("\n", "\r", b"\n")  # a text reader with newline="" also ends a line at a lone "\r"


def line_limit(max_chars: int) -> int:
    """The longest line a table file may have: a text of ``max_chars`` characters written as JSON
    escapes (up to 12 bytes each), plus 1 MiB for the other fields. Longer lines are not read into memory."""
    return 12 * max_chars + 2**20


def bounded_lines(readline: Callable[[int], AnyStr], limit: int) -> Iterator[tuple[int, AnyStr | None, int]]:
    """``(line number, line, length)`` from ``readline``; ``line`` is None for a line over ``limit``,
    whose rest is skipped in 1 MiB steps: a gzipped or broken file with one line of gigabytes
    costs no more memory than a line at the limit."""
    lineno = 0
    while True:
        line = readline(limit + 1)
        if not line:
            return
        lineno += 1
        if len(line) > limit and line[-1:] not in LINE_ENDS:
            length = len(line)
            while line and line[-1:] not in LINE_ENDS:
                line = readline(2**20)
                length += len(line)
            yield lineno, None, length
            continue
        yield lineno, line, len(line)


def _too_long_reason(what: str, opts: ReadOptions) -> str:
    return f"{what}, the most a record with a text of {opts.max_chars:,} characters can take (raise lipservice.max_chars)"


def _too_long(source: str, position: str, what: str, opts: ReadOptions) -> Reject:
    return Reject(source, position, _too_long_reason(what, opts), E_TOO_LARGE)


def _parse_json(text: str) -> tuple[Any, tuple[int, int] | None, str]:
    """``(value, None, "")``, or ``(None, (line, column) or None, the problem)`` for text that is not JSON:
    a syntax error, a nesting deeper than Python's recursion, or a number too long to convert."""
    try:
        return json.loads(text, parse_int=_json_int), None, ""
    except RecursionError:
        return None, None, "invalid JSON: nested too deeply"
    except json.JSONDecodeError as err:
        return None, (err.lineno, err.colno), f"invalid JSON: {err.msg[:120]}"
    except ValueError as err:  # _json_int's refusal
        return None, None, f"invalid JSON: {str(err)[:120]}"


def _read_jsonl(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    with open_binary(path, compressed) as fh:
        reject, encoding = _open_table(source, fh, "JSON Lines")
        if reject:
            yield reject
            return
        limit = line_limit(opts.max_chars)
        # UTF-8 is decoded line by line, so that a bad byte is one line's reject; UTF-16/32 by a text reader
        readline = fh.readline if encoding == "utf-8" else io.TextIOWrapper(
            fh, encoding=encoding, errors=UNDECODABLE, newline="").readline
        for lineno, raw, length in bounded_lines(readline, limit):
            if raw is None:
                unit = "bytes" if encoding == "utf-8" else "characters"
                yield _too_long(source, f"line {lineno}", f"line is {length:,} {unit}, over the limit of {limit:,}", opts)
                continue
            if not raw.strip():
                continue  # blank lines are not records
            pos = f"line {lineno}"
            if isinstance(raw, str):
                line = raw
                if _has_surrogates(line):
                    yield Reject(source, pos, _invalid_encoding(encoding), E_ENCODING)
                    continue
            else:
                try:
                    line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as err:
                    yield Reject(source, f"{pos}, byte {err.start}", _invalid_encoding(encoding), E_ENCODING)
                    continue
            obj, where, problem = _parse_json(line.rstrip("\r\n"))
            if problem:  # the column is the file line's
                yield Reject(source, f"{pos}, column {where[1]}" if where else pos, problem, E_BAD_JSON)
                continue
            if not isinstance(obj, dict):
                yield Reject(source, pos, f"a JSON {type(obj).__name__}, not an object", E_BAD_JSON)
                continue
            yield record_from_mapping(source, pos, f"{source}:{lineno}", obj, opts)


#: The largest JSON array read (whole: a JSON array cannot be streamed without a parser of its own, and
#: Python holds several times its bytes). Larger ones are refused with the command that makes JSON Lines.
JSON_ARRAY_BYTES = 256 * 2**20


def _read_json(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    """A ``.json`` file: an array of objects (``[{"id": …, "text": …}, …]``), or JSON Lines under that
    name (BigQuery and others export newline-delimited JSON as ``.json``), told apart by the first character."""
    with open_binary(path, compressed) as fh:
        reject, encoding = _open_table(source, fh, "JSON")
        if reject:
            yield reject
            return
        head = fh.read(65536).decode(encoding, "replace").lstrip("\ufeff \t\r\n")
        if head[:1] == "{" and _one_object_per_line(head):
            yield from _read_jsonl(source, path, compressed, opts)
            return
        if head[:1] not in ("[", "{"):
            yield Reject(source, "file", f"starts with {head[:1]!r}: neither a JSON array of objects nor JSON "
                                         "Lines (one object per line)", E_BAD_JSON)
            return
        fh.seek(0)
        data = fh.read(JSON_ARRAY_BYTES + 1)
    if len(data) > JSON_ARRAY_BYTES:
        yield Reject(source, "file", f"a JSON document of over {JSON_ARRAY_BYTES:,} bytes, too large to read whole; "
                                     f"make it JSON Lines (jq -c '.[]' {path.name} > records.jsonl) and read that",
                     E_TOO_LARGE)
        return
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        yield Reject(source, f"byte {err.start}", _invalid_encoding(encoding), E_ENCODING)
        return
    items, where, problem = _parse_json(text)
    if problem:
        yield Reject(source, f"line {where[0]}, column {where[1]}" if where else "file", problem, E_BAD_JSON)
        return
    if isinstance(items, dict):  # one pretty-printed object: a record, or records under one of its keys
        yield _json_object(source, path, items, opts)
        return
    for i, obj in enumerate(items):
        pos = f"[{i}]"
        if isinstance(obj, dict):
            yield record_from_mapping(source, pos, f"{source}{pos}", obj, opts)
        else:
            yield Reject(source, pos, f"a JSON {type(obj).__name__}, not an object", E_BAD_JSON)


def _one_object_per_line(head: str) -> bool:
    """Whether a file that starts with "{" is JSON Lines: its first line closes the object it opens (a
    pretty-printed object's first line ends with "{" or ","). A first line longer than the head read is
    taken to be a record; a broken one is the JSON Lines reader's reject for that line alone."""
    first, newline, _ = head.partition("\n")
    return not newline or first.rstrip().endswith("}")


def _json_object(source: str, path: Path, obj: dict[str, Any], opts: ReadOptions) -> Record | Reject:
    """A ``.json`` file holding one object: a record when it has the text field, else a reject that names
    the key holding the records and the command that extracts them."""
    if opts.text_field in obj:
        return record_from_mapping(source, "file", source, obj, opts)
    arrays = [str(k) for k, v in obj.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    hint = (f"; the records look to be under {arrays[0]!r}: jq -c '.[{json.dumps(arrays[0])}][]' {path.name} > "
            "records.jsonl, then read that" if arrays else "; name the text field with --text-field")
    return Reject(source, "file", f"a JSON object without a {opts.text_field!r} field, not an array of "
                                  f"records{hint}", E_MISSING_COLUMN)


#: The first line Excel writes to name a CSV file's separator (``sep=;``), before the header.
EXCEL_SEP = re.compile(r'^"?sep=(.)"?\r?\n?$')
#: Field separators a CSV header is tried with, in order: Excel writes ";" where "," is the decimal mark.
CSV_DELIMITERS = (",", ";", "\t", "|")


def csv_delimiter(header_line: str, text_field: str) -> str | None:
    """The first of ``CSV_DELIMITERS`` that makes ``text_field`` one of the header's columns, or None."""
    for delimiter in CSV_DELIMITERS:
        if text_field in next(csv.reader([header_line], delimiter=delimiter), []):
            return delimiter
    return None


def distinct_columns(header: list[str]) -> list[str]:
    """Column names made unique as pandas does (``tag``, ``tag.1``, …), so that a repeated column's
    values are all kept in the record's meta. The first of a repeated name keeps it."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        unique = name
        while unique in seen:
            seen[name] += 1
            unique = f"{name}.{seen[name]}"
        seen.setdefault(name, 0)
        seen[unique] = 0
        out.append(unique)
    return out


def _read_csv(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    with open_binary(path, compressed) as raw:
        reject, encoding = _open_table(source, raw, "CSV")
        if reject:
            yield reject
            return
        text = io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                                errors="surrogateescape" if encoding == "utf-8" else UNDECODABLE, newline="")
        limit = line_limit(opts.max_chars)
        too_long: list[int] = []  # lines where a row went over the limit; the row is rejected there
        row_chars = [0]  # characters of the row being read, reset by the loop below after each row

        def lines() -> Iterator[str]:
            """The file's lines for the csv reader, a row never over ``limit`` characters. A row that
            would be is ended there (its quoted cell closed) and the rest of the cell is skipped
            to its closing quote, as empty lines, so line numbers stay those of the file."""
            skipping = False
            for lineno, line, _ in bounded_lines(text.readline, limit):
                if skipping:
                    skipping = line is None or line.count('"') % 2 == 0
                    yield "\n"
                elif line is None or row_chars[0] + len(line) > limit:
                    too_long.append(lineno)
                    if row_chars[0]:  # a row spans lines only inside a quoted cell
                        skipping = line is None or line.count('"') % 2 == 0
                        yield '"\n'
                    else:
                        yield "\n"
                else:
                    row_chars[0] += len(line)
                    yield line

        csv.field_size_limit(limit)  # never reached: lines() keeps every row under it
        rows = lines()
        first = next(rows, "")
        declared = EXCEL_SEP.match(first)
        if declared:  # Excel's "sep=;" line names the separator; the header is the next line
            first, skipped, delimiter = next(rows, ""), 1, declared.group(1)
            row_chars[0] = 0
        else:
            skipped, delimiter = 0, csv_delimiter(first, opts.text_field) or ","
        reader = csv.reader(itertools.chain([first], rows), delimiter=delimiter)
        try:
            header = next(reader)
        except (csv.Error, StopIteration) as err:
            yield Reject(source, f"line {1 + skipped}", f"unreadable CSV header: {err}", E_BAD_JSON)
            return
        row_chars[0] = 0
        header = distinct_columns(header)
        if opts.text_field not in header:  # also checked up front by check_inputs
            yield Reject(source, f"line {1 + skipped}", f"no {opts.text_field!r} column", E_MISSING_COLUMN)
            return
        while True:
            line_before = reader.line_num + 1 + skipped
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as err:
                yield Reject(source, f"line {line_before}", f"malformed CSV row: {err}", E_BAD_JSON)
                continue
            finally:
                row_chars[0] = 0
            pos = f"line {line_before}"
            long_lines = [n for n in too_long if line_before <= n <= reader.line_num + skipped]
            if long_lines:
                where = "" if long_lines[0] == line_before else f" by line {long_lines[0]}"
                yield _too_long(source, pos, f"row is over the limit of {limit:,} characters{where}", opts)
                continue
            if not any(cell.strip() for cell in row):
                continue  # blank line
            if any(_has_surrogates(cell) for cell in row):
                yield Reject(source, pos, _invalid_encoding(encoding), E_ENCODING)
                continue
            if len(row) != len(header):
                yield Reject(source, pos, f"row has {len(row)} fields, header has {len(header)}", E_BAD_FIELD)
                continue
            yield record_from_mapping(source, pos, f"{source}:{line_before}", dict(zip(header, row)), opts)


#: Decoded bytes of one Parquet batch the reader aims for; a batch has 1 to 1,024 rows.
PARQUET_BATCH_BYTES = 64 * 2**20


def _read_parquet(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    """Rows of a Parquet file, one row group at a time in batches of about ``PARQUET_BATCH_BYTES``.
    A cell too long to take is rejected from Arrow's lengths, never copied into Python; an
    unreadable row group is one reject for its rows, and reading goes on with the next."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="lipservice-") as tmp:
        if compressed:  # Parquet needs random access: unpack to a temporary file first
            local = Path(tmp) / "input.parquet"
            with gzip.open(path, "rb") as src, local.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            path = local
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as err:
            yield Reject(source, "file", f"not a readable Parquet file ({_one_line(err)})", E_CORRUPT)
            return
        columns = pf.schema_arrow.names
        if opts.text_field not in columns:
            yield Reject(source, "file", f"no {opts.text_field!r} column (columns: {', '.join(columns) or 'none'}); "
                                         "name the text column with --text-field", E_MISSING_COLUMN)
            return
        batch_rows = parquet_batch_rows(pf.metadata)
        row = 0
        for group in range(pf.metadata.num_row_groups):
            end = row + pf.metadata.row_group(group).num_rows
            try:
                for obj in _parquet_group(pf, group, batch_rows, opts):
                    row += 1
                    if isinstance(obj, str):
                        yield Reject(source, f"row {row}", obj, E_TOO_LARGE)
                    else:
                        yield record_from_mapping(source, f"row {row}", f"{source}:{row}",
                                                  json_safe(obj, opts.text_field), opts)
            except (pa.ArrowException, OSError) as err:
                where = f"rows {row + 1}-{end}" if end > row else f"after row {row}"
                yield Reject(source, where, f"unreadable Parquet data in row group {group + 1} "
                                            f"({_one_line(err)}); the other rows were kept", E_CORRUPT)
                row = max(row, end)


def _parquet_group(pf, group: int, batch_rows: int, opts: ReadOptions) -> Iterator[dict[str, Any] | str]:
    """The rows of one row group as dicts, or for a row too long to take the reason. A batch is a
    view of the whole decoded group: none is held once the group is done, so the next group does
    not come on top of it."""
    import pyarrow as pa

    for batch in pf.iter_batches(batch_size=batch_rows, row_groups=[group]):
        too_long = _oversized_rows(batch, opts)
        kept = batch.filter(pa.array([i not in too_long for i in range(batch.num_rows)])) if too_long else batch
        rows = iter(kept.to_pylist())
        for i in range(batch.num_rows):
            yield too_long[i] if i in too_long else next(rows)


def _one_line(err: Exception) -> str:
    """Arrow's message on one line, cut to 160 characters, for a reject's reason."""
    return " ".join(str(err).split())[:160]


def parquet_batch_rows(meta, budget: int = PARQUET_BATCH_BYTES) -> int:
    """Rows per batch so that one decodes to about ``budget`` bytes, from the row groups' sizes:
    1,024 rows of short texts, one row at a time when rows are megabytes each. The sizes are
    encoded ones, so texts repeated many times in a group decode to more than the budget."""
    widest = 1.0
    for group in range(meta.num_row_groups):
        rg = meta.row_group(group)
        if rg.num_rows:
            widest = max(widest, rg.total_byte_size / rg.num_rows)
    return max(1, min(1024, int(budget // widest)))


def _oversized_rows(batch, opts: ReadOptions) -> dict[int, str]:
    """Rows of an Arrow batch too long to take, each with its reason, from Arrow's lengths: a text
    over ``max_chars`` characters, or string and binary cells over ``line_limit`` bytes together
    (the bound a JSONL line has)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found: dict[int, str] = {}
    total = None
    for name, column in zip(batch.schema.names, batch.columns):
        text_like = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        if not (text_like or pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
            continue
        size = pc.fill_null(pc.binary_length(column), 0).cast(pa.int64())
        total = size if total is None else pc.add(total, size)
        if name == opts.text_field and text_like:
            for i, n in enumerate(pc.fill_null(pc.utf8_length(column), 0).to_pylist()):
                if n > opts.max_chars:
                    found[i] = _over_max_chars(n, opts)
    if total is not None and (pc.max(total).as_py() or 0) > line_limit(opts.max_chars):  # None: no rows
        limit = line_limit(opts.max_chars)
        for i, n in enumerate(total.to_pylist()):
            if n > limit and i not in found:
                found[i] = _too_long_reason(f"row is {n:,} bytes, over the limit of {limit:,}", opts)
    return found


def json_safe(obj: dict[str, Any], text_field: str = "text") -> dict[str, Any]:
    """Values JSON can carry: dates, decimals and bytes from Parquet become strings. Bytes that are UTF-8
    become that text: writers that store strings as plain BINARY (older Hive, Impala) are common."""
    obj = {k: _utf8_or_bytes(v) for k, v in obj.items()}
    text = obj.get(text_field)
    safe = json.loads(json.dumps(obj, default=str, ensure_ascii=False))
    if text_field in obj and not isinstance(text, str):
        safe[text_field] = text  # keep the wrong type visible to check_text
    return safe


def _utf8_or_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogates(s: str) -> bool:
    return bool(_SURROGATE.search(s))


def _surrogate_field(obj: dict[str, Any], skip: str = "") -> str | None:
    """The first field but ``skip`` whose name or value (nested lists and objects included) holds a lone
    surrogate, shown with the surrogate escaped; None when there is none."""
    def bad(value: Any) -> bool:  # a walk with a stack: JSON may nest deeper than Python's recursion limit
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if _has_surrogates(item):
                    return True
            elif isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
        return False
    for key, value in obj.items():
        if key != skip and (bad(key) or bad(value)):
            return key.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(key, str) else str(key)
    return None


class _TextExtractor(HTMLParser):
    BLOCK = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article",
             "header", "footer", "blockquote", "title", "ul", "ol", "table", "main", "nav"}
    SKIP = {"script", "style", "noscript", "template", "svg", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self._skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


_HIDDEN_OPEN = re.compile(r"<(noscript|template)\b", re.I)
_HIDDEN_CLOSE = {tag: re.compile(rf"</{tag}\s*>", re.I) for tag in ("noscript", "template")}


def drop_hidden(markup: str) -> str:
    """The markup without ``<noscript>`` and ``<template>`` elements, each up to its first closing
    tag. One search per element, and none after a tag is found unclosed: linear, where a regex
    with a lazy ``.*?`` took 68 s on 40,000 unclosed tags."""
    out: list[str] = []
    pos = 0
    unclosed: set[str] = set()
    for opening in _HIDDEN_OPEN.finditer(markup):
        tag = opening.group(1).lower()
        if opening.start() < pos or tag in unclosed:
            continue
        closing = _HIDDEN_CLOSE[tag].search(markup, opening.end())
        if closing is None:
            unclosed.add(tag)
            continue
        out.append(markup[pos:opening.start()])
        pos = closing.end()
    out.append(markup[pos:])
    return "".join(out)


#: Pages longer than this skip trafilatura's second opinion (readability), whose time grows faster
#: than the page: 46 of the 77 s a 20 MB page took, against 17 s in all without it.
FAST_EXTRACTION_CHARS = 2_000_000


def extract_html(markup: str, max_chars: int | None = None) -> tuple[str, dict[str, Any]]:
    """Main text of a page (boilerplate removed by trafilatura) and its title, URL and date.

    Paragraphs are separated by blank lines. Pages trafilatura finds no main text in fall
    back to all visible text, so a short page is never lost. A page whose visible text is over
    twice ``max_chars`` gives that text without trafilatura's minute of work: the caller
    rejects it as too long either way.
    """
    import trafilatura

    markup = drop_hidden(markup)  # trafilatura keeps what browsers with JavaScript never show
    visible = html_to_text(markup)
    if max_chars is not None and len(visible) > 2 * max_chars:
        return visible, {}
    try:
        doc = trafilatura.bare_extraction(markup, with_metadata=True, include_comments=False,
                                          include_tables=True, deduplicate=False,
                                          fast=len(markup) > FAST_EXTRACTION_CHARS)
    except Exception as err:  # noqa: BLE001 - a parser failure on one page must not stop the run
        log.debug("trafilatura failed (%s); using all visible text", err)
        doc = None
    found = doc.as_dict() if doc is not None else {}
    meta = {k: found[k] for k in HTML_META if found.get(k)}
    main = " ".join((found.get("text") or "").split())
    if not main:
        return visible, meta
    # trafilatura decides what is main content; our parser keeps the paragraph structure
    kept = _main_paragraphs(visible.split("\n\n"), found["text"], main)
    if kept:
        return "\n\n".join(kept), meta
    return "\n\n".join(line.strip() for line in found["text"].splitlines() if line.strip()), meta


#: Characters of substring search spent on paragraphs that are not one of trafilatura's lines; past
#: it, such paragraphs count as boilerplate. Keeps a page of many paragraphs linear, not quadratic.
SEARCH_BUDGET = 200_000_000


def _main_paragraphs(paragraphs: list[str], main_text: str, main: str) -> list[str]:
    """The paragraphs that are part of trafilatura's main text: most are one of its lines (a set
    lookup); the others are looked for inside it, within ``SEARCH_BUDGET``."""
    lines = {" ".join(line.split()) for line in main_text.splitlines()}
    budget = SEARCH_BUDGET
    kept = []
    for p in paragraphs:
        norm = " ".join(p.split())
        if norm in lines:
            kept.append(p)
        elif budget > 0:
            budget -= len(main)
            if norm in main:
                kept.append(p)
    return kept


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, one paragraph per block element (scripts and styles dropped)."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    paragraphs = [re.sub(r"[ \t\r\f\v\n]+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


def markdown_to_text(md: str) -> str:
    """Markdown without its markup: headings, emphasis, links and images become plain text."""
    text = re.sub(r"```.*?```", "", md, flags=re.S)
    # bounded, so that a file of unclosed brackets costs linear time, not quadratic
    text = re.sub(r"!\[([^\[\]]{0,1000})\]\([^)]{0,4000}\)", r"\1", text)
    text = re.sub(r"\[([^\[\]]{0,1000})\]\([^)]{0,4000}\)", r"\1", text)
    text = re.sub(r"^\s{0,3}#{1,6}\s*(.*)$", r"\1\n", text, flags=re.M)  # a heading is its own paragraph
    text = re.sub(r"^\s{0,3}([-*+]|\d+\.)\s+", "", text, flags=re.M)
    text = re.sub(r"^\s{0,3}>\s?", "", text, flags=re.M)
    text = re.sub(r"(\*\*|\*|`)(\S(?:.*?\S)?)\1", r"\2", text)
    # underscores only at word edges (CommonMark): identifiers like get_user_name survive
    text = re.sub(r"(?<!\w)(__|_)([^_\s](?:[^_\n]*[^_\s])?)\1(?!\w)", r"\2", text)
    return html.unescape(text)


def describe_position(reject: Reject) -> str:
    """``file.csv: line 7: reason`` — the one-line form printed to the terminal."""
    return f"{reject.source}: {reject.position}: {reject.reason}"
