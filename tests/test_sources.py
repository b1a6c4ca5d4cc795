"""nlp/sources.py: which files a batch run reads, in a fixed order, and nothing skipped silently."""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from nlp.errors import E_NO_MATCH, E_NOT_FOUND, E_OUTPUT, E_UNKNOWN_EXT, InputError, UsageError
from nlp.sources import changed_files, describe_files, expand_inputs


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


def test_a_file_listed_twice_is_read_once(tree, caplog):
    files, _ = expand_inputs([str(tree / "a.txt"), str(tree), str(tree / "a.txt")])
    assert files.count(str(tree / "a.txt")) == 1
    assert f"{tree / 'a.txt'}: listed twice; read once" in caplog.messages


def test_a_link_to_a_file_read_before_it_names_both(tree, caplog):
    """The warning named the file, never the link whose name its records carried."""
    (tree / "b" / "a-link.jsonl").symlink_to(tree / "b" / "c.jsonl")
    files, _ = expand_inputs([str(tree / "b")])
    assert files == [str(tree / "b" / "a-link.jsonl"), str(tree / "b" / "d.html.gz")]
    link, real = tree / "b" / "a-link.jsonl", tree / "b" / "c.jsonl"
    assert (f"{real}: the same file as {link}, read before it (a link, or named twice); read once, its records named "
            f"{link}") in caplog.messages


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


def test_what_a_directory_holds_besides_files_is_a_reject_not_a_silent_skip(tree):
    # a broken link, a link to a directory (a link to ".." would read everything above) and a named pipe
    # (reading it may never end) used to be passed over without a word
    (tree / "gone.txt").symlink_to(tree / "nowhere.txt")
    (tree / "up").symlink_to("..")
    os.mkfifo(tree / "pipe.txt")
    (tree / "same.txt").symlink_to(tree / "a.txt")  # a link to a file is read, once
    files, rejects = expand_inputs([str(tree)])
    assert files == [str(tree / "a.txt"), str(tree / "b" / "c.jsonl"), str(tree / "b" / "d.html.gz")]
    reasons = {Path(r.source).name: r.reason for r in rejects if r.code == E_NOT_FOUND}
    assert reasons == {"gone.txt": f"a broken symbolic link (to {tree / 'nowhere.txt'}); nothing to read",
                       "up": f"a symbolic link to a directory, not followed; name it ({tree / 'up'}/) to read it",
                       "pipe.txt": "a named pipe, not a regular file; save its content to a file to read it"}


def test_a_named_broken_link_or_pipe_is_a_usage_error_saying_so(tree):
    (tree / "gone.txt").symlink_to(tree / "nowhere.txt")
    os.mkfifo(tree / "pipe.txt")
    (tree / "zero.txt").symlink_to("/dev/zero")  # read as a file, it was "over 8,000,004 bytes" after 8 MB
    for name, says in (("gone.txt", "a broken symbolic link"), ("pipe.txt", "a named pipe"),
                       ("zero.txt", "a device, not a regular file")):
        with pytest.raises(InputError) as e:
            expand_inputs([str(tree / name)])
        assert e.value.code == E_NOT_FOUND and says in str(e.value)


def test_a_name_that_is_not_utf8_is_rejected_escaped(tree):
    with open(bytes(tree) + b"/caf\xe9.pdf", "wb") as fh:
        fh.write(b"%PDF")
    _, rejects = expand_inputs([str(tree)])
    assert f"{tree}/caf\\xe9.pdf" in [r.source for r in rejects]


def test_describe_files_gives_size_and_sha256(tree):
    [info] = describe_files([str(tree / "a.txt")])
    assert info.bytes == 2 and info.sha256 == hashlib.sha256(b"A.").hexdigest()
    assert describe_files([str(tree / "a.txt")], checksums=False)[0].sha256 == ""


def test_a_glob_does_not_follow_a_link_to_a_directory_as_the_walk_does_not(tree):
    """``batch 'd/*'`` with ``d/up -> ..`` read everything above d; the walk of ``d/`` rejected the link."""
    d = tree / "d"
    d.mkdir()
    (d / "a.txt").write_text("We deliver.")
    (d / "up").symlink_to("..")
    walked = expand_inputs([str(d)])
    for pattern in ("*", "**"):
        files, rejects = expand_inputs([str(d / pattern)])
        assert files == walked[0] == [str(d / "a.txt")], pattern
        assert [(r.source, r.reason) for r in rejects] == [(r.source, r.reason) for r in walked[1]]
        assert [r.source for r in rejects] == [str(d / "up")] and "not followed" in rejects[0].reason
    assert expand_inputs([str(d / "**" / "*.*")]) == ([str(d / "a.txt")], [])
    for through in (d / "*" / "b" / "*.jsonl", d / "*" / "*.txt"):  # the link would lead to tree/b, tree/a.txt
        with pytest.raises(InputError) as e:
            expand_inputs([str(through)])
        assert e.value.code == E_NO_MATCH
    assert expand_inputs([str(d / "up" / "b" / "*.jsonl")])[0] == [str(d / "up" / "b" / "c.jsonl")]  # named


def test_an_earlier_runs_output_inside_an_input_directory_is_left_out_and_said(tree, caplog):
    """``batch in/ --output in/run2`` after ``batch in/ --output in/run``: the first run's manifest, shards and
    rejects were read as input (ten rejects), and a resume of the first run then found other inputs."""
    old = tree / "b" / "run"
    (old / "parts").mkdir(parents=True)
    for name in ("manifest.json", "rejects.jsonl", "part-00000.parquet", "parts/part-00000.json"):
        (old / name).write_text("{}")
    (old / "run.json").write_text('{"version": 3, "inputs": [], "config_sha256": "ab"}')
    files, rejects = expand_inputs([str(tree)], output=tree / "run2")
    assert files == [str(tree / "a.txt"), str(tree / "b" / "c.jsonl"), str(tree / "b" / "d.html.gz")]
    assert len(rejects) == 1
    assert f"left out 1 folder(s) holding another batch run's output (e.g. {old}, which has a run.json)" in caplog.text
    assert expand_inputs([str(old / "rejects.jsonl")])[0] == [str(old / "rejects.jsonl")]  # named: read
    assert len(expand_inputs([str(old)])[0]) == 5  # a run folder named itself is walked
    caplog.clear()
    for pattern in (tree / "*", tree / "b" / "*", tree / "**" / "*.json*"):  # globs leave it out too
        files = expand_inputs([str(pattern)], output=tree / "run2")[0]
        assert not [f for f in files if "/run/" in f], (pattern, files)
        assert f"e.g. {old}, which has a run.json" in caplog.text


def test_a_folder_whose_run_json_is_data_is_read(tree):
    """Any file named run.json made its folder "another run's output": the user's records in it were lost."""
    logs = tree / "logs"
    logs.mkdir()
    (logs / "run.json").write_text('[{"id": "L1", "text": "We refund you within 5 days."}]')
    (logs / "note.txt").write_text("Our staff will call you back.")
    files = expand_inputs([str(tree)])[0]
    assert str(logs / "run.json") in files and str(logs / "note.txt") in files


def test_hidden_entries_are_left_out_of_walks_and_globs_alike_and_said(tree, caplog):
    """The walk read ``.git`` while a glob skipped it: both leave hidden entries out, and say how many."""
    (tree / ".git").mkdir()
    (tree / ".git" / "notes.txt").write_text("Internal.")
    (tree / ".draft.txt").write_text("Draft.")
    expected = [str(tree / "a.txt"), str(tree / "b" / "c.jsonl"), str(tree / "b" / "d.html.gz")]
    for arg, files in ((tree, expected), (tree / "**", expected), (tree / "*", expected),
                       (tree / "**" / "*.txt", [str(tree / "a.txt")])):
        caplog.clear()
        assert expand_inputs([str(arg)])[0] == files, arg
        assert "left out 2 hidden file(s) or folder(s)" in caplog.text, arg
    # named, or matched by a pattern that asks for hidden names, they are read
    assert expand_inputs([str(tree / ".draft.txt")])[0] == [str(tree / ".draft.txt")]
    assert expand_inputs([str(tree / ".git")])[0] == [str(tree / ".git" / "notes.txt")]
    assert expand_inputs([str(tree / ".*.txt")])[0] == [str(tree / ".draft.txt")]


def test_changed_files_sees_a_file_written_after_it_was_described(tree):
    infos = describe_files([str(tree / "a.txt"), str(tree / "b" / "c.jsonl")])
    assert changed_files(infos) == []
    with open(tree / "a.txt", "a") as fh:
        fh.write(" More.")
    assert changed_files(infos) == [str(tree / "a.txt")]



def test_a_tree_deeper_than_pythons_recursion_limit_is_walked_and_globbed(tmp_path):
    """The walk recursed: a folder deeper than Python's recursion limit (a scraper's mirror of a looping
    site) raised RecursionError. 1,100 levels of ``d/`` stay under PATH_MAX."""
    folders = [tmp_path / "top"]
    for _ in range(sys.getrecursionlimit() + 100):
        folders.append(folders[-1] / "d")
    for folder in folders:
        folder.mkdir()  # one at a time: os.makedirs itself recurses
    page = folders[-1] / "page.txt"
    page.write_text("We deliver.")
    try:
        for given in (tmp_path / "top", tmp_path / "top" / "**" / "*.txt"):
            assert expand_inputs([str(given)]) == ([str(page)], [])
    finally:  # bottom up: shutil.rmtree, and so pytest's clean-up of old runs, recurses too
        page.unlink()
        for folder in reversed(folders):
            folder.rmdir()
