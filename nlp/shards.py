"""Parquet shards of the annotate contract: the schema, atomic writes, and reading back.

Every field of the contract is a column with a fixed type (sentences are a list of structs),
so shards of one run share one schema even when a shard is empty or all-null. Two fields
whose shape varies are stored as JSON text: ``meta`` (whatever the input carried) and a
promise's ``quantities``. :func:`read_shards` turns rows back into contract dicts.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import E_CORRUPT, E_NOT_FOUND, E_RESUME, UsageError

SHARD_PATTERN = "part-{:05d}.parquet"
#: A shard's file name, and its index: ``part-00042.parquet``, or more digits past 99,999 shards.
SHARD_NAME = re.compile(r"part-(\d{5,})\.parquet")

_STR, _INT, _F64, _BOOL = pa.string(), pa.int64(), pa.float64(), pa.bool_()

PROMISE = pa.struct([("text", _STR), ("theme", _STR), ("specificity", _STR), ("strength", _STR),
                     ("quantities", _STR), ("conditional", _BOOL), ("perspective", _STR), ("p", _F64)])
CLAIM = pa.struct([("text", _STR), ("lip_service", _BOOL), ("reasons", pa.list_(_STR)),
                   ("substantiated", _BOOL), ("p", _F64)])
SENTENCE = pa.struct([("text", _STR), ("start", _INT), ("end", _INT), ("perspective", _STR),
                      ("perspective_p", _F64), ("promise", PROMISE), ("claim", CLAIM),
                      ("complaint_p", _F64), ("complaint", _BOOL), ("theme", _STR), ("theme_reason", _STR)])
SCORES = pa.struct([("sentences", _INT), ("complaint_p", _F64), ("complaint_count", _INT), ("complaint_rate", _F64),
                    ("customer_share", _F64),
                    ("perspective_counts", pa.struct([("company", _INT), ("customer", _INT), ("neutral", _INT)])),
                    ("promise_count", _INT), ("promise_share_specific", _F64), ("promise_share_absolute", _F64),
                    ("overpromising", _INT), ("claim_count", _INT), ("lip_service_claims", _INT),
                    ("cheap_talk_ratio", _F64), ("lip_service_score", _INT),
                    ("lip_service_reasons", pa.list_(_STR))])
SCHEMA = pa.schema([("id", _STR), ("kind", _STR), ("source", _STR), ("scores", SCORES),
                    ("sentences", pa.list_(SENTENCE)), ("meta", _STR)])


def shard_name(index: int) -> str:
    return SHARD_PATTERN.format(index)


def _to_row(record: dict[str, Any]) -> dict[str, Any]:
    sentences = []
    for s in record["sentences"]:
        s = dict(s)
        if s.get("promise") is not None:
            s["promise"] = {**s["promise"], "quantities": json.dumps(s["promise"].get("quantities", []))}
        sentences.append(s)
    meta = record.get("meta")
    return {"id": record["id"], "kind": record["kind"], "source": record.get("source"), "scores": record["scores"],
            "sentences": sentences,
            "meta": json.dumps(meta, ensure_ascii=False, default=str) if meta else None}


_KNOWN = {"record": set(SCHEMA.names), "scores": {f.name for f in SCORES}, "sentence": {f.name for f in SENTENCE},
          "promise": {f.name for f in PROMISE}, "claim": {f.name for f in CLAIM}}


def _check_fields(record: dict[str, Any]) -> None:
    """A contract field the schema lacks would vanish from the shards: fail loudly instead."""
    parts = [("record", record), ("scores", record["scores"])]
    for s in record["sentences"]:
        parts += [("sentence", s), ("promise", s.get("promise") or {}), ("claim", s.get("claim") or {})]
    for name, value in parts:
        extra = set(value) - _KNOWN[name]
        if extra:
            raise ValueError(f"contract {name} field(s) {sorted(extra)} missing from nlp.shards.SCHEMA; add them there")


def to_table(records: list[dict[str, Any]]) -> pa.Table:
    """Contract dicts → a table with :data:`SCHEMA` (fields outside the schema raise, not vanish)."""
    for r in records:
        _check_fields(r)
    rows = [_to_row(r) for r in records]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def table_bytes(table: pa.Table) -> bytes:
    """The table as Parquet file bytes (what workers send back to be written)."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name, flush to disk, then rename: a file is whole or absent."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _from_row(row: dict[str, Any]) -> dict[str, Any]:
    for s in row["sentences"]:
        if s.get("promise") is not None:
            s["promise"]["quantities"] = json.loads(s["promise"]["quantities"] or "[]")
    out = {"id": row["id"], "kind": row["kind"], "scores": row["scores"], "sentences": row["sentences"],
           "source": row["source"]}
    if row.get("meta"):
        out["meta"] = json.loads(row["meta"])
    return out


def shard_paths(directory: str | Path) -> dict[int, Path]:
    """The shards of a run directory by index; other files, such as a stray ``part-x.parquet``, are not shards."""
    found = ((SHARD_NAME.fullmatch(p.name), p) for p in Path(directory).glob("part-*.parquet"))
    return {int(m.group(1)): p for m, p in found if m}


def shard_rows(path: Path) -> int:
    """The records a shard holds, read whole (a shard is a few MB: damage inside a page, behind a sound footer, is
    found too); raises one of :data:`UNREADABLE` when the file is not whole Parquet."""
    return pq.ParquetFile(path).read().num_rows


#: What reading a Parquet file that is not whole (truncated, emptied, overwritten) raises.
UNREADABLE = (pa.ArrowException, OSError)

PLAN_FILE = "run.json"
MANIFEST_FILE = "manifest.json"
#: What a batch run's directory holds, shards or not (a run of no records has none).
RUN_FILES = (PLAN_FILE, MANIFEST_FILE)


def read_shards(directory: str | Path) -> Iterator[dict[str, Any]]:
    """Contract dicts from every shard of a run directory, in shard order. A path that is no run's
    directory is an error at the call, not an empty run (a mistyped path read as "no records"); so is a
    run that has not finished (its plan but no manifest: a part of its records read as all of them) and a
    shard its manifest lists that is gone. A shard that cannot be read is an error naming it as it is reached."""
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"read_shards takes a batch run's directory (a str or Path), not {type(directory).__name__}")
    path = Path(directory)
    if not path.is_dir():
        raise UsageError(f"{path}: {'is a file' if path.exists() else 'does not exist'}; read_shards reads the "
                         "directory a `lipservice batch` run wrote (its --output)", code=E_NOT_FOUND)
    shards = shard_paths(path)
    if not shards and not any((path / name).is_file() for name in RUN_FILES):
        raise UsageError(f"{path}: holds no shards (part-NNNNN.parquet) and no {' or '.join(RUN_FILES)}: not a "
                         "directory a `lipservice batch` run wrote", code=E_NOT_FOUND)
    resume = f"give the `lipservice batch` command that wrote {path} again with --resume"
    if (path / PLAN_FILE).is_file() and not (path / MANIFEST_FILE).is_file():
        raise UsageError(f"{path}: the run is unfinished (it has {PLAN_FILE} but no {MANIFEST_FILE}: it was stopped, "
                         f"or is still running), so its shards hold only some of its records; {resume} to finish it",
                         code=E_RESUME)
    listed = _listed_shards(path / MANIFEST_FILE)
    gone = [name for name in listed if not (path / name).is_file()]
    if gone:
        raise UsageError(f"{path / gone[0]}: a shard {MANIFEST_FILE} lists is missing"
                         f"{f' (and {len(gone) - 1} more)' if len(gone) > 1 else ''}; {resume} to redo it",
                         code=E_CORRUPT)
    return _rows(shards, resume)


def _listed_shards(manifest: Path) -> list[str]:
    """The shard files a run's manifest lists (none when it has no readable manifest: shards alone are read)."""
    try:
        return [s["file"] for s in json.loads(manifest.read_text()).get("shards", ())]
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        return []


def _rows(shards: dict[int, Path], resume: str) -> Iterator[dict[str, Any]]:
    for _, path in sorted(shards.items()):
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    yield _from_row(row)
        except UNREADABLE as err:  # ArrowInvalid "Parquet magic bytes not found in footer", with no file name
            raise UsageError(f"{path}: the shard cannot be read as Parquet ({' '.join(str(err).split())}); it is "
                             f"damaged: {resume} to redo it", code=E_CORRUPT) from None
