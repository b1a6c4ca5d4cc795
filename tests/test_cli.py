"""The ``lipservice`` CLI end to end, with the real models (inputs kept to a few sentences).

What a user relies on: annotate writes the DESIGN.md contract in input order, rejects go
to OUT.rejects.jsonl, the printed counts reconcile, usage errors are one line and exit 2,
never a traceback. Model probabilities are not asserted, only their shape.
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest
from conftest import ANSI, invoke, stderr_lines
from typer.testing import CliRunner

from nlp.annotate import split_pieces
from nlp.cli import app

PERSPECTIVES = {"company", "customer", "neutral"}
SENTENCE_FIELDS = {"text", "start", "end", "perspective", "perspective_p", "promise", "claim", "complaint_p",
                   "complaint", "theme", "theme_reason"}
COUNTS = re.compile(r"read (\d+) · annotated (\d+) · rejected (\d+)")

runner = CliRunner()


def counts(result) -> tuple[int, int, int]:
    m = COUNTS.search(ANSI.sub("", result.stderr))
    assert m, result.stderr
    return tuple(map(int, m.groups()))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def check_contract(rec: dict, original: str) -> None:
    """One output line against DESIGN.md's annotate contract and the record's original text."""
    assert {"id", "kind", "scores", "sentences"} <= set(rec)
    assert isinstance(rec["id"], str) and rec["id"]
    assert rec["kind"] in {"company", "review"}
    assert isinstance(rec["scores"], dict)
    assert rec["sentences"], "a record with text has sentences"
    prev_end = 0
    for s in rec["sentences"]:
        assert SENTENCE_FIELDS <= set(s)
        assert isinstance(s["start"], int) and isinstance(s["end"], int)
        assert prev_end <= s["start"] < s["end"] <= len(original)
        assert original[s["start"]:s["end"]] == s["text"]  # offsets index the original text
        assert s["text"] == s["text"].strip() and s["text"]
        assert s["perspective"] in PERSPECTIVES
        assert 0.0 <= s["perspective_p"] <= 1.0
        assert s["complaint_p"] is None or 0.0 <= s["complaint_p"] <= 1.0
        prev_end = s["end"]


# --------------------------------------------------------------------------- annotate


def test_annotate_mixed_inputs_contract_order_rejects_and_counts(tmp_path):
    txt = "We are the leading provider of energy. You get your money back within ten days.\n"
    (tmp_path / "good.txt").write_text(txt, encoding="utf-8")
    jsonl_objs = [{"id": "j1", "text": "You can cancel at any time.", "source_url": "https://x"},
                  None,  # the broken middle line
                  {"id": "j3", "text": "We won an award for our service."}]
    (tmp_path / "mixed.jsonl").write_text(
        json.dumps(jsonl_objs[0]) + "\n" + '{"id": "j2", "text": "unterminated\n' + json.dumps(jsonl_objs[2]) + "\n",
        encoding="utf-8")
    csv_text_1 = 'Our team of "experts" is proud,\nand passionate.'
    (tmp_path / "mixed.csv").write_text(
        'id,text\nc1,"Our team of ""experts"" is proud,\nand passionate."\nc2,\nc3,Your order ships free.\n',
        encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    out = tmp_path / "out" / "result.jsonl"
    out.parent.mkdir()
    paths = [tmp_path / n for n in ("good.txt", "mixed.jsonl", "mixed.csv", "empty.txt", "binary.txt")]

    result = invoke(["annotate", *paths, "--output", out])

    assert result.exit_code == 0, result.output
    lines = read_jsonl(out)
    originals = {str(paths[0]): txt, "j1": jsonl_objs[0]["text"], "j3": jsonl_objs[2]["text"],
                 "c1": csv_text_1, "c3": "Your order ships free."}
    assert [r["id"] for r in lines] == list(originals)  # input order, bad records left out
    for rec in lines:
        check_contract(rec, originals[rec["id"]])
    assert not out.with_name(out.name + ".part").exists()

    rejects = read_jsonl(tmp_path / "out" / "result.rejects.jsonl")
    for r in rejects:
        assert {"source", "position", "reason"} <= set(r) and r["reason"]
    assert [(r["source"], r["position"]) for r in rejects] == [
        (str(paths[1]), "line 2, column 22"), (str(paths[2]), "line 4"), (str(paths[3]), "file"), (str(paths[4]), "byte 8")]

    read, annotated, rejected = counts(result)
    assert (read, annotated, rejected) == (9, 5, 4)
    assert read == annotated + rejected
    assert annotated == len(lines) and rejected == len(rejects)


def test_annotate_field_options_and_default_kind(tmp_path):
    (tmp_path / "r.csv").write_text("review_id,body,kind\nr1,I waited three weeks for a refund.,\n"
                                    "r2,We are proud of our team.,company\n", encoding="utf-8")
    (tmp_path / "d.jsonl").write_text(json.dumps({"doc": "d1", "body": "You save money every month."}) + "\n",
                                      encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = invoke(["annotate", tmp_path / "r.csv", tmp_path / "d.jsonl", "-o", out,
                     "--id-field", "review_id", "--text-field", "body", "--kind", "review"])
    assert result.exit_code == 0, result.output
    lines = read_jsonl(out)
    # d.jsonl has no review_id field: the stable default id is file:line
    assert [r["id"] for r in lines] == ["r1", "r2", f"{tmp_path / 'd.jsonl'}:1"]
    assert [r["kind"] for r in lines] == ["review", "company", "review"]
    check_contract(lines[0], "I waited three weeks for a refund.")
    assert counts(result) == (3, 3, 0)


def test_annotate_warns_once_about_repeated_ids_and_keeps_every_record(tmp_path):
    rows = [{"id": "a", "text": "Your refund arrives in two days."}, {"id": "b", "text": "We are proud."},
            {"id": "a", "text": "I waited a month."}, {"id": "a", "text": "Thanks!"}, {"id": "c", "text": "Hi."}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = invoke(["annotate", tmp_path / "r.jsonl", "-o", out])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in read_jsonl(out)] == ["a", "b", "a", "a", "c"]  # nothing dropped or renamed
    [warning] = [line for line in stderr_lines(result) if line.startswith("warning:")]
    assert warning.startswith("warning: 1 id occurs more than once (3 records carry them)")
    assert "a join on id would pair them wrongly" in warning
    unique = invoke(["annotate", tmp_path / "r.jsonl", "-o", tmp_path / "u.jsonl", "--id-field", "none"])
    assert not [line for line in stderr_lines(unique) if "more than once" in line]  # file:line ids are unique
    assert "warning: 5 of 5 records have no 'none' field (--id-field)" in stderr_lines(unique)[-1]


def test_annotate_reads_stdin(tmp_path):
    out = tmp_path / "stdin.jsonl"
    text = "We care about you. Your parcel arrives tomorrow."
    result = invoke(["annotate", "-", "-o", out], input=text.encode())
    assert result.exit_code == 0, result.output
    [rec] = read_jsonl(out)
    assert rec["id"] == "<stdin>"
    check_contract(rec, text)


def test_annotate_refuses_to_write_over_its_input_and_leaves_it_intact(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": "a", "text": "We answer every call."}\n')
    before = src.read_bytes()
    result = invoke(["annotate", src, "-o", src])
    assert result.exit_code == 2 and "[E124]" in result.output and "is also an input" in result.output
    assert src.read_bytes() == before
    rejects_named = tmp_path / "out.rejects.jsonl"  # would be opened for the rejects before reading
    rejects_named.write_bytes(before)
    result = invoke(["annotate", rejects_named, "-o", tmp_path / "out.jsonl"])
    assert result.exit_code == 2 and "rejects file" in result.output
    assert rejects_named.read_bytes() == before


def test_a_write_failing_mid_run_is_one_coded_line_not_a_traceback(capsys):
    import typer

    from nlp.cli import _run

    def disk_full():
        raise OSError(28, "No space left on device", "out.jsonl")

    with pytest.raises(typer.Exit) as exc:
        _run(disk_full)
    assert exc.value.exit_code == 1
    assert "[E127] out.jsonl: No space left on device" in " ".join(capsys.readouterr().err.split())


class _ClosedStdout:
    """A stdout whose reader went away (``| head -1``) or whose disk is full."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def write(self, text):
        raise self.error

    def flush(self):
        raise self.error

    def isatty(self):
        return False


@pytest.mark.parametrize("error, code", [(BrokenPipeError(32, "Broken pipe"), None),
                                         (OSError(28, "No space left on device"), 1)])
def test_a_terminal_report_cut_short_still_writes_the_files_asked_for(tmp_path, monkeypatch, capsys, error, code):
    """`audit page.md --json r.json | head -1` exited 1 without a word, and r.json was never written."""
    import typer

    from nlp.cli import _run, _write_text, out

    report = tmp_path / "r.json"

    def audit_like():
        out.print("the terminal report, line one")
        out.print("line two")
        _write_text(report, "{}")  # written after the terminal report, as audit, reviews and gap write theirs

    monkeypatch.setattr("sys.stdout", _ClosedStdout(error))
    if code is None:
        _run(audit_like)
        said = " ".join(capsys.readouterr().err.split())
        assert f"note: stdout was closed by the program reading it, so the terminal report stopped there; {report} " \
               "was written in full" in said
    else:
        with pytest.raises(typer.Exit) as exc:
            _run(audit_like)
        assert exc.value.exit_code == code
        assert f"[E127] stdout: No space left on device; the terminal report stopped there; {report} was written in " \
               "full" in " ".join(capsys.readouterr().err.split())
    assert report.read_text() == "{}"


def test_a_run_stopped_mid_way_leaves_no_part_file(tmp_path, monkeypatch):
    import nlp.cli

    def annotate_then_fill_the_disk(paths, cfg, opts, workers, on_reject):
        def records():
            yield {"id": "a"}
            raise OSError(28, "No space left on device", str(tmp_path / "o.jsonl.part"))
        return None, records()

    monkeypatch.setattr(nlp.cli, "_annotate", annotate_then_fill_the_disk)  # the failure, not the models, is faked
    (tmp_path / "a.txt").write_text("We care.", encoding="utf-8")
    result = invoke(["annotate", tmp_path / "a.txt", "--output", tmp_path / "o.jsonl"])
    assert result.exit_code == 1 and "[E127]" in result.stderr and "No space left on device" in result.stderr
    assert not (tmp_path / "o.jsonl.part").exists() and not (tmp_path / "o.jsonl").exists()
    assert not (tmp_path / "o.rejects.jsonl").exists() and not (tmp_path / "o.rejects.jsonl.part").exists()


def test_a_rerun_stopped_mid_way_leaves_the_last_output_and_its_rejects_together(tmp_path, monkeypatch):
    """Before, the rejects file was rewritten in place, so a stopped rerun left the old output beside new
    rejects: a pair whose counts no longer reconciled."""
    import nlp.cli

    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "We care."}\n{"id": "b", "text": ""}\n', encoding="utf-8")
    args = ["annotate", tmp_path / "a.jsonl", "--output", tmp_path / "o.jsonl"]
    assert invoke(args).exit_code == 0
    before = [(tmp_path / name).read_bytes() for name in ("o.jsonl", "o.rejects.jsonl")]

    def reject_then_stop(paths, cfg, opts, workers, on_reject):
        from nlp.records import Reject

        def records():
            on_reject(Reject("x", "line 9", "new reject", "E101"))
            raise KeyboardInterrupt
        return None, records()

    monkeypatch.setattr(nlp.cli, "_annotate", reject_then_stop)
    invoke(args)
    assert [(tmp_path / name).read_bytes() for name in ("o.jsonl", "o.rejects.jsonl")] == before
    assert not list(tmp_path.glob("*.part"))


def test_annotate_writes_through_a_device_instead_of_replacing_it(tmp_path):
    """``--output /dev/null`` (keep the rejects only) must not rename a file over the device. A link to it
    stands in for the device here: a wrong rename replaces the link, never /dev/null."""
    (tmp_path / "a.txt").write_text("We care.", encoding="utf-8")
    null = tmp_path / "null"
    null.symlink_to(os.devnull)
    result = invoke(["annotate", tmp_path / "a.txt", "--output", null, "--rejects", tmp_path / "r.jsonl"])
    assert result.exit_code == 0 and COUNTS.search(result.stderr).groups() == ("1", "1", "0")
    assert null.is_symlink() and not list(tmp_path.glob("*.part"))
    both = invoke(["annotate", tmp_path / "a.txt", "--output", null, "--rejects", null])  # keep nothing: allowed
    assert both.exit_code == 0 and null.is_symlink()


def test_annotate_refuses_a_rejects_file_where_the_output_is_written_until_whole(tmp_path):
    (tmp_path / "a.txt").write_text("We care.", encoding="utf-8")
    result = invoke(["annotate", tmp_path / "a.txt", "--output", tmp_path / "o.jsonl",
                     "--rejects", tmp_path / "o.jsonl.part"])
    assert result.exit_code == 2 and "[E124]" in result.stderr and "until it is whole" in result.stderr


def test_annotate_only_bad_inputs_writes_rejects_and_reconciles(tmp_path):
    (tmp_path / "e.jsonl").write_bytes(b"\n")
    (tmp_path / "u.txt").write_bytes(b"fine\ncaf\xe9\n")
    out = tmp_path / "none.jsonl"
    result = invoke(["annotate", tmp_path / "e.jsonl", tmp_path / "u.txt", "-o", out])
    assert out.exists() and read_jsonl(out) == []
    rejects = read_jsonl(tmp_path / "none.rejects.jsonl")
    assert [r["position"] for r in rejects] == ["file", "line 2, column 4"]
    assert counts(result) == (2, 0, 2)
    # both files written, and exit 2: as reviews and gap, so that a script cannot take 0 records for a result
    assert result.exit_code == 2 and stderr_lines(result)[-1] == (
        f"error: [E111] no input record could be read: the 2 rejected inputs are in {tmp_path / 'none.rejects.jsonl'}; "
        "fix them and run again")


def test_long_document_is_processed_in_pieces_not_cut_off(tmp_path):
    sentences = [f"Customer {i} gets a reply within {i % 9 + 1} hours." if i % 2 else
                 f"We answered ticket number {i} quickly." for i in range(240)]
    paragraphs = [" ".join(sentences[i:i + 8]) for i in range(0, len(sentences), 8)]
    text = "\n\n".join(paragraphs) + "\n"
    assert 9000 <= len(text) <= 11000
    assert len(split_pieces(text, 1000)) > 5  # the setting really makes several pieces
    (tmp_path / "long.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "long.jsonl"

    result = invoke(["annotate", tmp_path / "long.txt", "-o", out, "--set", "lipservice.piece_chars=1000"])

    assert result.exit_code == 0, result.output
    [rec] = read_jsonl(out)
    check_contract(rec, text)
    sents = rec["sentences"]
    assert sents[0]["start"] == 0
    assert sents[-1]["end"] == len(text.rstrip())  # nothing cut off at the end
    assert sents[-1]["text"].endswith(sentences[-1])
    # every non-space character of the text is in exactly one sentence
    assert "".join(s["text"] for s in sents).replace(" ", "").replace("\n", "") == \
        text.replace(" ", "").replace("\n", "")
    assert rec["scores"]["sentences"] == len(sents) >= 180


def test_annotate_lone_surrogate_in_jsonl_does_not_crash(tmp_path):
    (tmp_path / "s.jsonl").write_text('{"id": "a", "text": "Fine."}\n{"id": "b", "text": "Bad \\ud800 char."}\n'
                                      '{"id": "c", "text": "Also fine."}\n', encoding="utf-8")
    out = tmp_path / "s_out.jsonl"
    result = runner.invoke(app, ["annotate", str(tmp_path / "s.jsonl"), "-o", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0
    read, annotated, rejected = counts(result)
    assert read == 3 == annotated + rejected
    assert len(read_jsonl(out)) == annotated


def test_annotate_windows_and_scraped_oddities_reconcile_without_a_traceback(tmp_path):
    # a UTF-16 CSV (Excel's "Unicode Text"), a header-only CSV, a broken emoji escape in an id, a file
    # name that is not UTF-8 and carries an escape sequence: each is read or is one reject, and the
    # terminal shows the names escaped
    (tmp_path / "u16.csv").write_bytes("id\ttext\r\n1\tYou get a refund in 2 days.\r\n".encode("utf-16"))
    (tmp_path / "empty.csv").write_text("id,text\n", encoding="utf-8")
    (tmp_path / "s.jsonl").write_text('{"id": "\\ud83d", "text": "Fine."}\n{"id": "ok", "text": "We care."}\n',
                                      encoding="utf-8")
    odd = bytes(tmp_path) + b"/x\x1b[31m\xff.jsonl"
    with open(odd, "wb") as fh:
        fh.write(b'{"text": "We put customers first."}\n{"text": ""}\n')
    out = tmp_path / "o.jsonl"
    result = invoke(["annotate", tmp_path / "u16.csv", tmp_path / "empty.csv", tmp_path / "s.jsonl",
                     os.fsdecode(odd), "--output", out])
    assert result.exit_code == 0
    assert counts(result) == (6, 3, 3)
    assert [r["id"] for r in read_jsonl(out)] == ["1", "ok", f"{tmp_path}/x\x1b[31m\\xff.jsonl:1"]
    rejected = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert [(Path(r["source"]).name, r["position"]) for r in rejected] == [
        ("empty.csv", "file"), ("s.jsonl", "line 1"), ("x\x1b[31m\\xff.jsonl", "line 2")]
    assert "\x1b" not in result.stderr
    assert f"rejected: {tmp_path}/x\\x1b[31m\\xff.jsonl: line 2: empty text\n" in result.stderr  # one line each


def test_annotate_to_stdout_streams_the_contract_and_needs_a_rejects_file(tmp_path):
    src = tmp_path / "s.jsonl"
    src.write_text('{"id": "a", "text": "We care."}\n{"id": "b", "text": ""}\n{"id": "c", "text": "You get refunds."}\n',
                   encoding="utf-8")
    result = invoke(["annotate", src, "--output", "-", "--rejects", tmp_path / "r.jsonl"])
    assert result.exit_code == 0 and counts(result) == (3, 2, 1)
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["a", "c"]  # stdout holds records only
    assert [r["position"] for r in read_jsonl(tmp_path / "r.jsonl")] == ["line 2"]
    assert not (tmp_path / "-").exists()
    refused = invoke(["annotate", src, "--output", "-"])  # the rejects would have nowhere to go
    assert refused.exit_code == 2 and "[E124] --output - writes the records to stdout; name a file for the rejects " \
        "with --rejects" in refused.stderr
    (tmp_path / "page.txt").write_text("We care.", encoding="utf-8")
    json_dash = invoke(["audit", tmp_path / "page.txt", "--json", "-"])
    assert json_dash.exit_code == 2 and "--json -: this output cannot go to stdout; give a file name" in json_dash.stderr


def test_stdin_named_twice_is_refused_before_any_work(tmp_path):
    """The second ``-`` found stdin read to its end: an "empty file" reject for input the user did give."""
    for args in (["annotate", "-", "-", "--output", tmp_path / "o.jsonl"], ["audit", "-", "-"]):
        result = invoke(args, input="We care.")
        assert result.exit_code == 2 and "[E128]" in result.stderr and "stdin can be read only once" in result.stderr
        assert not COUNTS.search(result.stderr)  # nothing was read
    assert not (tmp_path / "o.jsonl").exists()


def test_more_workers_than_cpus_are_cut_to_the_cpus_with_a_warning(capsys):
    from nlp.annotate import usable_cpus
    from nlp.cli import local_workers

    cpus = usable_cpus()
    assert local_workers(cpus) == cpus and capsys.readouterr().err == ""
    assert local_workers(500) == cpus  # each worker loads its own models: 500 would exhaust memory
    assert f"--workers 500 is more than the {cpus} CPU(s) this process may use; using {cpus}" in capsys.readouterr().err


# --------------------------------------------------------------------------- usage errors


def _usage_cases(tmp_path: Path) -> dict[str, tuple[list, str]]:
    good = tmp_path / "good.txt"
    good.write_text("We are great.", encoding="utf-8")
    pdf = tmp_path / "brochure.pdf"
    pdf.write_bytes(b"%PDF-1.4 ...")
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("id,body\n1,We are great.\n", encoding="utf-8")
    missing = tmp_path / "missing.txt"
    return {
        "missing file": ([good, missing], str(missing)),
        "unknown extension": ([good, pdf], str(pdf)),
        "csv without text column": ([nocol], str(nocol)),
        "bad kind": ([good, "--kind", "bogus"], "bogus"),
    }


@pytest.mark.parametrize("case", ["missing file", "unknown extension", "csv without text column", "bad kind"])
def test_annotate_usage_errors_exit_2_with_one_line(tmp_path, case):
    args, names = _usage_cases(tmp_path)[case]
    out = tmp_path / "never.jsonl"
    result = invoke(["annotate", *args, "-o", out])
    assert result.exit_code == 2, result.output
    lines = stderr_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: [E")
    assert names in lines[0]
    if case == "csv without text column":
        assert "line 1" in lines[0] and "--text-field" in lines[0]
    if case == "bad kind":
        assert "--kind" in lines[0]
    assert not out.exists()  # failed before any work


# --------------------------------------------------------------------------- audit


def test_audit_markdown_prints_share_and_writes_json(tmp_path):
    md = ("# About us\n\nWe are the **leading** provider of award-winning solutions. Our team is proud of "
          "what we have built.\n\n## For you\n\n- You get your money back within 30 days.\n")
    page = tmp_path / "about.md"
    page.write_text(md, encoding="utf-8")
    report = tmp_path / "audit.json"
    html_page = tmp_path / "report" / "audit.html"
    html_page.parent.mkdir()

    result = invoke(["audit", page, "--json", report, "--html", html_page])

    assert result.exit_code == 0, result.output
    m = re.search(r"Customer-perspective share: (\d+)%", ANSI.sub("", result.stdout))
    assert m, result.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["errors"] == data["rejects"] == []
    assert data["counts"] == {"read": 1, "annotated": 1, "rejected": 0, "repeated_ids": {"ids": 0, "records": 0}}
    [doc] = data["documents"]
    assert doc["source"] == str(page)
    share = doc["scores"]["customer_share"]
    assert 0.0 <= share <= 1.0 and int(m.group(1)) == round(share * 100)
    assert len(doc["sentences"]) >= 3
    for s in doc["sentences"]:
        assert {"text", "start", "end", "perspective", "perspective_p"} <= set(s)
        assert s["perspective"] in PERSPECTIVES
        assert "**" not in s["text"] and "#" not in s["text"]
    company = {s["text"] for s in doc["sentences"] if s["perspective"] == "company"}
    assert isinstance(doc["rewrite_first"], list)
    assert {r["text"] for r in doc["rewrite_first"]} <= company
    ps = [r["perspective_p"] for r in doc["rewrite_first"]]
    assert ps == sorted(ps, reverse=True)  # surest company-centred first
    shown = html_page.read_text(encoding="utf-8")
    assert 'id="copy"' in shown and "You get your money back within 30 days." in shown and "<script" not in shown


@pytest.mark.parametrize("name, data, position", [
    ("empty.txt", b"", "file"),
    ("blank.md", b"\n   \n", "file"),
    ("binary.html", b"<html>\x00\x01\x02", "byte 6"),
    ("latin1.txt", "All good here.\nCrème brûlée.\n".encode("latin-1"), "line 2"),
])
def test_audit_bad_file_exits_2_with_one_line_naming_the_file(tmp_path, name, data, position):
    f = tmp_path / name
    f.write_bytes(data)
    result = invoke(["audit", f])
    assert result.exit_code == 2, result.output
    lines = stderr_lines(result)
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: [E") and str(f) in lines[0] and position in lines[0]


def test_audit_reads_stdin():
    text = "We are proud of our award-winning team. You can return anything within 30 days.\n"
    result = invoke(["audit", "-"], input=text.encode())
    assert result.exit_code == 0, result.output
    output = ANSI.sub("", result.stdout)
    assert "<stdin>" in output
    assert re.search(r"Customer-perspective share: (\d+%|n/a)", output)
    assert stderr_lines(result)[-1] == "read 1 · annotated 1 · rejected 0"  # one document has its counts too


def test_audit_refuses_table_formats_with_a_hint(tmp_path):
    f = tmp_path / "rows.jsonl"
    f.write_text('{"text": "We are great."}\n', encoding="utf-8")
    result = invoke(["audit", f])
    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert line.startswith("error: [E117] ") and str(f) in line and "annotate" in line
    # the same records on stdin were audited, one document each (`cat rows.jsonl | lipservice audit -`)
    piped = invoke(["audit", "-"], input=f.read_bytes())
    assert piped.exit_code == 2
    [line] = stderr_lines(piped)
    assert line.startswith("error: [E117] <stdin>") and "JSON Lines" in line and "annotate" in line
    table = invoke(["audit", "-"], input=b"id,text\na,We are great.\n")
    assert table.exit_code == 2 and "a CSV table with a 'text' column" in stderr_lines(table)[0]


def test_audit_reads_a_gzipped_page_and_calls_a_directory_a_directory(tmp_path):
    import gzip

    page = tmp_path / "about.html.gz"
    page.write_bytes(gzip.compress(b"<html><body><p>You get your money back within 30 days.</p></body></html>"))
    result = invoke(["audit", page])
    assert result.exit_code == 0, result.output
    assert "money back" in ANSI.sub("", result.stdout)
    folder = invoke(["audit", tmp_path])
    assert folder.exit_code == 2
    [line] = stderr_lines(folder)
    assert "is a directory; pass the files in it" in line


# --------------------------------------------------------------------------- demo


def test_demo_runs_and_prints_the_difference(tmp_path):
    result = invoke(["demo", "--html", tmp_path / "demo.html"])
    assert result.exit_code == 0, result.output
    out = ANSI.sub("", result.stdout)
    assert "The difference" in out
    assert re.search(r"company voice \d+% → customer voice \d+%", out)
    assert "The gap" in out and "Unmet expectations" in out and re.search(r"broken|at_risk", out)
    # the page carries the whole demo, as `demo --help` says: both voices, their difference, then the gap
    page = (tmp_path / "demo.html").read_text(encoding="utf-8")
    assert "<title>lipservice demo</title>" in page and "<script" not in page
    assert 'id="comparison"' in page and "The difference: company voice against customer voice" in page
    for source in ("company_voice.md", "customer_voice.md", "copy.md"):
        assert re.search(rf'<article class="doc" id="doc-\d"><h3>[^<]*{source}</h3>', page), source
    assert 'id="verdicts"' in page and 'id="reviews"' in page and "Unmet expectations" in page
    share = re.search(r"company voice (\d+)% → customer voice (\d+)%", out).groups()
    row = re.search(r"<tr><td>Customer-perspective share</td>(.*?)</tr>", page).group(1)
    assert f">{share[0]}%<" in row and f">{share[1]}%<" in row  # the same figures as the terminal


@pytest.mark.parametrize("target", ["-", "folder"])
def test_demo_refuses_dash_or_a_directory_for_html_before_any_work(tmp_path, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    result = invoke(["demo", "--html", target])
    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert "[E124]" in line and f"--html {target}:" in line
    assert "The difference" not in result.stdout  # refused before the demo ran, not after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]  # no file named "-"


@pytest.mark.parametrize("args", [["--half", "odd"], ["--real", "--half", "middle"],
                                  ["--task", "gap", "--real", "--half", "odd"]])
def test_evaluate_half_needs_perspective_real_and_even_or_odd(args):
    result = invoke(["evaluate", *args])
    assert result.exit_code == 2, result.output
    [line] = stderr_lines(result)
    assert "--half" in line and "[E302]" in line


@pytest.mark.parametrize("args, option", [(["--tune"], "--tune"), (["--label-field", "kind"], "--label-field"),
                                          (["--task", "promises", "--text-field", "body"], "--label-field")])
def test_evaluate_options_that_would_do_nothing_are_refused(args, option):
    result = invoke(["evaluate", *args])
    assert result.exit_code == 2, result.output
    [line] = stderr_lines(result)
    assert option in line and "[E302]" in line


def test_evaluate_data_warns_of_rows_that_hold_several_sentences(tmp_path):
    """A row of a paragraph was scored as one sentence in silence."""
    path = tmp_path / "gold.csv"
    path.write_text("text,label\nWe are the leading bank in Wales. You get your money back within 48 hours.,company\n"
                    "You get your money back within 48 hours.,customer\n", encoding="utf-8")
    result = invoke(["evaluate", "--data", path])
    assert result.exit_code == 0, result.output
    assert ("warning: 1 of 2 rows hold more than one sentence; each row is scored as one sentence, so split such "
            "rows to measure sentence by sentence") in stderr_lines(result)


def test_evaluate_data_counts_what_it_read_and_its_json_holds_the_counts_and_every_reject(tmp_path):
    path = tmp_path / "gold.jsonl"
    rows = [{"text": "We are the leading bank in Wales.", "label": "Company"},
            {"text": "You get your money back within 48 hours.", "label": "customer"},
            {"text": "You get your money back within 48 hours.", "label": "customer"},
            {"text": "Terms and conditions apply.", "label": "maybe"}, {"text": "", "label": "neutral"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke(["evaluate", "--data", path])
    assert result.exit_code == 0, result.output
    lines = stderr_lines(result)
    assert lines[-2] == "read 5 · evaluated 3 · rejected 2"
    assert "1 row repeats an earlier row's text" in lines[-3]
    # "n=1 macro-F1 1.000" was shown as any other figure
    assert lines[-1].startswith("warning: 3 rows evaluated; a figure on so few says little")
    assert "n=3" in result.stdout and "95 % bootstrap interval" in result.stdout
    report = json.loads(invoke(["evaluate", "--data", path, "--json"]).stdout)[str(path)]
    assert report["counts"] == {"read": 5, "evaluated": 3, "rejected": 2, "repeated_texts": 1, "conflicting_labels": 0,
                                "several_sentences": 0}
    assert [r["position"] for r in report["rejects"]] == ["line 4", "line 5"]
    assert report["perspective component"]["n"] == 3 and len(report["perspective component"]["macro_f1_ci95"]) == 2


def test_evaluate_data_reads_labelled_rows_piped_in_and_refuses_plain_text():
    """`--data -` was refused as a file of no known extension, though annotate reads tables from stdin."""
    rows = "text,label\nWe are the leading bank in Wales.,company\nYou get your money back within 48 hours.,customer\n"
    report = json.loads(invoke(["evaluate", "--data", "-", "--json"], input=rows).stdout)["-"]
    assert report["counts"]["evaluated"] == 2 and report["perspective component"]["n"] == 2
    result = invoke(["evaluate", "--data", "-"], input="We are the leading bank in Wales.\n")
    assert result.exit_code == 2
    assert stderr_lines(result)[-1] == ("error: [E301] --data -: stdin was read as one text, not as labelled rows; "
                                        "pipe JSON Lines, a JSON array or CSV with 'text' and 'label' fields")


def test_evaluate_data_warns_of_a_text_labelled_two_ways(tmp_path):
    path = tmp_path / "gold.jsonl"
    rows = [{"text": "We are big.", "label": "company"}, {"text": "We are big.", "label": "customer"},
            {"text": "You save.", "label": "customer"}, {"text": "Posted.", "label": None}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = invoke(["evaluate", "--data", path])
    lines = stderr_lines(result)
    assert ("warning: 1 text has different labels in different rows (first: 'We are big.': company, customer); the "
            "model can be right on one of them only") in lines
    assert any("label null is not one of company, customer, neutral" in line for line in lines)  # JSON's word
    report = json.loads(invoke(["evaluate", "--data", path, "--json"]).stdout)[str(path)]
    assert report["counts"]["conflicting_labels"] == 1


@pytest.mark.parametrize("args", [["--learning-curve"], ["--task", "promises", "--real", "--learning-curve"],
                                  ["--real", "--half", "odd", "--learning-curve"]])
def test_evaluate_learning_curve_needs_perspective_real_on_whole_sets(args):
    result = invoke(["evaluate", *args])
    assert result.exit_code == 2, result.output
    [line] = stderr_lines(result)
    assert "--learning-curve" in line and "[E302]" in line


@pytest.mark.parametrize("setting, named", [("learning_curve.shares=[0.5]", "learning_curve.shares"),
                                            ("learning_curve.shares=0.5", "learning_curve.shares"),
                                            ('learning_curve.shares=["half"]', "[learning_curve]"),
                                            ("learning_curve.folds=many", "learning_curve.folds"),
                                            ("learning_curve.sets=tweets", "learning_curve.sets")])
def test_evaluate_learning_curve_with_a_bad_setting_says_which(tmp_path, setting, named):
    result = invoke(["evaluate", "--real", "--learning-curve", "--set", setting, "--shared-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    [line] = stderr_lines(result)
    assert named in line and "[E303]" in line


@pytest.mark.parametrize("setting, says", [
    ("lipservice.batch_size=abc", "lipservice.batch_size = 'abc': must be a whole number, like the packaged 64"),
    ("lipservice.batch_chars=0", "lipservice.batch_chars = 0: must be 1 or more"),
    ("lipservice.batchsize=32", "unknown setting lipservice.batchsize ([lipservice] has base_models, batch_chars,"),
    ("nosuch.key=1", "unknown setting nosuch.key: the config has no section [nosuch] (sections: batch,"),
])
def test_a_mistyped_setting_stops_annotate_before_any_work(tmp_path, setting, says):
    src = tmp_path / "in.txt"
    src.write_text("We answer every call.")
    result = invoke(["annotate", src, "-o", tmp_path / "out.jsonl", "--set", setting])
    assert result.exit_code == 2, result.output
    [line] = stderr_lines(result)
    assert says in line
    assert not (tmp_path / "out.jsonl").exists()


def test_evaluate_learning_curve_prints_a_row_per_model_for_the_chosen_set(tmp_path):
    from test_train import write_corpus

    corpora = write_corpus(tmp_path / "corpora", [f"doc-{i}" for i in range(10)])
    twcs = tmp_path / "shared" / "twcs-customer-support"
    twcs.mkdir(parents=True)
    tweets = ["@Acme my parcel never came", "@sam Sorry! Please DM us your order number.",
              "@Acme refund still missing after 3 weeks", "@jo We're on it, thanks for your patience.",
              "@Acme my bill doubled", "@kim Our team will look into this for you."]
    (twcs / "twcs_sample_first5000.csv").write_text("tweet_id,inbound,text\n" + "".join(
        f'{i},{i % 2 == 0},"{t}"\n' for i, t in enumerate(tweets)), encoding="utf-8")  # texts with commas quoted
    args = ["evaluate", "--real", "--learning-curve", "--shared-dir", tmp_path / "shared",
            "--set", f"paths.corpora={corpora}", "--set", "training.perspective.tune_epochs=0",
            "--set", 'learning_curve.sets=["twcs"]', "--set", "learning_curve.folds=2",
            "--set", "learning_curve.shares=[0.5, 1.0]"]
    result = invoke(args)
    assert result.exit_code == 0, result.output
    text = ANSI.sub("", result.stdout)
    assert "twcs company replies vs customer tweets: learning curve (2-fold), n = 6" in text
    for row in ("project text only", "project text + 2 real", "project text + 3 real", "3 real alone"):
        assert row in text
    as_json = json.loads(invoke([*args, "--json"]).stdout)
    assert list(as_json) == ["twcs company replies vs customer tweets: learning curve (2-fold)"]


def test_log_lines_go_to_the_stderr_of_the_moment(monkeypatch):
    # a command run in-process (CliRunner, a notebook) gets a stderr that is swapped and closed after it;
    # a handler holding the first one made every later log line a "--- Logging error ---" traceback
    import io
    import logging
    import sys

    from nlp.cli import _log_to_stderr

    logger = logging.getLogger("nlp")
    monkeypatch.setattr(logger, "handlers", [])
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    _log_to_stderr()
    first.close()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("nlp.batch").warning("after the swap")
    assert "after the swap" in second.getvalue()


def test_past_ten_rejects_the_terminal_says_how_many_more_and_where(tmp_path):
    src = tmp_path / "many.jsonl"
    src.write_text("".join(f'{{"id": "e{i}", "text": ""}}\n' for i in range(13)) + '{"id": "ok", "text": "Hi."}\n',
                   encoding="utf-8")
    out = tmp_path / "a-rather-long-directory-name-so-the-line-would-wrap" / "out.jsonl"
    out.parent.mkdir()
    result = invoke(["annotate", src, "--output", out])
    lines = stderr_lines(result)
    assert sum(line.startswith("rejected: ") for line in lines) == 10
    assert f"… and 3 more rejects, all in {out.with_name('out.rejects.jsonl')}" in lines
    assert any(COUNTS.search(line) and line.endswith("out.rejects.jsonl)") for line in lines)  # one line, not wrapped
    src.write_text("".join(f'{{"id": "e{i}", "text": ""}}\n' for i in range(11)) + '{"id": "ok", "text": "Hi."}\n',
                   encoding="utf-8")
    assert f"… and 1 more reject, all in {out.with_name('out.rejects.jsonl')}" in stderr_lines(
        invoke(["annotate", src, "--output", out]))


def test_audit_warns_under_copy_that_is_not_in_english(tmp_path):
    """Chinese copy came out all neutral with a lip-service score of 0 and no word that it was not read."""
    page = tmp_path / "zh.txt"
    page.write_text("我们始终把客户放在第一位。我们的团队致力于为您提供最优质的服务，七天二十四小时随时为您解答问题。",
                    encoding="utf-8")
    en = tmp_path / "en.txt"
    en.write_text("We refund you within 48 hours, and our team answers every call within two minutes.",
                  encoding="utf-8")
    result = invoke(["audit", page, en, "--json", tmp_path / "a.json", "--html", tmp_path / "a.html"])
    assert result.exit_code == 0
    warnings = [line for line in stderr_lines(result) if line.startswith("warning:")]
    said = "text is in language 'zh' (p=0.98), not en; lipservice's models read English only; its scores mean little"
    assert warnings == [f"warning: {page}: {said}"]
    # the JSON and the page say it too: they were the ones showing a clean score of 0
    docs = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))["documents"]
    assert [d["warnings"] for d in docs] == [[said], []]
    assert f'<p class="warning">{html.escape(said)}</p>' in (tmp_path / "a.html").read_text(encoding="utf-8")


def test_annotate_to_dev_null_asks_where_the_rejects_go(tmp_path):
    """``--output /dev/null`` wrote the rejects to a new regular file, /dev/null.rejects.jsonl."""
    (tmp_path / "a.txt").write_text("We care.", encoding="utf-8")
    result = invoke(["annotate", tmp_path / "a.txt", "--output", os.devnull])
    assert result.exit_code == 2 and "[E124]" in stderr_lines(result)[-1] and "--rejects" in stderr_lines(result)[-1]
    assert not Path(os.devnull + ".rejects.jsonl").exists()
    done = invoke(["annotate", tmp_path / "a.txt", "--output", os.devnull, "--rejects", os.devnull])
    assert done.exit_code == 0, done.output


def test_audit_warns_of_a_file_given_twice(tmp_path):
    """``audit p.md p.md`` audited it twice with the same id and no word, where annotate and reviews warn."""
    page = tmp_path / "p.md"
    page.write_text("We refund you within 48 hours.", encoding="utf-8")
    result = invoke(["audit", page, tmp_path / "." / "p.md"])
    assert result.exit_code == 0
    assert f"warning: {page} is given 2 times; it is read each time, so what it holds counts 2 times" \
        in stderr_lines(result)
    (tmp_path / "sub").mkdir()
    twice = invoke(["gap", "--copy", page, "--copy", tmp_path / "sub" / ".." / "p.md", "--reviews", page])
    assert (f"warning: --copy {page} and --copy {tmp_path / 'sub' / '..' / 'p.md'} and --reviews {page} are one "
            "file, given 3 times") in " ".join(stderr_lines(twice))


def test_a_quoted_pattern_is_expanded_and_one_that_matches_nothing_says_so(tmp_path):
    """``audit 'site/*.md'`` (quoted, so the shell left it alone) was "file not found"."""
    for name in ("b.md", "a.md"):
        (tmp_path / name).write_text("We refund you within 48 hours.", encoding="utf-8")
    out = tmp_path / "a.json"
    result = invoke(["audit", str(tmp_path / "*.md"), "--json", out])
    assert result.exit_code == 0, result.output
    assert [d["source"] for d in json.loads(out.read_text())["documents"]] == [str(tmp_path / n) for n in ("a.md",
                                                                                                             "b.md")]
    missing = invoke(["audit", str(tmp_path / "*.html")])
    assert missing.exit_code == 2 and stderr_lines(missing)[-1].endswith("no file matches this pattern")


def test_annotate_to_dev_stdout_in_a_pipe_writes_the_records(tmp_path):
    """``--output /dev/stdout | wc -c`` printed 0 and failed with E127 on "/proc/…/fd/pipe:[…].part" after the run."""
    import subprocess
    import sys

    (tmp_path / "a.txt").write_text("We refund you within 48 hours.", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "nlp.cli", "annotate", str(tmp_path / "a.txt"), "--output",
                           "/dev/stdout", "--rejects", os.devnull], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["id"] for line in done.stdout.splitlines()] == [str(tmp_path / "a.txt")]


def test_an_output_link_into_a_missing_folder_is_refused_before_any_work(tmp_path):
    (tmp_path / "a.txt").write_text("We care.", encoding="utf-8")
    (tmp_path / "out.jsonl").symlink_to(tmp_path / "gone" / "out.jsonl")
    result = invoke(["annotate", tmp_path / "a.txt", "--output", tmp_path / "out.jsonl"])
    assert result.exit_code == 2 and f"{tmp_path / 'gone'} does not exist" in stderr_lines(result)[-1]


def test_an_output_behind_a_link_is_written_through_it(tmp_path):
    """The rename replaced the link with a file, and the file it pointed at kept the last run's output."""
    (tmp_path / "a.txt").write_text("We care.", encoding="utf-8")
    real = tmp_path / "real"
    real.mkdir()
    (real / "out.jsonl").write_text("old\n", encoding="utf-8")
    link = tmp_path / "out.jsonl"
    link.symlink_to(real / "out.jsonl")
    assert invoke(["annotate", tmp_path / "a.txt", "--output", link]).exit_code == 0
    assert link.is_symlink() and json.loads((real / "out.jsonl").read_text())["id"] == str(tmp_path / "a.txt")


def test_sigterm_stops_annotate_without_leaving_part_files(tmp_path):
    """timeout, docker stop and systemd send SIGTERM: it left OUT.jsonl.part and its rejects' .part."""
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "many.jsonl"
    src.write_text("".join(json.dumps({"id": str(i), "text": f"Review {i}: the parcel came late again and nobody "
                                                            "answered my emails for a week."}) + "\n"
                           for i in range(20000)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "nlp.cli", "annotate", str(src), "--output", str(tmp_path / "o.jsonl")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while not (tmp_path / "o.jsonl.part").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / "o.jsonl").exists()


def test_a_jsonl_id_field_that_no_record_has_is_warned_about(tmp_path):
    """CSV and Parquet headers are checked before any work; JSONL has none, so the run says it afterwards."""
    src = tmp_path / "r.jsonl"
    src.write_text('{"review_id": "a", "text": "We care."}\n{"review_id": "b", "text": "It broke."}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    result = invoke(["annotate", src, "--output", out, "--id-field", "reviewid"])
    assert result.exit_code == 0
    assert ("warning: 2 of 2 records have no 'reviewid' field (--id-field), so each got its file and position as id; "
            "check the field's name") in stderr_lines(result)
    quiet = invoke(["annotate", src, "--output", out, "--id-field", "review_id"])
    assert not [line for line in stderr_lines(quiet) if line.startswith("warning")]
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a", "b"]


def test_empty_or_missing_ids_among_given_ones_are_warned_about(tmp_path):
    """``"id": ""``, ``null`` or no id beside records that have one: each got file:line in silence."""
    src = tmp_path / "r.jsonl"
    src.write_text('{"id": "a", "text": "We care."}\n{"id": "", "text": "It broke."}\n{"id": null, "text": "Late."}\n'
                   '{"text": "Rude."}\n', encoding="utf-8")
    result = invoke(["annotate", src, "--output", tmp_path / "o.jsonl"])
    assert result.exit_code == 0
    assert any(line.startswith("warning: 3 of 4 records have an empty, null or no 'id' in files whose other records "
                               "have one") for line in stderr_lines(result))
    none = tmp_path / "none.jsonl"
    none.write_text('{"text": "We care."}\n{"text": "It broke."}\n', encoding="utf-8")  # none has one: the default
    with_ids = tmp_path / "ids.jsonl"
    with_ids.write_text('{"id": "a", "text": "We care."}\n', encoding="utf-8")
    quiet = invoke(["annotate", none, with_ids, "--output", tmp_path / "o.jsonl"])  # each file as it is
    assert not [line for line in stderr_lines(quiet) if line.startswith("warning")]


def test_with_text_writes_the_text_the_offsets_of_markdown_and_html_index(tmp_path):
    """Of .md and .html the offsets index the extracted text, which no output held: a reader could not use them."""
    (tmp_path / "a.md").write_text("# Returns\n\nWe refund you within **14 days**. Free returns within "
                                   "[30 days](http://x).\n", encoding="utf-8")
    (tmp_path / "b.html").write_text("<html><head><title>Shop</title></head><body><p>We refund you within 14 days."
                                     "</p></body></html>", encoding="utf-8")
    (tmp_path / "c.jsonl").write_text('{"id": "c", "text": "  Late again. We are sorry."}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert invoke(["annotate", tmp_path / "a.md", tmp_path / "b.html", tmp_path / "c.jsonl", "-o", out,
                   "--with-text"]).exit_code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[0]["text"].startswith("Returns\n\nWe refund you within 14 days.")
    assert records[2]["text"] == "  Late again. We are sorry."
    for rec in records:
        assert [rec["text"][s["start"]:s["end"]] for s in rec["sentences"]] == [s["text"] for s in rec["sentences"]]
    assert invoke(["annotate", tmp_path / "c.jsonl", "-o", out]).exit_code == 0
    assert "text" not in json.loads(out.read_text())  # the contract as it was, unless asked


def test_audit_counts_and_names_its_rejects_as_the_other_reports_do(tmp_path):
    """audit --json had "errors" and no counts, where every other report has "rejects" and "counts"; its
    terminal listed every reject and no counts."""
    (tmp_path / "page.md").write_text("We refund you within 14 days.\n", encoding="utf-8")
    empties = [tmp_path / f"e{i:02d}.txt" for i in range(12)]
    for e in empties:
        e.write_text("", encoding="utf-8")
    result = invoke(["audit", tmp_path / "page.md", *empties, "--json", tmp_path / "a.json"])
    assert result.exit_code == 2
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert len(data["rejects"]) == 12 and data["errors"] == data["rejects"] and len(data["documents"]) == 1
    assert (data["counts"]["read"], data["counts"]["annotated"], data["counts"]["rejected"]) == (13, 1, 12)
    lines = stderr_lines(result)
    assert sum(line.startswith("error:") for line in lines) == 10
    assert f'… and 2 more rejects, all in "rejects" of {tmp_path / "a.json"}' in lines
    assert "read 13 · annotated 1 · rejected 12" in lines
    bare = stderr_lines(invoke(["audit", tmp_path / "page.md", *empties]))  # no report: the 2 are kept nowhere
    assert '… and 2 more rejects, not kept: run again with --json FILE to have them all in its "rejects"' in bare


def test_every_commands_help_shows_the_config_sections_it_names():
    # rich reads "[learning_curve]" as markup and drops it, leaving "cross-validated ();"
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    for name in names:
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "300"})
        assert result.exit_code == 0, name
        assert "()" not in result.output, name
    assert "[learning_curve]" in runner.invoke(app, ["evaluate", "--help"], env={"COLUMNS": "300"}).output
    assert "[paths] models" in runner.invoke(app, ["train", "--help"], env={"COLUMNS": "300"}).output


def test_train_refuses_an_output_it_cannot_write_and_impossible_layers_before_any_work(tmp_path):
    (tmp_path / "afile").write_text("x")
    result = invoke(["train", "--task", "perspective", "--no-real", "--output", tmp_path / "afile" / "sub"])
    assert result.exit_code == 2
    [line] = stderr_lines(result)
    assert "[E124] --output" in line and "cannot write there" in line
    result = invoke(["train", "--task", "perspective", "--no-real", "--output", tmp_path / "models",
                     "--set", "training.perspective.tune_frozen_layers=99"])
    assert result.exit_code == 2 and "the encoder has 6 layers" in result.stderr
    assert "training perspective" not in result.stderr  # refused before the corpus was read


@pytest.mark.parametrize("args, says", [
    (["evaluate", "--data", "two.csv", "--data", "one.csv"], "--data is given 2 times (two.csv, one.csv)"),
    (["audit", "page.md", "--json=a.json", "--json", "b.json"], "--json is given 2 times (a.json, b.json)"),
])
def test_an_option_that_takes_one_value_given_twice_is_refused(args, says, monkeypatch, capsys):
    """click kept the last value in silence: `--data two.csv --data one.csv` measured one.csv alone."""
    from nlp.cli import main, option_problem

    assert says in option_problem(args)
    monkeypatch.setattr("sys.argv", ["lipservice", *args])
    monkeypatch.setattr("nlp.cli.signal.signal", lambda *a: None)  # main's SIGTERM handler stays out of pytest
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2 and "[E302]" in capsys.readouterr().err
    # options that take several values, and flags, may repeat
    assert option_problem(["annotate", "a.txt", "--set", "a.b=1", "--set", "c.d=2", "-o", "x"]) is None
    assert option_problem(["gap", "--copy", "a.md", "--copy", "b.md", "--reviews", "r.csv"]) is None


@pytest.mark.parametrize("args", [["batch", "in.jsonl", "--output", ""], ["reviews", "r.csv", "--text-field="],
                                  ["annotate", "a.txt", "-o", "o.jsonl", "--set", " "], ["annotate", "a.txt", "-o="]])
def test_an_option_given_an_empty_value_is_refused(args, monkeypatch, capsys):
    """`batch --output ''` wrote the run into the working directory; `--text-field ''` rejected every record."""
    from nlp.cli import main, option_problem

    name = "--set" if "--set" in args else next(a for a in args if a.startswith("-")).split("=")[0]
    said = f"{name} is given an empty value, which it cannot take; give it one, or leave the option out"
    assert option_problem(args) == said
    monkeypatch.setattr("sys.argv", ["lipservice", *args])
    monkeypatch.setattr("nlp.cli.signal.signal", lambda *a: None)  # main's SIGTERM handler stays out of pytest
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code == 2 and capsys.readouterr().err.strip() == f"error: [E302] {said}"


@pytest.mark.parametrize("args, says", [
    (["annotate", "in.jsonl", "--output", "o.jsonl", "--bogus"], "lipservice annotate: No such option: --bogus"),
    (["annotate", "in.jsonl"], "lipservice annotate: Missing option '--output' / '-o'."),
    (["annotate", "in.jsonl", "-o", "o.jsonl", "--workers", "0"], "Invalid value for '--workers'"),
    (["nosuchcmd"], "lipservice: No such command 'nosuchcmd'."),
    (["annotate", "in.jsonl", "--output"], "lipservice annotate: Option '--output' requires an argument."),
])
def test_a_bad_option_is_one_coded_line_and_exit_2(tmp_path, args, says):
    """A bad option printed the framework's box of usage with no code, where every other mistake is one line."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "nlp.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: [E100] ") and says in line and line.endswith("--help)")


@pytest.mark.parametrize("stop, code, says", [("Terminated", 143, "terminated (SIGTERM)"),
                                              ("KeyboardInterrupt", 130, "interrupted")])
def test_a_stop_outside_a_commands_own_handling_says_so_with_its_code(monkeypatch, capsys, stop, code, says):
    """The framework turns a KeyboardInterrupt (SIGTERM's Terminated is one) into its Abort: exit 130, silent."""
    import signal
    import sys

    from nlp import cli

    def stopped(fn):
        if stop == "Terminated":
            cli._on_sigterm(signal.SIGTERM, None)  # what SIGTERM runs: it raises Terminated
        raise KeyboardInterrupt()

    monkeypatch.setattr(signal, "signal", lambda *args: None)  # the handler's own "once" would change this process's
    monkeypatch.setattr(cli, "_STOPS", {"said": False, "sigterm": False})
    monkeypatch.setattr(cli, "_run", stopped)
    monkeypatch.setattr(sys, "argv", ["lipservice", "audit", "page.md"])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == code and capsys.readouterr().err.strip() == says


def test_a_reject_naming_a_file_with_a_newline_or_an_escape_stays_on_one_line(tmp_path):
    bad = tmp_path / "evil\x1b[31mred\nline.csv"
    bad.write_text("", encoding="utf-8")
    lines = stderr_lines(invoke(["annotate", bad, "--output", tmp_path / "o.jsonl"]))
    [reject] = [line for line in lines if line.startswith("rejected: ")]
    assert reject == f"rejected: {tmp_path}/evil\\x1b[31mred\\nline.csv: file: empty file: no records"


@pytest.mark.parametrize("args, says", [
    (["benchmark", "complaints", "--limit", "20"], "--limit is for benchmark themes, not complaints"),
    (["benchmark", "themes", "--folds", "3"], "--folds is for benchmark complaints, not themes"),
    (["benchmark", "themes", "--zero-shot"], "--zero-shot is for benchmark complaints, not themes"),
    (["evaluate", "--shared-dir", "/nowhere"], "--shared-dir is where --real reads the shared data sets"),
    (["evaluate", "--set", "lipservice.batch_size=8", "--set", "lipservice.batch_size=9"],
     "override lipservice.batch_size is given twice"),
])
def test_an_option_the_command_would_pass_over_is_refused(args, says):
    """Each was ignored without a word (the last --set of a key won)."""
    result = invoke(args)
    assert result.exit_code == 2 and says in " ".join(result.output.split())


@pytest.mark.parametrize("args, says", [
    (["--set", "reviews.rating_field=id"], "the rating field 'id' (--rating-field, reviews.rating_field) is the field"),
    (["--rating-field", "stars", "--set", "reviews.rating_field=date"], "reviews.rating_field is given twice"),
])
def test_a_review_field_set_around_its_option_is_checked_as_the_option_is(tmp_path, args, says):
    """--set reviews.rating_field=id dropped the ratings without a word; with --rating-field too, the option won."""
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "text": "Late again.", "date": "2024-05-01"}\n', encoding="utf-8")
    result = invoke(["reviews", path, *args])
    assert result.exit_code == 2 and says in " ".join(result.output.split())


def test_train_output_measures_the_new_heads_beside_the_configured_others(tmp_path):
    """`train --task complaints --output mine` wrote its heads, then failed measuring them: the pipeline
    looked for every head, perspective's too, in mine."""
    from nlp.cli import _heads_from
    from nlp.pipeline import PROJECT_ROOT, project_path

    (tmp_path / "complaints.skops").write_bytes(b"")
    (tmp_path / "themes.skops").write_bytes(b"")
    cfg = _heads_from(tmp_path, None, ["lipservice.batch_size=8"])
    components = cfg["components"]
    assert components["complaints"]["model"] == str(tmp_path / "complaints.skops")
    assert components["themes"]["model"] == str(tmp_path / "themes.skops")
    assert project_path(components["perspective"]["model"]) == PROJECT_ROOT / "models" / "perspective.skops"
    assert project_path(components["complaints"]["tuned_model"]) == PROJECT_ROOT / "models" / "complaints_tuned.skops"
    assert cfg["lipservice"]["batch_size"] == 8
