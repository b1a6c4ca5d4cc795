"""nlp/shards.py: contract dicts survive a Parquet round trip; the schema never drops a field."""
from __future__ import annotations

import copy

import pyarrow.parquet as pq
import pytest

from nlp.shards import SCHEMA, read_shards, shard_name, table_bytes, to_table, write_atomic

SENTENCE = {"text": "We refund you within 48 hours.", "start": 0, "end": 30, "perspective": "customer",
            "perspective_p": 0.97,
            "promise": {"text": "We refund you within 48 hours.", "theme": "returns_refunds",
                        "specificity": "specific", "strength": "firm",
                        "quantities": [{"type": "duration", "hours": 48.0, "text": "48 hours"}],
                        "conditional": False, "perspective": "customer", "p": 0.99},
            "claim": None, "complaint_p": 0.02, "complaint": False, "theme": None, "theme_reason": None}
CLAIM = {"text": "Customers come first.", "start": 31, "end": 52, "perspective": "company", "perspective_p": 0.8,
         "promise": None, "claim": {"text": "Customers come first.", "lip_service": True, "reasons": ["cheap_talk"],
                                    "substantiated": False, "p": 0.9},
         "complaint_p": 0.7, "complaint": True, "theme": "unassigned", "theme_reason": "no theme is likely enough"}
SCORES = {"sentences": 2, "complaint_p": 0.7, "complaint_count": 1, "complaint_rate": 0.5, "customer_share": 0.5, "perspective_counts": {"company": 1, "customer": 1, "neutral": 0},
          "promise_count": 1, "promise_share_specific": 1.0, "promise_share_absolute": 0.0, "overpromising": 0,
          "claim_count": 1, "lip_service_claims": 1, "cheap_talk_ratio": 1.0, "lip_service_score": 45,
          "lip_service_reasons": ["1 of 1 customer-centric claims are lip service"]}
RECORD = {"id": "d1", "kind": "company", "scores": SCORES, "sentences": [SENTENCE, CLAIM], "source": "in.jsonl",
          "meta": {"url": "https://x.example", "rating": 4, "nested": {"a": [1, 2]}}}


def test_round_trip_gives_back_the_contract(tmp_path):
    bare = {k: v for k, v in RECORD.items() if k != "meta"}
    write_atomic(tmp_path / shard_name(0), table_bytes(to_table([RECORD, bare])))
    back = list(read_shards(tmp_path))
    assert back == [RECORD, bare]


def test_shards_are_read_in_order(tmp_path):
    for i in (1, 0):
        r = copy.deepcopy(RECORD)
        r["id"] = f"d{i}"
        write_atomic(tmp_path / shard_name(i), table_bytes(to_table([r])))
    assert [r["id"] for r in read_shards(tmp_path)] == ["d0", "d1"]


def test_empty_shard_keeps_the_schema(tmp_path):
    write_atomic(tmp_path / shard_name(0), table_bytes(to_table([])))
    assert pq.read_schema(tmp_path / shard_name(0)).equals(SCHEMA, check_metadata=False)
    assert list(read_shards(tmp_path)) == []


@pytest.mark.parametrize("where", ["record", "scores", "sentence", "promise"])
def test_a_field_missing_from_the_schema_fails_loudly(where):
    r = copy.deepcopy(RECORD)
    target = {"record": r, "scores": r["scores"], "sentence": r["sentences"][0],
              "promise": r["sentences"][0]["promise"]}[where]
    target["new_field"] = 1
    with pytest.raises(ValueError, match="new_field"):
        to_table([r])


def test_write_atomic_leaves_no_temporary_file(tmp_path):
    write_atomic(tmp_path / "x.bin", b"data")
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_annotate_output_fits_the_schema(nlp):
    from nlp.annotate import Annotator
    from nlp.records import Record

    [out] = list(Annotator(nlp).annotate([Record("a", "We guarantee delivery within 24 hours. Customers come "
                                                      "first at Acme.")], lambda r: None))
    to_table([out])  # raises if the pipeline emits a field the shards would drop


def test_a_path_that_is_no_run_directory_is_an_error_not_an_empty_run(tmp_path):
    from nlp.errors import UsageError

    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    for path, says in ((tmp_path / "nope", "does not exist"), (tmp_path / "notes.txt", "is a file"),
                       (tmp_path / "empty", "not a directory a `lipservice batch` run wrote")):
        with pytest.raises(UsageError, match=says) as info:
            read_shards(path)  # at the call, before any iteration
        assert info.value.code == "E118"
    with pytest.raises(TypeError, match="not NoneType"):
        read_shards(None)
    (tmp_path / "empty" / "manifest.json").write_text("{}", encoding="utf-8")
    assert list(read_shards(tmp_path / "empty")) == []  # a run of no records


def _run_dir(tmp_path, n_shards=2, manifest=True):
    """A run's directory as `batch` leaves it: its plan, shards and, once finished, its manifest."""
    import json

    for i in range(n_shards):
        r = copy.deepcopy(RECORD)
        r["id"] = f"d{i}"
        write_atomic(tmp_path / shard_name(i), table_bytes(to_table([r])))
    (tmp_path / "run.json").write_text("{}", encoding="utf-8")
    if manifest:
        shards = [{"file": shard_name(i), "read": 1, "annotated": 1} for i in range(n_shards)]
        (tmp_path / "manifest.json").write_text(json.dumps({"shards": shards}), encoding="utf-8")
    return tmp_path


def test_a_shard_that_cannot_be_read_is_a_coded_error_naming_it_and_the_fix(tmp_path):
    """A truncated shard raised pyarrow's ArrowInvalid ("Parquet magic bytes not found in footer"), naming no
    file and no way out."""
    from nlp.errors import UsageError

    run = _run_dir(tmp_path)
    damaged = run / shard_name(1)
    damaged.write_bytes(damaged.read_bytes()[:100])
    rows = read_shards(run)
    assert next(rows)["id"] == "d0"  # the shards before it are read
    with pytest.raises(UsageError) as info:
        next(rows)
    assert info.value.code == "E121" and str(info.value).startswith(f"[E121] {damaged}: the shard cannot be read")
    assert f"give the `lipservice batch` command that wrote {run} again with --resume to redo it" in str(info.value)
    damaged.write_bytes(b"")
    with pytest.raises(UsageError, match="E121"):
        list(read_shards(run))
    (tmp_path / "again").mkdir()
    good = _run_dir(tmp_path / "again") / shard_name(1)  # damaged inside a page: Arrow's several lines, made one
    data = bytearray(good.read_bytes())
    data[4:40] = b"\xab" * 36
    good.write_bytes(bytes(data))
    with pytest.raises(UsageError) as info:
        list(read_shards(good.parent))
    assert info.value.code == "E121" and "\n" not in str(info.value)


def test_a_shard_the_manifest_lists_that_is_gone_is_an_error_at_the_call(tmp_path):
    """A finished run with a shard deleted gave the other shards' records as all of them."""
    from nlp.errors import UsageError

    run = _run_dir(tmp_path, n_shards=3)
    (run / shard_name(1)).unlink()
    with pytest.raises(UsageError) as info:
        read_shards(run)
    assert info.value.code == "E121" and f"{run / shard_name(1)}: a shard manifest.json lists is missing" in str(
        info.value) and "--resume" in str(info.value)


def test_an_unfinished_run_is_an_error_at_the_call_not_part_of_its_records(tmp_path):
    """A run killed before its manifest was written gave 450 of its 3,000 records, as if they were all."""
    from nlp.errors import UsageError

    run = _run_dir(tmp_path, manifest=False)
    with pytest.raises(UsageError) as info:
        read_shards(run)  # at the call, before any iteration
    assert info.value.code == "E123"
    assert str(info.value) == (f"[E123] {run}: the run is unfinished (it has run.json but no manifest.json: it was "
                               "stopped, or is still running), so its shards hold only some of its records; give the "
                               f"`lipservice batch` command that wrote {run} again with --resume to finish it")
    (run / "manifest.json").write_text("{}", encoding="utf-8")
    assert [r["id"] for r in read_shards(run)] == ["d0", "d1"]
