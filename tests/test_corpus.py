"""The labelled corpus: the fixed by-document split, the shipped data, and clear errors."""
from __future__ import annotations

import json

import pytest

from nlp.corpus import load_perspective_corpus, split_of
from nlp.errors import UsageError
from nlp.heads import PERSPECTIVE_LABELS
from nlp.pipeline import project_path


@pytest.fixture(scope="module")
def shipped():
    return load_perspective_corpus(project_path("corpora/perspective"))


def test_split_of_is_stable():
    # fixed values: changing the split would silently move test documents into training
    assert split_of("x") == "test"
    assert split_of("doc-4") == "test"
    assert split_of("doc-1") == "train"
    assert split_of("a-airline-web_copy-001") == "train"
    assert all(split_of(f"doc-{i}") == split_of(f"doc-{i}") for i in range(50))


def test_split_of_sends_about_a_fifth_of_documents_to_test():
    share = sum(split_of(f"document-{i}") == "test" for i in range(2000)) / 2000
    assert 0.12 < share < 0.26


def test_split_is_by_document(tmp_path):
    docs = [{"doc_id": f"doc-{i}", "industry": "retail", "kind": "web_copy",
             "sentences": [{"text": f"Sentence {j} of {i}.", "label": "neutral"} for j in range(3)]}
            for i in range(20)]
    (tmp_path / "c.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    examples = load_perspective_corpus(tmp_path)
    assert len(examples) == 60
    for e in examples:
        assert e.split == split_of(e.doc_id)
    assert {e.split for e in examples} == {"train", "test"}


def test_shipped_corpus_size_and_coverage(shipped):
    assert len(shipped) >= 2000
    assert len({e.industry for e in shipped}) >= 12
    assert {e.label for e in shipped} == set(PERSPECTIVE_LABELS)
    for split in ("train", "test"):
        assert {e.label for e in shipped if e.split == split} == set(PERSPECTIVE_LABELS)
    assert all(e.text.strip() for e in shipped)


def test_shipped_corpus_has_no_document_on_both_sides(shipped):
    train = {e.doc_id for e in shipped if e.split == "train"}
    test = {e.doc_id for e in shipped if e.split == "test"}
    assert train and test
    assert not train & test


def test_empty_lines_are_skipped(tmp_path):
    doc = {"doc_id": "d1", "sentences": [{"text": "We ship fast.", "label": "company"}]}
    (tmp_path / "a.jsonl").write_text("\n" + json.dumps(doc) + "\n\n")
    [example] = load_perspective_corpus(tmp_path)
    assert (example.text, example.label, example.doc_id, example.industry) == ("We ship fast.", "company", "d1", "")


GOOD = json.dumps({"doc_id": "good-1", "industry": "retail", "kind": "web_copy",
                   "sentences": [{"text": "We ship fast.", "label": "company"}]})


@pytest.mark.parametrize("bad_line", [
    "{not json",
    json.dumps({"industry": "retail", "sentences": []}),  # no doc_id
    json.dumps({"doc_id": "x-1"}),  # no sentences
    json.dumps({"doc_id": "x-2", "sentences": [{"text": "Hi.", "label": "positive"}]}),  # unknown label
    json.dumps({"doc_id": "x-3", "sentences": [{"text": "   ", "label": "neutral"}]}),  # empty text
    json.dumps({"doc_id": "good-1", "sentences": [{"text": "Again.", "label": "neutral"}]}),  # duplicate id
], ids=["bad-json", "no-doc-id", "no-sentences", "bad-label", "empty-text", "duplicate-doc-id"])
def test_corrupt_corpus_file_names_file_and_line(tmp_path, bad_line):
    path = tmp_path / "broken.jsonl"
    path.write_text(GOOD + "\n" + bad_line + "\n")
    with pytest.raises(UsageError) as info:
        load_perspective_corpus(tmp_path)
    message = str(info.value)
    assert "broken.jsonl" in message
    assert "line 2" in message


def test_directory_without_corpus_files(tmp_path):
    with pytest.raises(UsageError) as info:
        load_perspective_corpus(tmp_path)
    assert str(tmp_path) in str(info.value)


#: Names of one industry that spelling alone does not tell apart (after the plural and underscores are dropped).
SAME_INDUSTRY = {"accountancy": "accounting", "railroad": "rail", "fitness": "gym", "gymfitness": "gym",
                 "onlineshop": "ecommerce", "parcelcourier": "courier", "logisticscourier": "courier"}


def test_every_industry_has_one_spelling_across_the_corpora():
    """The model cards listed airline and airlines, bank, banking and banks, fooddelivery beside food_delivery:
    an industry counted two or three times over."""
    import re

    seen: dict[str, set[str]] = {}
    for path in project_path("corpora").glob("*/*.jsonl"):
        for name in re.findall(r'"industry": "([^"]*)"', path.read_text(encoding="utf-8")):
            key = re.sub(r"(?<=[a-z])(ies|s)$", "", name.replace("_", "").replace("and", ""))
            key = SAME_INDUSTRY.get(key, key)
            seen.setdefault(key, set()).add(name)
    assert not {key: names for key, names in seen.items() if len(names) > 1}
