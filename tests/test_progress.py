"""nlp/progress.py: rates and ETA, as a rich bar on a terminal or log lines elsewhere."""
from __future__ import annotations

import logging

from nlp.progress import BatchProgress


def test_log_lines_when_not_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="nlp.progress")
    with BatchProgress(100, live=False, every=0) as p:
        p.begin()
        p.advance(read=10, docs=9, sentences=40)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all(line.startswith("batch: ") for line in lines)
    assert lines[0] == "batch: started on ~100 records; a line every 0s as shards finish"  # before any shard
    assert "10 of ~100 records (10%)" in lines[1] and "docs/s" in lines[1] and "sentences/s" in lines[1]
    assert "ETA" in lines[1]


def test_skipped_records_count_toward_progress_not_rates(caplog):
    caplog.set_level(logging.INFO, logger="nlp.progress")
    with BatchProgress(None, live=False, every=3600) as p:
        p.begin()
        p.skip(50)
        assert p.read == 50 and p.docs == 0
    assert "50 of 50 records (100%)" in caplog.records[-1].getMessage()  # done: the total is known


def test_the_last_line_is_said_once_with_the_total_read_not_the_estimate(caplog):
    """A file rejected whole ended at "1 of ~7 records (14%)"; a run whose last shard had just been logged
    said its last line twice."""
    caplog.set_level(logging.INFO, logger="nlp.progress")
    with BatchProgress(7, live=False, every=0) as p:
        p.begin()
        p.advance(read=1, docs=0, sentences=0)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[1].startswith("batch: 1 of ~7 records (14%)")
    assert lines[2].startswith("batch: 1 of 1 records (100%)") and len(lines) == 3
    caplog.clear()
    with BatchProgress(2, live=False, every=0) as p:
        p.begin()
        p.advance(read=2, docs=2, sentences=4)
    assert [r.getMessage()[:30] for r in caplog.records][1:] == ["batch: 2 of ~2 records (100%);"]


def test_low_estimate_grows_instead_of_passing_100_percent():
    p = BatchProgress(5, live=False, every=3600)
    p.advance(read=8, docs=8, sentences=8)
    assert p.total == 8


def test_live_bar_runs_without_a_terminal():
    with BatchProgress(10, live=True) as p:
        p.advance(read=10, docs=10, sentences=30)
    assert p.rates()[0] > 0


def test_an_engine_that_never_starts_logs_no_start_and_no_progress(caplog):
    """An unreachable scheduler logged "started" and "0 of ~N records" before its error."""
    caplog.set_level(logging.INFO, logger="nlp.progress")
    try:
        with BatchProgress(100, live=False, every=0):
            raise OSError("no scheduler")  # what the engine raises before asking for a shard
    except OSError:
        pass
    assert caplog.records == []
    with BatchProgress(100, live=False, every=0) as p:
        p.begin()
        p.begin()  # once
    assert [r.getMessage() for r in caplog.records].count(
        "batch: started on ~100 records; a line every 0s as shards finish") == 1


def test_a_finished_run_ends_its_bar_at_100_percent_when_the_estimate_was_high():
    with BatchProgress(1000, live=True) as p:
        p.begin()
        p.advance(read=980, docs=980, sentences=980)
    assert p.total == 980 and p._bar.tasks[0].percentage == 100.0
