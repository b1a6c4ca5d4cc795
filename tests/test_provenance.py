"""nlp/provenance.py: the project's text shares no long run of words with the evaluation data."""
import json
from pathlib import Path

import pytest

from nlp.evaluate import DEFAULT_SHARED
from nlp.pipeline import PROJECT_ROOT
from nlp.provenance import MIN_WORDS, find_copies, project_strings, words


@pytest.fixture()
def shared(tmp_path: Path) -> Path:
    data = tmp_path / "shared"
    (data / "tweets").mkdir(parents=True)
    (data / "tweets" / "t.csv").write_text(
        "id,text\n1,\"@acme my parcel has been stuck in the depot for eleven whole days now\"\n"
        "2,Thanks for letting us know\n", encoding="utf-8")
    return data


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_words_ignore_case_punctuation_and_curly_apostrophes():
    assert words("It’s STUCK -- in the *depot*!") == ["it's", "stuck", "in", "the", "depot"]


def test_a_copied_run_is_found_through_case_and_punctuation_with_file_line_and_source(shared, tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", [
        {"doc_id": "a", "sentences": [{"text": "Our parcels arrive on time.", "label": "company"}]},
        {"doc_id": "b", "sentences": [{"text": "My Parcel has been STUCK in the depot, for eleven whole days!",
                                       "label": "customer"}]},
    ])
    [copy] = find_copies([corpus], shared)
    assert (copy.path, copy.line, copy.source) == (str(corpus), 2, "tweets/t.csv")
    assert copy.words == 12  # "my parcel has been stuck in the depot for eleven whole days"


def test_runs_shorter_than_the_threshold_are_stock_phrases_not_copies(shared, tmp_path):
    guide = tmp_path / "GUIDE.md"
    guide.write_text("Thanks for letting us know is company courtesy.\n"
                     "Left in the depot for eleven whole days.\n", encoding="utf-8")
    assert len(words("in the depot for eleven whole days")) == MIN_WORDS - 1
    assert find_copies([guide], shared) == []
    assert [c.line for c in find_copies([guide], shared, min_words=MIN_WORDS - 1)] == [2]


def test_every_string_of_a_jsonl_line_is_checked(tmp_path):
    path = write_jsonl(tmp_path / "n.jsonl", [{"a": ["x", {"b": "y"}], "c": 3}])
    assert list(project_strings(path)) == [(1, "x"), (1, "y")]


@pytest.mark.skipif(not DEFAULT_SHARED.is_dir(), reason="needs ../shared/data beside the project")
def test_the_projects_corpora_and_readme_copy_nothing_from_the_shared_data():
    copies = find_copies([PROJECT_ROOT / "corpora", PROJECT_ROOT / "README.md"], DEFAULT_SHARED)
    assert not copies, "\n".join(f"{c.path}:{c.line}: {c.words} words shared with {c.source}: {c.text[:120]}"
                                 for c in copies)
