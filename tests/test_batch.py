"""nlp/batch.py: shards, rejects, manifest, resume (kill -9 for real), worker and engine equality.

Integration tests with the real spaCy model and encoder on small corpora: batch output must
equal `annotate`'s, whatever the engine or worker count, and a killed run must resume to
exactly the records of an uninterrupted one.
"""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import invoke

from nlp.batch import (
    MANIFEST_FILE,
    PARTS_DIR,
    REJECTS_FILE,
    BatchOptions,
    estimate_records,
    run_batch,
    shard_stream,
)
from nlp.errors import E_OUTPUT, E_RESUME, UsageError
from nlp.io import ReadOptions, Record, Reject, read_inputs
from nlp.records import made_up_ids_warning_of
from nlp.shards import read_shards

TEXTS = [
    "We deliver within 24 hours or refund the shipping fee.",
    "Customers come first at Acme, always.",
    "My parcel was due Monday and still has not arrived. Nobody answers the phone.",
    "You can return anything within 30 days, free of charge.",
    "Our award-winning team has served the region since 1987.",
    "The app logged me out three times today. Great job.",
    "Thank you for the quick help with my router!",
    "We are passionate about innovation and excellence.",
]
FRENCH = "Nous livrons vos colis en 24 heures ou vous êtes remboursé, sans condition et sans frais cachés."


def make_corpus(root: Path, n: int = 24) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": f"j{i}", "text": TEXTS[i % len(TEXTS)] + f" Order {i}."}) for i in range(n)]
    lines.insert(5, "{broken json")
    lines.insert(9, json.dumps({"id": "fr", "text": FRENCH}))
    (root / "a.jsonl").write_text("\n".join(lines) + "\n")
    (root / "b.csv.gz").write_bytes(gzip.compress(b"id,text\nc1,The refund never came.\nc2,\n"))
    (root / "page.txt").write_text("Skip to main content\n\nWe answer every call within two minutes.")
    (root / "junk.bin").write_bytes(b"\x00\x01")
    return root


def small_cfg(cfg, shard_size=4, shard_chars=10_000_000):
    from nlp.pipeline import load_config

    return load_config(overrides={"batch.shard_size": shard_size, "batch.shard_chars": shard_chars})


def records_of(out: Path) -> list[dict]:
    return list(read_shards(out))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def reference(tmp_path_factory, corpus, cfg):
    out = tmp_path_factory.mktemp("ref") / "out"
    manifest = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, live_progress=False))
    return out, manifest


def test_counts_reconcile_and_every_reject_has_a_reason(reference):
    out, manifest = reference
    c = manifest["counts"]
    assert manifest["reconciles"] and c["read"] == c["annotated"] + c["rejected"]
    rejects = [json.loads(line) for line in (out / REJECTS_FILE).read_text().splitlines()]
    assert len(rejects) == c["rejected"] == 4
    reasons = {r["code"]: r for r in rejects}
    assert set(reasons) == {"E117", "E116", "E122", "E119"}  # unsupported file, bad JSON, French, empty text
    assert reasons["E116"]["position"] == "line 6, column 2"
    assert reasons["E122"]["position"] == "line 10" and "'fr'" in reasons["E122"]["reason"]
    assert all(r["source"] and r["reason"] for r in rejects)


def test_shards_hold_the_contract_in_input_order(reference, nlp):
    from nlp.annotate import Annotator
    from nlp.language import LanguageScreen

    out, manifest = reference
    got = records_of(out)
    assert len(got) == manifest["counts"]["annotated"]
    assert sorted(p.name for p in out.glob("part-*.parquet")) == [s["file"] for s in manifest["shards"]]
    # the same records through `annotate` give the same contract, field for field
    files = sorted(str(p) for p in Path(manifest["inputs"][0]["path"]).parent.iterdir() if p.suffix != ".bin")
    screen = LanguageScreen()
    recs = [r for r in read_inputs(files, ReadOptions()) if isinstance(r, Record) and screen.check(r) is None]
    expected = list(Annotator(nlp).annotate(recs, lambda r: None))
    assert got == expected


def test_manifest_records_inputs_models_and_timings(reference, corpus):
    _, m = reference
    assert [i["path"] for i in m["inputs"]] == [str(corpus / n) for n in ("a.jsonl", "b.csv.gz", "page.txt")]
    assert all(len(i["sha256"]) == 64 and i["bytes"] > 0 for i in m["inputs"])
    assert m["models"]["heads"]["perspective"]["sha256"]
    assert m["models"]["encoder"]["model"] and m["models"]["base_model"]["name"]
    assert m["timings"]["wall_seconds"] > 0 and m["timings"]["docs_per_s"] > 0
    assert "[batch]" in m["config"]
    assert sum(s["read"] for s in m["shards"]) + m["input_rejects"] == m["counts"]["read"]
    assert m["input_rejects"] == 1  # junk.bin: in rejects.jsonl, in no shard
    assert m["repeated_ids"] == {"ids": 0, "records": 0}
    assert m["inputs_changed"] == [] and m["timings"]["this_run"]["annotated"] == m["counts"]["annotated"]


def test_output_directory_must_be_empty_without_resume(reference, cfg, corpus):
    out, _ = reference
    with pytest.raises(UsageError) as e:
        run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out))
    assert e.value.code == E_OUTPUT and "--resume" in str(e.value)


def test_a_run_whose_engine_cannot_start_leaves_nothing_to_resume(tmp_path, cfg, corpus, monkeypatch):
    """A scheduler that could not be reached left run.json behind: the same command again said the
    directory was not empty and to pass --resume, for a run that had never started."""
    from nlp import dask_engine

    def no_dask():
        raise UsageError("Dask is not installed", code="E501")

    monkeypatch.setattr(dask_engine, "_distributed", no_dask)
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (tmp_path / "new", empty):
        with pytest.raises(UsageError, match="Dask is not installed"):
            run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, engine="dask", live_progress=False))
        assert not (tmp_path / "new").exists() and list(empty.iterdir()) == []
    assert empty.is_dir()  # the user's own folder stays


def test_an_id_field_that_no_record_has_is_counted_in_the_manifest(tmp_path, cfg, corpus, reference):
    """``annotate`` warned when a JSON file lacked the named --id-field; ``batch`` gave every record file:line
    in silence."""
    read = ReadOptions(id_field="review_id")
    m = run_batch([str(corpus / "a.jsonl")], small_cfg(cfg), BatchOptions(output=tmp_path / "o", read=read,
                                                                          live_progress=False))
    assert m["ids_made_up"] == 24  # every record of the 26 lines but the broken one and the French one
    assert reference[1]["ids_made_up"] == 0  # every record has its id


def test_empty_ids_among_given_ones_are_counted_in_the_manifest(tmp_path, cfg):
    """``"id": ""`` or a missing id beside records that have one got file:line in silence."""
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ({"id": "a", "text": TEXTS[0]}, {"id": "", "text": TEXTS[1]},
                                                          {"text": TEXTS[2]})))
    (tmp_path / "none.jsonl").write_text(json.dumps({"text": TEXTS[3]}) + "\n")  # no record has one: the default
    (tmp_path / "de.jsonl").write_text(json.dumps({"text": FRENCH}) + "\n" + json.dumps({"id": "x", "text": TEXTS[0]})
                                       + "\n")  # the language screen rejects the first: it is no record of the run
    m = run_batch([str(src), str(tmp_path / "none.jsonl"), str(tmp_path / "de.jsonl")], small_cfg(cfg),
                  BatchOptions(output=tmp_path / "o", live_progress=False))
    assert (m["ids_made_up"], m["ids_given"], m["ids_made_up_beside_given"], m["records_beside_given"]) == (3, 2, 2, 3)
    assert made_up_ids_warning_of("id", m).startswith("warning: 2 of 3 records have an empty, null or no 'id' in files")


def test_output_that_is_a_file_is_refused_as_one(tmp_path, cfg, corpus):
    """``batch x.txt --output x.txt`` said x.txt was "inside --output"; another file failed on mkdir."""
    for target in (corpus / "page.txt", tmp_path / "notes.txt"):
        target.touch()
        with pytest.raises(UsageError, match="is a file; batch writes a directory of shards") as e:
            run_batch([str(corpus / "page.txt")], small_cfg(cfg), BatchOptions(output=target))
        assert e.value.code == E_OUTPUT


def test_resume_needs_a_run_and_the_same_inputs(tmp_path, cfg, corpus, reference):
    with pytest.raises(UsageError) as e:
        run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=tmp_path / "none", resume=True))
    assert e.value.code == E_RESUME
    other = make_corpus(tmp_path / "other", n=10)
    with pytest.raises(UsageError) as e:
        run_batch([str(other)], small_cfg(cfg), BatchOptions(output=reference[0], resume=True))
    assert e.value.code == E_RESUME and "input files differ" in str(e.value)
    with pytest.raises(UsageError) as e:
        run_batch([str(corpus)], small_cfg(cfg, shard_size=5), BatchOptions(output=reference[0], resume=True))
    assert "shard_size" in str(e.value)
    with pytest.raises(UsageError) as e:
        run_batch([str(corpus)], small_cfg(cfg, shard_chars=100), BatchOptions(output=reference[0], resume=True))
    assert "batch.shard_chars differs" in str(e.value)
    from nlp.pipeline import load_config

    with pytest.raises(UsageError) as e:  # "the config differs" named no setting
        run_batch([str(corpus)], load_config(overrides={"batch.shard_size": 4, "batch.shard_chars": 10_000_000,
                                                        "lipservice.batch_size": 8}),
                  BatchOptions(output=reference[0], resume=True))
    assert "the config differs from the run's (lipservice.batch_size: 64 then, 8 now)" in str(e.value)


def test_resume_after_lost_shards_and_a_torn_write_gives_the_same_records(tmp_path, cfg, corpus, reference):
    import shutil

    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    (out / "part-00001.parquet").unlink()
    (out / "part-00003.parquet").rename(out / "part-00003.parquet.tmp")  # a write the kill interrupted
    (out / PARTS_DIR / "part-00002.json").unlink()  # sidecar gone: the shard is redone too
    (out / MANIFEST_FILE).unlink()
    (out / "part-x.parquet").touch()  # not a shard's name: neither a crash on resume nor read as one
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert records_of(out) == records_of(reference[0])
    assert m["counts"] == reference[1]["counts"]
    assert not list(out.rglob("*.tmp"))


def _lines(n: int, prefix: str = "a") -> str:
    return "".join(json.dumps({"id": f"{prefix}{i}", "text": TEXTS[i % len(TEXTS)]}) + "\n" for i in range(n))


def test_resume_after_the_unreadable_entries_of_a_directory_changed_equals_an_uninterrupted_run(tmp_path, cfg):
    """A directory's rejects were chained in front of the records: a .docx added before --resume moved every
    shard boundary by one, so a record was in the shards twice, another missing, and the new reject lost."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(_lines(9))
    (corpus / "x.docx").write_text("x")
    out, ref = tmp_path / "out", tmp_path / "ref"
    run_batch([str(corpus)], small_cfg(cfg, shard_size=3), BatchOptions(output=out, live_progress=False))
    (out / "part-00001.parquet").unlink()  # as a kill -9 would leave it
    (corpus / "y.docx").write_text("y")
    resumed = run_batch([str(corpus)], small_cfg(cfg, shard_size=3), BatchOptions(output=out, resume=True,
                                                                                     live_progress=False))
    whole = run_batch([str(corpus)], small_cfg(cfg, shard_size=3), BatchOptions(output=ref, live_progress=False))
    assert [r["id"] for r in records_of(out)] == [f"a{i}" for i in range(9)]
    assert records_of(out) == records_of(ref)
    assert (out / REJECTS_FILE).read_text() == (ref / REJECTS_FILE).read_text()
    assert [json.loads(line)["source"] for line in (out / REJECTS_FILE).read_text().splitlines()] == [
        str(corpus / "x.docx"), str(corpus / "y.docx")]
    assert resumed["counts"] == whole["counts"] and resumed["counts"]["read"] == 11 == 9 + 2


def test_a_file_changed_during_the_run_is_said_and_marked_and_not_resumed(tmp_path, cfg, monkeypatch, caplog):
    """The manifest's sha256 is taken before the readers read: a file written meanwhile had the old checksum
    beside the new records, without a word."""
    import nlp.batch

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(_lines(3))
    (corpus / "b.jsonl").write_text(_lines(2, "b"))
    described = nlp.batch.describe_files

    def describe_then_append(files):  # the file grows after it was hashed, before it is read
        infos = described(files)
        with open(corpus / "a.jsonl", "a") as fh:
            fh.write(json.dumps({"id": "z3", "text": TEXTS[3]}) + "\n")
        return infos

    monkeypatch.setattr(nlp.batch, "describe_files", describe_then_append)
    out = tmp_path / "out"
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, live_progress=False))
    assert "z3" in [r["id"] for r in records_of(out)]
    assert m["inputs_changed"] == [str(corpus / "a.jsonl")]
    assert [i.get("changed_during_run", False) for i in m["inputs"]] == [True, False]
    assert "a.jsonl changed (size or modification time) while the run read it" in caplog.text
    monkeypatch.undo()
    (out / "part-00000.parquet").unlink()
    with pytest.raises(UsageError) as e:
        run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert e.value.code == E_RESUME and "a.jsonl changed" in str(e.value)


def test_speeds_are_of_the_documents_this_run_annotated(tmp_path, cfg):
    """Re-resuming a finished run wrote 68,521 docs/s; a partial resume divided every record by its time."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(_lines(6))
    out = tmp_path / "out"
    first = run_batch([str(corpus)], small_cfg(cfg, shard_size=2), BatchOptions(output=out, live_progress=False))
    again = run_batch([str(corpus)], small_cfg(cfg, shard_size=2), BatchOptions(output=out, resume=True,
                                                                                   live_progress=False))
    t = again["timings"]
    assert t["docs_per_s"] is None and t["this_run"] == {"annotated": 0, "sentences": 0, "shards": 0}
    assert t["started"] == first["timings"]["started"] and t["resumed"]
    (out / "part-00002.parquet").unlink()
    t = run_batch([str(corpus)], small_cfg(cfg, shard_size=2), BatchOptions(output=out, resume=True,
                                                                               live_progress=False))["timings"]
    assert t["this_run"]["annotated"] == 2 and t["docs_per_s"] == pytest.approx(2 / t["wall_seconds"], rel=0.2)


def test_a_resume_from_another_folder_says_which_folder_the_run_started_in(tmp_path, cfg, monkeypatch):
    """Inputs are named as typed (the shards' sources too): resumed from elsewhere, the refusal said the
    input files differed, or that a file had changed, not where to resume from."""
    (tmp_path / "a" / "c").mkdir(parents=True)
    (tmp_path / "a" / "c" / "x.jsonl").write_text(_lines(2))
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / "b" / "c" / "x.jsonl").write_text(_lines(3))  # the same name, another file
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path / "a")
    run_batch(["c"], small_cfg(cfg), BatchOptions(output=out, live_progress=False))
    monkeypatch.chdir(tmp_path)
    for inputs in (["a/c"], ["c"]):
        if inputs == ["c"]:
            monkeypatch.chdir(tmp_path / "b")
        with pytest.raises(UsageError) as e:
            run_batch(inputs, small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
        assert e.value.code == E_RESUME and f"the run was started in {tmp_path / 'a'}" in str(e.value), inputs
    monkeypatch.chdir(tmp_path / "a")
    with pytest.raises(UsageError) as e:  # from the right folder, but typed otherwise: the folder is not the fault
        run_batch([str(tmp_path / "a" / "c")], small_cfg(cfg), BatchOptions(output=out, resume=True,
                                                                            live_progress=False))
    assert "the inputs are the run's but named otherwise (it named c/x.jsonl" in str(e.value)
    assert run_batch(["c"], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))["reconciles"]


def test_a_run_started_by_another_release_is_not_resumed(tmp_path, cfg):
    """The plan named its format version only: a run resumed after an upgrade mixed shards of two releases,
    which may cut sentences otherwise."""
    from nlp.batch import PLAN_FILE

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.jsonl").write_text(_lines(2))
    out = tmp_path / "out"
    run_batch([str(tmp_path / "c")], small_cfg(cfg), BatchOptions(output=out, live_progress=False))
    plan = json.loads((out / PLAN_FILE).read_text())
    (out / PLAN_FILE).write_text(json.dumps({**plan, "lipservice": "0.0.9"}))
    with pytest.raises(UsageError) as e:
        run_batch([str(tmp_path / "c")], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert e.value.code == E_RESUME and "it was started by lipservice 0.0.9, and this is" in str(e.value)


def test_an_output_that_is_the_input_folder_is_named_as_such(tmp_path, cfg):
    """``batch samed --output samed`` said "no input files in samed"."""
    (tmp_path / "samed").mkdir()
    (tmp_path / "samed" / "a.md").write_text("We care.")
    with pytest.raises(UsageError) as e:
        run_batch([str(tmp_path / "samed")], small_cfg(cfg), BatchOptions(output=tmp_path / "samed",
                                                                         live_progress=False))
    assert e.value.code == E_OUTPUT and "is the input folder itself" in str(e.value)


def test_a_run_written_inside_its_input_directory_resumes_on_the_same_inputs(tmp_path, cfg, corpus, reference):
    """``batch corpus/ --output corpus/run1``, then ``--resume``: the shards are not new inputs."""
    import shutil

    inside = tmp_path / "corpus"
    shutil.copytree(corpus, inside)
    out = inside / "run1"
    first = run_batch([str(inside)], small_cfg(cfg), BatchOptions(output=out, live_progress=False))
    (out / "part-00001.parquet").unlink()
    again = run_batch([str(inside)], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert again["counts"] == first["counts"] == reference[1]["counts"]
    moved = json.dumps(records_of(out)).replace(str(inside), str(corpus))  # ids and sources name the copy
    assert json.loads(moved) == records_of(reference[0])


def test_a_file_name_that_is_not_utf8_reaches_the_shards_escaped_and_resumes(tmp_path, cfg):
    """A scraped corpus unpacked from a Latin-1 archive: the name's bytes used to fail the shard write."""
    corpus = tmp_path / "latin"
    corpus.mkdir()
    with open(bytes(corpus) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(b"We answer every call within two minutes.")
    out = tmp_path / "out"
    first = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, live_progress=False))
    assert first["counts"] == {"read": 1, "annotated": 1, "rejected": 0, "sentences": 1}
    assert [r["id"] for r in records_of(out)] == [f"{corpus}/caf\\xe9.txt"]
    raw = (out / MANIFEST_FILE).read_bytes()  # strict JSON for any reader: no lone surrogate (\udce9) in it
    assert b"\\udc" not in raw and [i["path"] for i in json.loads(raw)["inputs"]] == [f"{corpus}/caf\\xe9.txt"]
    again = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert again["counts"] == first["counts"]


def test_repeated_ids_across_files_and_shards_are_counted_and_counted_again_on_resume(tmp_path, cfg):
    """Ids repeated in other shards and files are in the manifest; a resumed run re-reads every input,
    so it counts them all again, not only those of the shards it redoes."""
    corpus = tmp_path / "dups"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text("".join(json.dumps({"id": i, "text": f"Your refund {n} is on its way."}) + "\n"
                                            for n, i in enumerate(["x", "y", "x", "z"])))
    (corpus / "b.jsonl").write_text(json.dumps({"id": "y", "text": "We are proud of our team."}) + "\n")
    out = tmp_path / "out"
    first = run_batch([str(corpus)], small_cfg(cfg, shard_size=2), BatchOptions(output=out, live_progress=False))
    assert first["repeated_ids"] == {"ids": 2, "records": 4}  # x twice in a.jsonl, y in both files
    assert [r["id"] for r in records_of(out)] == ["x", "y", "x", "z", "y"]
    (out / "part-00002.parquet").unlink()
    (out / MANIFEST_FILE).unlink()
    again = run_batch([str(corpus)], small_cfg(cfg, shard_size=2), BatchOptions(output=out, resume=True,
                                                                                   live_progress=False))
    assert again["repeated_ids"] == first["repeated_ids"]


def test_repeated_ids_count_only_records_that_reach_the_shards(tmp_path, cfg):
    """Two records with id x, one French: the shards hold x once, so no id repeats there."""
    corpus = tmp_path / "fr"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"id": "x", "text": TEXTS[0]}) + "\n"
                                    + json.dumps({"id": "x", "text": FRENCH}) + "\n")
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=tmp_path / "out", live_progress=False))
    assert [r["id"] for r in records_of(tmp_path / "out")] == ["x"]
    assert m["repeated_ids"] == {"ids": 0, "records": 0} and m["counts"]["rejected"] == 1


def test_two_workers_give_identical_output(tmp_path, cfg, corpus, reference):
    out = tmp_path / "w2"
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, workers=2, live_progress=False))
    assert records_of(out) == records_of(reference[0])
    assert m["counts"] == reference[1]["counts"]


def test_dask_local_cluster_gives_identical_output(tmp_path, cfg, corpus, reference):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "dask"
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, workers=2, engine="dask",
                                                              live_progress=False))
    assert records_of(out) == records_of(reference[0])
    assert m["counts"] == reference[1]["counts"] and m["engine"] == "dask"


def _cli(*args):
    return [sys.executable, "-m", "nlp.cli", *args]


@pytest.mark.slow
def test_kill_dash_nine_then_resume_loses_and_duplicates_nothing(tmp_path, cfg, corpus, reference):
    out = tmp_path / "killed"
    args = _cli("batch", str(corpus), "--output", str(out), "--shard-size", "4")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=env)
    deadline = time.monotonic() + 240
    while not (out / "part-00002.parquet").exists():  # some shards written, others not yet
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / MANIFEST_FILE).exists()
    done = subprocess.run(_cli("batch", str(corpus), "--output", str(out), "--shard-size", "4", "--resume"),
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    got = records_of(out)
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids))  # no duplicates
    assert got == records_of(reference[0])
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["counts"] == reference[1]["counts"]
    assert (out / REJECTS_FILE).read_text() == (reference[0] / REJECTS_FILE).read_text()


def _sigint_as_on_a_terminal() -> None:
    """In the child before it starts: Ctrl-C's default disposition. A suite run in the background (`cmd &`,
    as CI may run it) inherits SIGINT ignored, and Python then leaves it ignored: nothing to interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_a_run_stopped_before_any_shard_says_so():
    """Stopped while the models loaded, the run said "the 0 shard(s) written in … are kept"."""
    from nlp.cli import stopped_batch_message

    assert stopped_batch_message("terminated (SIGTERM)", 0, Path("run1")) == (
        "terminated (SIGTERM) before any shard was written; run the same command with --resume to do the run "
        "(the plan is in run1)")
    assert stopped_batch_message("interrupted", 3, Path("run1")).startswith("interrupted: the 3 shard(s) written")


@pytest.mark.slow
def test_workers_exit_when_their_parent_is_killed(tmp_path, corpus):
    """``kill -9`` of the parent alone (not its group) left both spawn workers, 750 MB each, waiting on the
    pool's pipe for ever; the README's advice after a crash is to --resume, so they piled up."""
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "orphans"
    proc = subprocess.Popen(_cli("batch", str(corpus), "--output", str(out), "--shard-size", "1", "--workers", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600  # a bound for a stuck run, not a speed
    while not (out / "part-00000.parquet").exists():  # the workers are up and working
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert len(children) >= 2
    proc.kill()  # the parent only
    proc.wait()
    _, alive = psutil.wait_procs(children, timeout=60)
    assert not alive, [c.cmdline()[-3:] for c in alive]


def _stop_with(tmp_path, corpus, signum, *extra) -> tuple[subprocess.CompletedProcess, Path]:
    """Start `batch` in its own process group, send ``signum`` to the group (as `timeout` and a terminal's
    Ctrl-C do) once a shard is written, and return how it ended."""
    out = tmp_path / "stopped"
    proc = subprocess.Popen(_cli("batch", str(corpus), "--output", str(out), "--shard-size", "1", *extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_sigint_as_on_a_terminal)
    deadline = time.monotonic() + 600  # a bound for a stuck run, not a speed: a loaded machine takes its time
    while not (out / "part-00000.parquet").exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signum)
    stdout, stderr = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), out


@pytest.mark.parametrize("signum,code,says", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                              (signal.SIGINT, 130, "interrupted")])
def test_sigterm_and_ctrl_c_end_a_run_cleanly_keeping_its_shards(tmp_path, corpus, signum, code, says):
    """SIGTERM ended the local engine without a word (Ctrl-C said "interrupted"); both say what is kept."""
    done, out = _stop_with(tmp_path, corpus, signum)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{says}: the ") and "--resume" in last
    assert (out / "part-00000.parquet").exists() and not (out / MANIFEST_FILE).exists()


@pytest.mark.slow
@pytest.mark.parametrize("signum,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_ctrl_c_end_a_dask_run_cleanly(tmp_path, corpus, signum, code):
    """With Dask, SIGTERM gave exit 1 and pages of tracebacks (SystemExit inside a lock: "release unlocked
    lock"), and Ctrl-C the workers' CancelledError tracebacks."""
    pytest.importorskip("dask.distributed")
    done, out = _stop_with(tmp_path, corpus, signum, "--engine", "dask", "--workers", "2")
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr and "ERROR" not in done.stderr
    assert "--resume" in done.stderr.strip().splitlines()[-1]
    assert (out / "part-00000.parquet").exists()


def test_cli_prints_counts_and_exits_zero(tmp_path, corpus):
    out = tmp_path / ("a-long-output-directory-name-" * 3)  # the summary line used to wrap at 80 columns
    done = subprocess.run(_cli("batch", str(corpus / "a.jsonl"), "-o", str(out), "--shard-size", "50",
                               "--batch-size", "8", "--id-field", "review_id"), capture_output=True, text=True,
                          timeout=600, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("read 26 · annotated 24 · rejected 2")]
    assert line.endswith(f"; rejects in {out / REJECTS_FILE}") and "sentences/s)" in line
    assert ("warning: 24 of 24 records have no 'review_id' field (--id-field), so each got its file and position as id; "
            "check the field's name (manifest.json: ids_made_up)") in done.stderr.splitlines()
    assert "batch:" in done.stderr  # a progress log line when stderr is not a terminal
    assert "Traceback" not in done.stderr


def test_cli_exits_2_when_every_record_is_rejected(tmp_path):
    """It exited 0, where annotate, reviews and gap say E111: a script took an empty run for a result."""
    src = tmp_path / "empty-texts.jsonl"
    src.write_text('{"id": "a", "text": ""}\n', encoding="utf-8")
    out = tmp_path / "run"
    done = invoke(["batch", src, "-o", out])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.exit_code == 2 and lines[-2].startswith("read 1 · annotated 0 · rejected 1 → ")
    assert "(1 shard, " in lines[-2]
    assert lines[-1] == (f"error: [E111] no input record could be read: the 1 rejected input is in {out / REJECTS_FILE}; "
                         "fix it and run again")


@pytest.mark.parametrize("args,code", [
    (["--engine", "spark"], "E100"),
    (["--resume"], "E123"),
    (["--scheduler", "tcp://10.0.0.5:8786"], "E302"),  # without --engine dask it was silently ignored
    (["-o", "{corpus}/page.txt/sub"], "E124"),  # a parent that is a file: E127 and exit 1 after the setup
    (["--set", "lipservice.output_text=true"], "E302"),  # the shards have no text column: a traceback mid-run
])
def test_cli_usage_errors_exit_2_with_a_coded_line(tmp_path, corpus, args, code):
    args = [a.format(corpus=corpus) for a in args]
    output = [] if "-o" in args else ["-o", str(tmp_path / "o")]  # -o given twice is refused as such (E302)
    done = invoke(["batch", corpus, *output, *args])  # in this process: refused before any work
    assert done.exit_code == 2
    assert f"[{code}]" in done.stderr


def test_shard_stream_cuts_consecutive_shards():
    assert [(i, len(c)) for i, c in shard_stream(range(10), 4)] == [(0, 4), (1, 4), (2, 2)]
    assert list(shard_stream([], 4)) == []


def test_shard_stream_cuts_a_shard_early_when_its_texts_reach_the_character_bound():
    texts = ["a" * 30, "b" * 30, "c" * 50, "d" * 200, "e" * 10, "f" * 10]
    items = [Record(f"r{i}", t) for i, t in enumerate(texts)]
    items.insert(2, Reject("x.jsonl", "line 3", "empty text", "E119"))  # a reject carries no text
    shards = [[getattr(item, "text", "")[:1] for item in chunk] for _, chunk in shard_stream(items, 4, max_chars=60)]
    assert shards == [["a", "b"], ["", "c", "d"], ["e", "f"]]  # the record reaching the bound closes its shard
    again = [[getattr(item, "text", "")[:1] for item in chunk] for _, chunk in shard_stream(items, 4, max_chars=60)]
    assert again == shards  # the same input is always cut the same way (--resume relies on it)
    assert [len(c) for _, c in shard_stream(items, 4, max_chars=10**9)] == [4, 3]


def test_estimate_records_counts_lines_and_documents(corpus):
    assert estimate_records([str(corpus / "a.jsonl"), str(corpus / "page.txt")]) == 27


def test_threads_per_worker_share_the_cpus_this_process_may_use():
    from nlp.annotate import usable_cpus
    from nlp.batch import threads_per_worker

    cpus = usable_cpus()  # the affinity, not os.cpu_count(): a container on 2 of 64 cores gets 2
    assert threads_per_worker(1) == cpus and threads_per_worker(cpus) == 1 and threads_per_worker(10 * cpus) == 1


def test_output_dash_is_refused_not_made_a_directory_named_dash(tmp_path, monkeypatch):
    from nlp.batch import prepare_output

    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as e:
        prepare_output(Path("-"), {}, resume=False)
    assert e.value.code == E_OUTPUT and "writes Parquet shards into a directory" in str(e.value)
    assert not (tmp_path / "-").exists()


def test_an_output_that_cannot_be_made_is_refused_before_any_work(tmp_path, cfg, corpus):
    from nlp.batch import check_writable

    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError) as e:
        run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=tmp_path / "afile" / "sub" / "run"))
    assert e.value.code == E_OUTPUT and "is a file, so no directory can be made under it" in str(e.value)
    check_writable(tmp_path / "new" / "run")  # a folder to be made in a writable one is fine
    assert not (tmp_path / "new").exists()
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(UsageError, match="not writable"):
            check_writable(locked / "run")


def test_the_estimate_counts_a_csv_s_rows_not_its_lines(tmp_path):
    """Complaint narratives of several paragraphs: 300 records were estimated at ~1,047 and the run ended at 29 %."""
    p = tmp_path / "cfpb.csv"
    p.write_text('id,text\n1,"First line.\n\nSecond, with ""quotes"" and\na break."\n2,plain\r\n3,"x\ny"\n',
                 encoding="utf-8")
    assert estimate_records([str(p)]) == 3


def test_the_estimate_reads_a_stray_quote_in_an_unquoted_cell_as_a_character(tmp_path):
    """`My 5" screen` opened a quoted cell for the count: 30 rows were estimated at ~2."""
    p = tmp_path / "inch.csv"
    p.write_text("id;text\n" + "".join(f'{i};My 5" screen cracked {i}\n' for i in range(30)), encoding="utf-8")
    assert estimate_records([str(p)]) == 30
    (tmp_path / "excel.csv").write_text('sep=,\nid,text\n1,"a\nb"\n2,c', encoding="utf-8")  # no final newline
    assert estimate_records([str(tmp_path / "excel.csv")]) == 2


@pytest.mark.parametrize("address", ["garbage", "tcp://localhost", "tcp://127.0.0.1:abc", "inproc://x",
                                     "http://127.0.0.1:8786"])
def test_cli_a_malformed_scheduler_is_refused_before_the_output_directory_is_made(tmp_path, corpus, address):
    """It exited 1 with distributed's traceback and left run.json and parts/, so the same command then said
    the directory was not empty (E124)."""
    out = tmp_path / "o"
    done = invoke(["batch", corpus / "a.jsonl", "-o", out, "--engine", "dask", "--scheduler", address])
    assert done.exit_code == 2
    [line] = [line for line in done.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: [E134] --scheduler {address!r}: ") and "tcp://HOST:PORT" in line
    assert not out.exists()


def test_resume_redoes_a_shard_that_is_truncated_or_emptied(tmp_path, cfg, corpus, reference, caplog):
    """A shard truncated to 100 bytes was kept by --resume (only missing ones were redone), the manifest said the
    counts reconciled, and read_shards then raised pyarrow's ArrowInvalid naming no file."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    (out / "part-00001.parquet").unlink()
    truncated = out / "part-00002.parquet"
    truncated.write_bytes(truncated.read_bytes()[:100])
    (out / "part-00004.parquet").write_bytes(b"")
    paged = out / "part-00003.parquet"  # damaged inside a page, its footer sound: kept, and read_shards failed
    data = bytearray(paged.read_bytes())
    data[4:40] = b"\xab" * 36
    paged.write_bytes(bytes(data))
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert records_of(out) == records_of(reference[0])
    assert m["counts"] == reference[1]["counts"] and m["timings"]["this_run"]["shards"] == 4
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [w.split(":")[0] for w in warned] == [str(truncated), str(paged), str(out / "part-00004.parquet")]
    assert all("cannot be read as Parquet" in w and w.endswith("; the shard is redone") and "\n" not in w
               for w in warned)


def test_resume_redoes_a_shard_whose_rows_are_not_its_sidecar_s(tmp_path, cfg, corpus, reference, caplog):
    """A whole Parquet file in a shard's place that holds other records than its sidecar counts is redone."""
    import shutil

    from nlp.shards import shard_name, table_bytes, to_table, write_atomic

    out = tmp_path / "out"
    shutil.copytree(reference[0], out)
    write_atomic(out / shard_name(0), table_bytes(to_table([])))
    run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=out, resume=True, live_progress=False))
    assert records_of(out) == records_of(reference[0])
    assert f"{out / shard_name(0)}: it holds 0 record(s) where its sidecar counts " in caplog.text


def test_the_last_progress_line_counts_what_the_summary_counts(tmp_path, cfg, caplog):
    """Entries of a directory that cannot be read are in the manifest's read count, not in the progress count:
    "705 of 705 records (100%)" came right before "read 707"."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(_lines(3))
    (corpus / "x.docx").write_text("x")
    (corpus / "y.docx").write_text("y")
    caplog.set_level("INFO", logger="nlp")
    m = run_batch([str(corpus)], small_cfg(cfg), BatchOptions(output=tmp_path / "out", live_progress=False))
    assert m["counts"]["read"] == 5
    [last] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("batch: ") and " of " in
              r.getMessage()][-1:]
    assert last.startswith("batch: 5 of 5 records (100%); 3 docs annotated")


def test_cli_says_once_that_an_input_changed_during_the_run(tmp_path, cfg, monkeypatch):
    """The warning came twice, before and after the summary line."""
    import nlp.batch

    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(_lines(2))
    described = nlp.batch.describe_files

    def describe_then_append(files):
        infos = described(files)
        with open(corpus / "a.jsonl", "a") as fh:
            fh.write(json.dumps({"id": "z", "text": TEXTS[3]}) + "\n")
        return infos

    monkeypatch.setattr(nlp.batch, "describe_files", describe_then_append)
    done = invoke(["batch", corpus, "-o", tmp_path / "out", "--shard-size", "4"])
    assert done.exit_code == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "a.jsonl changed" in line]
    assert len(said) == 1 and said[0].startswith(f"warning: {corpus / 'a.jsonl'} changed")
