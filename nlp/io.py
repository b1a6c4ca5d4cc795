"""Read inputs into records; anything that cannot be read becomes a reject with a position.

A record is ``{"id", "text", "kind", "source", "meta"}`` (:mod:`nlp.records`). Readers never raise
for a bad record: they yield a :class:`Reject` and go on, so read = annotated + rejected, always.
Problems with a whole file that the user must fix (missing file, unknown extension, a CSV
without the text column) raise :class:`~nlp.errors.InputError` before any work starts.

This module finds each input's format and hands it to its reader: documents (text, Markdown,
HTML: :mod:`nlp.decoding`, :mod:`nlp.markup`) here, tables in :mod:`nlp.json_files`,
:mod:`nlp.csv_files` and :mod:`nlp.parquet_files`.
"""
from __future__ import annotations

import contextlib
import glob
import io
import json
import logging
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from .csv_files import check_csv_header, columns_without_text, csv_records, is_csv_table, read_csv
from .decoding import STREAM_ERRORS, bom_encoding, decode_text, html_charset, open_binary
from .errors import (
    E_CORRUPT,
    E_EMPTY_FILE,
    E_EMPTY_TEXT,
    E_NOT_FOUND,
    E_OUTPUT,
    E_TOO_LARGE,
    E_UNKNOWN_EXT,
    InputError,
    UsageError,
)
from .json_files import is_json_document, json_document_records, jsonl_records, read_json, read_jsonl, records_inside
from .markup import extract_html, markdown_to_text
from .parquet_files import check_parquet_columns, read_parquet
from .records import KINDS, ReadOptions, Record, Reject, check_text, describe_position, record_from_mapping

__all__ = ["DOCUMENT_EXTS", "FORMAT_ALIASES", "KINDS", "STDIN", "SUPPORTED_EXTS", "TABLE_EXTS", "ReadOptions",
           "Record", "Reject", "check_inputs", "describe_position", "format_of", "missing_reason", "not_a_file",
           "prepare_outputs", "read_file", "read_inputs", "record_from_mapping", "source_name", "unknown_format",
           "written_whole"]

log = logging.getLogger(__name__)

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
STDIN = "-"


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
        if ext == ".csv":
            check_csv_header(path, compressed, opts)
        elif ext == ".parquet" and not compressed:
            check_parquet_columns(path, opts)


def missing_reason(arg: str) -> str:
    """What to say about an input that is not there; a web address gets the way to read it."""
    if re.match(r"(?i)(https?|ftp|s3|gs)://", arg):
        return ("a remote address; lipservice reads local files and never goes online: copy it here first "
                "(curl -o page.html URL, aws s3 cp ...) and pass the file")
    if glob.has_magic(arg):
        return "no file matches this pattern"
    return "file not found"


def expand_patterns(paths: list[str]) -> list[str]:
    """``paths`` with each pattern that names no file itself (``'copy*.md'``, quoted, so the shell left it
    alone) replaced by the files it matches, sorted; a pattern that matches none stays, for
    :func:`check_inputs` to say so."""
    out: list[str] = []
    for p in paths:
        matches = sorted(glob.glob(p)) if p != STDIN and glob.has_magic(p) and not os.path.lexists(p) else []
        out += matches or [p]
    return out


def not_a_file(path: Path) -> str | None:
    """Why a directory entry is not read: a broken link, a link to a directory (not followed, as a
    link to ``..`` would read everything above), or a pipe, socket or device, or a link to one (reading
    may never end).
    None for a file, a link to one, a directory, or a path that is not there at all."""
    try:
        if path.is_symlink():
            if not path.exists():
                return f"a broken symbolic link (to {os.readlink(path)}); nothing to read"
            if path.is_dir():
                return f"a symbolic link to a directory, not followed; name it ({path}/) to read it"
        mode = path.stat().st_mode  # through a link: one to /dev/zero is a device too
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
    writes, that is a directory, or whose folder does not exist (a mistyped folder is not made) or
    cannot be written, so that a run of hours never ends unable to write. ``outputs`` maps each
    option (``"--json"``) to its path, or None."""
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
            discarded = path.exists() and not path.is_file() and not path.is_dir()  # both may go to /dev/null
            if same(path, other_path) and not discarded:
                raise UsageError(f"{option} and {other} both write {path}; give them different files", code=E_OUTPUT)
            for a, b, name in ((path, other_path, other), (other_path, path, option)):
                if same(a, part_path(b)):
                    raise UsageError(f"{option} and {other}: {a} is where {name} is written until it is whole; "
                                     "give another file", code=E_OUTPUT)
        if path.is_dir():
            raise UsageError(f"{option} {path}: is a directory; give a file name in it", code=E_OUTPUT)
        if path.exists() and not path.is_file():  # a device or a pipe (/dev/null, /dev/stdout): written to as it is
            continue
        folder = Path(os.path.realpath(path)).parent if path.is_symlink() else path.parent  # a link's target
        if not folder.is_dir():
            what = "is not a folder" if folder.exists() else "does not exist"
            raise UsageError(f"{option} {path}: {folder} {what}; create the folder first (mkdir -p {folder}) or "
                             "choose another place", code=E_OUTPUT)
        try:
            with tempfile.TemporaryFile(dir=folder):  # can a file be written there at all?
                pass
        except OSError as err:
            raise UsageError(f"{option} {path}: cannot write there ({err.strerror}); choose another place",
                             code=E_OUTPUT) from None


def part_path(path: Path) -> Path:
    """Where :func:`written_whole` writes ``path`` until it is complete."""
    return path.with_name(path.name + ".part")


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[BinaryIO]:
    """A file that appears at ``path`` only when whole: written as ``PATH.part``, then renamed, so a run
    stopped half-way (Ctrl-C, a full disk) leaves the file there was before, never half of a new one. A
    symbolic link is written through (its target is replaced, not the link), and a device or pipe
    (``/dev/null``) is written to directly: renaming over it would replace the device."""
    if path.exists() and not path.is_file():  # through a link: /dev/stdout is one to a pipe with no name
        with path.open("wb") as fh:
            yield fh
        return
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    tmp = part_path(path)
    try:
        with tmp.open("wb") as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def unknown_format(ext: str) -> str:
    """The one message for a file lipservice cannot read, naming what it can."""
    if ext in OTHER_COMPRESSIONS:
        return (f"compressed with {OTHER_COMPRESSIONS[ext]} ({ext}), which is not read; decompress it, or "
                "compress it with gzip (.gz)")
    return (f"unknown extension {ext or '(none)'!r}; supported: "
            f"{', '.join(sorted(SUPPORTED_EXTS | set(FORMAT_ALIASES)))} (each also gzipped, .gz)")


#: What reads records where a command reads documents only (audit).
DOCUMENTS_ONLY = "use `lipservice annotate` for records in JSONL, JSON, CSV or Parquet"


def format_of(path: Path) -> tuple[str, bool]:
    """``(format's extension, gzipped)``: ``page.html.gz`` → ``(".html", True)``, ``a.tsv`` → ``(".csv", False)``."""
    name = path.name.lower()
    compressed = name.endswith(GZIP_SUFFIX)
    ext = Path(name[:-len(GZIP_SUFFIX)] if compressed else name).suffix
    return FORMAT_ALIASES.get(ext, ext), compressed


def read_inputs(paths: list[str], opts: ReadOptions | None = None, stdin: BinaryIO | None = None
                ) -> Iterator[Record | Reject]:
    """Records and rejects from every input, in input order."""
    opts = opts or ReadOptions()
    for p in paths:
        if p == STDIN:
            pipe = stdin or sys.stdin.buffer
            limit = document_byte_limit(opts.max_chars)
            size = min(STDIN_HEAD, limit + 1)
            data = pipe.read(size)  # enough to tell JSON Lines; an endless pipe is never read whole
            ended = len(data) < size
            table, ext, records = (
                ("JSON Lines (one record per line)", ".jsonl", jsonl_records)
                if is_json_lines(data, ended) and not records_inside(data, opts) else
                (f"a CSV table with a {opts.text_field!r} column", ".csv", csv_records)
                if is_csv_table(data, ended, opts.text_field) else
                ("a JSON document of records", ".json", json_document_records) if is_json_document(data, ended) else
                (None, "", None))
            if table and not opts.stdin_records:
                yield Reject("<stdin>", "file", f"{table}, and this command reads documents: {DOCUMENTS_ONLY}",
                             E_UNKNOWN_EXT)
                continue
            if table:  # records, streamed: `zcat d.jsonl.gz | lipservice …`, `cat export.csv | lipservice …`
                data += pipe.read(STDIN_HEAD - len(data)) if len(data) == size else b""  # the head the readers rewind
                items = 0
                for items, item in enumerate(records("<stdin>", io.BufferedReader(Replayed(data, pipe)), opts), 1):
                    yield item
                if not items:  # a header alone, or blank lines: not passed over in silence, as a file's are not
                    yield Reject("<stdin>", "file", NO_RECORDS[ext], E_EMPTY_FILE)
                continue
            columns = columns_without_text(data, ended, opts.text_field)
            if columns:
                fix = (opts.name_it(opts.text_option, opts.text_field, "text column") if opts.stdin_records else
                       f"for its rows, {DOCUMENTS_ONLY}")
                log.warning("<stdin> looks like a CSV table without a %r column (columns: %s), so it is read as "
                            "one text; %s", opts.text_field, ", ".join(columns), fix)
            if len(data) <= limit:
                data += pipe.read(limit + 1 - len(data))
            ext = sniff_format(data)
            if ext in HTML_EXTS and len(data) > limit < opts.max_html_bytes:  # a page has its own, larger bound
                limit = opts.max_html_bytes
                data += pipe.read(limit + 1 - len(data))
            if len(data) > limit:
                yield Reject("<stdin>", "file", _over_bytes(f"input is over {limit:,} bytes", opts, ext), E_TOO_LARGE)
                continue
            yield from _read_document("<stdin>", data, ext, opts)
        else:
            yield from read_file(p, opts)


#: How an HTML page begins (after a byte-order mark, blank space and comments): ``curl URL | lipservice audit -``.
_HTML_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]",
                         re.IGNORECASE | re.DOTALL)


#: What is read of stdin before telling what it holds (JSON Lines, an HTML page or text).
STDIN_HEAD = 2**18


def is_json_lines(head: bytes, ended: bool) -> bool:
    """Whether stdin's first bytes (all of it when ``ended``) are JSON Lines: they begin with "{" or "[" and
    most of the first five lines are JSON objects (or all but the first, which may be a broken record), or
    they are the start of one object longer than the head. A text whose first line alone is an object, the
    rest prose, stays one text, as does any review or page (none begins so)."""
    text = head.decode(bom_encoding(head), "replace").lstrip("\ufeff \t\r\n")
    if text[:1] not in ("{", "["):
        return False
    lines = [line.lstrip("\ufeff") for line in text.split("\n")]  # files joined with cat: a mark on any line
    complete = [line for line in (lines if ended else lines[:-1]) if line.strip()][:5]
    if not complete:  # one record longer than the head: its first key
        return text.startswith("{") and text.lstrip("{ \t\r").startswith('"')
    objects = [_is_object(line) for line in complete]
    return sum(objects) > len(objects) / 2 or (len(objects) > 1 and all(objects[1:]))


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


class Replayed(io.RawIOBase):
    """A pipe whose head, already read, is read again first; it rewinds within the head only, as the
    readers do after reading a file's start (its encoding, whether it is binary)."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        super().__init__()
        self._head, self._rest, self._pos = head, rest, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset + (self._pos if whence == io.SEEK_CUR else 0)
        if whence == io.SEEK_END or not 0 <= target <= len(self._head) or self._pos > len(self._head):
            raise io.UnsupportedOperation("stdin rewinds within its first bytes only")
        self._pos = target
        return target

    def readinto(self, buffer: Any) -> int:
        if self._pos < len(self._head):
            chunk = self._head[self._pos:self._pos + len(buffer)]
        else:
            read1 = getattr(self._rest, "read1", self._rest.read)  # what the pipe has: a stream is not waited on
            chunk = read1(len(buffer))
        buffer[:len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)


def sniff_format(data: bytes) -> str:
    """What stdin holds, having no name: ``.html`` when it begins as an HTML page does, else ``.txt``."""
    return ".html" if _HTML_START.match(data[:4096]) else ".txt"


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
    reader = {".jsonl": read_jsonl, ".json": read_json, ".csv": read_csv, ".parquet": read_parquet}[ext]
    last, items = "file", 0
    try:
        for item in reader(source, path, compressed, opts):
            last, items = item.position, items + 1
            yield item
    except STREAM_ERRORS as err:
        if not items:
            yield Reject(source, "file", f"not a readable gzip file ({err})", E_CORRUPT)
            return
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
    if len(data) > limit:  # uncompressed: a file that grew since its size was read, or no regular file
        what = "decompresses to" if compressed else "reads as"
        return Reject(source, "file", _over_bytes(f"{what} over {limit:,} bytes", opts, ext), E_TOO_LARGE)
    return next(_read_document(source, data, ext, opts))


def document_byte_limit(max_chars: int) -> int:
    """The most bytes a one-document input may have: more cannot fit in ``max_chars`` characters
    whatever the encoding, so reading stops there."""
    return 4 * max_chars + 4


def _over_bytes(what: str, opts: ReadOptions, ext: str = ".txt") -> str:
    if ext in HTML_EXTS and opts.max_html_bytes >= document_byte_limit(opts.max_chars):
        return f"{what}, over the limit of {opts.max_html_bytes:,} bytes for an HTML page (raise lipservice.max_html_bytes)"
    return f"{what}, over the limit of {opts.max_chars:,} characters (raise {opts.max_chars_setting})"


def _read_document(source: str, data: bytes, ext: str, opts: ReadOptions) -> Iterator[Record | Reject]:
    text, reject = decode_text(source, data, html_charset(data) if ext in HTML_EXTS else None)
    if reject:
        yield reject
        return
    meta: dict[str, Any] = {}
    if ext in HTML_EXTS:
        text, meta = extract_html(text, opts.max_chars)
    elif ext in MARKDOWN_EXTS and len(text) <= 2 * opts.max_chars:  # longer is rejected as too long either way
        text = markdown_to_text(text)
    reject = check_text(source, "file", text, opts)
    if reject:
        if ext in HTML_EXTS and reject.code == E_EMPTY_TEXT:
            reject.reason = "empty HTML page: no visible text"
        yield reject
        return
    yield Record(id=source, text=text, kind=opts.default_kind, source=source, position="file", meta=meta)


