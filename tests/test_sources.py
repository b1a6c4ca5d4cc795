"""nlp/sources.py: which files a batch run reads, in a fixed order, and nothing skipped silently."""
from __future__ import annotations

import hashlib

import pytest

from nlp.errors import E_NO_MATCH, E_NOT_FOUND, E_OUTPUT, E_UNKNOWN_EXT, InputError, UsageError
from nlp.sources import describe_files, expand_inputs


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "b" / "c.jsonl").write_text('{"text": "C."}\n')
    (tmp_path / "b" / "d.html.gz").write_bytes(b"")
    (tmp_path / "b" / "notes.pdf").write_bytes(b"%PDF")
    return tmp_path


def test_directory_is_walked_recursively_in_sorted_order(tree):
    files, rejects = expand_inputs([str(tree)])
    assert files == [str(tree / "a.txt"), str(tree / "b" / "c.jsonl"), str(tree / "b" / "d.html.gz")]
    [r] = rejects
    assert r.source == str(tree / "b" / "notes.pdf") and r.code == E_UNKNOWN_EXT and ".pdf" in r.reason


def test_glob_expands_sorted_and_reports_unsupported(tree):
    files, rejects = expand_inputs([str(tree / "**" / "*.*")])
    assert str(tree / "b" / "c.jsonl") in files and len(rejects) == 1


def test_named_file_with_unknown_extension_is_a_usage_error(tree):
    with pytest.raises(InputError) as e:
        expand_inputs([str(tree / "b" / "notes.pdf")])
    assert e.value.code == E_UNKNOWN_EXT and "notes.pdf" in str(e.value)


def test_missing_path_and_empty_glob_are_usage_errors(tree):
    with pytest.raises(InputError) as e:
        expand_inputs([str(tree / "nope.txt")])
    assert e.value.code == E_NOT_FOUND
    with pytest.raises(InputError) as e:
        expand_inputs([str(tree / "*.parquet")])
    assert e.value.code == E_NO_MATCH and "matches no files" in str(e.value)


def test_stdin_is_refused_with_the_alternative():
    with pytest.raises(InputError, match="annotate"):
        expand_inputs(["-"])


def test_a_file_listed_twice_is_read_once(tree):
    files, _ = expand_inputs([str(tree / "a.txt"), str(tree), str(tree / "a.txt")])
    assert files.count(str(tree / "a.txt")) == 1


def test_the_runs_own_output_inside_an_input_directory_is_left_out(tree, caplog):
    """``batch corpus/ --output corpus/run1``: a resumed run must see the same inputs, not its shards."""
    run = tree / "b" / "run1"
    run.mkdir()
    (run / "part-00000.parquet").write_bytes(b"PAR1")
    (run / "rejects.jsonl").write_text("")
    files, rejects = expand_inputs([str(tree)], output=run)
    assert files == [str(tree / "a.txt"), str(tree / "b" / "c.jsonl"), str(tree / "b" / "d.html.gz")]
    assert len(rejects) == 1  # notes.pdf, as without the output folder
    assert "left out 2 file(s) inside the output directory" in caplog.text
    with pytest.raises(UsageError) as e:
        expand_inputs([str(run / "rejects.jsonl")], output=run)
    assert e.value.code == E_OUTPUT and "--output" in str(e.value)


def test_describe_files_gives_size_and_sha256(tree):
    [info] = describe_files([str(tree / "a.txt")])
    assert info.bytes == 2 and info.sha256 == hashlib.sha256(b"A.").hexdigest()
    assert describe_files([str(tree / "a.txt")], checksums=False)[0].sha256 == ""
