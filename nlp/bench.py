"""Benchmark of the batch job against a naive peer and the encoder's own limit, in one run.

Contenders, each in its own process so that peak memory (summed over the process tree:
workers included) and caches are its own:

- ``naive``: the job done the way most scripts do it: ``nlp(text)`` per document and the
  transformer called once per sentence (no batching, no cross-document cache);
- ``limit``: only the encoder, on the corpus's unique sentences, in ideal length-sorted batches,
  as the model comes: PyTorch float32 (the reference cost of encoding, whatever runtime we ship);
- ``limit-runtime``: the configured encoder runtime alone (by default ONNX int8, one sentence at
  a time) on the same unique sentences: what encoding costs the job itself;
- ``limit-all``: the same encoder on every sentence occurrence (repeats included): what encoding
  alone costs a job without a sentence cache;
- ``batch-1``, ``batch-2``: ``lipservice batch`` with 1 and 2 worker processes;
- ``batch-1-unbounded``: ``batch-1`` with no character bound on a spaCy batch
  (``lipservice.batch_chars``), as before the bound: what the bound saves on long documents;
- ``dask-2``: the Dask engine on a LocalCluster of 2 workers;
- ``batch-half``: ``batch-1`` on the first half of the corpus (for the 2N-vs-N scaling).

Times are wall-clock seconds of the job, model loading included, except for the encoder
limits, which are timed after their model is loaded (the ideal they stand for); their
``load_seconds`` is the loading the clock left out.
"""
from __future__ import annotations

import json
import logging
import math
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from thinc.api import Config

from .encoder import SentenceEncoder, make_encoder_v2

log = logging.getLogger(__name__)

CONTENDERS = ("naive", "limit", "limit-runtime", "limit-all", "batch-1", "batch-1-unbounded", "batch-2", "dask-2",
              "batch-half")
#: What ``lipservice bench`` runs without ``--only``: the reference without the bound is asked for by name.
DEFAULT_CONTENDERS = tuple(c for c in CONTENDERS if c != "batch-1-unbounded")
UNBOUNDED_CHARS = 10**12
BOILERPLATE = [
    "We use cookies to improve your experience on our site.",
    "By continuing to browse, you agree to our use of cookies.",
    "Accept all cookies",
    "Sign up for our newsletter and get 10% off your first order.",
    "All rights reserved.",
    "Terms and conditions apply.",
    "Follow us on social media.",
    "Skip to main content",
    "Was this review helpful?",
    "Share this page",
    "Prices include VAT unless stated otherwise.",
    "Back to top",
]


def _project_sentences(corpora: Path) -> list[str]:
    out = []
    for path in sorted(corpora.glob("*/*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                doc = json.loads(line)
                out += [s["text"] for s in doc.get("sentences", []) if s.get("text")]
    return out


def _real_texts(data: Path, limit: int = 5000) -> list[str]:
    """Real text from ../shared/data when it is there: tweets, complaint narratives, company summaries."""
    import csv

    csv.field_size_limit(2**31 - 1)
    sources = [("twcs-customer-support/twcs_sample_first5000.csv", "text"),
               ("cfpb-complaints/complaints_sample.csv", "Consumer complaint narrative"),
               ("company-mission-descriptions/sp500_companies_business_summaries.csv", "Longbusinesssummary")]
    texts = []
    for rel, column in sources:
        path = data / rel
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            for n, row in enumerate(csv.DictReader(fh)):
                if n >= limit:
                    break
                text = (row.get(column) or "").strip()
                if text:
                    texts.append(text)
    return texts


STYLES = ("pages", "reviews", "long")
LONG_CHARS = (20_000, 400_000)


def build_corpus(path: Path, n_docs: int, seed: int, corpora: Path, data: Path | None,
                 style: str = "pages") -> dict[str, int]:
    """A JSONL corpus of project sentences and real texts.

    ``pages``: scraped-like, boilerplate repeated, mixed lengths (a few to a hundred sentences).
    ``reviews``: short texts of one to three sentences, as review and social-media corpora are.
    ``long``: terms-and-conditions-like documents of 20,000 to 400,000 characters (log-uniform),
    paragraphs of project sentences: what the character bound on a spaCy batch is for.
    """
    rng = random.Random(seed)
    sentences = _project_sentences(corpora)
    real = _real_texts(data) if data is not None and data.is_dir() else []
    short_real = [t for t in real if len(t) < 400]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n_docs):
            if style == "reviews":
                if short_real and rng.random() < 0.3:
                    body = rng.choice(short_real)
                else:
                    body = " ".join(rng.choice(sentences) for _ in range(rng.randint(1, 3)))
                fh.write(json.dumps({"id": f"bench-{i}", "text": body}, ensure_ascii=False) + "\n")
                continue
            if style == "long":
                target = math.exp(rng.uniform(math.log(LONG_CHARS[0]), math.log(LONG_CHARS[1])))
                paragraphs, size = [], 0
                while size < target:
                    paragraphs.append(" ".join(rng.choice(sentences) for _ in range(rng.randint(2, 6))))
                    size += len(paragraphs[-1]) + 2
                fh.write(json.dumps({"id": f"bench-{i}", "text": "\n\n".join(paragraphs)}, ensure_ascii=False) + "\n")
                continue
            if real and rng.random() < 0.3:
                body = rng.choice(real)
            else:
                n = max(1, min(120, int(rng.lognormvariate(1.8, 0.8))))
                picked = [rng.choice(sentences) for _ in range(n)]
                paragraphs, k = [], 0
                while k < len(picked):
                    step = rng.randint(1, 4)
                    paragraphs.append(" ".join(picked[k:k + step]))
                    k += step
                body = "\n\n".join(paragraphs)
            if rng.random() < 0.6:  # scraped pages carry the same banners and footers
                head = rng.sample(BOILERPLATE[:4], rng.randint(1, 2))
                foot = rng.sample(BOILERPLATE[4:], rng.randint(1, 3))
                body = "\n\n".join([" ".join(head), body, " ".join(foot)])
            fh.write(json.dumps({"id": f"bench-{i}", "text": body}, ensure_ascii=False) + "\n")
    return {"docs": n_docs, "project_sentences": len(sentences), "real_texts": len(real)}


class NaiveEncoder(SentenceEncoder):
    """The transformer called once per sentence, unpadded, as a simple script does.

    A memo of the last few sentences stops the three components from encoding the same
    sentence three times; it is too small to help across documents.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self._load()
        out = []
        for text in texts:
            if text not in self._recent:
                with torch.inference_mode():
                    batch = self._tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="pt")
                    hidden = self._model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    vec = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), p=2, dim=1)
                self._recent[text] = vec[0].numpy()
                while len(self._recent) > 64:
                    self._recent.popitem(last=False)
            out.append(self._recent[text])
        return np.stack(out) if out else np.zeros((0, self.dim), dtype=np.float32)


def _swap_encoder(nlp: Any, encoder: SentenceEncoder) -> None:
    for _, pipe in nlp.pipeline:
        if hasattr(pipe, "encoder"):
            pipe.encoder = encoder
        themes = getattr(pipe, "themes", None)
        if themes is not None and hasattr(themes, "encoder"):
            themes.encoder = encoder


def _job(name: str, corpus: Path, workdir: Path, config: Config, n_docs: int) -> dict[str, Any]:
    """One contender's work (run inside its own process)."""
    from .annotate import record_dict
    from .records import Record

    start = time.perf_counter()
    if name == "naive":
        from .pipeline import build_nlp

        nlp = build_nlp(config)
        enc = config["components"]["perspective"]["encoder"]
        _swap_encoder(nlp, NaiveEncoder(enc["model"], max_length=int(enc["max_length"])))
        docs = sentences = 0
        with corpus.open(encoding="utf-8") as fh:
            for line in fh:
                if docs >= n_docs:
                    break
                rec = json.loads(line)
                result = record_dict(Record(rec["id"], rec["text"]), [(0, nlp(rec["text"]))])
                docs += 1
                sentences += len(result["sentences"])
        return {"docs": docs, "sentences": sentences, "seconds": time.perf_counter() - start}
    if name in ("limit", "limit-all", "limit-runtime"):
        sentences = json.loads((workdir / f"{'all' if name == 'limit-all' else 'unique'}_sentences.json").read_text())
        enc = config["components"]["perspective"]["encoder"]
        runtime = enc.get("runtime", "torch") if name == "limit-runtime" else "torch"
        encoder = make_encoder_v2(enc["model"], runtime, batch_size=int(enc["batch_size"]),
                                  max_length=int(enc["max_length"]), cache_size=0)
        encoder._encode_uncached(["warm up"])  # the ideal: model loaded before the clock starts
        loaded = time.perf_counter()
        encoder._encode_uncached(sentences)
        # what the clock left out, so a reader can put the limit on the batch contenders' footing
        return {"docs": n_docs, "sentences": None, "seconds": time.perf_counter() - loaded,
                "load_seconds": round(loaded - start, 2)}
    from .batch import BatchOptions, run_batch

    if name == "batch-1-unbounded":
        config = config.copy()
        config["lipservice"]["batch_chars"] = UNBOUNDED_CHARS
    workers = 2 if name.endswith("-2") else 1
    engine = "dask" if name.startswith("dask") else "local"
    out = workdir / f"out-{name}"
    manifest = run_batch([str(corpus)], config, BatchOptions(output=out, workers=workers, engine=engine,
                                                             live_progress=False))
    counts = manifest["counts"]
    return {"docs": counts["annotated"], "sentences": counts["sentences"], "seconds": time.perf_counter() - start,
            "rejected": counts["rejected"]}


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(name: str, corpus: Path, workdir: Path, config_path: Path, n_docs: int) -> dict[str, Any]:
    """Run one contender in a fresh process; sample the RSS of its whole process tree."""
    import psutil

    cmd = [sys.executable, "-m", "nlp.bench", name, str(corpus), str(workdir), str(config_path), str(n_docs)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            try:
                peak = max(peak, _tree_rss(proc))
            except psutil.Error:
                pass
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    stop.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"bench contender {name} failed:\n{stderr[-2000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(peak / 2**20, 1)
    result["docs_per_s"] = round(result["docs"] / result["seconds"], 2)
    if result.get("sentences") is not None:
        result["sentences_per_s"] = round(result["sentences"] / result["seconds"], 1)
    result["seconds"] = round(result["seconds"], 2)
    return result


def _sentences(out_dir: Path) -> list[str]:
    """Every sentence occurrence of a batch output, in order."""
    from .shards import read_shards

    return [s["text"] for rec in read_shards(out_dir) for s in rec["sentences"]]


def run_bench(config: Config, n_docs: int, contenders: Sequence[str], seed: int, naive_docs: int,
              data: Path | None, corpora: Path, on_result: Any = None, style: str = "pages") -> dict[str, Any]:
    """Build the corpus, run the contenders, and compute the ratios the issue asks for."""
    with tempfile.TemporaryDirectory(prefix="lipservice-bench-") as tmp:
        work = Path(tmp)
        corpus, half = work / "corpus.jsonl", work / "half.jsonl"
        info = build_corpus(corpus, n_docs, seed, corpora, data, style)
        info["style"] = style
        lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
        half.write_text("".join(lines[:n_docs // 2]), encoding="utf-8")
        config_path = work / "config.cfg"
        config.to_disk(config_path)
        results: dict[str, Any] = {}
        order = [c for c in ("batch-1", "batch-1-unbounded", "limit", "limit-runtime", "limit-all", "naive", "batch-2",
                             "dask-2", "batch-half") if c in contenders]
        if {"limit", "limit-runtime", "limit-all"} & set(order) and "batch-1" not in order:
            order.insert(0, "batch-1")  # the limits encode the sentences batch-1 found
        for name in order:
            target = half if name == "batch-half" else corpus
            docs = n_docs // 2 if name == "batch-half" else (min(n_docs, naive_docs) if name == "naive" else n_docs)
            results[name] = measure(name, target, work, config_path, docs)
            if name == "batch-1":
                every = _sentences(work / "out-batch-1")
                unique = list(dict.fromkeys(every))
                (work / "all_sentences.json").write_text(json.dumps(every))
                (work / "unique_sentences.json").write_text(json.dumps(unique))
                info["sentences"] = results[name]["sentences"]
                info["unique_sentences"] = len(unique)
            if on_result:
                on_result(name, results[name])
    return summarise(info, results)


def summarise(info: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The headline figures: lipservice's best engine against the naive peer and the encoder limit."""
    ours = {k: v for k, v in results.items() if k in ("batch-1", "batch-2", "dask-2")}
    best = max(ours, key=lambda k: ours[k]["docs_per_s"]) if ours else None
    out: dict[str, Any] = {"corpus": info, "contenders": results, "best": best}
    if best and "naive" in results:
        out["ratio_vs_naive"] = round(ours[best]["docs_per_s"] / results["naive"]["docs_per_s"], 2)
    if best and "limit" in results:
        out["ratio_vs_limit"] = round(ours[best]["docs_per_s"] / results["limit"]["docs_per_s"], 2)
        out["ratio_vs_limit_1_worker"] = (round(results["batch-1"]["docs_per_s"] / results["limit"]["docs_per_s"], 2)
                                          if "batch-1" in results else None)
    if best and "limit-runtime" in results:
        out["ratio_vs_limit_runtime"] = round(ours[best]["docs_per_s"] / results["limit-runtime"]["docs_per_s"], 2)
    if best and "limit-all" in results:
        out["ratio_vs_limit_all"] = round(ours[best]["docs_per_s"] / results["limit-all"]["docs_per_s"], 2)
    if ours:
        out["peak_rss_mb"] = max(v["peak_rss_mb"] for v in ours.values())
    if "batch-1-unbounded" in results and "batch-1" in results:  # what the bound on a spaCy batch buys
        bounded, unbounded = results["batch-1"], results["batch-1-unbounded"]
        out["batch_chars_memory_ratio"] = round(bounded["peak_rss_mb"] / unbounded["peak_rss_mb"], 2)
        out["batch_chars_speed_ratio"] = round(bounded["docs_per_s"] / unbounded["docs_per_s"], 2)
    if "batch-half" in results and "batch-1" in results:
        out["scaling_2n_over_n"] = round(results["batch-1"]["seconds"] / results["batch-half"]["seconds"], 2)
    out["docs_per_s"] = {k: v["docs_per_s"] for k, v in results.items()}
    return out


def _main(argv: list[str]) -> None:
    """``python -m nlp.bench NAME CORPUS WORKDIR CONFIG N``: one contender; prints its result as JSON."""
    name, corpus, workdir, config_path, n_docs = argv
    logging.getLogger("transformers").setLevel(logging.ERROR)
    config = Config().from_disk(config_path)
    result = _job(name, Path(corpus), Path(workdir), config, int(n_docs))
    print(json.dumps(result))


if __name__ == "__main__":
    _main(sys.argv[1:])
