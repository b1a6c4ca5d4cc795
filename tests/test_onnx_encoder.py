"""nlp/onnx_encoder.py: the packaged encoder exported to ONNX, run by ONNX Runtime (real weights)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import doc_before
from spacy.util import registry

from nlp import onnx_encoder
from nlp.encoder import DEFAULT_ENCODER, SentenceEncoder, make_encoder_v2
from nlp.errors import E_BAD_SETTING, E_OUTPUT, ConfigError, UsageError
from nlp.onnx_encoder import OnnxSentenceEncoder, cache_dir, exported_model

TEXTS = [
    "Hi.",
    "We are the leading provider of award-winning payment solutions in Europe.",
    "You get your money back within 48 hours, no questions asked.",
    "Terms apply.",
    "A much longer sentence that goes on and on about delivery times, refunds and the weather in Leeds.",
]


@pytest.fixture(scope="module")
def reference():
    """PyTorch float32 vectors: what the ONNX runtimes must agree with."""
    return SentenceEncoder(DEFAULT_ENCODER, cache_size=0).encode(TEXTS)


@pytest.fixture(scope="module")
def int8():
    return OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, quantize="int8")


def test_the_pipeline_encoder_is_onnx_int8_by_default(encoder):
    assert isinstance(encoder, OnnxSentenceEncoder) and encoder.runtime == "onnx-int8"
    assert encoder.dim == 384


def test_float32_export_matches_pytorch(reference):
    vecs = OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, quantize="none").encode(TEXTS)
    np.testing.assert_allclose(vecs, reference, atol=1e-4)


def test_int8_vectors_stay_close_to_float32(int8, reference):
    vecs = int8.encode(TEXTS)
    assert vecs.shape == (5, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    cosine = (vecs * reference).sum(1)
    assert cosine.min() > 0.93 and cosine.mean() > 0.97  # measured on bench text: mean 0.990, min 0.96


def test_a_sentence_gets_the_same_vector_whatever_its_companions(int8):
    """Dynamic quantisation scales activations per input tensor; one sentence per run keeps
    a vector independent of the batch, so outputs do not change with worker counts."""
    together = int8.encode(TEXTS)
    alone = np.stack([int8.encode([t])[0] for t in TEXTS[::-1]])[::-1]
    assert np.array_equal(together, alone)


def test_the_export_is_cached_by_content(int8, tmp_path, monkeypatch):
    int8.encode(["warm"])
    path = exported_model(int8.model_dir, None, "int8")
    assert path.parent == cache_dir() / "onnx" and path.is_file()
    assert exported_model(int8.model_dir, None, "int8") == path  # found again, not re-exported
    assert exported_model(int8.model_dir, None, "none") != path
    monkeypatch.setenv("LIPSERVICE_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"


def test_an_unwritable_cache_is_a_clear_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIPSERVICE_CACHE_DIR", str(blocker / "cache"))
    with pytest.raises(UsageError) as info:
        OnnxSentenceEncoder(DEFAULT_ENCODER, quantize="none").encode(["x"])
    assert info.value.code == E_OUTPUT and "LIPSERVICE_CACHE_DIR" in str(info.value)


def test_a_forked_child_rebuilds_only_multithreaded_sessions(int8):
    int8.encode(["loaded"])
    pooled = OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, num_threads=2)
    pooled.encode(["loaded"])
    onnx_encoder._forget_sessions_in_child()
    assert int8._session is not None  # one thread, no pool: safe to use after a fork
    assert pooled._session is None
    assert pooled.encode(["after the fork"]).shape == (1, 384)


def test_encoder_v2_chooses_the_runtime_and_shares_instances(encoder, cfg):
    settings = dict(cfg["components"]["perspective"]["encoder"])
    assert settings["@misc"] == "lipservice.Encoder.v2" and settings["runtime"] == "onnx-int8"
    assert registry.resolve({"e": settings})["e"] is encoder
    torch_encoder = registry.resolve({"e": {**settings, "runtime": "torch"}})["e"]
    assert type(torch_encoder) is SentenceEncoder and torch_encoder.runtime == "torch"
    fp32 = make_encoder_v2(runtime="onnx")
    assert isinstance(fp32, OnnxSentenceEncoder) and fp32.quantize == "none" and fp32.runtime == "onnx"


@pytest.mark.parametrize("build", [lambda: make_encoder_v2(runtime="tpu"),
                                   lambda: OnnxSentenceEncoder(DEFAULT_ENCODER, quantize="int4")],
                         ids=["runtime", "quantize"])
def test_a_bad_runtime_is_a_config_error(build):
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.code == E_BAD_SETTING and "allowed" in str(info.value)


def test_tapped_hidden_states_are_the_ones_recomputed_later(monkeypatch):
    tapped = OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, quantize="int8")
    tapped.tap(4)
    tapped.encode(TEXTS)
    kept = tapped.hidden_states(TEXTS, 4)
    fresh = OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, quantize="int8").hidden_states(TEXTS, 4)
    assert all(np.array_equal(a, b) for a, b in zip(kept, fresh))
    assert [h.shape[1] for h in kept] == [384] * len(TEXTS) and kept[0].shape[0] < kept[-1].shape[0]
    monkeypatch.setattr(onnx_encoder, "HIDDEN_CACHE_BYTES", 1)  # the memory bound: only the newest stays
    tapped.encode(["A sentence never seen before."])
    assert len(tapped._hidden) == 1 and tapped._hidden_bytes == next(iter(tapped._hidden.values()))[4].nbytes


def test_hidden_states_of_more_sentences_than_the_cache_holds_are_all_returned(monkeypatch):
    """A second opinion asked about many sentences at once (a large evaluation file, a batch of long
    pages) gets every hidden state, even when computing the later ones evicts the earlier ones."""
    fresh = OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, quantize="int8").hidden_states(TEXTS, 4)
    small = OnnxSentenceEncoder(DEFAULT_ENCODER, cache_size=0, quantize="int8")
    small.hidden_states(TEXTS[:2], 4)  # some kept from before
    monkeypatch.setattr(onnx_encoder, "HIDDEN_CACHE_BYTES", 1)  # room for one sentence
    got = small.hidden_states(TEXTS, 4)
    assert all(np.array_equal(a, b) for a, b in zip(got, fresh)) and len(got) == len(TEXTS)
    assert len(small._hidden) == 1


@pytest.mark.parametrize("layer", [6, 0, "4", 2.0, [4]])
def test_only_inner_layers_can_be_tapped(int8, layer):
    with pytest.raises(ConfigError) as info:
        int8.hidden_states(["x"], layer)
    assert info.value.code == E_BAD_SETTING and f"layer {layer!r}" in str(info.value)
    assert "after 1 to 5 layers" in str(info.value)


def test_the_worker_tokenizer_gives_the_ids_of_transformers_autotokenizer():
    from transformers import AutoTokenizer

    from nlp.onnx_encoder import load_tokenizer

    model_dir = OnnxSentenceEncoder(DEFAULT_ENCODER).model_dir
    texts = TEXTS + ["", "naïve café — “quotes” 😀 \u200b\u00a0x", "word " * 400, "tabs\tand\r\nbreaks"]
    auto = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    for length in (16, 256):
        assert load_tokenizer(model_dir, length)(texts) == auto(texts, truncation=True, max_length=length)["input_ids"]


def test_tokenizer_without_tokenizer_json_falls_back_to_transformers(tmp_path):
    """A model directory with only the slow tokenizer files still tokenizes, with the same ids."""
    import shutil

    from nlp.onnx_encoder import load_tokenizer

    model_dir = Path(OnnxSentenceEncoder(DEFAULT_ENCODER).model_dir)
    for path in model_dir.iterdir():
        if path.is_file() and path.name != "tokenizer.json" and path.suffix in (".json", ".txt"):
            shutil.copy(path, tmp_path / path.name)
    assert not (tmp_path / "tokenizer.json").exists()
    texts = TEXTS + ["naïve café — “quotes”", "word " * 400]
    assert load_tokenizer(str(tmp_path), 32)(texts) == load_tokenizer(str(model_dir), 32)(texts)


@pytest.fixture(scope="module")
def mpnet_dir(tmp_path_factory) -> str:
    """A tiny, randomly initialised MPNet encoder with the packaged tokenizer: an architecture whose
    layers need more than the hidden states (a relative position bias), which the packaged MiniLM
    does not exercise. Its position bias is scaled up so that leaving it out shows."""
    import shutil

    import torch
    from transformers import MPNetConfig, MPNetModel

    from nlp.encoder import resolve_model_dir

    folder = tmp_path_factory.mktemp("mpnet")
    torch.manual_seed(0)
    model = MPNetModel(MPNetConfig(vocab_size=30527, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                                   intermediate_size=64))
    torch.nn.init.normal_(model.encoder.relative_attention_bias.weight, std=3.0)
    model.save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(Path(resolve_model_dir(DEFAULT_ENCODER)) / name, folder / name)
    return str(folder)


def _mpnet_second_opinion(mpnet_dir: str):
    from nlp.tuned import TunedSentenceClassifier

    labels = ["company", "company", "customer", "neutral", "customer"]
    return TunedSentenceClassifier(model=mpnet_dir, epochs=3, batch_size=2, max_length=32, learning_rate=1e-3,
                                   frozen_layers=1, random_state=3).fit(TEXTS, labels)


def _on_onnx(fitted, encoder):
    from nlp.tuned import TunedSentenceClassifier

    twin = TunedSentenceClassifier(**fitted.get_params())
    twin.classes_, twin.state_ = fitted.classes_, fitted.state_
    return twin.set_runtime("onnx", shared=encoder)


def test_an_mpnet_second_opinion_continues_from_shared_hidden_states_as_the_whole_model_scores(
        mpnet_dir, tmp_path, monkeypatch):
    """Encoders other than the packaged one can be configured: with MPNet, the top layers run alone
    on ONNX get its position bias, and score as the whole fine-tuned model does in PyTorch."""
    monkeypatch.setenv("LIPSERVICE_CACHE_DIR", str(tmp_path))
    fitted = _mpnet_second_opinion(mpnet_dir)
    assert "encoder.relative_attention_bias.weight" not in fitted.state_  # shared by the frozen bottom
    encoder = OnnxSentenceEncoder(mpnet_dir, cache_size=0, quantize="none")
    shared = _on_onnx(fitted, encoder)
    encoder.encode(TEXTS)
    assert shared._runtime().bottom is encoder
    np.testing.assert_allclose(shared.predict_proba(TEXTS), fitted.predict_proba(TEXTS), atol=1e-5)


def test_top_layers_that_would_score_differently_from_the_whole_model_are_refused(mpnet_dir, tmp_path, monkeypatch):
    """Weights that changed what the bottom computes (here the position bias, tuned as fits made
    before it was kept frozen did) cannot continue from the installed encoder's hidden states: a
    coded error with the fix, never silently different probabilities."""
    monkeypatch.setenv("LIPSERVICE_CACHE_DIR", str(tmp_path))
    fitted = _mpnet_second_opinion(mpnet_dir)
    from transformers import AutoModel

    bias = AutoModel.from_pretrained(mpnet_dir).encoder.relative_attention_bias.weight.detach().numpy()
    fitted.state_ = {**fitted.state_, "encoder.relative_attention_bias.weight": (-bias).astype(np.float16)}
    encoder = OnnxSentenceEncoder(mpnet_dir, cache_size=0, quantize="none")
    with pytest.raises(ConfigError) as info:
        _on_onnx(fitted, encoder).predict_proba(TEXTS)
    assert info.value.code == E_BAD_SETTING and "tune_frozen_layers = 0" in str(info.value)
    assert "mpnet" in str(info.value) and not list(tmp_path.glob("onnx/*.onnx"))  # the refused top is not kept


def test_a_pickled_onnx_encoder_gives_the_same_vectors_and_keeps_its_taps():
    """Without its session, tokenizer (lambdas) and caches, rebuilt on first use: what a spawned
    nlp.pipe worker receives. The layers a second opinion asked for stay tapped."""
    import pickle

    used = OnnxSentenceEncoder(DEFAULT_ENCODER, quantize="int8")
    used.tap(4)
    vectors = used.encode(TEXTS)
    copy = pickle.loads(pickle.dumps(used))
    assert copy._session is None and not copy._cache and not copy._hidden and copy._taps == {4}
    assert np.array_equal(copy.encode(TEXTS), vectors)
    assert len(copy._hidden) == len(TEXTS)  # tapped while encoding, as before pickling
    assert all(np.array_equal(a, b) for a, b in zip(copy.hidden_states(TEXTS, 4), used.hidden_states(TEXTS, 4)))


UNSURE = ["Thanks for the update. Prices may vary.", "Our team can help you get started."]


def test_every_component_of_a_used_pipeline_pickles_and_the_copy_predicts_the_same(nlp, encoder):
    """After use, each component (encoder, heads, the second opinion's ONNX scorer) pickles; the copy's
    second opinion still runs on its encoder's runtime, from that encoder's hidden states."""
    import pickle

    list(nlp.pipe(UNSURE))
    for name, proc in nlp.pipeline:
        pickle.dumps(proc)
    perspective = nlp.get_pipe("perspective")
    assert perspective.tuned._runtime().bottom is encoder
    copy = pickle.loads(pickle.dumps(perspective))
    docs = [doc_before(nlp, "perspective", text) for text in UNSURE]
    expected = perspective.predict(docs)
    assert min(p.max() for doc in expected for p in doc) < perspective.second_opinion_below  # the second opinion ran
    got = copy.predict(docs)
    assert all(np.array_equal(a, b) for a, b in zip(got, expected))
    scorer = copy.tuned._runtime()
    assert scorer.runtime == encoder.runtime and scorer.bottom is copy.encoder and copy.encoder is not encoder


SPAWN_SCRIPT = """
import json, multiprocessing, sys
import nlp

def view(doc):
    return [[s.text, s._.perspective_probs, s._.complaint_p, s._.promise is not None] for s in doc.sents]

if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    texts = json.loads(sys.argv[1])
    pipeline = nlp.load()
    one = [view(doc) for doc in pipeline.pipe(texts)]
    two = [view(doc) for doc in pipeline.pipe(texts, n_process=2)]
    print(json.dumps({"one": one, "two": two}))
"""


def test_nlp_pipe_with_spawned_workers_gives_what_one_process_gives(tmp_path):
    """Under the spawn start method (macOS, Windows, or set by the user), a pipeline already used once
    pickles into its workers, whose second opinions run on the same runtime: the same results."""
    import json
    import subprocess
    import sys

    script = tmp_path / "spawn_pipe.py"
    script.write_text(SPAWN_SCRIPT, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), json.dumps(UNSURE)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["two"] == result["one"] and len(result["one"]) == 2
