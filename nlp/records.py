"""What the readers yield: a record, or a reject with its position, and the checks every record
passes whatever its format (text present, a string, within ``max_chars``, valid Unicode).

A record is ``{"id", "text", "kind", "source", "meta"}``; :mod:`nlp.io` reads files into them.
"""
from __future__ import annotations

import json
import math
import re
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable

from .errors import E_BAD_FIELD, E_BINARY, E_EMPTY_TEXT, E_ENCODING, E_MISSING_COLUMN, E_TOO_LARGE
from .markup import has_visible_text

KINDS = ("company", "review", "auto")
DEFAULT_ID_FIELD = "id"


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
    id_field: str = DEFAULT_ID_FIELD
    text_field: str = "text"
    #: None: no column is the record's kind (a data set's own columns, all kept in ``meta``).
    kind_field: str | None = "kind"
    default_kind: str = "auto"
    max_chars: int = 2_000_000
    #: An HTML page is mostly markup (scripts, inline images): its bytes get their own bound.
    max_html_bytes: int = 50_000_000
    #: The setting that raises ``max_chars``, named in rejects (the server has its own, lower one).
    max_chars_setting: str = "lipservice.max_chars"
    #: Whether the reader of a reject can name the fields (the CLI's --text-field / --id-field); the API
    #: reads fixed names, so its rejects say to rename the field instead.
    field_options: bool = True
    #: The CLI options that name the fields, as the command calls them (gap's reviews: --review-text-field).
    text_option: str = "--text-field"
    id_option: str = "--id-field"
    #: Whether stdin that holds JSON Lines or a CSV table is read as records (it is refused where only
    #: documents are read, as ``audit`` refuses a .jsonl file, rather than audited as one text of JSON).
    stdin_records: bool = True

    def name_it(self, option: str, field: str, what: str) -> str:
        """How to point lipservice at the right ``what`` ("text column"): the CLI option, or the name the API reads."""
        if self.field_options:
            return f"name the {what} with {option}"
        return f"the API reads the {field!r} {what.split()[-1]}: rename it in the file or request"

    @classmethod
    def from_config(cls, cfg: Any, **fields: Any) -> "ReadOptions":
        """Options with the ``[lipservice]`` input bounds of ``cfg`` and the given fields."""
        ls = cfg["lipservice"]
        return cls(**{"max_chars": int(ls["max_chars"]), "max_html_bytes": int(ls["max_html_bytes"]), **fields})


#: A header's column name longer than this, or a number, is more likely the first row of a file without one.
HEADER_NAME_CHARS = 40
NUMBER = re.compile(r"[-+]?\d[\d,.]*")


def columns_problem(columns: list[str], opts: ReadOptions) -> str | None:
    """Why records cannot be read from a table with these columns (a CSV header, a Parquet schema): no
    text column, an id column named with --id-field that is not there (every id would be made up), or
    the text or id column twice (taking either would drop the other in silence); None when they can."""
    if opts.text_field not in columns:
        fix = opts.name_it(opts.text_option, opts.text_field, "text column")
        cased = next((c for c in columns if c.strip().lower() == opts.text_field.lower()), None)
        if cased is not None:  # "Text" for "text": said with what reads it
            fix = (f"the column {cased!r} differs only in case: name it with {opts.text_option} {cased!r}"
                   if opts.field_options else f"the API reads {opts.text_field!r}: rename the column {cased!r}")
        if any(len(c) > HEADER_NAME_CHARS or NUMBER.fullmatch(c.strip()) for c in columns):
            fix = (f"it looks like a row, not a header: add a header line that names the columns ({opts.text_field!r} "
                   f"for the text), or {fix}")
        return f"no {opts.text_field!r} column (columns: {_shown_columns(columns)}); {fix}"
    if opts.id_field != DEFAULT_ID_FIELD and opts.id_field not in columns:
        return (f"no {opts.id_field!r} column for the ids (columns: {_shown_columns(columns)}); "
                f"{opts.name_it(opts.id_option, opts.id_field, 'id column')}, or leave it out to give each record its "
                "file and line")
    for name, option in ((opts.text_field, opts.text_option), (opts.id_field, opts.id_option)):
        places = [i + 1 for i, column in enumerate(columns) if column == name]
        if len(places) > 1:
            return (f"the column {name!r} appears {len(places)} times (columns {', '.join(map(str, places))}); "
                    "rename all but one" + (f", or name another with {option}" if opts.field_options else ""))
    return None


def _shown_columns(columns: list[str]) -> str:
    return ", ".join(c if len(c) <= HEADER_NAME_CHARS else c[:HEADER_NAME_CHARS] + "…" for c in columns) or "none"


def check_text(source: str, position: str, text: Any, opts: ReadOptions) -> Reject | None:
    """The checks every record's text passes, whatever its format."""
    if isinstance(text, bytes):  # binary that json_safe could not read as UTF-8
        return Reject(source, position, f"field {opts.text_field!r} is binary data that is not UTF-8 text",
                      E_ENCODING)
    if not isinstance(text, str):
        return Reject(source, position, f"field {opts.text_field!r} is {json_kind(text)}, not a string",
                      E_BAD_FIELD)
    if not text.strip():
        return Reject(source, position, "empty text", E_EMPTY_TEXT)
    if "\x00" in text:  # before the visible-text test: "\x00\x00\x00" is binary data, not an empty text
        return Reject(source, position, "text contains NUL bytes (binary data)", E_BINARY)
    if not has_visible_text(text):
        return Reject(source, position, "empty text: only invisible or control characters (zero-width spaces, "
                      "direction marks, \\x07 and the like)", E_EMPTY_TEXT)
    if len(text) > opts.max_chars:
        return Reject(source, position, over_max_chars(len(text), opts), E_TOO_LARGE)
    if has_surrogates(text):
        return Reject(source, position, "text contains unpaired surrogates (invalid Unicode)", E_ENCODING)
    return None


def over_max_chars(chars: int, opts: ReadOptions) -> str:
    return f"text is {chars:,} characters, over the limit of {opts.max_chars:,} (raise {opts.max_chars_setting})"


def records_key(obj: dict) -> str | None:
    """The key of an object that holds the records (``{"data": [{…}, …]}``, a minified export), or None."""
    return next((str(k) for k, v in obj.items() if isinstance(v, list) and v and isinstance(v[0], dict)), None)


def jq_command(expr: str, name: str | None) -> str:
    """The jq command that makes JSON Lines of a document: of the file ``name``, or of what was piped (None)."""
    return f"jq -c '{expr}' {name} > records.jsonl" if name else f"… | jq -c '{expr}' > records.jsonl"


def record_from_mapping(source: str, position: str, default_id: str, obj: dict, opts: ReadOptions
                        ) -> Record | Reject:
    """A record from one row/object (JSONL, CSV, Parquet, API), or a reject saying what is wrong."""
    if opts.text_field not in obj:
        under = records_key(obj)
        fix = (f"the records look to be under {under!r}: "
               f"{jq_command(f'.[{json.dumps(under)}][]', None if source == '<stdin>' else source)}, then read that"
               if under is not None else opts.name_it(opts.text_option, opts.text_field, 'text field'))
        return Reject(source, position, f"no {opts.text_field!r} field (fields: {', '.join(map(str, obj)) or 'none'}); "
                                        f"{fix}", E_MISSING_COLUMN)
    text = obj[opts.text_field]
    reject = check_text(source, position, text, opts)
    if reject:
        return reject
    broken = _surrogate_field(obj, skip=opts.text_field)  # the text was checked just above
    if broken is not None:  # JSON's "\ud83d" without its pair: no output format can write it
        return Reject(source, position, f"field {broken!r} contains unpaired surrogates (invalid Unicode)",
                      E_ENCODING)
    rid = obj.get(opts.id_field)
    if isinstance(rid, float) and math.isnan(rid):
        rid = None  # how pandas writes a missing value in a column of numbers
    if not _id_like(rid):
        fix = f"name another field with {opts.id_option}" if opts.field_options else "leave it out"
        return Reject(source, position, f"field {opts.id_field!r} is {_shown(rid)}, not a string or number; give "
                                        f"each record a text or numeric id, or {fix}", E_BAD_FIELD)
    if isinstance(rid, float) and rid.is_integer():
        rid = int(rid)  # pandas writes a column of whole numbers with a gap as floats: id 7, not "7.0"
    rid = default_id if rid is None or str(rid).strip() == "" else str(rid)
    kind = obj.get(opts.kind_field)
    kind = (kind.strip().lower() if isinstance(kind, str) else kind) or opts.default_kind  # " Review" is review
    if kind not in KINDS:
        return Reject(source, position, f"kind {as_json(kind)} is not one of {', '.join(KINDS)}", E_BAD_FIELD)
    meta = {k: finite(v) for k, v in obj.items() if k not in (opts.id_field, opts.text_field, opts.kind_field)}
    return Record(id=rid, text=text, kind=kind, source=source, position=position, meta=meta)


def made_up_id(record_id: str, source: str) -> bool:
    """Whether an id is the ``file:line`` (or ``file[i]``) one given to a record without an id."""
    return record_id.startswith(source + ":") or record_id.startswith(source + "[")


@dataclass
class MadeUpIds:
    """Counts, per file, the records that got ``file:line`` as id against those whose id field gave one,
    and says when that looks like a mistake: a named ``--id-field`` missing, or in a file some records' ids
    empty, null or missing beside records that have one (a file in which no record has one gets its
    ``file:line`` ids in silence: that is the documented default)."""

    id_field: str = DEFAULT_ID_FIELD
    #: source → [made up, given]
    per_source: dict[str, list[int]] = field(default_factory=dict)
    #: The option that named ``id_field`` (gap's reviews: --review-id-field).
    id_option: str = "--id-field"

    def add(self, record_id: str, source: str) -> None:
        counts = self.per_source.setdefault(source, [0, 0])
        if made_up_id(record_id, source):
            counts[0] += 1
        elif record_id != source:  # a whole file is one record (.txt): its id is its path, given by no field
            counts[1] += 1

    def merge(self, per_source: dict[str, list[int]]) -> "MadeUpIds":
        """Add another count's ``per_source`` (a batch shard's)."""
        for source, (made_up, given) in per_source.items():
            counts = self.per_source.setdefault(source, [0, 0])
            counts[0] += made_up
            counts[1] += given
        return self

    @property
    def made_up(self) -> int:
        return sum(m for m, _ in self.per_source.values())

    @property
    def given(self) -> int:
        return sum(g for _, g in self.per_source.values())

    @property
    def beside_given(self) -> tuple[int, int]:
        """(made-up ids, records) in the files where other records gave one."""
        mixed = [(m, m + g) for m, g in self.per_source.values() if m and g]
        return sum(m for m, _ in mixed), sum(n for _, n in mixed)

    def counts(self) -> dict[str, int]:
        """What a batch manifest keeps, and :func:`made_up_ids_warning_of` reads."""
        mixed, records = self.beside_given
        return {"ids_made_up": self.made_up, "ids_given": self.given, "ids_made_up_beside_given": mixed,
                "records_beside_given": records}

    def warning(self) -> str | None:
        """The warning line, or None."""
        return made_up_ids_warning_of(self.id_field, self.counts(), self.id_option)


def made_up_ids_warning(records: Iterable[dict], id_field: str, option: str = "--id-field") -> str | None:
    """The :class:`MadeUpIds` warning for annotated records held in memory (reviews, gap, an upload), or None."""
    made_up = MadeUpIds(id_field, id_option=option)
    for rec in records:
        made_up.add(rec["id"], rec.get("source", ""))
    return made_up.warning()


def made_up_ids_warning_of(id_field: str, counts: dict[str, int], option: str = "--id-field") -> str | None:
    """The warning :class:`MadeUpIds` counts call for (``counts`` as its :meth:`~MadeUpIds.counts`), or None."""
    made_up, given = counts.get("ids_made_up", 0), counts.get("ids_given", 0)
    if not made_up:
        return None
    if id_field != DEFAULT_ID_FIELD:  # a field the user named (``option``) and records lack: a mistyped name?
        return (f"warning: {made_up:,} of {made_up + given:,} records have no {id_field!r} field ({option}), so each "
                "got its file and position as id; check the field's name")
    mixed, records = counts.get("ids_made_up_beside_given", 0), counts.get("records_beside_given", 0)
    if not mixed:
        return None
    return (f"warning: {mixed:,} of {records:,} records have an empty, null or no {id_field!r} in files whose "
            "other records have one, so each got its file and position as id; give every record an id for joins on it")


def _id_like(value: Any) -> bool:
    """A string, a whole number or a finite number: what an id can be without a guess at its text."""
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return str(value)  # nan, inf
    return f"{json_kind(value)} {as_json(value)}"


def as_json(value: Any) -> str:
    """A value as the JSON a user wrote it in (``null``, ``true``, ``"x"``), cut to 60 characters."""
    return json.dumps(value, ensure_ascii=False, default=str)[:60]


#: What a value is called in the file a user wrote (JSON's names), not in Python.
_JSON_KINDS = ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"), ((list, tuple), "an array"),
               (dict, "an object"), (bytes, "binary data"))


def json_kind(value: Any) -> str:
    """``value``'s kind in the words of JSON ("an array", "null"), for reasons a user reads."""
    if value is None:
        return "null"
    return next((name for types, name in _JSON_KINDS if isinstance(value, types)), f"a {type(value).__name__}")


def finite(value: Any) -> Any:
    """``value`` with every NaN and infinity in it (Parquet floats, Python's JSON reader) made None: the
    contract is JSON, which has no such numbers, and a strict reader rejects a line that holds one."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, (dict, list)) or not _has_non_finite(value):
        return value
    return json.loads(json.dumps(value, ensure_ascii=False), parse_constant=lambda _: None)


def _has_non_finite(value: Any) -> bool:
    stack = [value]  # a walk with a stack: JSON may nest deeper than Python's recursion limit
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_safe(obj: dict[str, Any], text_field: str = "text") -> dict[str, Any]:
    """Values JSON can carry: dates, decimals and bytes from Parquet become strings. Bytes that are UTF-8
    become that text: writers that store strings as plain BINARY (older Hive, Impala) are common. Other
    bytes in a field besides the text show their bytes as ``\\xff``, as file names do (not ``b'\\xff'``);
    in the text they stay bytes, for :func:`check_text` to reject."""
    obj = {k: _utf8_or_bytes(v) if k == text_field else _utf8_or_escaped(v) for k, v in obj.items()}
    text = obj.get(text_field)
    safe = json.loads(json.dumps(obj, default=str, ensure_ascii=False))
    if text_field in obj and not isinstance(text, str):
        safe[text_field] = text  # keep the wrong type visible to check_text
    return safe


def _utf8_or_escaped(value: Any) -> Any:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value


def _utf8_or_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_surrogates(s: str) -> bool:
    return bool(_SURROGATE.search(s))


def _surrogate_field(obj: dict[str, Any], skip: str = "") -> str | None:
    """The first field but ``skip`` whose name or value (nested lists and objects included) holds a lone
    surrogate, shown with the surrogate escaped; None when there is none."""
    def bad(value: Any) -> bool:  # a walk with a stack: JSON may nest deeper than Python's recursion limit
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                if has_surrogates(item):
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


def describe_position(reject: Reject) -> str:
    """``file.csv: line 7: reason`` — the one-line form printed to the terminal."""
    return f"{reject.source}: {reject.position}: {reject.reason}"


class RepeatedIds:
    """Record ids that occur more than once in a run, counted in 8 bytes a record: each id is kept as
    its 64-bit hash, not as text (10 million records take 80 MB). Two different ids share a hash with a
    chance of about n²/2⁶⁵, 3 in a million for 10 million records. Hashes are compared within one process."""

    def __init__(self) -> None:
        self._hashes = array("q")

    def add(self, rid: str) -> None:
        self._hashes.append(hash(rid))

    @classmethod
    def of(cls, rids: Iterable[str]) -> dict[str, int]:
        """The :meth:`summary` of these ids."""
        ids = cls()
        for rid in rids:
            ids.add(rid)
        return ids.summary()

    def summary(self) -> dict[str, int]:
        """``{"ids": ids that occur more than once, "records": the records that carry them}``."""
        import numpy as np

        hashes = np.frombuffer(self._hashes, dtype=np.int64)
        hashes.sort()  # in place: the order of arrival is not needed, and no copy of 8 bytes a record is made
        same = hashes[1:] == hashes[:-1]  # 1 byte a record: each place where a hash repeats the one before
        ids = int(np.count_nonzero(same[1:] & ~same[:-1])) + int(same[:1].sum())  # runs of repeats
        return {"ids": ids, "records": int(np.count_nonzero(same)) + ids}


def repeated_ids_warning(summary: dict[str, int], consequence: str) -> str | None:
    """The one line that tells the user some ids repeat, and what that means for this output; None if none do."""
    if not summary["ids"]:
        return None
    ids = "1 id occurs" if summary["ids"] == 1 else f"{summary['ids']:,} ids occur"
    return f"warning: {ids} more than once ({summary['records']:,} records carry them); {consequence}"

