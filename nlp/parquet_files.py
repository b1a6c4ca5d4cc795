"""Parquet read into records, a row group at a time in bounded batches (pyarrow, imported when a
Parquet file is met); a cell too long to take is rejected from Arrow's lengths, never copied.
"""
from __future__ import annotations

import gzip
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .decoding import line_limit, too_long_reason
from .errors import E_CORRUPT, E_MISSING_COLUMN, E_TOO_LARGE, InputError
from .records import ReadOptions, Record, Reject, columns_problem, json_safe, over_max_chars, record_from_mapping


def check_parquet_columns(path: Path, opts: ReadOptions) -> None:
    """A Parquet file without the text column is a usage error before any work, as a CSV's is; a file
    that is not Parquet at all is left to the reader's reject."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        columns = pq.read_schema(path).names
    except (pa.ArrowException, OSError):
        return
    problem = columns_problem(columns, opts)
    if problem:
        raise InputError(f"{path}: {problem}", code=E_MISSING_COLUMN)


PARQUET_BATCH_BYTES = 64 * 2**20


def read_parquet(source: str, path: Path, compressed: bool, opts: ReadOptions) -> Iterator[Record | Reject]:
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
        problem = columns_problem(columns, opts)
        if problem:
            yield Reject(source, "file", problem, E_MISSING_COLUMN)
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
                    found[i] = over_max_chars(n, opts)
    if total is not None and (pc.max(total).as_py() or 0) > line_limit(opts.max_chars):  # None: no rows
        limit = line_limit(opts.max_chars)
        for i, n in enumerate(total.to_pylist()):
            if n > limit and i not in found:
                found[i] = too_long_reason(f"row is {n:,} bytes, over the limit of {limit:,}", opts)
    return found
