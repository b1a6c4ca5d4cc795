"""PerspectiveHead follows scikit-learn's rules; head files load safely with skops."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import skops.io as sio
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from nlp.errors import ModelMissingError
from nlp.heads import PERSPECTIVE_LABELS, PerspectiveHead, load_head

N_EMB, N_GRAMMAR, N_LEX = 6, 3, 5


@pytest.fixture(scope="module")
def data():
    """Three separable-ish clusters laid out like the real design matrix:
    N_EMB 'embedding' columns, N_GRAMMAR 'parse feature' columns, N_LEX lexical count columns."""
    rng = np.random.default_rng(42)
    cls = np.arange(90) % 3
    y = np.array(PERSPECTIVE_LABELS)[cls]
    emb = rng.normal(size=(90, N_EMB))
    emb[:, 0] += cls * 2.0
    grammar = rng.normal(size=(90, N_GRAMMAR))
    grammar[:, -1] += (cls == 1) * 1.5
    lexical = rng.poisson(0.5, size=(90, N_LEX)).astype(float)
    lexical[:, 0] += (cls == 2) * 2
    return np.hstack([emb, grammar, lexical]), y


PARAMS = dict(n_embedding=N_EMB, n_grammar=N_GRAMMAR, grammar_weight=0.5, lexical_weight=1.0, C=2.0,
              class_weight=None, max_iter=500, random_state=7)


def test_get_params_returns_constructor_args():
    head = PerspectiveHead(**PARAMS)
    assert head.get_params() == PARAMS
    signature = set(inspect.signature(PerspectiveHead.__init__).parameters) - {"self"}
    assert set(PerspectiveHead().get_params()) == signature


def test_clone_copies_params_not_state(data):
    X, y = data
    head = PerspectiveHead(**PARAMS).fit(X, y)
    copy = clone(head)
    assert copy.get_params() == head.get_params()
    assert not hasattr(copy, "clf_")
    assert not hasattr(copy, "classes_")


def test_fit_returns_self_and_learned_attributes_end_in_underscore(data):
    X, y = data
    head = PerspectiveHead(**PARAMS)
    before = set(vars(head))
    assert before == set(PARAMS)  # __init__ stores parameters and nothing else
    assert head.fit(X, y) is head
    learned = set(vars(head)) - before
    assert learned, "fit should learn something"
    assert all(name.endswith("_") and not name.startswith("_") for name in learned), learned
    assert head.get_params() == PARAMS  # fit does not change parameters
    assert list(head.classes_) == sorted(PERSPECTIVE_LABELS)
    assert head.n_features_in_ == X.shape[1]


def test_same_random_state_gives_same_predictions(data):
    X, y = data
    a = PerspectiveHead(**PARAMS).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.parametrize("layout", [
    {},  # embedding + grammar + lexical
    {"n_embedding": N_EMB + N_GRAMMAR + N_LEX - 1, "n_grammar": 1},  # no lexical block
], ids=["three-blocks", "no-lexical"])
def test_predict_proba_rows_sum_to_one_and_match_predict(data, layout):
    X, y = data
    head = PerspectiveHead(**{**PARAMS, **layout}).fit(X, y)
    proba = head.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert (proba >= 0).all() and (proba <= 1).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(head.predict(X), head.classes_[proba.argmax(axis=1)])
    assert head.score(X, y) > 0.6  # it learns the clusters


def test_sparse_and_dense_input_give_the_same_result(data):
    X, y = data
    dense = PerspectiveHead(**PARAMS).fit(X, y)
    sparse_fit = PerspectiveHead(**PARAMS).fit(sparse.csr_matrix(X), y)
    np.testing.assert_allclose(dense.predict_proba(sparse.csr_matrix(X)), sparse_fit.predict_proba(X), atol=1e-9)


def test_pipeline_outside_trusted_types_is_refused(data, tmp_path):
    X, y = data
    path = tmp_path / "pipeline.skops"
    sio.dump(make_pipeline(LogisticRegression(max_iter=200)).fit(X, y), path)
    with pytest.raises(ModelMissingError):
        load_head(path)
