"""The ``lipservice`` command line. It only overrides values of ``config.cfg``; the work is elsewhere."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from .errors import E_BAD_TASK, E_IO, E_OUTPUT, E_STDIN_TWICE, LipserviceError, UsageError, nothing_read
from .report import printable_line, truncate

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_show_locals=False,
                  help="lipservice: whose perspective customer-centric text takes, and whether it is only talk.")


class _Terminal:
    """The stdout the terminal report is printed to. A reader that stops early (``| head``) or a full disk
    silences the report instead of stopping the run (rich exits 1 on a closed pipe, without a word), so the
    files asked for (``--json``, ``--html``, ``--csv``) are still written whole; ``_run`` then says so."""

    def __init__(self) -> None:
        self.failed: Optional[OSError] = None
        self.written: list[str] = []  # the report files a run wrote, named when the terminal report broke off

    def write(self, text: str) -> int:
        if self.failed is None:
            try:
                sys.stdout.write(text)
            except OSError as e:
                self._silence(e)
        return len(text)

    def flush(self) -> None:
        if self.failed is None:
            try:
                sys.stdout.flush()
            except OSError as e:
                self._silence(e)

    def _silence(self, e: OSError) -> None:
        self.failed = e
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no second error when stdout is flushed at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())

    def isatty(self) -> bool:
        return sys.stdout.isatty()

    def fileno(self) -> int:
        return sys.stdout.fileno()

    @property
    def encoding(self) -> str:
        return getattr(sys.stdout, "encoding", None) or "utf-8"


terminal = _Terminal()
out = Console(file=terminal, emoji=False)  # type: ignore[arg-type]  # a text file, as rich needs
err = Console(stderr=True, emoji=False)

ConfigOpt = typer.Option(None, "--config", help="A config.cfg to use instead of the packaged one.")
SetOpt = typer.Option(None, "--set", help="Override a config value, e.g. --set lipservice.batch_size=64.")
HtmlOpt = typer.Option(None, "--html", help="Also write a self-contained HTML report here.")
RatingFieldOpt = typer.Option(None, "--rating-field", help="Field holding a review's rating (reviews.rating_field).")
DateFieldOpt = typer.Option(None, "--date-field", help="Field holding a review's date (reviews.date_field).")

#: What repeated ids mean for the review reports.
REVIEWS_COUNTED_TWICE = ("each counts as a review of its own: a review read twice is counted twice in the rates and "
                         "themes")


def _fail(e: LipserviceError) -> None:
    err.print(f"[red]error:[/] {escape(printable_line(e))}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(e.exit_code)


def _print_reject(r) -> None:
    """One reject on one line of stderr, ``rejected: source: position: reason`` (never wrapped, so that it
    can be searched for), the input's names shown literally."""
    err.print(printable_line(f"rejected: {r.source}: {r.position}: {r.reason}"), highlight=False, markup=False,
              soft_wrap=True)


#: Rejects shown on the terminal at most; the rest are counted, and all are in the rejects file or report.
SHOWN_REJECTS = 10
#: Labelled rows below which evaluate --data warns that its figure is no measure.
FEW_ROWS = 30


def _print_rejects(rejects: list, where: Optional[str]) -> None:
    """The first ``SHOWN_REJECTS`` rejects, and how many more there are and ``where`` they all are."""
    for r in rejects[:SHOWN_REJECTS]:
        _print_reject(r)
    _print_more_rejects(len(rejects), where)


def _report_rejects(json_path: Optional[Path]) -> Optional[str]:
    """Where a report command keeps all its rejects: None without --json (nowhere)."""
    return f'"rejects" of {json_path}' if json_path else None


def _print_more_rejects(total: int, where: Optional[str]) -> None:
    if total > SHOWN_REJECTS:  # without a report file they are kept nowhere: said so, with how to keep them
        kept = f"all in {where}" if where else 'not kept: run again with --json FILE to have them all in its "rejects"'
        more = total - SHOWN_REJECTS
        err.print(printable_line(f"… and {more:,} more reject{'s' if more != 1 else ''}, {kept}"), highlight=False,
                  markup=False, soft_wrap=True)


def _config(config: Optional[Path], sets: Optional[List[str]], extra: Optional[dict] = None):
    from .pipeline import load_config, parse_overrides, paths_from_here

    overrides = paths_from_here(parse_overrides(sets or []))
    for key, value in (extra or {}).items():  # an option and a --set of the same setting: the option won, in silence
        if key in overrides and overrides[key] != value:
            raise UsageError(f"{key} is given twice, as {value!r} by its option and {overrides[key]!r} by --set; "
                             "keep one", code=E_BAD_TASK)
    overrides.update(extra or {})
    return load_config(config, overrides)


def _run(fn):
    """Turn lipservice errors into a one-line message and an exit code; never a traceback."""
    _log_to_stderr(logging.WARNING)
    terminal.failed, terminal.written = None, []
    try:
        result = fn()
    except LipserviceError as e:
        _fail(e)
    except BrokenPipeError:  # `annotate ... -o - | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        _fail(LipserviceError("stdout was closed by the program reading it; the run stopped there", code=E_IO))
    except OSError as e:  # the machine's doing (disk full, a file gone, no permission), not a bug to trace
        where = f"{e.filename}: " if e.filename else ""
        _fail(LipserviceError(f"{where}{e.strerror or e}; the run stopped there", code=E_IO))
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM (Terminated): one line, 128 + the signal, no traceback
        _STOPS["said"] = True
        signum = getattr(e, "signum", signal.SIGINT)
        err.print(printable_line(str(e) or ("interrupted" if signum == signal.SIGINT else "terminated (SIGTERM)")),
                  highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(128 + signum)
    written = f"; {', '.join(terminal.written)} {'was' if len(terminal.written) == 1 else 'were'} written in full" \
        if terminal.written else ""
    if isinstance(terminal.failed, BrokenPipeError):  # the reader had what it wanted; the files are whole
        err.print(printable_line(f"note: stdout was closed by the program reading it, so the terminal report stopped "
                                 f"there{written}"), highlight=False, markup=False, soft_wrap=True)
    elif terminal.failed is not None:
        _fail(LipserviceError(f"stdout: {terminal.failed.strerror or terminal.failed}; the terminal report stopped "
                              f"there{written}", code=E_IO))
    return result


def _stdin_once(inputs: dict[str, List[str]]) -> None:
    """Refuse ``-`` (stdin) given more than once across a command's inputs (``inputs`` maps each option to
    its values), before any work: the first read takes all of stdin, so the next would find it empty."""
    given = [option for option, values in inputs.items() for value in values if value == "-"]
    if len(given) > 1:
        where = " and ".join(dict.fromkeys(given))
        raise UsageError(f"`-` (stdin) is given {len(given)} times ({where}); stdin can be read only once: save all "
                         "but one of these inputs to files and pass their names", code=E_STDIN_TWICE)


def _patterns(paths: List[str]) -> List[str]:
    """Quoted patterns expanded as the shell would have (see :func:`nlp.io.expand_patterns`)."""
    from .io import expand_patterns

    return expand_patterns(list(paths))


def _warn_repeated_files(inputs: dict[str, List[str]]) -> None:
    """A warning for a file given more than once (``audit a.md a.md``, ``--copy p.md --copy p.md``): each
    time is read, so its promises, claims or reviews count that many times."""
    seen: dict[str, list[str]] = {}
    for option, values in inputs.items():
        for value in values:
            if value != "-" and Path(value).is_file():
                seen.setdefault(os.path.realpath(value), []).append(value if option.isupper() else f"{option} {value}")
    for given in seen.values():
        if len(given) > 1:
            names = list(dict.fromkeys(given))
            said = f"{names[0]} is" if len(names) == 1 else f"{' and '.join(names)} are one file,"
            err.print(printable_line(f"warning: {said} given {len(given)} times; it is read each time, so what it holds "
                                f"counts {len(given)} times"),
                      highlight=False, markup=False, soft_wrap=True)


def _refuse_nothing_read(annotated: dict[str, int], rejected: int) -> None:
    """Exit 2 (E111) when every record of a kind the command needs was rejected (``errors.nothing_read``)."""
    refusal = nothing_read(annotated, rejected)
    if refusal:
        raise refusal


def _review_fields(rating_field: Optional[str], date_field: Optional[str]) -> dict:
    """--rating-field and --date-field as overrides of ``[reviews]``."""
    return {f"reviews.{name}": value for name, value in (("rating_field", rating_field), ("date_field", date_field))
            if value is not None}


def _check_review_fields(cfg, text_field: str, id_field: str) -> None:
    """Refuse a rating or date field (``--rating-field``, ``--set reviews.rating_field=…``) that is the field the
    text or the id is read from: each field is read as one thing ("no review has a 'text' field" was all it said)."""
    for key in ("rating", "date"):
        named = cfg["reviews"][f"{key}_field"]
        for what, field in (("text", text_field), ("id", id_field)):
            if named == field:
                raise UsageError(f"the {key} field {named!r} (--{key}-field, reviews.{key}_field) is the field the "
                                 f"reviews' {what} is read from; name the field holding their {key}", code=E_BAD_TASK)


def _warn_absent_fields(fields: dict, rating_field: Optional[str], date_field: Optional[str],
                        records: list[dict]) -> None:
    """A rating or date field no review has: when the reviews have it in another case (``Rating``), name the
    option that reads it; when the user named the field, it is most likely misspelt. Not just no ratings."""
    keys: set | None = None
    for key, named in (("rating", rating_field), ("date", date_field)):
        field = fields[key]["field"]
        if fields[key]["present"]:
            continue
        if keys is None:  # the fields the reviews do have, read once and only when one is missing
            keys = {k for rec in records for k in (rec.get("meta") or {})}
        other_case = sorted(k for k in keys if isinstance(k, str) and k.lower() == field.lower() and k != field)
        if other_case:
            line = (f"warning: no review has a {field!r} field, but they have {other_case[0]!r}: pass "
                    f"--{key}-field {other_case[0]} to read it")
        elif named is not None:
            line = f"warning: no review has a {named!r} field (--{key}-field); check its name"
        else:
            continue
        err.print(printable_line(line), highlight=False, markup=False, soft_wrap=True)


def _print_warnings(audit: dict) -> None:
    """A document's warnings (a language the models do not read), under its report."""
    for warning in audit.get("warnings", ()):
        err.print(printable_line(f"warning: {audit['source']}: {warning}"), highlight=False, markup=False, soft_wrap=True)


def _warn_made_up_ids(records: list[dict], id_field: str, whose: str = "", option: str = "--id-field") -> None:
    """Say when records held in memory (reviews, gap) got ``file:line`` ids by mistake (``MadeUpIds``)."""
    from .records import made_up_ids_warning

    warning = made_up_ids_warning(records, id_field, option)
    if warning:
        line = warning.replace("warning: ", f"warning: {whose}: ", 1) if whose else warning
        err.print(printable_line(line), highlight=False, markup=False, soft_wrap=True)


def _repeated_ids(records: list[dict]) -> dict:
    """How many ids repeat among annotated records held in memory (reviews, gap)."""
    from .records import RepeatedIds

    return RepeatedIds.of(rec["id"] for rec in records)


def _warn_repeated_ids(summary: dict, consequence: str) -> None:
    """One warning line when record ids repeat: the output keeps every record, but joins on id would not."""
    from .records import repeated_ids_warning

    line = repeated_ids_warning(summary, consequence)
    if line:
        err.print(line, highlight=False, markup=False, soft_wrap=True)


def _write_text(path: Path, text: str) -> None:
    """Write an output file, making its folder when needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    terminal.written.append(str(path))


def _write_html(path: Path, title: str, **parts) -> None:
    from .html_report import render_report

    _write_text(path, render_report(title=title, **parts))


def _progressing(records, paths: list[str]):
    """Annotated records as they come, with a progress bar on a terminal (a log line every 30 s
    otherwise): corpora of reviews take minutes."""
    from .batch import estimate_records
    from .progress import BatchProgress

    _log_to_stderr()
    files = [p for p in paths if p != "-"]
    with BatchProgress(estimate_records(files) if files else None) as bar:
        for rec in records:
            bar.advance(1, 1, len(rec["sentences"]))
            yield rec


def _write_outputs(result: dict, json_path: Optional[Path], csv_path: Optional[Path], to_csv,
                   html_path: Optional[Path], title: str, **parts) -> None:
    """The --json, --csv and --html files a report command was asked for."""
    if json_path:
        _write_text(json_path, json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    if csv_path:
        _write_text(csv_path, to_csv(result))
    if html_path:
        _write_html(html_path, title, **parts)


def local_workers(requested: int) -> int:
    """``--workers`` for processes on this machine, at most one per usable CPU: each worker loads its own
    models (about 1 GB), so ``--workers 500`` would exhaust memory long before it could be faster."""
    from .annotate import usable_cpus

    cpus = usable_cpus()
    if requested > cpus:
        err.print(f"warning: --workers {requested} is more than the {cpus} CPU(s) this process may use; "
                  f"using {cpus}", highlight=False, markup=False, soft_wrap=True)
        return cpus
    return requested


def _annotate(paths: list[str], cfg, opts, workers: int, on_reject):
    from .annotate import Annotator
    from .io import read_inputs

    annotator = Annotator.from_config(cfg, workers=workers)
    return annotator, annotator.annotate(read_inputs(paths, opts), on_reject)


@app.command()
def audit(files: List[str] = typer.Argument(..., help="Text, markdown or HTML files; - reads stdin."),
          json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the results as JSON here."),
          html_path: Optional[Path] = HtmlOpt,
          config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Each sentence's perspective, the customer-perspective share, and what to rewrite first."""
    files = _patterns(files)  # 'site/*.md' in quotes: the shell left it to us

    def work():
        from .audit import audit_result
        from .errors import E_UNKNOWN_EXT
        from .io import (
            DOCUMENT_EXTS,
            DOCUMENTS_ONLY,
            ReadOptions,
            check_inputs,
            describe_position,
            format_of,
            prepare_outputs,
        )
        from .language import language_warnings, screen_from_config
        from .report import print_audit

        cfg = _config(config, sets)
        for f in files:  # a directory or a missing file is check_inputs' to explain
            if f != "-" and Path(f).is_file() and format_of(Path(f))[0] not in DOCUMENT_EXTS:
                raise UsageError(f"{f}: audit reads text, markdown or HTML documents "
                                 f"({', '.join(sorted(DOCUMENT_EXTS))}, each also .gz); {DOCUMENTS_ONLY}",
                                 code=E_UNKNOWN_EXT)  # as records on stdin are refused
        opts = ReadOptions.from_config(cfg, default_kind="company", stdin_records=False)  # JSONL on stdin too
        _stdin_once({"FILES": files})
        _warn_repeated_files({"FILES": files})
        check_inputs(files, opts)
        prepare_outputs(files, {"--json": json_path, "--html": html_path})
        bad = []
        annotator, records = _annotate(files, cfg, opts, 1, bad.append)
        results = []
        screen = screen_from_config(cfg)
        for rec in records:
            results.append(audit_result(rec, int(cfg["lipservice"]["rewrite_top"]), language_warnings(screen, rec)))
            print_audit(out, results[-1])
            _print_warnings(results[-1])
        rejects = [b.to_json() for b in bad]
        c = annotator.counts
        counts = {"read": c.read, "annotated": c.annotated, "rejected": c.rejected,
                  "repeated_ids": _repeated_ids(results)}
        if json_path:  # "rejects" and "counts" as every other report has them; "errors", as audit first named them
            _write_text(json_path, json.dumps({"documents": results, "rejects": rejects, "counts": counts,
                                               "errors": rejects}, ensure_ascii=False, indent=2) + "\n")
        if html_path:
            _write_html(html_path, "lipservice audit", audits=results, rejects=rejects)
        for b in bad[:SHOWN_REJECTS]:
            err.print(f"[red]error:[/] {escape(printable_line(f'[{b.code}] {describe_position(b)}'))}", highlight=False,
                      soft_wrap=True)
        _print_more_rejects(len(bad), _report_rejects(json_path))
        if c.read > 1 or not bad:  # a single file's error stays one line
            err.print(f"read {c.read} · annotated {c.annotated} · rejected {c.rejected}", highlight=False,
                      markup=False, soft_wrap=True)
        if bad:
            raise typer.Exit(2)

    _run(work)


@app.command()
def annotate(inputs: List[str] = typer.Argument(..., help=".txt, .md, .html, .jsonl, .json, .csv or .parquet files "
                                                         "(each also .gz); - reads stdin."),
             output: Path = typer.Option(..., "--output", "-o", help="JSONL to write, one line per record; - writes "
                                                                     "to stdout (then --rejects is needed)."),
             rejects: Optional[Path] = typer.Option(None, "--rejects", help="JSONL of the rejects; by default "
                                                                            "OUT.rejects.jsonl beside the output."),
             id_field: str = typer.Option("id", help="Field holding the record id."),
             text_field: str = typer.Option("text", help="Field holding the text."),
             kind: str = typer.Option("auto", help="Kind for records without one: company, review or auto."),
             workers: int = typer.Option(1, min=1, help="Worker processes for nlp.pipe."),
             with_text: bool = typer.Option(False, "--with-text", help="Write each record's text beside its "
                                            "sentences: the text their offsets index (of .md and .html, the "
                                            "visible text extracted; \\[lipservice] output_text)."),
             config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Write the annotate contract (DESIGN.md) for every record; rejects go to OUT.rejects.jsonl."""
    inputs = _patterns(inputs)

    def work():
        from .io import KINDS, ReadOptions, check_inputs, prepare_outputs, written_whole
        from .records import MadeUpIds, RepeatedIds

        if kind not in KINDS:
            raise UsageError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
        n_workers = local_workers(workers)
        extra = {"components.perspective.encoder.num_threads": 1} if n_workers > 1 else {}
        if with_text:
            extra["lipservice.output_text"] = True
        cfg = _config(config, sets, extra)
        opts = ReadOptions.from_config(cfg, id_field=id_field, text_field=text_field, default_kind=kind)
        _stdin_once({"INPUTS": inputs})
        check_inputs(inputs, opts)
        to_stdout = str(output) == "-"
        if to_stdout and rejects is None:
            raise UsageError("--output - writes the records to stdout; name a file for the rejects with --rejects",
                             code=E_OUTPUT)
        if rejects is None and output.exists() and not output.is_file():  # /dev/null: nothing beside it to write
            raise UsageError(f"--output {output} is not a regular file, so its rejects cannot be written beside it; "
                             "name a file for them with --rejects (--rejects /dev/null drops them)", code=E_OUTPUT)
        rejects_path = rejects or rejects_path_for(output)
        prepare_outputs(inputs, {"--output": None if to_stdout else output,
                                 "--rejects" if rejects else "--output's rejects file": rejects_path})
        shown = 0
        ids = RepeatedIds()
        with contextlib.ExitStack() as files:  # both files whole or neither replaced, so the pair reconciles
            rej = files.enter_context(written_whole(rejects_path))
            write = sys.stdout.buffer.write if to_stdout else files.enter_context(written_whole(output)).write

            def on_reject(r):
                nonlocal shown
                rej.write((json.dumps(r.to_json(), ensure_ascii=False) + "\n").encode("utf-8"))
                if shown < SHOWN_REJECTS:
                    _print_reject(r)
                shown += 1

            annotator, records = _annotate(inputs, cfg, opts, n_workers, on_reject)
            made_up = MadeUpIds(opts.id_field)  # records given file:line as id: a mistyped --id-field?
            for rec in records:
                ids.add(rec["id"])
                made_up.add(rec["id"], rec.get("source", ""))
                write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
        if to_stdout:
            sys.stdout.flush()
        c = annotator.counts
        err.print(printable_line(f"read {c.read} · annotated {c.annotated} · rejected {c.rejected} → "
                                 f"{'stdout' if to_stdout else output}"
                                 + (f" (rejects: {rejects_path})" if c.rejected else "")), highlight=False,
                  markup=False, soft_wrap=True)  # one line, as scripts parse it
        _print_more_rejects(shown, str(rejects_path))
        if not c.reconcile():  # a bug, never a user mistake: say so loudly
            raise LipserviceError(f"counts do not reconcile: read {c.read} != {c.annotated} + {c.rejected}")
        _warn_repeated_ids(ids.summary(), "each record is written as it came, in input order with its source; "
                                          "a join on id would pair them wrongly, so give unique ids")
        if made_up.warning():
            err.print(printable_line(made_up.warning()), highlight=False, markup=False, soft_wrap=True)
        problem = nothing_read({"input": c.annotated}, c.rejected, f"in {rejects_path}")
        if problem:  # both files are written; as reviews and gap, a script must not take 0 records for a result
            raise problem

    _run(work)


def rejects_path_for(output: Path) -> Path:
    """``out.jsonl`` → ``out.rejects.jsonl``."""
    stem = output.name[:-len(".jsonl")] if output.name.endswith(".jsonl") else output.name
    return output.with_name(stem + ".rejects.jsonl")


@app.command()
def demo(html_path: Optional[Path] = HtmlOpt, config: Optional[Path] = ConfigOpt,
         sets: Optional[List[str]] = SetOpt) -> None:
    """Audit the bundled demo page in company voice and rewritten in customer voice, and compare;
    then the gap between a demo shop's promises and its reviews."""

    def work():
        from .audit import audit_result, compare_audits
        from .gap import GapSettings
        from .io import ReadOptions, prepare_outputs
        from .pipeline import PROJECT_ROOT
        from .report import print_audit, print_comparison

        cfg = _config(config, sets)
        GapSettings.from_config(cfg)  # bad thresholds fail before any work
        folder = PROJECT_ROOT / "corpora" / "demo"
        files = [str(folder / n) for n in ("company_voice.md", "customer_voice.md")]
        gap_files = (str(folder / "gap" / "copy.md"), str(folder / "gap" / "reviews.jsonl"))
        prepare_outputs([*files, *gap_files], {"--html": html_path})  # `-` or a directory: refused before any work
        opts = ReadOptions.from_config(cfg, default_kind="company")
        _, records = _annotate(files, cfg, opts, 1, lambda r: None)
        results = [audit_result(r, int(cfg["lipservice"]["rewrite_top"])) for r in records]
        for r in results:
            print_audit(out, r)
        comparison = compare_audits(*results)
        print_comparison(out, comparison)
        gap = _demo_gap(cfg, *gap_files)
        if html_path:  # the whole demo: both voices, their difference, the shop's copy and the gap
            _write_html(html_path, "lipservice demo", audits=[*results, *gap["copy"]], gap=gap, comparison=comparison)
            out.print(f"HTML report: {escape(printable_line(html_path))}")
        else:
            out.print("[dim]lipservice demo --html report.html writes all of this as a page.[/]")

    _run(work)


def _demo_gap(cfg, copy_file: str, reviews_file: str) -> dict:
    """The demo's second part, printed and returned: a shop's copy against its reviews (``corpora/demo/gap/``)."""
    from .gap import gap_report
    from .io import ReadOptions, read_inputs
    from .report import print_gap

    bad = []
    copy_opts = ReadOptions.from_config(cfg, default_kind="company")
    annotator, copy = _annotate([copy_file], cfg, copy_opts, 1, bad.append)
    copy = list(copy)
    review_opts = ReadOptions.from_config(cfg, default_kind="review")
    reviews = list(annotator.annotate(read_inputs([reviews_file], review_opts), bad.append))
    out.rule("[bold]The gap: a shop's promises against its reviews")
    result = gap_report(annotator.nlp, copy, reviews, cfg)
    print_gap(out, result)
    return result


@app.command()
def train(task: str = typer.Option("all", help="Which head to train: perspective, promises, claims, complaints "
                                               "or all."),
          output: Optional[Path] = typer.Option(None, help="Directory for the heads (default: \\[paths] models)."),
          real: bool = typer.Option(True, help="Also measure on ../shared/data and put it in the cards."),
          shared_dir: Optional[Path] = typer.Option(None, help="Where the shared data sets are."),
          config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Fit the heads on the train split of corpora/ and write skops files, configs and model cards."""

    def work():
        from .pipeline import build_nlp
        from .report import print_metrics
        from .train import TASKS, TRAINERS, prepare_tuning, write_card

        tasks = list(TASKS) if task == "all" else [task]
        if any(t not in TASKS for t in tasks):
            raise UsageError(f"--task {task!r} is not one of: {', '.join(TASKS)}, all", code=E_BAD_TASK)
        extra = {"paths.models": str(output.resolve())} if output else {}
        cfg = _config(config, sets, extra)
        for t in tasks:  # every setting checked before minutes of encoding, not after
            prepare_tuning(cfg, t)
        if output:  # an output that cannot be written is said now, not after the training
            try:
                output.mkdir(parents=True, exist_ok=True)
                probe = output / ".lipservice-write-test"
                probe.touch()
                probe.unlink()
            except OSError as e:
                raise UsageError(f"--output {output}: cannot write there ({e.strerror or e}); choose a directory "
                                 "you can write to", code=E_OUTPUT) from None
        command = ("lipservice train " + " ".join(sys.argv[2:])).strip()
        measure = cfg
        for t in tasks:
            started = time.time()
            err.print(f"training {t}: reading and encoding its corpus, then fitting (minutes)…", highlight=False,
                      markup=False, soft_wrap=True)
            result = TRAINERS[t](cfg, output, command=command)
            err.print(printable_line(f"{t}: written to {result['out']} in {time.time() - started:.0f} s"), highlight=False,
                      markup=False, soft_wrap=True)
            for title, systems in {**result["metrics"], **result.get("themes", {})}.items():
                print_metrics(out, f"{t}: {title}", systems)
            if output:  # measured with the heads just written and, for the other components, the configured ones
                measure = _heads_from(output, config, sets)
            from .evaluate import (
                DEFAULT_SHARED,
                evaluate_claims,
                evaluate_claims_real,
                evaluate_promises_real,
                evaluate_real,
            )
            if t == "claims":  # lip service is decided by the pipeline: measure it end to end, for the card
                end_to_end = evaluate_claims(build_nlp(measure), measure)
                result["metrics"].update(end_to_end)
                write_card(result)
                for title, systems in end_to_end.items():
                    print_metrics(out, f"{t}: {title}", systems)
            if not real:
                continue
            shared = shared_dir or DEFAULT_SHARED
            if not shared.is_dir():
                err.print(f"{shared}: not found; real-data figures left out of the model card")
                continue
            if t == "claims":
                real_metrics = evaluate_claims_real(build_nlp(measure), shared)
            elif t == "perspective":
                real_metrics = evaluate_real(build_nlp(_perspective_only(measure)), shared,
                                             seed=int(measure["system"]["seed"]))
            elif t == "complaints":
                from .benchmarks import zero_shot_metrics

                real_metrics = zero_shot_metrics(build_nlp(measure), shared)
            else:
                real_metrics = evaluate_promises_real(build_nlp(measure), shared)
            for name, res in real_metrics.items():
                print_metrics(out, name, res)
            write_card(result, real_metrics)

    _run(work)


def _heads_from(output: Path, config: Optional[Path], sets: Optional[List[str]]):
    """The config with each head file that ``output`` holds (by its configured name) read from there, and the
    others from where the config has them: `train --task complaints --output mine` measured the new heads with a
    pipeline that looked for every head in mine, and failed on the perspective one after writing its own."""
    from .pipeline import load_config, parse_overrides, paths_from_here

    overrides = paths_from_here(parse_overrides(sets or []))
    base = load_config(config, overrides)
    for name, component in base["components"].items():
        for key in ("model", "tuned_model"):
            value = component.get(key)
            if isinstance(value, str) and value and (output / Path(value).name).is_file():
                overrides[f"components.{name}.{key}"] = str((output / Path(value).name).resolve())
    return load_config(config, overrides)


def _perspective_only(cfg):
    """The config with only the components perspective needs (its heads may be all that exist yet)."""
    from thinc.api import Config

    reduced = Config(cfg).copy()
    reduced["components"] = {k: v for k, v in cfg["components"].items() if k in ("paragraphs", "perspective")}
    return reduced


@app.command()
def evaluate(task: str = typer.Option("perspective", help="What to measure: perspective, promises, claims, "
                                                        "complaints or gap."),
             data: Optional[str] = typer.Option(None, help="For --task perspective: labelled sentences, one per row "
                                                           "(.jsonl, .json, .csv, .tsv, each also .gz, or .parquet; "
                                                           "- reads them from stdin) with a text and a label: "
                                                           "company, customer or neutral, in any case."),
             label_field: Optional[str] = typer.Option(None, help="Field holding the gold label in --data "
                                                                  "(default: label)."),
             text_field: Optional[str] = typer.Option(None, help="Field holding the text in --data "
                                                                 "(default: text)."),
             real: bool = typer.Option(False, "--real", help="Measure on the real data sets in ../shared/data."),
             half: Optional[str] = typer.Option(None, help="With --real --task perspective: only the even- or "
                                                           "odd-numbered documents (odd: never read when writing "
                                                           "training text)."),
             shared_dir: Optional[Path] = typer.Option(None, help="Where the shared data sets are."),
             json_out: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
             tune: bool = typer.Option(False, "--tune", help="--task gap: also the thresholds that do best on the "
                                                             "train pairs, measured on the test pairs."),
             curve: bool = typer.Option(False, "--learning-curve",
                                        help="With --real --task perspective: how far labelled real documents "
                                             "would move the model, cross-validated (settings in "
                                             "\\[learning_curve]); slow."),
             config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Held-out (or --real) metrics of a task, each beside its baseline."""

    def work():
        from . import evaluate as ev
        from .pipeline import build_nlp
        from .report import print_metrics

        if task not in ("perspective", "promises", "claims", "complaints", "gap"):
            raise UsageError(f"--task {task!r} is not one of: perspective, promises, claims, complaints, gap",
                             code=E_BAD_TASK)
        if data and task != "perspective":
            raise UsageError("--data is for --task perspective (a labelled file of sentences)")
        if (label_field or text_field) and not data:
            raise UsageError("--label-field and --text-field name the fields of --data; give --data FILE too",
                             code=E_BAD_TASK)
        if tune and task != "gap":
            raise UsageError("--tune is for --task gap (the thresholds of the contradiction rule)", code=E_BAD_TASK)
        if half is not None and not (real and task == "perspective"):
            raise UsageError("--half is for --task perspective --real (the halves of the real data sets)",
                             code=E_BAD_TASK)
        if half is not None and half not in ev.HALVES:
            raise UsageError(f"--half {half!r} is not one of: {', '.join(ev.HALVES)}", code=E_BAD_TASK)
        if shared_dir is not None and not real:  # it was passed over without a word
            raise UsageError("--shared-dir is where --real reads the shared data sets; give --real too, or leave it "
                             "out", code=E_BAD_TASK)
        if curve and (task != "perspective" or not real or half or data):
            raise UsageError("--learning-curve is for --task perspective --real, on whole sets (no --half, "
                             "no --data)", code=E_BAD_TASK)
        cfg = _config(config, sets)
        shared = shared_dir or ev.DEFAULT_SHARED
        if curve:
            from .learning_curve import CurveSettings, learning_curve, real_sets
            from .report import print_curve

            lc = CurveSettings.from_config(cfg)  # checked before the data are read
            results = learning_curve(cfg, real_sets(shared, lc.sets), folds=lc.folds, shares=lc.shares,
                                     second_opinion=lc.second_opinion, seed=int(cfg["system"]["seed"]))
            if json_out:
                out.print_json(json.dumps(results))
            else:
                for name, systems in results.items():
                    print_curve(out, name, systems)
            return
        labelled = None
        if data:  # read before the models load: a wrong file is said at once
            labelled = ev.load_labelled_file(data, text_field or "text", label_field or "label",
                                             int(cfg["lipservice"]["piece_chars"]))
        # perspective is measured with the perspective component alone: its heads are all it needs
        nlp = build_nlp(_perspective_only(cfg) if task == "perspective" else cfg)
        results: dict = {}
        if task == "perspective":
            if labelled:
                texts, labels, rejects = labelled
                _print_rejects(rejects, 'the "rejects" that --json prints')
                repeated = len(texts) - len(set(texts))
                if repeated:
                    err.print(f"warning: {repeated:,} {'row repeats' if repeated == 1 else 'rows repeat'} an earlier "
                              "row's text; each is counted",
                              highlight=False, markup=False, soft_wrap=True)
                conflicts = ev.label_conflicts(texts, labels)
                if conflicts:
                    text, both = conflicts[0]
                    many = "text has" if len(conflicts) == 1 else "texts have"
                    err.print(printable_line(f"warning: {len(conflicts):,} {many} different labels in different rows "
                                        f"(first: {truncate(text, 60)!r}: {', '.join(both)}); the model can be right "
                                        "on one of them only"),
                              highlight=False, markup=False, soft_wrap=True)
                err.print(f"read {len(texts) + len(rejects)} · evaluated {len(texts)} · rejected {len(rejects)}",
                          highlight=False, markup=False, soft_wrap=True)
                results[data], several = ev.evaluate_labelled(nlp, cfg, texts, labels, int(cfg["system"]["seed"]))
                if len(texts) < FEW_ROWS:  # "n=1 macro-F1 1.000" was shown as any other figure
                    err.print(f"warning: {len(texts)} row{'s' * (len(texts) != 1)} evaluated; a figure on so few says "
                              "little, and its interval (resampled from these rows alone) may look surer than it "
                              "is, so label more to measure",
                              highlight=False, markup=False, soft_wrap=True)
                if several:
                    err.print(f"warning: {several:,} of {len(texts):,} rows hold more than one sentence; each row is "
                              "scored as one sentence, so split such rows to measure sentence by sentence",
                              highlight=False, markup=False, soft_wrap=True)
                if json_out:  # the counts reconcile here too, and no reject is only on the terminal
                    results[data]["counts"] = {"read": len(texts) + len(rejects), "evaluated": len(texts),
                                               "rejected": len(rejects), "repeated_texts": repeated,
                                               "conflicting_labels": len(conflicts),
                                               "several_sentences": several}
                    results[data]["rejects"] = [r.to_json() for r in rejects]
            elif not real:
                results["test split"] = ev.evaluate_split(nlp, cfg)
            if real:
                results.update(ev.evaluate_real(nlp, shared, half=half, seed=int(cfg["system"]["seed"])))
        elif task == "promises":
            results.update(ev.evaluate_promises_real(nlp, shared) if real else ev.evaluate_promises(nlp, cfg))
        elif task == "complaints":
            from .benchmarks import zero_shot_metrics

            results.update(zero_shot_metrics(nlp, shared) if real else ev.evaluate_complaints(nlp, cfg))
        elif task == "gap":
            if real:
                raise UsageError("no real labelled gap data: `--task gap` measures the project's test pairs only")
            results.update(ev.evaluate_gap(nlp, cfg, tune=tune))
        else:
            results.update(ev.evaluate_claims_real(nlp, shared) if real else ev.evaluate_claims(nlp, cfg))
        if json_out:
            out.print_json(json.dumps(results))
        else:
            for name, res in results.items():
                print_metrics(out, name, res)

    _run(work)


@app.command()
def reviews(inputs: List[str] = typer.Argument(..., help="Reviews: .jsonl, .csv, .parquet (fields id, text, "
                                                          "optional rating and date), or text files."),
            json_path: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON here."),
            csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write the theme table as CSV here."),
            html_path: Optional[Path] = HtmlOpt,
            id_field: str = typer.Option("id", help="Field holding the record id."),
            text_field: str = typer.Option("text", help="Field holding the text."),
            rating_field: Optional[str] = RatingFieldOpt, date_field: Optional[str] = DateFieldOpt,
            config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Complaint rate, complaint themes (taxonomy and discovered), ratings and the monthly trend."""
    inputs = _patterns(inputs)

    def work():
        from .io import ReadOptions, check_inputs, prepare_outputs
        from .language import screen_from_config
        from .report import print_reviews
        from .reviews import review_report, themes_csv

        _stdin_once({"INPUTS": inputs})
        _warn_repeated_files({"INPUTS": inputs})
        cfg = _config(config, sets, _review_fields(rating_field, date_field))
        _check_review_fields(cfg, text_field, id_field)
        opts = ReadOptions.from_config(cfg, id_field=id_field, text_field=text_field, default_kind="review")
        check_inputs(inputs, opts)
        prepare_outputs(inputs, {"--json": json_path, "--csv": csv_path, "--html": html_path})
        bad = []
        annotator, records = _annotate(inputs, cfg, opts, 1, bad.append)
        records = list(_progressing(records, inputs))
        summary, _, _ = review_report(annotator.nlp, records, cfg, screen_from_config(cfg))
        c = annotator.counts
        summary["counts"] = {"read": c.read, "annotated": c.annotated, "rejected": c.rejected,
                             "repeated_ids": _repeated_ids(records)}
        summary["rejects"] = [b.to_json() for b in bad]
        print_reviews(out, summary)
        _warn_absent_fields(summary["fields"], rating_field, date_field, records)
        _warn_made_up_ids(records, opts.id_field)
        _write_outputs(summary, json_path, csv_path, themes_csv, html_path, "lipservice reviews", reviews=summary)
        err.print(f"read {c.read} · annotated {c.annotated} · rejected {c.rejected}", highlight=False, markup=False,
                  soft_wrap=True)
        _warn_repeated_ids(summary["counts"]["repeated_ids"], REVIEWS_COUNTED_TWICE)
        _print_rejects(bad, _report_rejects(json_path))
        _refuse_nothing_read({"review": c.annotated}, c.rejected)

    _run(work)


@app.command()
def gap(copy: List[str] = typer.Option(..., "--copy", help="Company copy: .txt, .md, .html files (or .jsonl/.csv "
                                                          "records); --copy a.md b.md takes several."),
        reviews_in: List[str] = typer.Option(..., "--reviews", help="Reviews: .jsonl, .csv, .parquet (fields id, "
                                                                     "text, optional rating and date)."),
        json_path: Optional[Path] = typer.Option(None, "--json", help="Write the gap as JSON here."),
        html_path: Optional[Path] = HtmlOpt,
        csv_path: Optional[Path] = typer.Option(None, "--csv", help="Write promises, unmet themes and claims as "
                                                                    "CSV here."),
        id_field: str = typer.Option("id", help="Field holding the record id (copy and reviews)."),
        text_field: str = typer.Option("text", help="Field holding the text (copy and reviews)."),
        review_id_field: Optional[str] = typer.Option(None, help="Field holding the reviews' id, when it differs "
                                                                 "from the copy's (default: --id-field)."),
        review_text_field: Optional[str] = typer.Option(None, help="Field holding the reviews' text, when it "
                                                                   "differs from the copy's (default: --text-field)."),
        rating_field: Optional[str] = RatingFieldOpt, date_field: Optional[str] = DateFieldOpt,
        config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Promises against complaints: verdicts with evidence, unmet expectations, contradicted claims."""
    copy, reviews_in = _patterns(copy), _patterns(reviews_in)

    def work():
        from .gap import GapSettings, gap_csv, gap_report
        from .io import ReadOptions, check_inputs, prepare_outputs, read_inputs
        from .language import screen_from_config
        from .report import print_gap

        _stdin_once({"--copy": copy, "--reviews": reviews_in})
        _warn_repeated_files({"--copy": copy, "--reviews": reviews_in})
        cfg = _config(config, sets, _review_fields(rating_field, date_field))
        _check_review_fields(cfg, review_text_field or text_field, review_id_field or id_field)
        GapSettings.from_config(cfg)  # bad thresholds fail before any work
        copy_opts = ReadOptions.from_config(cfg, id_field=id_field, text_field=text_field, default_kind="company")
        review_opts = ReadOptions.from_config(  # hints name the option that reads the reviews' field
            cfg, default_kind="review", id_field=review_id_field or id_field,
            text_field=review_text_field or text_field,
            id_option="--review-id-field" if review_id_field else "--id-field (or --review-id-field)",
            text_option="--review-text-field" if review_text_field else "--text-field (or --review-text-field)")
        check_inputs(copy, copy_opts)
        check_inputs(reviews_in, review_opts)
        prepare_outputs([*copy, *reviews_in], {"--json": json_path, "--csv": csv_path, "--html": html_path})
        bad = []
        annotator, copy_records = _annotate(copy, cfg, copy_opts, 1, bad.append)
        copy_records = list(copy_records)
        review_records = list(_progressing(annotator.annotate(read_inputs(reviews_in, review_opts), bad.append),
                                           reviews_in))
        result = gap_report(annotator.nlp, copy_records, review_records, cfg, screen_from_config(cfg))
        for audit in result["copy"]:
            _print_warnings(audit)
        c = annotator.counts
        result["counts"] = {"read": c.read, "annotated": c.annotated, "rejected": c.rejected,
                            "copy": len(copy_records), "reviews": len(review_records),
                            "repeated_ids": _repeated_ids(review_records)}
        result["rejects"] = [b.to_json() for b in bad]
        print_gap(out, result)
        _warn_absent_fields(result["reviews_summary"]["fields"], rating_field, date_field, review_records)
        _warn_made_up_ids(copy_records, copy_opts.id_field, "copy")
        _warn_made_up_ids(review_records, review_opts.id_field, "reviews", review_opts.id_option)
        _write_outputs(result, json_path, csv_path, gap_csv, html_path, "lipservice gap", gap=result)
        err.print(f"read {c.read} · annotated {c.annotated} (copy {len(copy_records)}, reviews "
                  f"{len(review_records)}) · rejected {c.rejected}", highlight=False, markup=False, soft_wrap=True)
        _warn_repeated_ids(result["counts"]["repeated_ids"], REVIEWS_COUNTED_TWICE)
        _print_rejects(bad, _report_rejects(json_path))
        _refuse_nothing_read({"copy": len(copy_records), "review": len(review_records)}, c.rejected)

    _run(work)


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on."),
          port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
          config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """A page for auditors (paste copy, upload reviews, read the report) and a JSON API (/docs)."""

    def work():
        from .serve import run

        _log_to_stderr()
        run(_config(config, sets), host, port)

    _run(work)


@app.command()
def benchmark(name: str = typer.Argument(..., help="complaints (10-fold CV, VADER beside) or themes (NMI/ARI "
                                                  "against BERTopic)."),
              data: Optional[Path] = typer.Option(None, help="complaints: a CSV without a header, id,text,label,"
                                                             "domain (label 1 = complaint, 0 = not), as "
                                                             "complaints-data.csv, or a folder holding it; themes: "
                                                             "the shared data folder. Default: ../shared/data."),
              folds: Optional[int] = typer.Option(None, min=2, help="complaints: folds of the stratified "
                                                                   "cross-validation (default 10)."),
              zero_shot: bool = typer.Option(False, "--zero-shot", help="complaints: also score the shipped model "
                                                                        "on all of it."),
              limit: Optional[int] = typer.Option(None, min=10, help="themes: CFPB narratives to cluster (default "
                                                                   "1500)."),
              as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
              config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """A published benchmark by its protocol, or a peer, measured in the same run."""

    def work():
        from .benchmarks import (
            COMPLAINTS_FILE,
            check_theme_data,
            cross_validate_complaints,
            theme_benchmark,
            zero_shot_metrics,
        )
        from .evaluate import DEFAULT_SHARED
        from .pipeline import build_nlp
        from .report import print_metrics

        if name not in ("complaints", "themes"):
            raise UsageError(f"benchmark {name!r}: choose complaints or themes", code=E_BAD_TASK)
        other = "themes" if name == "complaints" else "complaints"
        for option, given in (("--limit", limit is not None and name == "complaints"),
                              ("--folds", folds is not None and name == "themes"),
                              ("--zero-shot", zero_shot and name == "themes")):
            if given:  # each was passed over without a word
                raise UsageError(f"{option} is for benchmark {other}, not {name}; leave it out", code=E_BAD_TASK)
        cfg = _config(config, sets)
        if name == "themes":
            check_theme_data(data or DEFAULT_SHARED)  # before the models load
            result = theme_benchmark(build_nlp(cfg), cfg, data or DEFAULT_SHARED, limit or 1500)
            if as_json:
                out.print_json(json.dumps(result))
                return
            for title, r in result.items():
                out.print(f"{title}: {r['n']} texts, {r['gold_categories']} gold categories", highlight=False)
                for system in ("lipservice", "BERTopic"):
                    m = r[system]
                    out.print(f"  {system:>10}: NMI {m['nmi']:.4f}  ARI {m['ari']:.4f}  clusters {m['clusters']}  "
                              f"{m['seconds']} s", highlight=False)
            return
        path = data or DEFAULT_SHARED / COMPLAINTS_FILE
        result = cross_validate_complaints(cfg, path, folds or 10, published=data is None)
        if zero_shot:  # the file given, not the shared one beside it
            result["zero_shot"] = zero_shot_metrics(build_nlp(cfg), path, None if data is None else Path(data).name)
        if as_json:
            out.print_json(json.dumps(result))
            return
        for f in result["folds"]:
            out.print(f"fold {f['fold']:>2}: macro-F1 {f['macro_f1']:.4f}  F1(complaint) {f['f1_complaint']:.4f}  "
                      f"P {f['precision']:.4f}  R {f['recall']:.4f}", highlight=False)
        out.print(f"mean    macro-F1 {result['macro_f1']:.4f}  F1(complaint) {result['f1_complaint']:.4f}  "
                  f"P {result['precision']:.4f}  R {result['recall']:.4f}   ({result['protocol']})", highlight=False)
        for part, f1 in result.get("parts_macro_f1", {}).items():
            out.print(f"  ({part}: macro-F1 {f1:.4f})", highlight=False)
        v = result["baseline_vader"]
        out.print(f"VADER   macro-F1 {v['macro_f1']:.4f}  F1(complaint) {v['f1_complaint']:.4f}", highlight=False)
        for title, systems in result.get("zero_shot", {}).items():
            print_metrics(out, title, systems)

    _run(work)


@app.command()
def batch(inputs: List[str] = typer.Argument(..., help="Files, directories or globs of .txt, .md, .html, .jsonl, .json, "
                                                      ".csv, .parquet (each also .gz)."),
          output: Path = typer.Option(..., "--output", "-o", help="Directory for part-NNNNN.parquet, rejects.jsonl "
                                                                  "and manifest.json (read the shards as "
                                                                  "OUTPUT/part-*.parquet)."),
          workers: int = typer.Option(1, min=1, help="Worker processes (local) or local Dask workers."),
          engine: str = typer.Option("local", help="local, or dask (needs the dask extra)."),
          scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address, e.g. tcp://host:8786; "
                                                             "without it --engine dask starts a local cluster."),
          resume: bool = typer.Option(False, "--resume", help="Continue the run in OUTPUT after a crash or kill."),
          batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1,
                                                   help="Documents per nlp.pipe batch (lipservice.batch_size)."),
          shard_size: Optional[int] = typer.Option(None, "--shard-size", min=1,
                                                   help="Records per output shard (batch.shard_size)."),
          id_field: str = typer.Option("id", help="Field holding the record id."),
          text_field: str = typer.Option("text", help="Field holding the text."),
          kind: str = typer.Option("auto", help="Kind for records without one: company, review or auto."),
          config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Annotate a corpus into Parquet shards, streaming and resumable, locally or on Dask."""

    def work():
        from .batch import BatchOptions, run_batch
        from .io import KINDS, ReadOptions
        from .records import made_up_ids_warning_of

        if kind not in KINDS:
            raise UsageError(f"--kind {kind!r} is not one of {', '.join(KINDS)}")
        extra = {k: v for k, v in (("lipservice.batch_size", batch_size), ("batch.shard_size", shard_size))
                 if v is not None}
        cfg = _config(config, sets, extra)
        opts = BatchOptions(output=output, workers=workers if scheduler else local_workers(workers), engine=engine,
                            scheduler=scheduler, resume=resume,
                            read=ReadOptions.from_config(cfg, id_field=id_field, text_field=text_field,
                                                         default_kind=kind))
        _log_to_stderr()
        if engine == "dask":  # a stopped run's cancelled tasks and closed streams are not the user's concern
            from .dask_engine import SHUTDOWN_LOGGERS

            for name in SHUTDOWN_LOGGERS:
                logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        try:
            manifest = run_batch(inputs, cfg, opts)
        except KeyboardInterrupt as e:  # Ctrl-C or SIGTERM: say what is kept and how to go on
            from .shards import shard_paths

            kept = len(shard_paths(output)) if output.is_dir() else 0
            what = "terminated (SIGTERM)" if getattr(e, "signum", signal.SIGINT) == signal.SIGTERM else "interrupted"
            e.args = (stopped_batch_message(what, kept, output),)
            raise
        c, t = manifest["counts"], manifest["timings"]
        speed = (f"{t['docs_per_s']} docs/s, {t['sentences_per_s']} sentences/s" if t["docs_per_s"] is not None
                 else "every shard was already written" if manifest["shards"] else "no record to annotate")
        err.print(printable_line(f"read {c['read']:,} · annotated {c['annotated']:,} · rejected {c['rejected']:,} → "
                                 f"{output} ({len(manifest['shards'])} shard{'s' if len(manifest['shards']) != 1 else ''}"
                                 f", {speed})" + (f"; rejects in {output / manifest['rejects']}" if c["rejected"] else
                                                  "")), highlight=False, markup=False, soft_wrap=True)
        if not manifest["reconciles"]:
            raise LipserviceError(f"counts do not reconcile: read {c['read']} != {c['annotated']} + {c['rejected']}")
        _warn_repeated_ids(manifest["repeated_ids"], "each record is in the shards, in input order with its "
                                                     "source; a join on id would pair them wrongly, so give unique "
                                                     "ids (manifest.json: repeated_ids)")
        warning = made_up_ids_warning_of(id_field, manifest)
        if warning:
            err.print(printable_line(warning + " (manifest.json: ids_made_up)"), highlight=False, markup=False,
                      soft_wrap=True)
        problem = nothing_read({"input": c["annotated"]}, c["rejected"], f"in {output / manifest['rejects']}")
        if problem:  # the run is written; as annotate, reviews and gap, a script must not take it for a result
            raise problem

    _run(work)


def stopped_batch_message(what: str, kept: int, output: Path) -> str:
    """What a stopped ``batch`` says: the shards it keeps and how to go on (none yet: the plan is kept)."""
    if not kept:
        return (f"{what} before any shard was written; run the same command with --resume to do the run (the "
                f"plan is in {output})")
    return (f"{what}: the {kept} shard(s) written in {output} are kept; run the same command with --resume to "
            "finish the run (it writes manifest.json and rejects.jsonl)")


@app.command()
def bench(docs: int = typer.Option(2000, "--docs", min=2, help="Documents in the generated corpus."),
          naive_docs: int = typer.Option(1000, "--naive-docs", min=1,
                                         help="The naive peer runs on the first this-many documents (it is slow)."),
          only: Optional[List[str]] = typer.Option(None, "--only", help="Contenders to run (repeatable): naive, "
                                                   "limit, limit-runtime, limit-all, batch-1, batch-1-unbounded, "
                                                   "batch-2, dask-2, batch-half. "
                                                   "Default: all but batch-1-unbounded."),
          data: Optional[Path] = typer.Option(None, help="Real data mixed into the corpus when present "
                                                        "(default: shared/data beside the project, as evaluate)."),
          style: str = typer.Option("pages", help="pages (scraped, boilerplate, mixed lengths), reviews "
                                                  "(one to three sentences) or long (20,000 to 400,000 "
                                                  "characters)."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
          config: Optional[Path] = ConfigOpt, sets: Optional[List[str]] = SetOpt) -> None:
    """Speed and memory of the batch job against a naive peer and the encoder limit, in one run."""

    def work():
        from .bench import CONTENDERS, DEFAULT_CONTENDERS, STYLES, run_bench
        from .pipeline import project_path

        if style not in STYLES:
            raise UsageError(f"--style {style!r}: choose {', '.join(STYLES)}")
        chosen = list(only or DEFAULT_CONTENDERS)
        unknown = sorted(set(chosen) - set(CONTENDERS))
        if unknown:
            raise UsageError(f"--only {', '.join(unknown)}: choose among {', '.join(CONTENDERS)}")
        from .evaluate import DEFAULT_SHARED

        cfg = _config(config, sets)

        def show(name, r):
            if not as_json:
                err.print(f"{name:>10}: {r['docs']:,} docs in {r['seconds']} s = {r['docs_per_s']} docs/s"
                          + (f", {r['sentences_per_s']} sentences/s" if r.get("sentences_per_s") else "")
                          + f", peak RSS {r['peak_rss_mb']} MB", highlight=False, markup=False, soft_wrap=True)

        shared = data if data is not None else DEFAULT_SHARED
        result = run_bench(cfg, docs, chosen, int(cfg["system"]["seed"]), naive_docs, shared,
                           project_path(cfg["paths"]["corpora"]), on_result=show, style=style)
        if as_json:
            out.print_json(json.dumps(result))
        else:
            for key in ("ratio_vs_naive", "ratio_vs_limit", "ratio_vs_limit_1_worker", "ratio_vs_limit_runtime",
                        "ratio_vs_limit_all", "batch_chars_memory_ratio", "batch_chars_speed_ratio",
                        "scaling_2n_over_n", "peak_rss_mb"):
                if key in result:
                    out.print(f"{key}: {result[key]}", highlight=False, soft_wrap=True)

    _run(work)


class _StderrHandler(logging.StreamHandler):
    """A handler that writes to ``sys.stderr`` as it is when a line is logged, not as it was when the
    handler was made: a command run in-process (a test runner, a notebook) swaps stderr and closes it."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ sets it; the property above wins
        pass

    def format(self, record: logging.LogRecord) -> str:
        """One line, as every message: a file's name can hold a newline or an escape sequence. A warning reads
        as the CLI's own ("warning: …"); progress lines keep their time."""
        text = f"warning: {record.getMessage()}" if record.levelno == logging.WARNING else super().format(record)
        return printable_line(text)


def _log_to_stderr(level: int = logging.INFO) -> None:
    """The CLI, not the library, decides where log lines go: progress and warnings to stderr. Every command
    shows the library's warnings (``_run``); those with progress lines ask for INFO too."""
    logger = logging.getLogger("nlp")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)


MULTI_VALUE_OPTIONS = ("--copy", "--reviews")


def expand_multi_values(args: list[str], options: tuple[str, ...] = MULTI_VALUE_OPTIONS) -> list[str]:
    """``--copy a.md b.md`` → ``--copy a.md --copy b.md`` (click takes one value per option), so
    shell globs work after an option; ``-`` (stdin) counts as a value."""
    out: list[str] = []
    current, flag_given = None, False
    for arg in args:
        name = arg.split("=", 1)[0]
        if arg.startswith("-") and arg != "-":
            current = name if name in options else None
            flag_given = current is not None and "=" not in arg  # "--copy a": a is its value
        elif current:
            if not flag_given:
                out.append(current)
            flag_given = False
        out.append(arg)
    return out


def option_problem(args: list[str]) -> str | None:
    """The first option of the command in ``args`` that takes one value and is given more than once
    (``--data a.csv --data b.csv``), said as an error; click keeps the last in silence. Or the first option
    given an empty value (``--output ''`` wrote a batch run into the working directory, ``--text-field ''``
    rejected every record): no option takes one."""
    group = typer.main.get_command(app)  # typer's own click classes: read by what they have, not by type
    command = group.get_command(None, args[0]) if args and hasattr(group, "get_command") else None
    if command is None:
        return None
    valued = {opt: param for param in command.params if getattr(param, "param_type_name", "") == "option"
              and not (param.count or param.is_flag) for opt in param.opts}
    seen: dict[str, list[str]] = {}
    rest = iter(args[1:])
    for arg in rest:
        if arg == "--":
            break
        name, _, value = arg.partition("=")
        if name not in valued:
            continue
        value = value if "=" in arg else next(rest, None)
        if value is None:
            return None  # a missing value: click says so
        if not value.strip():
            return f"{name} is given an empty value, which it cannot take; give it one, or leave the option out"
        if valued[name].multiple:
            continue
        values = seen.setdefault(valued[name].name, [])
        values.append(value)
        if len(values) > 1:
            return (f"{name} is given {len(values)} times ({', '.join(values)}); it takes one value, and only the "
                    "last would be used: give it once")
    return None


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C's KeyboardInterrupt is, so every cleanup that runs for one runs for the
    other; :func:`_run` says it in one line and exits 143."""

    signum = signal.SIGTERM


#: Whether a stop was said by a command (``_run``), and whether SIGTERM came: the framework turns a stop
#: that comes outside a command (while the arguments are read) into a silent 130 whatever its signal.
_STOPS = {"said": False, "sigterm": False}


def _on_sigterm(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second SIGTERM must not break the cleanup
    _STOPS["sigterm"] = True
    raise Terminated()


def _stopped_outside_a_command() -> None:
    """Say a stop the framework took (exit 130 with no word) as a command says one, with its own code."""
    sigterm = _STOPS["sigterm"]
    err.print("terminated (SIGTERM)" if sigterm else "interrupted", highlight=False, markup=False, soft_wrap=True)
    sys.exit(143 if sigterm else 130)


def _command_names() -> set[str]:
    """The subcommands, as typed."""
    return {c.name or c.callback.__name__ for c in app.registered_commands}


def main() -> None:
    logging.getLogger("transformers").setLevel(logging.ERROR)
    # SIGTERM (timeout, docker stop, systemd) stops a run as Ctrl-C does, so outputs not yet whole are
    # removed on the way out (it used to leave OUT.jsonl.part behind). Not sys.exit: a SystemExit raised
    # inside a thread's lock (Dask's shutdown) ended in "release unlocked lock" and pages of tracebacks
    signal.signal(signal.SIGTERM, _on_sigterm)
    args = expand_multi_values(sys.argv[1:])
    problem = option_problem(args)
    if problem:  # before the app runs: said as its own usage errors are, exit 2
        try:
            _fail(UsageError(problem, code=E_BAD_TASK))
        except typer.Exit as stop:
            sys.exit(stop.exit_code)
    try:  # not standalone: a bad option is one coded line, as every other mistake, not a box of usage
        code = app(args=args, standalone_mode=False, prog_name="lipservice")
    except typer.Abort:  # a framework that raises its Abort rather than returning 130
        _stopped_outside_a_command()
    except Exception as e:  # noqa: BLE001 - click's UsageError (typer vendors its own click): by its shape
        if getattr(e, "exit_code", None) != 2 or not hasattr(e, "format_message"):
            raise
        ctx = getattr(e, "ctx", None)
        command = ctx.command_path if ctx is not None else "lipservice"
        if command == "lipservice" and args and args[0] in _command_names():  # an option's missing value: no ctx
            command = f"lipservice {args[0]}"
        if e.format_message():  # none when no arguments at all: the help was shown
            err.print(printable_line(f"error: [{UsageError.code}] {command}: {e.format_message()} (see {command} --help)"),
                      highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    if code == 130 and not _STOPS["said"]:  # Ctrl-C or SIGTERM outside a command's own handling
        _stopped_outside_a_command()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
