"""nlp/tuned.py: the fine-tuned sentence classifier, trained for real on a tiny fixture."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from nlp.heads import load_head, save_head
from nlp.tuned import FROZEN, HEAD_BIAS, TunedSentenceClassifier, is_frozen, state_frozen_layers, state_layers

COMPLAINTS = ["The parcel never arrived and nobody answers the phone.", "Still waiting for my refund after 3 weeks.",
              "They charged me twice and will not fix it.", "The app logs me out every single day."]
OTHERS = ["The driver was friendly and the food arrived hot.", "Do you deliver on Sundays?",
          "Lovely room with a view of the sea.", "I ordered a blue jacket for my son."]
TEXTS = COMPLAINTS + OTHERS
LABELS = [True] * 4 + [False] * 4


@pytest.fixture(scope="module")
def tuned():
    return TunedSentenceClassifier(epochs=2, batch_size=4, max_length=32, random_state=3).fit(TEXTS, LABELS)


def test_init_only_stores_parameters_and_clones():
    model = TunedSentenceClassifier(epochs=5, learning_rate=1e-4, random_state=7)
    assert model.get_params()["epochs"] == 5 and model.get_params()["random_state"] == 7
    assert not hasattr(model, "state_") and clone(model).get_params() == model.get_params()


def test_fit_returns_self_with_learned_attributes(tuned):
    assert list(tuned.classes_) == [False, True]
    assert all(v.dtype == np.float16 for v in tuned.state_.values())
    assert state_layers(tuned.state_) == 6  # every layer by default
    assert not set(FROZEN) & set(tuned.state_)  # the installed encoder's word embeddings are not stored
    assert tuned.state_[HEAD_BIAS].shape == (2,)


def test_probabilities_are_rows_over_the_classes(tuned):
    p = tuned.predict_proba(TEXTS)
    assert p.shape == (8, 2) and np.allclose(p.sum(1), 1.0, atol=1e-5)
    assert tuned.predict(TEXTS).dtype == bool


def twin(fitted: TunedSentenceClassifier) -> TunedSentenceClassifier:
    """The same weights with a cold cache and a model of its own."""
    out = TunedSentenceClassifier(**fitted.get_params())
    out.classes_, out.state_ = fitted.classes_, fitted.state_
    return out


def test_a_text_scores_the_same_alone_and_in_a_batch(tuned):
    together = twin(tuned).predict_proba(TEXTS + ["a much longer sentence " * 5])[:1]
    assert np.array_equal(twin(tuned).predict_proba(TEXTS[:1]), together)


def test_the_same_seed_trains_the_same_weights(tuned):
    again = TunedSentenceClassifier(epochs=2, batch_size=4, max_length=32, random_state=3).fit(TEXTS, LABELS)
    assert all(np.array_equal(again.state_[k], v) for k, v in tuned.state_.items())


def test_fitting_leaves_the_callers_torch_generator_as_it_was_and_none_is_not_a_fixed_seed(tuned):
    """fit reseeded the caller's global torch generator, and random_state=None trained as 0 every time."""
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    TunedSentenceClassifier(epochs=1, batch_size=4, max_length=16, layers=1, random_state=5).fit(TEXTS, LABELS)
    assert torch.equal(torch.rand(3), expected)
    np.random.seed(0)
    first = TunedSentenceClassifier(epochs=1, batch_size=4, max_length=16, layers=1, random_state=None).fit(TEXTS,
                                                                                                          LABELS)
    second = TunedSentenceClassifier(epochs=1, batch_size=4, max_length=16, layers=1, random_state=None).fit(TEXTS,
                                                                                                           LABELS)
    assert not np.array_equal(first.state_[HEAD_BIAS], second.state_[HEAD_BIAS])


def test_skops_round_trip_scores_identically(tuned, tmp_path):
    save_head(tuned, tmp_path / "tuned.skops")
    loaded = load_head(tmp_path / "tuned.skops")
    assert isinstance(loaded, TunedSentenceClassifier) and loaded.get_params() == tuned.get_params()
    assert np.array_equal(loaded.predict_proba(TEXTS), tuned.predict_proba(TEXTS))


def test_one_class_and_unfitted_use_are_clear_errors():
    with pytest.raises(ValueError, match="two classes"):
        TunedSentenceClassifier(epochs=1).fit(TEXTS[:2], [True, True])
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        TunedSentenceClassifier(epochs=1).fit(TEXTS[:2], [True])
    with pytest.raises(NotFittedError):
        TunedSentenceClassifier().predict_proba(TEXTS)


def test_onnx_runtimes_agree_with_pytorch(tuned):
    reference = twin(tuned).predict_proba(TEXTS)
    fp32 = twin(tuned).set_runtime("onnx").predict_proba(TEXTS)
    np.testing.assert_allclose(fp32, reference, atol=1e-4)
    int8 = twin(tuned).set_runtime("onnx-int8").predict_proba(TEXTS)
    assert int8.shape == (8, 2) and np.allclose(int8.sum(1), 1.0, atol=1e-5)
    assert np.abs(int8 - reference).max() < 0.1


def test_the_runtime_is_a_setting_not_saved_with_the_model(tuned, tmp_path):
    onnx = twin(tuned).set_runtime("onnx-int8")
    save_head(onnx, tmp_path / "tuned.skops")
    loaded = load_head(tmp_path / "tuned.skops")
    assert np.array_equal(loaded.predict_proba(TEXTS), twin(tuned).predict_proba(TEXTS))  # PyTorch again
    with pytest.raises(ValueError, match="allowed"):
        twin(tuned).set_runtime("tpu")


def test_a_second_opinion_on_fewer_layers_stores_runs_and_exports_only_those(tmp_path):
    short = TunedSentenceClassifier(epochs=1, batch_size=4, max_length=32, layers=2, random_state=3).fit(TEXTS, LABELS)
    assert state_layers(short.state_) == 2 and not any(k.startswith("encoder.layer.2.") for k in short.state_)
    save_head(short, tmp_path / "short.skops")
    loaded = load_head(tmp_path / "short.skops")
    reference = loaded.predict_proba(TEXTS)
    assert reference.shape == (8, 2) and np.array_equal(reference, twin(short).predict_proba(TEXTS))
    np.testing.assert_allclose(twin(short).set_runtime("onnx").predict_proba(TEXTS), reference, atol=1e-4)


def test_layers_below_one_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 1"):
        TunedSentenceClassifier(epochs=1, layers=0).fit(TEXTS, LABELS)


def test_a_frozen_bottom_is_not_stored_and_its_hidden_states_are_shared_on_onnx():
    from nlp.onnx_encoder import OnnxSentenceEncoder

    top = TunedSentenceClassifier(epochs=1, batch_size=4, max_length=32, frozen_layers=4, random_state=3).fit(
        TEXTS, LABELS)
    assert state_frozen_layers(top.state_) == 4 and not any(k.startswith("embeddings.") for k in top.state_)
    reference = top.predict_proba(TEXTS)  # PyTorch: the installed bottom, then the tuned top
    for quantize, runtime, tolerance in [("none", "onnx", 1e-4), ("int8", "onnx-int8", 0.1)]:
        encoder = OnnxSentenceEncoder(quantize=quantize)
        shared = twin(top).set_runtime(runtime, shared=encoder)
        encoder.encode(TEXTS)  # the component's encoder runs first and keeps the hidden states
        scores = shared.predict_proba(TEXTS)
        assert shared._runtime().bottom is encoder and 4 in encoder._taps
        np.testing.assert_allclose(scores, reference, atol=tolerance)
        np.testing.assert_allclose(twin(top).set_runtime(runtime).predict_proba(TEXTS), scores, atol=1e-6)


def test_frozen_layers_must_leave_a_layer_to_tune():
    with pytest.raises(ValueError, match="frozen_layers is 6"):
        TunedSentenceClassifier(epochs=1, frozen_layers=6).fit(TEXTS, LABELS)


def test_with_a_frozen_bottom_only_the_tuned_layers_leave_the_installed_weights():
    """Weights outside the layers (MPNet's relative position bias, used by every layer) stay the
    installed ones when the bottom is frozen, so the bottom a second opinion learned on is the one
    its component's encoder runs; with nothing frozen, everything but the word embeddings is tuned."""
    assert is_frozen("encoder.relative_attention_bias.weight", 4) and is_frozen("embeddings.LayerNorm.weight", 4)
    assert is_frozen("encoder.layer.3.output.dense.weight", 4) and is_frozen("pooler.dense.weight", 4)
    assert not is_frozen("encoder.layer.4.output.dense.weight", 4)
    assert not is_frozen("encoder.relative_attention_bias.weight", 0)
    assert is_frozen("embeddings.word_embeddings.weight", 0)


@pytest.mark.parametrize("runtime", ["torch", "onnx-int8"])
def test_a_pickled_second_opinion_keeps_its_runtime_and_scores_the_same(tuned, runtime):
    """Pickling (a spawned nlp.pipe worker) keeps the runtime setting, which a saved model leaves out: the
    copy scores on the same runtime, not silently on PyTorch, with no loaded model or ONNX session shipped."""
    import pickle

    used = twin(tuned).set_runtime(runtime)
    scores = used.predict_proba(TEXTS)
    copy = pickle.loads(pickle.dumps(used))
    assert getattr(copy, "_scorer", None) is None
    assert copy._runtime().runtime == runtime
    assert np.array_equal(copy.predict_proba(TEXTS), scores)
