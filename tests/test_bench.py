"""nlp/bench.py: the generated corpus, the naive peer's encoder, and the headline ratios."""
from __future__ import annotations

import json

import numpy as np

from nlp.bench import BOILERPLATE, NaiveEncoder, build_corpus, summarise
from nlp.encoder import make_encoder
from nlp.pipeline import project_path


def test_corpus_is_deterministic_scraped_like_and_mixed(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    corpora = project_path("corpora")
    info = build_corpus(a, 200, 13, corpora, None)
    build_corpus(b, 200, 13, corpora, None)
    assert a.read_bytes() == b.read_bytes() and info["docs"] == 200
    docs = [json.loads(line) for line in a.read_text().splitlines()]
    assert len({d["id"] for d in docs}) == 200
    with_boilerplate = sum(any(bp in d["text"] for bp in BOILERPLATE) for d in docs)
    assert 60 < with_boilerplate < 180  # boilerplate repeats across pages, not on every page
    lengths = [len(d["text"]) for d in docs]
    assert max(lengths) > 5 * min(lengths)


def test_long_style_makes_long_paragraphed_documents(tmp_path):
    from nlp.bench import LONG_CHARS

    path = tmp_path / "long.jsonl"
    build_corpus(path, 6, 13, project_path("corpora"), None, style="long")
    docs = [json.loads(line)["text"] for line in path.read_text().splitlines()]
    assert len(docs) == 6 and all(LONG_CHARS[0] <= len(d) <= LONG_CHARS[1] + 5_000 for d in docs)
    assert all(d.count("\n\n") > 20 for d in docs)  # paragraphs: the pieces are cut at their ends


def test_naive_encoder_matches_the_batched_pytorch_encoder(encoder):
    texts = ["We deliver within 24 hours.", "My order never came.", "We deliver within 24 hours."]
    naive = NaiveEncoder(encoder.model_name)
    assert np.allclose(naive.encode(texts), make_encoder().encode(texts), atol=1e-5)


def test_summary_ratios_use_the_best_engine():
    results = {"naive": {"docs_per_s": 2.0, "seconds": 10, "peak_rss_mb": 500},
               "limit": {"docs_per_s": 10.0, "seconds": 2, "peak_rss_mb": 400},
               "limit-runtime": {"docs_per_s": 16.0, "seconds": 1.25, "peak_rss_mb": 300},
               "limit-all": {"docs_per_s": 5.0, "seconds": 4, "peak_rss_mb": 400},
               "batch-1": {"docs_per_s": 6.0, "seconds": 20, "peak_rss_mb": 900},
               "batch-2": {"docs_per_s": 8.0, "seconds": 15, "peak_rss_mb": 1300},
               "batch-half": {"docs_per_s": 6.0, "seconds": 10.5, "peak_rss_mb": 800}}
    s = summarise({"docs": 100}, results)
    assert s["best"] == "batch-2" and s["ratio_vs_naive"] == 4.0 and s["ratio_vs_limit"] == 0.8
    assert s["ratio_vs_limit_all"] == 1.6  # the sentence cache can beat encoding every occurrence
    assert s["ratio_vs_limit_runtime"] == 0.5  # against the shipped encoder runtime alone
    assert s["peak_rss_mb"] == 1300 and s["scaling_2n_over_n"] == 1.9
    assert s["docs_per_s"]["naive"] == 2.0
    assert "batch_chars_memory_ratio" not in s


def test_summary_compares_the_bounded_batch_with_the_unbounded_one():
    results = {"batch-1": {"docs_per_s": 0.6, "seconds": 100, "peak_rss_mb": 1200},
               "batch-1-unbounded": {"docs_per_s": 0.5, "seconds": 120, "peak_rss_mb": 4800}}
    s = summarise({"docs": 60}, results)
    assert s["batch_chars_memory_ratio"] == 0.25 and s["batch_chars_speed_ratio"] == 1.2
    assert s["best"] == "batch-1"  # the unbounded run is a reference, not one of the engines


def test_the_unbounded_reference_runs_only_when_named():
    from nlp.bench import CONTENDERS, DEFAULT_CONTENDERS

    assert "batch-1-unbounded" in CONTENDERS and "batch-1-unbounded" not in DEFAULT_CONTENDERS
    assert set(DEFAULT_CONTENDERS) == set(CONTENDERS) - {"batch-1-unbounded"}


def test_a_small_run_measures_both_encoder_limits(cfg):
    from nlp.bench import run_bench

    result = run_bench(cfg, 6, ["limit", "limit-runtime", "limit-all", "batch-1-unbounded"], 13, 6, None,
                       project_path("corpora"))
    # the limits need batch-1's sentences
    assert set(result["contenders"]) == {"batch-1", "batch-1-unbounded", "limit", "limit-runtime", "limit-all"}
    unbounded = result["contenders"]["batch-1-unbounded"]
    assert (unbounded["docs"], unbounded["sentences"]) == (6, result["corpus"]["sentences"])
    assert result["batch_chars_memory_ratio"] > 0 and result["batch_chars_speed_ratio"] > 0
    corpus = result["corpus"]
    assert corpus["sentences"] >= corpus["unique_sentences"] > 0
    assert result["contenders"]["batch-1"]["docs"] == 6
    assert min(result[k] for k in ("ratio_vs_limit", "ratio_vs_limit_all", "ratio_vs_limit_runtime")) > 0
    # the limits' clocks start once the model is loaded; what they left out is reported beside them
    assert all(result["contenders"][k]["load_seconds"] > 0 for k in ("limit", "limit-runtime", "limit-all"))


def test_bench_reads_the_shared_data_beside_the_project_and_never_wraps_its_lines(tmp_path, monkeypatch):
    """--data defaulted to ../shared/data of the current directory, unlike evaluate; and its lines wrapped at 80
    columns in pipes and logs (``… 134.67 \\nsentences/s``)."""
    from typer.testing import CliRunner

    import nlp.bench
    from nlp.cli import app
    from nlp.evaluate import DEFAULT_SHARED

    seen = {}

    def fake_run_bench(cfg, docs, chosen, seed, naive_docs, data, corpora, on_result=None, style="pages"):
        seen["data"] = data
        on_result("batch-2", {"docs": 123456, "seconds": 1234.56, "docs_per_s": 100.01, "sentences_per_s": 134.67,
                              "peak_rss_mb": 2345.6})
        return {"ratio_vs_limit_all": 1.11, "peak_rss_mb": {"batch-1": 1000.0, "batch-2": 2000.0, "dask-2": 2100.0,
                                                          "naive": 900.0, "limit": 800.0, "limit-all": 850.0}}

    monkeypatch.setattr(nlp.bench, "run_bench", fake_run_bench)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["bench", "--docs", "2", "--only", "batch-2"])
    assert result.exit_code == 0, result.output
    assert seen["data"] == DEFAULT_SHARED
    lines = result.output.splitlines()
    assert any("100.01 docs/s, 134.67 sentences/s, peak RSS 2345.6 MB" in line for line in lines), lines
    assert any(line.startswith("peak_rss_mb: {") and line.endswith("}") for line in lines), lines
