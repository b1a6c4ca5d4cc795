"""CSV and TSV read into records: the separator found from the header (or Excel's ``sep=`` line),
quoted cells over lines, repeated columns kept, and every bad row a reject with its file line.
"""
from __future__ import annotations

import csv
import io
import itertools
import logging
import re
from collections import deque
from pathlib import Path
from typing import Any, Iterator

from .decoding import (
    UNDECODABLE,
    bom_encoding,
    bounded_lines,
    invalid_encoding,
    line_limit,
    looks_binary,
    open_binary,
    open_table,
    read_head,
    too_long,
)
from .errors import E_BAD_FIELD, E_BAD_JSON, E_ENCODING, E_MISSING_COLUMN, E_TOO_LARGE, InputError
from .records import ReadOptions, Record, Reject, columns_problem, has_surrogates, record_from_mapping

log = logging.getLogger(__name__)


def check_csv_header(path: Path, compressed: bool, opts: ReadOptions) -> None:
    """Before any work: the header names the text column once (and the id column at most once)."""
    with open_binary(path, compressed) as fh:
        head = read_head(fh, 65536)[0]  # a stream broken this early is the reader's reject
    if not head.strip():
        return  # an empty file is a reject row, not a usage error
    encoding = bom_encoding(head)
    if encoding == "utf-8" and looks_binary(head):
        return  # binary: reported as a reject by the reader
    at, _, header = header_of(head.decode(encoding, "replace").lstrip("\ufeff").splitlines(), opts.text_field)
    problem = columns_problem(header, opts)
    if problem:
        raise InputError(f"{path}: line {at}: {problem}", code=E_MISSING_COLUMN)


EXCEL_SEP = re.compile(r'^"?sep=(.)"?\r?\n?$')
#: Field separators a CSV header is tried with, in order: Excel writes ";" where "," is the decimal mark.
CSV_DELIMITERS = (",", ";", "\t", "|")


def header_of(lines: list[str], text_field: str) -> tuple[int, str | None, list[str]]:
    """The header's line number (2 after Excel's "sep=;" line), its separator (the declared one, or the first
    that makes ``text_field`` a column; None when none does) and its columns."""
    declared = EXCEL_SEP.match(lines[0]) if lines else None
    at = 2 if declared else 1
    first = lines[at - 1].rstrip("\r") if len(lines) >= at else ""
    delimiter = declared.group(1) if declared else csv_delimiter(first, text_field)
    return at, delimiter, next(csv.reader([first], delimiter=delimiter or ","), [])


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


def read_csv(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
    with open_binary(path, compressed) as raw:
        yield from csv_records(source, raw, opts)


def is_csv_table(head: bytes, ended: bool, text_field: str) -> bool:
    """Whether stdin's first bytes (all of it when ``ended``) are a CSV table with the text column: a header
    line of two columns or more, one of them ``text_field`` (an Excel "sep=" line before it), then a first row
    of as many fields, or one longer than the head. Such stdin was read as one text, its rows a single review."""
    try:
        return _opens_a_table(head, ended, text_field)
    except csv.Error:  # a bare "\r" in an unquoted field, a line over the csv module's limit: a text, as before
        return False


def _opens_a_table(head: bytes, ended: bool, text_field: str) -> bool:
    lines = head.decode(bom_encoding(head), "replace").lstrip("\ufeff").split("\n")
    at, delimiter, header = header_of(lines, text_field)
    if len(lines) <= at or delimiter is None or len(header) < 2 or text_field not in header:
        return False  # the header line not whole (or all there is), or no table with the text column
    rest = [line for line in (lines[at:] if ended else lines[at:-1]) if line.strip()]
    reader = csv.reader(rest, delimiter=delimiter)
    row = next(reader, None)
    if row is None:  # no line of a first row is whole (it is longer than the head), or a header alone
        return True
    if not ended and reader.line_num >= len(rest):  # the first row runs on past the head: fewer fields so far
        return len(row) <= len(header)
    return len(row) == len(header)


#: A CSV header's column name, as exports write them: a word or a few, no sentence punctuation, no space around.
_COLUMN_NAME = re.compile(r"[A-Za-z_](?:[\w .()/-]{0,38}[\w)])?")


def columns_without_text(head: bytes, ended: bool, text_field: str) -> list[str] | None:
    """The columns of stdin that looks like a CSV table without the ``text_field`` column (a header of two
    names or more, then two rows or more of as many fields), else None: it is read as one text, which a
    warning then says, since a table piped under another column's name is most likely a mistake."""
    try:
        lines = head.decode(bom_encoding(head), "replace").lstrip("\ufeff").split("\n")
        lines = [line.rstrip("\r") for line in (lines if ended else lines[:-1]) if line.strip()][:6]
        for delimiter in (",", ";", "\t"):  # a "|" between short phrases is verse or a list as often
            header, *rows = list(csv.reader(lines, delimiter=delimiter))
            if (len(header) >= 2 and text_field not in header and len(rows) >= 2
                    and all(_COLUMN_NAME.fullmatch(c) and c.count(" ") <= 2 for c in header)
                    and all(len(row) == len(header) for row in rows)):
                return header
    except (csv.Error, ValueError):  # no line, or one the csv module refuses: a text
        return None
    return None


def csv_records(source: str, raw: Any, opts: ReadOptions) -> Iterator[Record | Reject]:
    """The records of a CSV table read from ``raw`` (a file, or stdin that can rewind its head)."""
    spans: list[tuple[int, int, bool]] = []  # lines skipped in a cell over the limit: first, last, closed
    held: Reject | None = None  # a row over the limit: its reject waits to learn where its cell ends
    for item in _csv_rows(source, raw, opts, spans):
        if held is not None:  # a row came after it: the cell closed
            yield _with_skipped_lines(held, spans)
            held = None
        if isinstance(item, Reject) and item.code == E_TOO_LARGE:
            held = item
        else:
            yield item
    if held is not None:
        yield _with_skipped_lines(held, spans)


def _with_skipped_lines(reject: Reject, spans: list[tuple[int, int, bool]]) -> Reject:
    """A row over the limit's reject, saying which lines went with its quoted cell when it ran past its row's
    lines: to the end of the file (never closed), or to a quote lines later, perhaps a stray one (27")
    that swallowed the rows between in silence."""
    if not spans:
        return reject
    at, end, closed = spans.pop()
    spans.clear()
    # the line the cell passed the limit on, which is the row's first line unless the cell opened before it
    where = f"opened on line {at}" if reject.position == f"line {at}" else f"over the limit from line {at}"
    if closed:
        said = (f"its quoted cell, {where}, runs to line {end}, so lines {at}-{end} were skipped with "
                'it; if rows stand there, a quote inside the cell is not written "" (or a stray quote closed it)')
    else:
        said = (f"its quoted cell, {where}, is never closed, so lines {at}-{end} (the rest of the "
                'file) were skipped: close the quote (a quote inside a quoted cell is written "") and read the '
                "file again")
    return Reject(reject.source, reject.position, f"{reject.reason}; {said}", reject.code)


def row_ends_in(line: str, delimiter: str) -> bool:
    """Whether a row whose quoted cell is open before ``line`` ends on it, read as Python's csv module reads
    (not strict): a quote then a character that is neither a quote nor the separator closes the cell too, and
    the rest is unquoted (``A 27" TV, broken."`` closes it at ``27"``). A count of quote marks would keep it open."""
    state = "quoted"
    for ch in line:
        if ch in "\r\n" and state != "quoted":
            return True
        if state == "quoted":
            state = "quote" if ch == '"' else "quoted"
        elif state == "quote":  # "" is a quote inside the cell; a separator ends it; anything else goes on unquoted
            state = "quoted" if ch == '"' else "start" if ch == delimiter else "field"
        elif state == "start":
            state = "quoted" if ch == '"' else "start" if ch == delimiter else "field"
        elif ch == delimiter:
            state = "start"
    return state != "quoted"


def _csv_rows(source: str, raw: Any, opts: ReadOptions, spans: list[tuple[int, int, bool]]
              ) -> Iterator[Record | Reject]:
    """``csv_records`` but for the note on the lines a cell over the limit took, put in ``spans``."""
    reject, encoding = open_table(source, raw, "CSV")
    if reject:
        yield reject
        return
    text = io.TextIOWrapper(raw, encoding="utf-8-sig" if encoding == "utf-8" else encoding,
                            errors="surrogateescape" if encoding == "utf-8" else UNDECODABLE, newline="")
    limit = line_limit(opts.max_chars)
    over_limit: list[int] = []  # lines where a row went over the limit; the row is rejected there
    row_chars = [0, 0]  # characters and quote marks of the row being read, reset after each row
    shape = {"fields": 0, "delimiter": ","}  # the header's, once it is read; no fields: rows end at any "\r"
    # Lines as the csv reader counts them end at "\n", "\r\n" or a bare "\r"; the file's lines, as grep -n,
    # sed and editors count them, end at "\n". A bare "\r" inside a row (a stray one joined, or one in a
    # quoted cell) is no line end for positions; one that ends a row still is, so each row keeps a line
    # (and a record without an id its own id). The reader's lines ending inside a row, not yet passed:
    bare_cr: deque[int] = deque()
    passed = [0]  # how many bare "\r" line ends lie before the row being reported
    mac_ends = [False]  # whether the file's lines end at "\r" (classic Mac): then each one is a line end
    ended = [False]  # whether the file's last line has been given to the csv reader

    def file_line(n: int) -> int:
        """The file's line number of the csv reader's line ``n``; rows are reported in file order."""
        while bare_cr and bare_cr[0] < n:
            bare_cr.popleft()
            passed[0] += 1
        return n - passed[0]

    def fields(text_: str) -> int:
        return len(next(csv.reader([text_], delimiter=shape["delimiter"]), []))

    def cut_at_bare_cr(pending: str, line: str, after: str | None) -> bool:
        """Whether ``line``, which ends at a bare carriage return, ends inside a row, not at its end: scraped and
        exported text carries stray ``\\r`` in unquoted cells (twcs has one). A row cut there has fewer
        fields than the header; or, cut in its last cell, it has them all and the line ``after`` it has
        too few to be a row of its own ("13,stray\\rcarriage return"). The rest of the row is on the next line."""
        if not shape["fields"] or row_chars[0] > len(pending):
            return False  # the header, a file whose rows end at "\r", or the csv reader's quoted cell
        head = pending + line[:-1]
        if head.count('"') % 2:
            return False  # an open quoted cell: the csv reader keeps the "\r" in it
        if fields(head) < shape["fields"]:
            return True
        return (after is not None and not mac_ends[0] and after.strip() != ""
                and after.count('"') % 2 == 0 and fields(after.rstrip("\r\n")) < shape["fields"])

    def lines() -> Iterator[str]:
        """The file's lines for the csv reader, a row never over ``limit`` characters. A row that
        would be is ended there (its quoted cell closed) and the rest of the cell is skipped
        to its closing quote, as empty lines, so line numbers stay those of the file. A row cut
        short by a stray carriage return is joined to its next line, the return read as a space."""
        skipping = False
        carried: list[str] = []  # the lines of a row cut short by stray carriage returns
        # per line over the limit: its quote marks, and whether one of them opens a cell (at the line's start or
        # after a separator, in its first part; a quote inside an unquoted cell is a character: 27" wide)
        quotes: dict[int, list[int]] = {}

        def tally(lineno: int, part: str) -> None:
            if lineno not in quotes:  # the line's first part
                quotes[lineno] = [0, int(part.startswith('"') or f'{shape["delimiter"]}"' in part)]
            quotes[lineno][0] += part.count('"')

        read = bounded_lines(text.readline, limit, tally)
        broken: list[BaseException] = []

        def peek():  # one line of lookahead: what follows a bare return tells a cut from a row end
            try:
                return next(read, None)
            except Exception as err:  # noqa: BLE001 - a broken stream: raised once the lines before it are out
                broken.append(err)
                return None

        ahead = peek()
        while ahead is not None:
            (lineno, line, _), ahead = ahead, peek()
            if lineno == 1:  # a file whose first line ends at "\r" (classic Mac) ends every line there
                mac_ends[0] = line is not None and line.endswith("\r")
            marks, opens = quotes.pop(lineno) if line is None else (line.count('"'), 1)
            if skipping:  # still inside the quoted cell unless its row ends on this line, as the csv reader reads it
                skipping = marks % 2 == 0 if line is None else not row_ends_in(line, shape["delimiter"])
                if not skipping:  # the cell closes on this line: the lines it took are said in its row's reject
                    spans.append((file_line(over_limit[-1]), file_line(lineno), True))
                yield "\n"
            elif line is None or row_chars[0] + len(line) > limit:
                if carried:  # the row so far goes alone (a short row, rejected as such) before this line
                    yield "".join(carried) + "\n"
                    yield from ["\n"] * (len(carried) - 1)
                    carried.clear()
                    row_chars[:] = [0, 0]
                over_limit.append(lineno)
                # skipped to the end of the quoted cell open after this line: its lines are no rows of their
                # own (a row that opens a cell over the limit made records of the cell's next lines)
                skipping = (row_chars[1] + marks) % 2 == 1 and bool(row_chars[0] or opens)
                yield '"\n' if row_chars[0] else "\n"  # a row spans lines only inside a quoted cell
            elif line.endswith("\r") and cut_at_bare_cr("".join(carried), line,
                                                         ahead[1] if ahead is not None else None):  # rare
                row_chars[0] += len(line)
                carried.append(line[:-1] + " ")
                bare_cr.append(lineno)
            else:
                row_chars[0] += len(line)
                row_chars[1] += line.count('"')
                if line.endswith("\r") and row_chars[1] % 2 and not mac_ends[0]:  # in an open quoted cell
                    bare_cr.append(lineno)
                yield "".join(carried) + line
                yield from ["\n"] * len(carried)  # empty lines: the next row keeps its line number
                carried.clear()
        if broken:
            raise broken[0]
        ended[0] = True
        if skipping:  # the skipped cell runs to the end of the file
            spans.append((file_line(over_limit[-1]), file_line(lineno), False))
        if carried:  # the file ends inside a row cut short
            yield "".join(carried) + "\n"

    csv.field_size_limit(limit)  # never reached: lines() keeps every row under it
    rows = lines()
    first = next(rows, "")
    declared = EXCEL_SEP.match(first)
    if declared:  # Excel's "sep=;" line names the separator; the header is the next line
        first, skipped, delimiter = next(rows, ""), 1, declared.group(1)
        row_chars[:] = [0, 0]
    else:
        skipped, delimiter = 0, csv_delimiter(first, opts.text_field) or ","
    given: list[str] = []  # the lines of the row being read, as the csv reader was given them

    def recorded(lines_in: Iterator[str]) -> Iterator[str]:
        for line in lines_in:
            given.append(line)
            yield line

    reader = csv.reader(recorded(itertools.chain([first], rows)), delimiter=delimiter)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as err:
        yield Reject(source, f"line {1 + skipped}", f"unreadable CSV header: {err}", E_BAD_JSON)
        return
    row_chars[:] = [0, 0]
    given.clear()
    if 1 + skipped in over_limit:  # read as an empty line: its columns are unknown, not missing
        yield too_long(source, f"line {1 + skipped}", f"the header is over the limit of {limit:,} characters", opts)
        return
    problem = columns_problem(header, opts)  # also checked up front by check_inputs, for files named
    if problem:
        yield Reject(source, f"line {1 + skipped}", problem, E_MISSING_COLUMN)
        return
    renamed = distinct_columns(header)
    repeated = list(dict.fromkeys(name for name, unique in zip(header, renamed) if name != unique))
    if repeated:  # which one is read was said nowhere: an evaluation's gold label could come from either
        log.warning("%s: %s named more than once; the first of each is read, the others are kept as %s", source,
                    ", ".join(f"column {name!r}" for name in repeated),
                    ", ".join(repr(u) for name, u in zip(header, renamed) if name != u))
    header = renamed
    if not first.endswith("\r"):  # a file of classic Mac line ends has no stray returns to tell apart
        shape.update(fields=len(header), delimiter=delimiter)
    while True:
        line_before = reader.line_num + 1 + skipped
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            yield Reject(source, f"line {file_line(line_before)}", f"malformed CSV row: {err}", E_BAD_JSON)
            continue
        finally:
            open_quote = row_chars[1] % 2 == 1
            row_chars[:] = [0, 0]
            several = given[:] if len(given) > 1 else None  # a row over lines: kept to check its quotes
            given.clear()
        at = file_line(line_before)
        pos = f"line {at}"
        last = reader.line_num + skipped
        if ended[0] and open_quote and last > line_before:  # the csv reader put every line left into one cell
            yield Reject(source, pos, f"a quoted cell opens on this line and is never closed, so lines {at}-"
                         f"{file_line(last)} were read as one row; close the quote (a quote inside a quoted "
                         'cell is written "") and read the file again', E_BAD_FIELD)
            continue
        long_lines = [n for n in over_limit if line_before <= n <= reader.line_num + skipped]
        if long_lines:
            where = "" if long_lines[0] == line_before else f" by line {file_line(long_lines[0])}"
            yield too_long(source, pos, f"row is over the limit of {limit:,} characters{where}", opts)
            continue
        if not any(cell.strip() for cell in row):
            continue  # blank line
        bad = next((k for k, cell in enumerate(row) if has_surrogates(cell)), None)
        if bad is not None:  # the field, and the character in it: a spreadsheet shows fields, not bytes
            name = f" ({header[bad]!r})" if bad < len(header) else ""
            char = next(i for i, ch in enumerate(row[bad]) if "\ud800" <= ch <= "\udfff") + 1
            yield Reject(source, f"{pos}, field {bad + 1}{name}, character {char}", invalid_encoding(encoding),
                         E_ENCODING)
            continue
        if several and last > line_before and _quotes_broken("".join(several), delimiter):  # a stray quote "closed" an earlier line's
            yield Reject(source, pos, f"lines {at}-{file_line(last)} were read as one row, through a quote that "
                         'does not close its cell (a quote inside a quoted cell is written ""); fix the quotes '
                         "and read the file again", E_BAD_FIELD)
            continue
        if len(row) != len(header):
            spans = f" (lines {at}-{file_line(last)} were read as one row)" if last > line_before else ""
            yield Reject(source, pos, f"row has {len(row)} field{'s' if len(row) != 1 else ''}, header has "
                                      f"{len(header)}{spans}", E_BAD_FIELD)
            continue
        yield record_from_mapping(source, pos, f"{source}:{at}", dict(zip(header, row)), opts)


#: Decoded bytes of one Parquet batch the reader aims for; a batch has 1 to 1,024 rows.


def _quotes_broken(raw: str, delimiter: str) -> bool:
    """Whether a row read over several lines has a quote that ends no cell (``"Amazing service,5`` closed
    lines later by the inch mark of ``27" monitor``): the lenient csv reader merges the rows between
    into one cell, the strict one refuses them."""
    try:
        list(csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter, strict=True))
    except csv.Error:
        return True
    return False
