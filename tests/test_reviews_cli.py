"""`lipservice reviews` end to end with the real pipeline: tables, JSON, safe CSV, odd fields."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from conftest import invoke, stderr_lines

ROWS = [
    {"id": "a", "text": "My parcel was due Monday and still has not arrived. The driver was lovely though.",
     "rating": "2/5", "date": "2024-05-03"},
    {"id": "b", "text": "I was charged twice for one order and nobody answers the phone.", "rating": "1 star",
     "date": "05/20/2024"},
    {"id": "c", "text": "Great coffee, friendly staff, will come back.", "rating": 5, "date": "3 June 2024"},
    {"id": "d", "text": "=HYPERLINK(\"http://x\") My refund still has not come after three weeks.", "rating": "great",
     "date": "someday"},
    {"id": "e", "text": "", "rating": 3},
]


def run(tmp_path, rows, *extra):
    src = tmp_path / "r.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    done = subprocess.run([sys.executable, "-m", "nlp.cli", "reviews", str(src), "--json", str(out_json),
                           "--csv", str(out_csv), *extra], capture_output=True, text=True, timeout=600)
    return done, out_json, out_csv


def test_reviews_report_json_csv_and_counts(tmp_path):
    done, out_json, out_csv = run(tmp_path, ROWS)
    assert done.returncode == 0, done.stderr
    assert "read 5 · annotated 4 · rejected 1" in done.stderr and "Traceback" not in done.stderr
    report = json.loads(out_json.read_text())
    assert report["reviews"] == 4 and report["complaint_rate"] == 0.75
    themes = {r["theme"]: r for r in report["themes"]}
    assert "delivery" in themes and themes["delivery"]["mean_rating"] == 2.0
    assert report["fields"]["rating"]["unreadable"] == 1 and report["fields"]["date"]["unreadable"] == 1
    assert [t["month"] for t in report["trend"]] == ["2024-05", "2024-06"]
    assert report["rejects"][0]["code"] == "E119"
    assert report["counts"]["repeated_ids"] == {"ids": 0, "records": 0} and "more than once" not in done.stderr
    cells = [c for row in csv.reader(out_csv.open()) for c in row]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    assert "Complaint themes" in done.stdout


def test_reviews_html_report(tmp_path):
    done, _, _ = run(tmp_path, ROWS, "--html", tmp_path / "rv.html")
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "rv.html").read_text(encoding="utf-8")
    assert "Complaint themes" in page and "<svg" in page and "<script" not in page
    assert '"http://x"' not in page  # input is only ever shown escaped


def test_a_corpus_without_complaints_and_a_review_read_twice(tmp_path):
    twice = {"id": "x", "text": "Lovely staff and quick service, thank you."}
    done, out_json, _ = run(tmp_path, [twice, {"id": "y", "text": "Five stars, would recommend to friends."}, twice])
    assert done.returncode == 0, done.stderr
    report = json.loads(out_json.read_text())
    assert report["complaint_rate"] == 0.0 and report["themes"] == [] and report["discovered"] == []
    # the same review twice is counted twice: the user is told, not left to find it in the rates
    assert report["reviews"] == 3 and report["counts"]["repeated_ids"] == {"ids": 1, "records": 2}
    assert "warning: 1 id occurs more than once (2 records carry them); each counts as a review" in done.stderr


def test_a_broken_taxonomy_is_a_usage_error(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("version: 1\nthemes:\n  - id: Bad Id\n    label: x\n")
    done, _, _ = run(tmp_path, ROWS[:1], "--set", f"paths.taxonomy={bad}")
    assert done.returncode == 2 and "Traceback" not in done.stderr and str(bad) in done.stderr


def test_when_every_review_is_rejected_the_run_fails_after_writing_its_report(tmp_path):
    """An empty or binary file gave "Reviews: 0" and exit 0: a pipeline could not tell it from a result."""
    done, out_json, _ = run(tmp_path, [{"id": "a", "text": ""}, {"id": "b", "text": 42}])
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: [E111] no review record could be read: the 2 rejected inputs are listed above")
    assert json.loads(out_json.read_text())["counts"]["rejected"] == 2  # the report still says what happened


def test_rating_and_date_fields_are_named_per_run_and_a_misspelt_one_is_warned(tmp_path):
    rows = [{"id": r["id"], "text": r["text"], "stars": r.get("rating"), "when": r.get("date")} for r in ROWS]
    done, out_json, _ = run(tmp_path, rows, "--rating-field", "stars", "--date-field", "when")
    assert done.returncode == 0, done.stderr
    report = json.loads(out_json.read_text())
    assert report["fields"]["rating"] == {"field": "stars", "present": 4, "unreadable": 1,
                                          "unreadable_examples": [{"id": "d", "value": "great"}]}
    assert [t["month"] for t in report["trend"]] == ["2024-05", "2024-06"]
    done, out_json, _ = run(tmp_path, rows, "--rating-field", "Stars")
    assert "warning: no review has a 'Stars' field, but they have 'stars': pass --rating-field stars to read it" \
        in done.stderr
    done, out_json, _ = run(tmp_path, rows, "--rating-field", "score")
    assert "warning: no review has a 'score' field (--rating-field); check its name" in done.stderr
    done, _, _ = run(tmp_path, rows, "--date-field", "text")  # it warned that no review has a 'text' field
    assert done.returncode == 2
    assert "the date field 'text' (--date-field, reviews.date_field) is the field the reviews' text is read from" in \
        " ".join(done.stderr.split())


def test_a_rating_or_date_column_in_another_case_is_named_with_the_option_that_reads_it(tmp_path):
    """A CSV export with ``Rating`` and ``Date`` headers got no ratings and no trend, and no word why."""
    rows = [{"id": r["id"], "text": r["text"], "Rating": r.get("rating"), "Date": r.get("date")} for r in ROWS]
    done, _, _ = run(tmp_path, rows)
    assert "pass --rating-field Rating to read it" in done.stderr and "pass --date-field Date to read it" in done.stderr


def test_numeric_dates_are_read_or_counted_unreadable_never_guessed_and_not_rated_is_no_rating(tmp_path):
    rows = [{"id": "a", "text": "My parcel was due Monday and still has not arrived.", "rating": 0, "date": 20240301},
            {"id": "b", "text": "I was charged twice for one order.", "rating": "2/5", "date": 1714730000123},
            {"id": "c", "text": "Great coffee, friendly staff.", "rating": "☆☆☆☆☆", "date": 2024},
            {"id": "d", "text": "Lovely cushions.", "rating": 5, "date": 45000}]
    done, out_json, _ = run(tmp_path, rows)
    assert done.returncode == 0, done.stderr
    report = json.loads(out_json.read_text())
    assert [t["month"] for t in report["trend"]] == ["2024-03", "2024-05"]  # never 1970
    assert report["fields"]["date"]["unreadable"] == 2
    assert report["fields"]["rating"] == {"field": "rating", "present": 2, "unreadable": 0, "unreadable_examples": []}
    assert all(t["mean_rating"] in (None, 2.0) for t in report["themes"])  # a 0 does not pull a mean down
    assert "date values could not be read and were left out of the figures that use them; first: id c (2024), " \
           "id d (45000); a date is read only from 1900 to 2100" in " ".join(done.stdout.split())  # which records
    # to fix, as the input wrote them, and why a date in a shape that is read ("0999-05-01") can be unreadable


@pytest.mark.parametrize("setting, says", [
    ("reviews.discovery_distance=-1", "reviews.discovery_distance = -1: must lie in [0, 2] (a cosine distance"),
    ("reviews.examples=-1", "reviews.examples = -1: must be 0 or more"),
    ("components.themes.min_p=1.5", "components.themes.min_p = 1.5: must lie in [0, 1] (a probability"),
    ("components.complaints.threshold=-0.5", "components.complaints.threshold = -0.5: must lie in [0, 1]"),
])
def test_a_bad_setting_is_one_coded_line_exit_2_before_any_work(tmp_path, setting, says):
    src, out_json = tmp_path / "r.jsonl", tmp_path / "r.json"
    src.write_text(json.dumps(ROWS[0]) + "\n")
    done = invoke(["reviews", src, "--json", out_json, "--set", setting])  # in this process: no models load first
    assert done.exit_code == 2 and not out_json.exists()
    [line] = stderr_lines(done)
    assert "[E303]" in line and says in line


def test_stdin_given_twice_is_refused(tmp_path):
    done = invoke(["reviews", "-", "-"], input="Late again.")
    assert done.exit_code == 2 and "[E128]" in done.stderr and len(stderr_lines(done)) == 1


def test_reviews_in_another_language_are_kept_counted_and_warned_about(tmp_path):
    french = {"id": "fr1", "text": "Le colis est arrivé avec quatre jours de retard et personne au service client "
                                   "ne répond au téléphone.", "rating": 1}
    done, out_json, _ = run(tmp_path, ROWS[:2] + [french])
    assert done.returncode == 0, done.stderr
    report = json.loads(out_json.read_text())
    assert report["reviews"] == 3 and report["languages"] == {"not_read": 1, "by_language": {"fr": 1},
                                                              "first_ids": ["fr1"]}
    assert report["warnings"] and "1 of 3 reviews is not in English (fr 1; first: id fr1)" in report["warnings"][0]
    assert "not in English" in done.stdout


def test_an_id_field_no_review_has_is_warned_about(tmp_path):
    done, out_json, _ = run(tmp_path, ROWS[:3], "--id-field", "review_id")
    assert done.returncode == 0, done.stderr
    assert "warning: 3 of 3 records have no 'review_id' field (--id-field)" in done.stderr
    assert json.loads(out_json.read_text())["themes"][0]["examples"][0]["id"].startswith(str(tmp_path / "r.jsonl:"))
