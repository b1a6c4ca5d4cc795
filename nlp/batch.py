"""Batch job: files in, Parquet shards of the annotate contract out, resumable after any crash.

The record stream (inputs expanded in a fixed order, see :mod:`nlp.sources`) is cut into
shards of ``batch.shard_size`` records, or fewer when their texts reach ``batch.shard_chars``
characters (a shard's annotations are held until it is written, so long documents must not
fill one by count). A shard is the unit of work, of parallelism and of
``--resume``: shard *k* always holds the same records, and it exists on disk whole or not
at all (written under a temporary name, then renamed; its sidecar with counts and rejects
is committed first). Resuming re-reads the input, skips committed shards and redoes the rest,
so a run killed at any moment and resumed yields exactly the records of an uninterrupted run.
Only the records of the files the plan (``run.json``) records are cut into shards: what a
directory holds but cannot be read (a ``.docx``, a broken link) is a reject kept out of the
shards, found anew by every run, so it can never shift a shard's boundary.

Engines run one function, :func:`run_shard`, on each shard: in this process, in a pool of
spawned worker processes, or on a Dask cluster (:mod:`nlp.dask_engine`). Workers build the
pipeline once and send back Parquet bytes; only this process writes to the output directory.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import logging
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Iterator

from thinc.api import Config

from . import __version__
from .annotate import exit_with_parent, usable_cpus
from .errors import E_BAD_TASK, E_OUTPUT, E_RESUME, UsageError
from .io import FORMAT_ALIASES, SUPPORTED_EXTS, ReadOptions, Record, Reject, format_of, read_inputs, source_name
from .language import screen_from_config
from .pipeline import dotted
from .progress import BatchProgress
from .records import MadeUpIds, RepeatedIds
from .shards import (
    MANIFEST_FILE,
    PLAN_FILE,
    UNREADABLE,
    shard_name,
    shard_paths,
    shard_rows,
    table_bytes,
    to_table,
    write_atomic,
)
from .sources import InputFile, changed_files, describe_files, expand_inputs

log = logging.getLogger(__name__)

ENGINES = ("local", "dask")
REJECTS_FILE = "rejects.jsonl"
PARTS_DIR = "parts"
PLAN_VERSION = 2  # 2: directory rejects are kept out of the shards, sidecars carry ids


@dataclass
class BatchOptions:
    """What a run needs besides its inputs and config."""

    output: Path
    workers: int = 1
    engine: str = "local"
    scheduler: str | None = None
    resume: bool = False
    read: ReadOptions = field(default_factory=ReadOptions)
    live_progress: bool | None = None


@dataclass
class ShardResult:
    """What a worker sends back for one shard."""

    index: int
    data: bytes
    rejects: list[dict[str, str]]
    read: int
    annotated: int
    rejected: int
    sentences: int
    seconds: float
    ids: list[str] = field(default_factory=list)  # of the annotated records, for repeated_ids
    #: source → [ids made up, ids given] of the annotated records (a language reject is none of them)
    id_origins: dict[str, list[int]] = field(default_factory=dict)

    def sidecar(self) -> dict[str, Any]:
        out = asdict(self)
        del out["data"]
        return out


class ShardWorker:
    """The pipeline, language screen and annotator of one process, built once."""

    def __init__(self, config: Config) -> None:
        from .annotate import Annotator

        # build_nlp runs its LOAD_PROBE through the pipeline, outside any memory zone: heads, matchers and the
        # encoder are loaded there, so their strings outlive the zones the shards run in
        self.annotator = Annotator.from_config(config)
        self.screen = screen_from_config(config)

    def run(self, index: int, items: list[Record | Reject]) -> ShardResult:
        start = time.perf_counter()
        records: list[Record] = []
        rejects: list[dict[str, str]] = []
        for item in items:
            if isinstance(item, Record):
                bad = self.screen.check(item)
                item = bad or item
            if isinstance(item, Reject):
                rejects.append(item.to_json())
            else:
                records.append(item)
        with self.annotator.nlp.memory_zone():  # strings a shard adds to the vocab are freed after it
            rows = list(self.annotator._local(records))
        origins = MadeUpIds()
        for r in rows:
            origins.add(r["id"], r["source"])
        return ShardResult(index=index, data=table_bytes(to_table(rows)), rejects=rejects, read=len(items),
                           annotated=len(rows), rejected=len(rejects),
                           sentences=sum(len(r["sentences"]) for r in rows), seconds=time.perf_counter() - start,
                           ids=[r["id"] for r in rows], id_origins=origins.per_source)


_WORKERS: dict[str, ShardWorker] = {}


def run_shard(config_str: str, threads: int, index: int, items: list[Record | Reject]) -> ShardResult:
    """Annotate one shard. Every engine calls this; the pipeline is built once per process."""
    key = hashlib.sha256(config_str.encode()).hexdigest()
    if key not in _WORKERS:
        if threads:
            import torch

            torch.set_num_threads(threads)
        _WORKERS[key] = ShardWorker(Config().from_str(config_str))
    return _WORKERS[key].run(index, items)


def threads_per_worker(workers: int) -> int:
    """Torch threads each worker gets so that workers × threads never exceeds the CPUs this process may use."""
    return max(1, usable_cpus() // max(1, workers))


# -- the record stream -----------------------------------------------------------------------

def shard_stream(items: Iterable[Record | Reject], size: int, max_chars: int | None = None
                 ) -> Iterator[tuple[int, list[Record | Reject]]]:
    """``(index, items)`` of consecutive shards of ``size`` items, or fewer once their records'
    texts reach ``max_chars`` characters (the record that reaches it closes the shard); the last may be short.
    The cut depends on the input alone, so shard *k* is the same on every run."""
    index, chunk, chars = 0, [], 0
    for item in items:
        chunk.append(item)
        chars += len(item.text) if isinstance(item, Record) else 0
        if len(chunk) >= size or (max_chars is not None and chars >= max_chars):
            yield index, chunk
            index, chunk, chars = index + 1, [], 0
    if chunk:
        yield index, chunk


def estimate_records(files: list[str]) -> int | None:
    """A cheap count of the records ahead, for the ETA (line counts; Parquet metadata)."""
    total = 0
    try:
        for f in files:
            ext, compressed = format_of(Path(f))
            if ext == ".parquet" and not compressed:
                import pyarrow.parquet as pq

                total += pq.ParquetFile(f).metadata.num_rows
            elif ext in (".jsonl", ".csv"):
                from .decoding import open_binary

                with open_binary(Path(f), compressed) as fh:
                    total += csv_rows(fh) if ext == ".csv" else sum(
                        chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
            else:
                total += 1
    except Exception:  # noqa: BLE001 - an estimate only; the readers report the real problem
        return None
    return total


def csv_rows(fh: Any) -> int:
    """The rows of a CSV after its header, read as the CSV reader reads them: a complaint narrative of several
    paragraphs is one row (its lines were counted, and the ETA was about 4 times too long), and a quote inside
    an unquoted cell (a 5" screen) is a character, not the start of a quoted cell."""
    import csv

    from .csv_files import CSV_DELIMITERS, EXCEL_SEP

    text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
    first = text.readline()
    declared = EXCEL_SEP.match(first)
    header = text.readline() if declared else first
    delimiter = declared.group(1) if declared else max(CSV_DELIMITERS, key=header.count)
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # a narrative over 128 KiB is one cell, not an error
    try:
        return sum(1 for _ in csv.reader(text, delimiter=delimiter))
    finally:
        csv.field_size_limit(limit)


# -- the output directory ---------------------------------------------------------------------

def make_plan(files: list[InputFile], config: Config, read: ReadOptions, started: float | None = None
              ) -> dict[str, Any]:
    """What must not change between a run and its resumption (and when the run started)."""
    config_str = config.to_str()
    return {"version": PLAN_VERSION, "lipservice": __version__, "inputs": [f.to_json() for f in files],
            "shard_size": int(config["batch"]["shard_size"]), "shard_chars": int(config["batch"]["shard_chars"]),
            "config_sha256": hashlib.sha256(config_str.encode()).hexdigest(), "read": asdict(read),
            "config": dotted(dict(config)),  # the settings, so that a resume can name the one that changed
            "started": started, "cwd": os.getcwd()}  # the folder the input paths are relative to


def _absolute(inputs: dict[str, Any], cwd: str) -> list[str]:
    return [os.path.normpath(os.path.join(cwd, path)) for path in inputs]


def _plan_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    if old.get("version") != new["version"]:
        return "it was written by another version of lipservice"
    if old.get("lipservice") not in (None, new["lipservice"]):  # its shards were annotated by other code
        return f"it was started by lipservice {old['lipservice']}, and this is {new['lipservice']}"
    old_inputs = {i["path"]: i for i in old.get("inputs", [])}
    new_inputs = {i["path"]: i for i in new["inputs"]}
    if list(old_inputs) != list(new_inputs):
        if old.get("cwd") and _absolute(old_inputs, old["cwd"]) == _absolute(new_inputs, new["cwd"]):
            if old["cwd"] == new["cwd"]:  # the same files, typed otherwise (/abs/corpus for corpus/)
                return (f"the inputs are the run's but named otherwise (it named {', '.join(list(old_inputs)[:2])}"
                        f"{', …' if len(old_inputs) > 2 else ''}, as the shards' sources do); give them as the run did")
            return (f"the run was started in {old['cwd']} and names its inputs relative to it (as the shards' "
                    "sources do); give the same command from that folder")
        added = sorted(set(new_inputs) - set(old_inputs))
        gone = sorted(set(old_inputs) - set(new_inputs))
        return (f"the input files differ (new: {', '.join(added[:3]) or 'none'}; missing: "
                f"{', '.join(gone[:3]) or 'none'}; or their order)")
    moved = old.get("cwd") not in (None, new["cwd"])  # the same names, read from another folder
    for path, info in new_inputs.items():
        if info != old_inputs[path]:
            return (f"{path} is another file than the run's: the run was started in {old['cwd']}, and its inputs "
                    "are relative to it; give the same command from that folder" if moved else
                    f"{path} changed since the run started (size or checksum)")
    for key, what in (("shard_size", "batch.shard_size"), ("shard_chars", "batch.shard_chars"),
                      ("config_sha256", "the config"), ("read", "the field options")):
        if old.get(key) != new[key]:
            return f"{what} differs from the run's{_changed_settings(old.get('config'), new.get('config'))}"
    return ""


def _changed_settings(old: dict[str, Any] | None, new: dict[str, Any] | None, shown: int = 3) -> str:
    """The settings that differ between a run's config and this one's, as a message names them (a run
    planned by an older version has none recorded)."""
    if not old or not new:
        return ""
    changed = sorted(k for k in set(old) | set(new) if old.get(k, "(none)") != new.get(k, "(none)"))
    if not changed:
        return ""
    said = "; ".join(f"{k}: {json.dumps(old.get(k))} then, {json.dumps(new.get(k))} now" for k in changed[:shown])
    return f" ({said}{f'; and {len(changed) - shown} more' if len(changed) > shown else ''})"


def prepare_output(out: Path, plan: dict[str, Any], resume: bool) -> set[int]:
    """Create or check the output directory; return the shards already committed. On resume,
    ``plan["started"]`` becomes the first run's start."""
    plan_path = out / PLAN_FILE
    if str(out) == "-":  # not a directory named "-": shards are files, they cannot stream to stdout
        raise UsageError("--output -: a batch run writes Parquet shards into a directory; name one", code=E_OUTPUT)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output {out}: exists and is not a directory", code=E_OUTPUT)
    if resume:
        if not plan_path.is_file():
            raise UsageError(f"--resume: {out} holds no run to resume (no {PLAN_FILE}); drop --resume to start one",
                             code=E_RESUME)
        try:
            old = json.loads(plan_path.read_text())
        except ValueError:
            raise UsageError(f"--resume: {plan_path} is damaged; start a new run in an empty directory",
                             code=E_RESUME) from None
        diff = _plan_difference(old, plan)
        if diff:
            raise UsageError(f"--resume: cannot resume the run in {out}: {diff}. Resume with the same inputs and "
                             "settings, or start a new run in an empty directory", code=E_RESUME)
        plan["started"] = old.get("started")
    else:
        if out.is_dir() and any(out.iterdir()):
            raise UsageError(f"--output {out}: directory is not empty; pass --resume to continue the run in it, or "
                             "choose a new directory", code=E_OUTPUT)
        (out / PARTS_DIR).mkdir(parents=True, exist_ok=True)
        write_atomic(plan_path, json.dumps(plan, indent=1).encode())
    (out / PARTS_DIR).mkdir(exist_ok=True)
    for stale in chain(out.glob("*.tmp"), (out / PARTS_DIR).glob("*.tmp")):
        stale.unlink()  # left by a killed run; the shard it belonged to is redone
    return {index for index, path in sorted(shard_paths(out).items()) if _whole(out, index, path)}


def _whole(out: Path, index: int, path: Path) -> bool:
    """Whether a shard on disk can be kept by a resumed run: it has its sidecar (committed first), and it reads
    as Parquet holding the records the sidecar counts (read whole: a shard is a few MB, against the minutes its
    annotation took); a shard truncated, emptied or damaged after its run (a full disk, a bad copy) was kept, and
    read_shards failed on it."""
    sidecar = out / PARTS_DIR / _sidecar(index)
    if not sidecar.is_file():
        return False  # killed between the two writes, or lost: redone, as a missing shard is
    try:
        expected = json.loads(sidecar.read_text())["annotated"]
    except (OSError, ValueError, KeyError, TypeError):
        problem = f"its sidecar {sidecar} is damaged"
    else:
        try:
            rows = shard_rows(path)
        except UNREADABLE as err:
            problem = f"it cannot be read as Parquet ({' '.join(str(err).split())})"
        else:
            if rows == expected:
                return True
            problem = f"it holds {rows} record(s) where its sidecar counts {expected}"
    log.warning("%s: %s; the shard is redone", path, problem)
    return False


def discard_run(out: Path, created: bool) -> None:
    """Undo :func:`prepare_output` for a new run that wrote no shard: the plan, the empty parts folder,
    and the output directory if this run made it, so the same command can simply be given again."""
    (out / PLAN_FILE).unlink(missing_ok=True)
    for stale in (out / PARTS_DIR).glob("*.tmp"):
        stale.unlink()
    for folder in ((out / PARTS_DIR, out) if created else (out / PARTS_DIR,)):
        with contextlib.suppress(OSError):  # not empty: something else is in it, keep it
            folder.rmdir()


def check_writable(out: Path) -> None:
    """Before any work: the output directory, or the folder it will be made in, must be a folder this
    process may write (a parent that is a file, or a read-only folder, used to fail as E127 after the setup)."""
    target = Path(os.path.abspath(out))
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--output {out}: {existing} is a file, so no directory can be made under it; choose "
                         "another --output", code=E_OUTPUT)
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "the output directory" if existing == target else f"{existing}, where it would be made,"
        raise UsageError(f"--output {out}: {what} is not writable; choose another --output or fix its permissions",
                         code=E_OUTPUT)


def _sidecar(index: int) -> str:
    return shard_name(index).replace(".parquet", ".json")


def commit_shard(out: Path, result: ShardResult) -> None:
    """Sidecar first, shard second: a shard on disk always has its counts and rejects."""
    write_atomic(out / PARTS_DIR / _sidecar(result.index), json.dumps(result.sidecar()).encode())
    write_atomic(out / shard_name(result.index), result.data)


# -- engines ---------------------------------------------------------------------------------

def _local_engine(tasks: Iterable[tuple[int, list]], config_str: str, workers: int,
                  in_flight: int) -> Iterator[ShardResult]:
    if workers <= 1:
        for index, items in tasks:
            yield run_shard(config_str, 0, index, items)
        return
    import multiprocessing

    threads = threads_per_worker(workers)
    # spawn, never fork: a forked copy of an initialised torch can deadlock
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_ignore_sigint)
    try:
        pending: set = set()
        for index, items in tasks:
            pending.add(pool.submit(run_shard, config_str, threads, index, items))
            if len(pending) >= in_flight * workers:  # bounded: memory does not grow with the corpus
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        for fut in as_they_complete(pending):
            yield fut.result()
    except BaseException:  # Ctrl-C, SIGTERM, a failed write: stop the workers now, not after their shards
        _stop_pool(pool)
        raise
    pool.shutdown()


def _ignore_sigint() -> None:
    """A worker ignores Ctrl-C, which the terminal sends to every process of the group: the parent stops
    it (a traceback per worker used to follow the parent's "interrupted"); and it exits with its parent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent()


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """End the pool's workers at once (what they were doing is redone by --resume) and let it go."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def as_they_complete(futures: set) -> Iterator:
    """Futures as they complete."""
    while futures:
        done, futures = wait(futures, return_when=FIRST_COMPLETED)
        yield from done


# -- the run -----------------------------------------------------------------------------------

def model_versions(config: Config) -> dict[str, Any]:
    """The spaCy model, encoder package and head files (with checksums) a run used."""
    from .pipeline import project_path

    def dist_version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    out: dict[str, Any] = {"spacy": dist_version("spacy"), "lipservice": dist_version("lipservice")}
    out["base_model"] = next(({"name": n, "version": dist_version(n.replace("_", "-"))}
                              for n in config["lipservice"]["base_models"] if dist_version(n.replace("_", "-"))), None)
    enc = config["components"]["perspective"]["encoder"]["model"]
    out["encoder"] = {"model": enc, "version": dist_version(enc.replace("_", "-"))}
    heads = {}
    for name, comp in config["components"].items():
        if isinstance(comp.get("model"), str) and comp["model"].endswith(".skops"):
            path = project_path(comp["model"])
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            heads[name] = {"path": str(path), "sha256": digest}
    out["heads"] = heads
    return out


def run_batch(inputs: list[str], config: Config, opts: BatchOptions) -> dict[str, Any]:
    """Run (or resume) a batch job; return the manifest it wrote."""
    if opts.engine not in ENGINES:
        raise UsageError(f"--engine {opts.engine!r}: choose one of {', '.join(ENGINES)}")
    if opts.workers < 1:
        raise UsageError(f"--workers {opts.workers}: give 1 or more worker processes")
    if opts.scheduler and opts.engine != "dask":
        raise UsageError(f"--scheduler {opts.scheduler}: a Dask scheduler is for --engine dask; add --engine dask, "
                         "or drop --scheduler to run here", code=E_BAD_TASK)
    if opts.scheduler:
        from .dask_engine import check_scheduler

        check_scheduler(opts.scheduler)  # before the output directory is made
    if config["lipservice"].get("output_text"):  # the shards' schema has no text column: it raised mid-run
        raise UsageError("lipservice.output_text = true: batch shards hold no text (each record keeps its source "
                         "and position to find it by); drop the setting, or use `lipservice annotate --with-text`",
                         code=E_BAD_TASK)
    shard_size = int(config["batch"]["shard_size"])
    if shard_size < 1:
        raise UsageError(f"batch.shard_size is {shard_size}; it must be 1 or more records")
    shard_chars = int(config["batch"]["shard_chars"])
    if shard_chars < 1:
        raise UsageError(f"batch.shard_chars is {shard_chars}; it must be 1 or more characters (default 10000000)")
    if opts.output.exists() and not opts.output.is_dir():
        raise UsageError(f"--output {opts.output}: is a file; batch writes a directory of shards: choose a directory "
                         "that does not exist yet, or an empty one", code=E_OUTPUT)
    check_writable(opts.output)
    started = time.time()
    files, found_rejects = expand_inputs(inputs, opts.output)
    if not files and not found_rejects:
        if any(os.path.isdir(i) and os.path.realpath(i) == os.path.realpath(opts.output) for i in inputs):
            raise UsageError(f"--output {opts.output} is the input folder itself; write the shards to another "
                             "folder (one inside it is fine: it is left out of the inputs)", code=E_OUTPUT)
        readable = sorted(SUPPORTED_EXTS | set(FORMAT_ALIASES))
        raise UsageError(f"no input files in {', '.join(inputs)} (readable: {', '.join(readable)}, each also .gz)")
    described = describe_files(files)
    plan = make_plan(described, config, opts.read, started)
    out = opts.output
    created = not out.exists()
    done = prepare_output(out, plan, opts.resume)
    if done:
        log.info("resuming: %d shard(s) already written", len(done))
    config_str = config.to_str()
    in_flight = int(config["batch"]["in_flight_per_worker"])
    # only the records of the planned files are sharded: the rejects of what directories hold besides
    # readable files are found anew by each run, so they must not move a shard's boundary
    stream = shard_stream(read_inputs(files, opts.read), shard_size, shard_chars)
    n_shards = 0
    this_run = {"annotated": 0, "sentences": 0, "shards": 0}
    estimate = estimate_records(files)
    progress = BatchProgress(None if estimate is None else estimate + len(found_rejects), live=opts.live_progress,
                             every=float(config["batch"]["progress_every"]))

    def todo() -> Iterator[tuple[int, list]]:
        nonlocal n_shards
        progress.begin()  # the engine is up and asks for its first shard
        progress.skip(len(found_rejects))  # read as the manifest counts them: "705 of 705" was followed by "read 707"
        for index, items in stream:
            n_shards = index + 1
            if index in done:
                progress.skip(len(items))
            else:
                yield index, items

    try:
        with progress:
            if opts.engine == "dask":
                from .dask_engine import dask_map

                results = dask_map(todo(), config_str, opts.workers, opts.scheduler, in_flight)
            else:
                results = _local_engine(todo(), config_str, opts.workers, in_flight)
            for result in results:
                commit_shard(out, result)
                progress.advance(result.read, result.annotated, result.sentences)
                this_run["annotated"] += result.annotated
                this_run["sentences"] += result.sentences
                this_run["shards"] += 1
    except UsageError:  # no engine (Dask missing, no scheduler there): a new run leaves no run to --resume
        if not opts.resume and not this_run["shards"]:
            discard_run(out, created)
        raise
    return finish(out, n_shards, described, config, opts, started, found_rejects, this_run,
                  first_started=plan.get("started"))


def _stamp(t: float | None) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t is not None else None


def finish(out: Path, n_shards: int, files: list[InputFile], config: Config, opts: BatchOptions,
           started: float, found_rejects: list[Reject] = (), this_run: dict[str, int] | None = None,
           first_started: float | None = None) -> dict[str, Any]:
    """Gather every shard's sidecar, and the rejects found among the inputs, into ``rejects.jsonl`` and
    ``manifest.json``. Speeds are of this run alone: the documents it annotated over its own time."""
    ids, sidecars, made_up = RepeatedIds(), [], MadeUpIds(opts.read.id_field)
    for i in range(n_shards):  # one at a time: each id becomes 8 bytes, not a string kept for the whole corpus
        sidecar = json.loads((out / PARTS_DIR / _sidecar(i)).read_text())
        for rid in sidecar.pop("ids", ()):  # of the records that reached the shards
            ids.add(rid)
        made_up.merge(sidecar.pop("id_origins", {}))  # records given file:line as id: a mistyped --id-field?
        sidecars.append(sidecar)
    found = [r.to_json() for r in found_rejects]
    every = chain(found, (r for s in sidecars for r in s["rejects"]))
    lines = [json.dumps(r, ensure_ascii=False) + "\n" for r in every]
    write_atomic(out / REJECTS_FILE, "".join(lines).encode())
    counts = {k: sum(s[k] for s in sidecars) for k in ("read", "annotated", "rejected", "sentences")}
    counts["read"] += len(found)
    counts["rejected"] += len(found)
    repeated = ids.summary()
    changed = changed_files(files)
    for path in changed:
        log.warning("%s changed (size or modification time) while the run read it: its sha256 in the manifest "
                    "is of its content before (changed_during_run), and the shards may hold either; --resume will "
                    "refuse it, so start a new run once it stops changing", path)
    now = this_run or {"annotated": 0, "sentences": 0, "shards": 0}
    wall = time.time() - started
    manifest = {
        "inputs": [{**f.to_json(), **({"changed_during_run": True} if f.path in changed else {})} for f in files],
        "inputs_changed": [source_name(path) for path in changed],
        "counts": counts,
        "input_rejects": len(found),  # unreadable entries of directories and globs: in rejects.jsonl, not a shard
        "reconciles": counts["read"] == counts["annotated"] + counts["rejected"],
        "repeated_ids": repeated,
        # of the annotated records: given file:line as id, given one by their id field, and how many of the
        # first in files where others have one (what the CLI warns from)
        **made_up.counts(),
        "shards": [{"file": shard_name(s["index"]), **{k: s[k] for k in ("read", "annotated", "rejected",
                                                                           "sentences", "seconds")}}
                   for s in sidecars],
        "engine": opts.engine, "workers": opts.workers,
        "timings": {"started": _stamp(first_started if first_started is not None else started),
                    "this_run_started": _stamp(started),
                    "resumed": bool(opts.resume),
                    "wall_seconds": round(wall, 3),
                    "shard_seconds": round(sum(s["seconds"] for s in sidecars), 3),
                    "this_run": now,
                    "docs_per_s": round(now["annotated"] / wall, 2) if wall and now["shards"] else None,
                    "sentences_per_s": round(now["sentences"] / wall, 2) if wall and now["shards"] else None},
        "models": model_versions(config),
        "config": config.to_str(),
        "rejects": REJECTS_FILE,
    }
    write_atomic(out / MANIFEST_FILE, json.dumps(manifest, indent=1).encode())
    return manifest
