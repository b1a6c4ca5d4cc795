"""JSON Lines (``.jsonl``) and JSON (``.json``: an array of records, JSON Lines under that name, or
one object) read into records; a broken line is that line's reject and reading goes on.
"""
from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from .decoding import (
    UNDECODABLE,
    bom_encoding,
    bounded_lines,
    byte_position,
    invalid_encoding,
    line_limit,
    open_binary,
    open_table,
    read_head,
    too_long,
)
from .errors import E_BAD_JSON, E_ENCODING, E_MISSING_COLUMN, E_TOO_LARGE
from .records import (
    ReadOptions,
    Record,
    Reject,
    has_surrogates,
    jq_command,
    json_kind,
    record_from_mapping,
    records_key,
)

#: The most digits a JSON integer may have (Python's limit on converting digits to int).
JSON_INT_DIGITS = sys.get_int_max_str_digits() or 4300


def _json_int(digits: str) -> int:
    """A JSON integer, refused past ``JSON_INT_DIGITS`` digits with a message for the user."""
    if len(digits.lstrip("-")) > JSON_INT_DIGITS:
        raise ValueError(f"a number of {len(digits):,} digits (at most {JSON_INT_DIGITS:,})")
    return int(digits)


class _Repeats(dict):
    """An object that gives one of the fields read more than once (a JSON parser keeps the last value and drops
    the others in silence); ``why`` says which, for its reject."""

    why = ""


def _watching(names: tuple[str, ...]) -> Any:
    """The parser's hook that marks an object giving one of ``names`` (the text and id fields) more than once: in
    the one parse of the text (a second one doubled the memory of a large array), whatever the key's spelling
    (``"te\\u0078t"`` is ``"text"``)."""
    def hook(pairs: list[tuple[str, Any]]) -> dict:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        for name in names:
            times = sum(1 for key, _ in pairs if key == name)
            if times > 1:
                marked = _Repeats(obj)
                marked.why = (f"the field {name!r} appears {times} times in this object (a JSON reader keeps one "
                              "and drops the others); keep one")
                return marked
        return obj
    return hook


def _parse_json(text: str, names: tuple[str, ...] = ()) -> tuple[Any, tuple[int, int] | None, str]:
    """``(value, None, "")``, or ``(None, (line, column) or None, the problem)`` for text that is not JSON:
    a syntax error, a nesting deeper than Python's recursion, or a number too long to convert. With ``names``,
    an object that gives one of them twice is a :class:`_Repeats`."""
    try:
        return json.loads(text, parse_int=_json_int, object_pairs_hook=_watching(names) if names else None), None, ""
    except RecursionError:
        return None, None, "invalid JSON: nested too deeply"
    except json.JSONDecodeError as err:
        return None, (err.lineno, err.colno), f"invalid JSON: {err.msg[:120]}"
    except ValueError as err:  # _json_int's refusal
        return None, None, f"invalid JSON: {str(err)[:120]}"


def read_jsonl(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    with open_binary(path, compressed) as fh:
        yield from jsonl_records(source, fh, opts)


def jsonl_records(source: str, fh: Any, opts: ReadOptions) -> Iterator[Record | Reject]:
    """The records of JSON Lines read from ``fh`` (a file, or stdin that can rewind its head)."""
    reject, encoding = open_table(source, fh, "JSON Lines")
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
            yield too_long(source, f"line {lineno}", f"line is {length:,} {unit}, over the limit of {limit:,}", opts)
            continue
        if not raw.strip():
            continue  # blank lines are not records
        pos = f"line {lineno}"
        if isinstance(raw, str):
            line = raw
            if has_surrogates(line):
                yield Reject(source, pos, invalid_encoding(encoding), E_ENCODING)
                continue
        else:
            try:
                line = raw.decode("utf-8-sig")  # a mark on any line: Windows exports joined with cat
            except UnicodeDecodeError as err:
                yield Reject(source, byte_position(raw, err.start, lineno), invalid_encoding(encoding), E_ENCODING)
                continue
            if not line.strip():
                continue  # a byte-order mark on a line of its own: blank too
        obj, where, problem = _parse_json(line.rstrip("\r\n"), (opts.text_field, opts.id_field))
        if problem:  # the column is the file line's
            yield Reject(source, f"{pos}, column {where[1]}" if where else pos, problem, E_BAD_JSON)
            continue
        if not isinstance(obj, dict):
            yield Reject(source, pos, f"{json_kind(obj)}, not an object (each record is a JSON object)", E_BAD_JSON)
            continue
        if isinstance(obj, _Repeats):
            yield Reject(source, pos, obj.why, E_BAD_JSON)
            continue
        yield record_from_mapping(source, pos, f"{source}:{lineno}", obj, opts)


#: The largest JSON array read (whole: a JSON array cannot be streamed without a parser of its own, and
#: Python holds several times its bytes). Larger ones are refused with the command that makes JSON Lines.
JSON_ARRAY_BYTES = 256 * 2**20


def read_json(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    """A ``.json`` file: an array of objects (``[{"id": …, "text": …}, …]``), or JSON Lines under that
    name (BigQuery and others export newline-delimited JSON as ``.json``), told apart by the first character."""
    with open_binary(path, compressed) as fh:
        reject, encoding = open_table(source, fh, "JSON")
        if reject:
            yield reject
            return
        head = read_head(fh, 65536)[0].decode(encoding, "replace").lstrip("\ufeff \t\r\n")
        if head[:1] == "{" and _one_object_per_line(head) and not _records_inside(head, opts):
            yield from read_jsonl(source, path, compressed, opts)
            return
        if head[:1] not in ("[", "{"):
            yield Reject(source, "file", f"starts with {head[:1]!r}: neither a JSON array of objects nor JSON "
                                         "Lines (one object per line)", E_BAD_JSON)
            return
        fh.seek(0)
        data = fh.read(JSON_ARRAY_BYTES + 1)
    yield from _json_document(source, data, encoding, path.name, opts)


def is_json_document(head: bytes, ended: bool) -> bool:
    """Whether stdin that is not JSON Lines is a JSON document of records, as ``jq`` and ``json.dump`` write
    them: all of it (``ended``) parses as an array or an object (``[1, 2]`` too: no prose parses whole, and a
    file of it gets a reject per item, which stdin now gets as well); or it opens
    with ``[`` and a first object, whole or cut off by the end (a broken document: the reader names where),
    or with ``{`` alone on its line and a key. Such stdin was one text (``cat export.json | lipservice
    annotate -`` made one record of them all); prose that only opens like JSON ("[{Company}] We promise …")
    is still one."""
    text = head.decode(bom_encoding(head), "replace").lstrip("\ufeff \t\r\n")
    if text[:1] not in ("[", "{"):
        return False
    if ended:
        try:
            doc = json.loads(text)
        except ValueError:
            pass  # broken, or cut short: JSON still when it opens as a document of records does (below)
        else:
            return isinstance(doc, (dict, list))
    if text.startswith("["):
        return _opens_an_array_of_records(text)
    first, _, rest = text.partition("\n")
    return first.strip() == "{" and bool(re.match(r'\s*"(?:[^"\\]|\\.)*"\s*:', rest))


def _opens_an_array_of_records(text: str) -> bool:
    """Whether ``text`` (all of stdin, or its head) opens a JSON array holding an object: its items are
    read until one is an object, or one is cut off by the end of the head (a record longer than the head, a
    document cut short, or an array longer than the head whose items so far were all JSON: the reader says
    where it breaks, or rejects each item that is no record). Anything else, prose in brackets, is not."""
    decoder, at, items = json.JSONDecoder(), 1, 0
    while True:
        at = len(text) - len(text[at:].lstrip(" \t\r\n"))
        if at >= len(text):
            return items > 0  # "[" and blanks: an array cut before its first item, or prose
        try:
            item, at = decoder.raw_decode(text, at)
        except json.JSONDecodeError as err:  # cut off by the end: inside the item, or an unclosed string
            cut = err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string")
            return cut and (text[at] == "{" or items > 0)
        items += 1
        if isinstance(item, dict):
            return True
        at = len(text) - len(text[at:].lstrip(" \t\r\n"))
        if text[at:at + 1] != ",":
            return False  # "]" after no object, or not an array at all
        at += 1


def json_document_records(source: str, raw: Any, opts: ReadOptions) -> Iterator[Record | Reject]:
    """The records of one JSON document read from ``raw`` (stdin that can rewind its head), as of a ``.json``
    file; it is read whole, so it has the same bound."""
    reject, encoding = open_table(source, raw, "JSON")
    if reject:
        yield reject
        return
    yield from _json_document(source, raw.read(JSON_ARRAY_BYTES + 1), encoding, None, opts)


def _json_document(source: str, data: bytes, encoding: str, name: str | None, opts: ReadOptions
                   ) -> Iterator[Record | Reject]:
    """The records of a JSON document's bytes (an array of objects, or one object); ``name`` is the file
    the hints name (None: stdin)."""
    if len(data) > JSON_ARRAY_BYTES:
        yield Reject(source, "file", f"a JSON document of over {JSON_ARRAY_BYTES:,} bytes, too large to read whole; "
                                     f"make it JSON Lines ({jq_command('.[]', name)}) and read that",
                     E_TOO_LARGE)
        return
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as err:
        where = byte_position(data, err.start) if encoding == "utf-8" else f"byte {err.start}"
        yield Reject(source, where, invalid_encoding(encoding), E_ENCODING)
        return
    items, where, problem = _parse_json(text, (opts.text_field, opts.id_field))
    if problem:
        yield Reject(source, f"line {where[0]}, column {where[1]}" if where else "file", problem, E_BAD_JSON)
        return
    if isinstance(items, dict):  # one pretty-printed object: a record, or records under one of its keys
        yield Reject(source, "file", items.why, E_BAD_JSON) if isinstance(items, _Repeats) else \
            _json_object(source, name, items, opts)
        return
    for i, obj in enumerate(items):
        pos = f"[{i}]"
        if isinstance(obj, _Repeats):
            yield Reject(source, pos, obj.why, E_BAD_JSON)
        elif isinstance(obj, dict):
            yield record_from_mapping(source, pos, f"{source}{pos}", obj, opts)
        else:
            yield Reject(source, pos, f"{json_kind(obj)}, not an object (each record is a JSON object)", E_BAD_JSON)


def _one_object_per_line(head: str) -> bool:
    """Whether a file that starts with "{" is JSON Lines: its first line closes the object it opens (a
    pretty-printed object's first line ends with "{" or ","). A first line longer than the head read is
    taken to be a record; a broken one is the JSON Lines reader's reject for that line alone."""
    first, newline, _ = head.partition("\n")
    return not newline or first.rstrip().endswith("}")


def records_inside(head: bytes, opts: ReadOptions) -> bool:
    """:func:`_records_inside` for stdin's head: a minified export piped in is read as a ``.json`` file is, so its
    reject names the key and the jq command, not only the missing text field of a line."""
    return _records_inside(head.decode(bom_encoding(head), "replace").lstrip("\ufeff \t\r\n"), opts)


def _records_inside(head: str, opts: ReadOptions) -> bool:
    """Whether a file of one line is one object that holds the records under a key (``{"data": [...]}``,
    a minified export) rather than JSON Lines of one record: read whole, its reject names the key."""
    first, _, rest = head.partition("\n")
    if rest.strip():
        return False
    obj = _parse_json(first)[0]
    return isinstance(obj, dict) and opts.text_field not in obj and records_key(obj) is not None


def _json_object(source: str, name: str | None, obj: dict[str, Any], opts: ReadOptions) -> Record | Reject:
    """A ``.json`` file holding one object: a record when it has the text field, else a reject that names
    the key holding the records and the command that extracts them."""
    if opts.text_field in obj:
        return record_from_mapping(source, "file", source, obj, opts)
    under = records_key(obj)
    hint = (f"; the records look to be under {under!r}: {jq_command(f'.[{json.dumps(under)}][]', name)}, then "
            "read that" if under is not None
            else f"; {opts.name_it(opts.text_option, opts.text_field, 'text field')}")
    return Reject(source, "file", f"a JSON object without a {opts.text_field!r} field, not an array of "
                                  f"records{hint}", E_MISSING_COLUMN)


#: The first line Excel writes to name a CSV file's separator (``sep=;``), before the header.
