"""`lipservice gap` end to end with the real pipeline: several copy and review files, JSON, HTML,
spreadsheet-safe CSV, counts that reconcile, and one-line errors for bad settings and inputs."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

from conftest import invoke, stderr_lines

COPY = ("# Larkfield Home\n\nNext-day delivery on every order placed before 8pm. Your refund arrives within 5 working "
        "days.\n\nCustomers are at the heart of everything we do.\n")
LATE = "My parcel arrived four days late instead of the next day."
ROWS = [{"id": f"late{i}", "text": LATE, "rating": "1 star", "date": "2025-03-14"} for i in range(5)] + \
       [{"id": f"login{i}", "text": "I could not log in to the app for a week.", "rating": 2} for i in range(4)] + \
       [{"id": f"ok{i}", "text": "Lovely cushions, exactly as pictured.", "rating": 5} for i in range(20)] + \
       [{"id": "empty", "text": "  "}]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "nlp.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


def test_gap_json_html_csv_from_several_files(tmp_path):
    (tmp_path / "about.md").write_text(COPY)
    (tmp_path / "faq.txt").write_text("=cmd|' /C calc'!A0 Free returns within 30 days.\n")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:15]))
    with (tmp_path / "b.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "text", "rating", "date"])
        w.writeheader()
        w.writerows(ROWS[15:])
    out = tmp_path / "out"
    out.mkdir()
    done = cli("gap", "--copy", tmp_path / "about.md", tmp_path / "faq.txt", "--reviews", tmp_path / "a.jsonl",
               tmp_path / "b.csv", "--json", out / "gap.json", "--html", out / "gap.html", "--csv", out / "gap.csv")
    assert done.returncode == 0, done.stderr
    assert "read 32 · annotated 31 (copy 2, reviews 29) · rejected 1" in done.stderr
    result = json.loads((out / "gap.json").read_text())
    nd = next(p for p in result["promises"] if p["text"].startswith("Next-day"))
    assert nd["verdict"] == "broken" and nd["ids"] == [f"late{i}" for i in range(5)] and nd["share"] == round(5 / 29, 4)
    assert nd["evidence"][0]["text"] == LATE
    assert result["unmet"][0]["theme"] == "account_digital" and result["unmet"][0]["reviews"] == 4
    assert {c["text"] for c in result["claims"]} == {"Customers are at the heart of everything we do."}
    assert result["rejects"][0]["code"] == "E119" and result["counts"]["rejected"] == 1
    assert result["counts"]["repeated_ids"] == {"ids": 0, "records": 0} and "more than once" not in done.stderr
    page = (out / "gap.html").read_text()
    assert 'id="verdicts"' in page and "<script" not in page and LATE in page
    rows = list(csv.reader((out / "gap.csv").open()))
    assert any(r[0] == "promise" and r[3] == "broken" for r in rows)
    assert all(not c.startswith(("=", "+", "-", "@")) for r in rows for c in r)
    assert "Broken" in done.stdout or "broken" in done.stdout


def test_gap_bad_setting_is_one_line_exit_2(tmp_path):
    (tmp_path / "c.md").write_text(COPY)
    (tmp_path / "r.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    done = invoke(["gap", "--copy", tmp_path / "c.md", "--reviews", tmp_path / "r.jsonl", "--set",
                   "gap.broken_share=2"])  # in this process: a usage error needs no interpreter of its own
    assert done.exit_code == 2
    assert "E303" in done.stderr and "gap.broken_share = 2: must lie in [0, 1]" in done.stderr and len(stderr_lines(done)) == 1


def test_gap_missing_reviews_file_names_it(tmp_path):
    (tmp_path / "c.md").write_text(COPY)
    done = invoke(["gap", "--copy", tmp_path / "c.md", "--reviews", tmp_path / "nope.jsonl"])
    assert done.exit_code == 2 and "nope.jsonl: file not found" in done.stderr


def test_stdin_given_for_both_copy_and_reviews_is_refused_before_any_work(tmp_path):
    done = invoke(["gap", "--copy", "-", "--reviews", "-"], input=COPY)
    assert done.exit_code == 2
    [line] = stderr_lines(done)
    assert "[E128]" in line and "(--copy and --reviews)" in line and "read only once" in line
    assert done.stdout == ""


def test_a_gap_with_no_tested_promise_prints_n_a_not_n_a_out_of_100(tmp_path):
    from nlp.pipeline import PROJECT_ROOT

    (tmp_path / "hdr.csv").write_text("id,text\n")
    copy = PROJECT_ROOT / "corpora" / "demo" / "gap" / "copy.md"
    done = cli("gap", "--copy", copy, "--reviews", tmp_path / "hdr.csv")
    assert done.returncode == 2, done.stderr  # the report is printed, but no review could be read
    out = " ".join(done.stdout.split())
    assert "gap score n/a ·" in out and "n/a/100" not in out
    assert done.stderr.strip().splitlines()[-1].startswith("error: [E111] no review record could be read")


def test_reviews_fields_can_be_named_apart_from_the_copys(tmp_path):
    """--text-field named both inputs' field: copy in .jsonl ``text`` and reviews in a CSV ``body`` could not meet."""
    (tmp_path / "copy.jsonl").write_text(json.dumps({"id": "page", "text": COPY}) + "\n")
    with (tmp_path / "r.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["rid", "body"])
        w.writerows([[f"late{i}", LATE] for i in range(3)])
    plain = cli("gap", "--copy", tmp_path / "copy.jsonl", "--reviews", tmp_path / "r.csv")
    assert plain.returncode == 2 and "--text-field (or --review-text-field)" in plain.stderr
    done = cli("gap", "--copy", tmp_path / "copy.jsonl", "--reviews", tmp_path / "r.csv", "--review-text-field",
               "body", "--review-id-field", "rid", "--json", tmp_path / "g.json")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "g.json").read_text())
    assert report["counts"]["copy"] == 1 and report["counts"]["reviews"] == 3 and report["copy"][0]["id"] == "page"
    assert {e["id"] for p in report["promises"] for e in p["evidence"]} <= {"late0", "late1", "late2"}
    assert "warning" not in done.stderr  # the id field named is there
    (tmp_path / "r.jsonl").write_text(json.dumps({"body": LATE}) + "\n")  # no record has the named id field
    named = cli("gap", "--copy", tmp_path / "copy.jsonl", "--reviews", tmp_path / "r.jsonl", "--review-text-field",
                "body", "--review-id-field", "nosuch")
    assert "warning: reviews: 1 of 1 records have no 'nosuch' field (--review-id-field)" in named.stderr
    assert any(p["evidence"] for p in report["promises"])
