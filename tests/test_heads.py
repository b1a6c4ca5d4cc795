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


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # pandas and array-API checks: not here
@pytest.mark.parametrize("params", [dict(n_embedding=10_000), dict(n_embedding=2, n_grammar=10_000)],
                         ids=["embedding-only", "embedding-and-grammar"])
def test_the_head_passes_scikit_learns_estimator_checks(params):
    """Every check of scikit-learn's estimator contract. The lexical block is TF-IDF over counts, which the
    checks' negative data is not, so the layouts keep every column in the embedding and grammar blocks."""
    from sklearn.utils.estimator_checks import check_estimator
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # tiny problems: BLAS threads only spin (minutes instead of a second)
        results = check_estimator(PerspectiveHead(max_iter=200, **params), on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert not failed
    assert len([r for r in results if r["status"] == "passed"]) > 40


def test_lists_are_accepted_like_arrays():
    rows, y = [[.1, .2, .3], [.3, .2, .1], [.2, .2, .2], [.3, .1, .1]], ["a", "b", "a", "b"]
    from_list = PerspectiveHead(n_embedding=3).fit(rows, y)
    from_array = PerspectiveHead(n_embedding=3).fit(np.array(rows), y)
    np.testing.assert_array_equal(from_list.predict_proba(rows), from_array.predict_proba(np.array(rows)))
    assert from_list.predict([[.1, .2, .3]]).tolist() == from_array.predict(np.array([[.1, .2, .3]])).tolist()


def test_a_wrong_width_or_a_1d_row_is_refused_by_the_head(data):
    X, y = data
    head = PerspectiveHead(**PARAMS).fit(X, y)
    with pytest.raises(ValueError, match=f"X has {X.shape[1] - 1} features, but SentenceHead is expecting "
                                         f"{X.shape[1]} features"):
        head.predict(X[:, 1:])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        head.predict(X[0])


def test_fit_reports_iterations_and_honours_random_state(data):
    X, y = data
    head = PerspectiveHead(**PARAMS).fit(X, y)
    assert head.n_iter_.shape == (1,) and 1 <= head.n_iter_[0] <= PARAMS["max_iter"]
    assert head.clf_.random_state == PARAMS["random_state"]


def test_a_fitted_head_saves_and_loads_with_the_trusted_types_only(data, tmp_path):
    """What a head fitted now holds (n_iter_ among it) stays inside TRUSTED_TYPES, and loads back the same."""
    from nlp.heads import save_head

    X, y = data
    head = PerspectiveHead(**PARAMS).fit(sparse.csr_matrix(X), y)
    save_head(head, tmp_path / "head.skops")
    loaded = load_head(tmp_path / "head.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), head.predict_proba(X))
    np.testing.assert_array_equal(loaded.n_iter_, head.n_iter_)
    assert loaded.n_features_in_ == X.shape[1] and loaded.get_params() == head.get_params()


def _old_probabilities(head, X) -> np.ndarray:
    """What a head computed before it validated its input: the blocks, transformed and weighted, by hand."""
    X = sparse.csr_matrix(X, dtype=np.float64)
    e, g = head.n_embedding, head.n_embedding + head.n_grammar
    parts = [X[:, :e]]
    if head.scaler_ is not None:
        parts.append(sparse.csr_matrix(head.scaler_.transform(X[:, e:g].toarray()) * head.grammar_weight))
    if X.shape[1] > g:
        parts.append(head.tfidf_.transform(X[:, g:]) * head.lexical_weight)
    return head.clf_.predict_proba(sparse.hstack(parts).tocsr())


@pytest.mark.parametrize("name", ["perspective", "promises", "claims", "complaints", "themes"])
def test_the_shipped_heads_load_and_predict_as_before(name):
    """models/*.skops were saved before n_iter_ and input validation: they load, predict exactly as the
    hand-computed pipeline of their parts does, and report n_iter_."""
    from pathlib import Path

    head = load_head(Path(__file__).parent.parent / "models" / f"{name}.skops")
    rng = np.random.default_rng(5)
    rest = sparse.random(4, head.n_features_in_ - head.n_embedding, density=0.01, format="csr", random_state=5)
    X = sparse.hstack([rng.normal(size=(4, head.n_embedding)) / 20, rest * 3]).tocsr()  # counts stay >= 0
    np.testing.assert_array_equal(head.predict_proba(X), _old_probabilities(head, X))
    assert head.predict(X).tolist() == head.classes_[_old_probabilities(head, X).argmax(1)].tolist()
    np.testing.assert_array_equal(head.n_iter_, head.clf_.n_iter_)


@pytest.mark.parametrize("params", [dict(n_embedding=-1), dict(n_embedding=2, n_grammar=-3), dict(n_embedding=2.5),
                                    dict(n_grammar=True)])
def test_block_widths_that_are_no_whole_numbers_are_refused_at_fit(params):
    """A negative width gave "Input contains NaN" and a RuntimeWarning from deep inside."""
    with pytest.raises(ValueError, match="must be whole numbers >= 0"):
        PerspectiveHead(**params).fit([[.1, .2, .3], [.3, .2, .1]], ["a", "b"])


def test_an_install_without_its_checkout_says_so_when_the_heads_are_missing(tmp_path, monkeypatch):
    """A wheel carries nlp/ alone: nlp.load() said to build the heads with `lipservice train`, which needs the
    checkout's corpora/ too."""
    import nlp.component as component

    monkeypatch.setattr(component, "PROJECT_ROOT", tmp_path)  # site-packages: no pyproject.toml, no models/
    with pytest.raises(ModelMissingError, match=r"installed without its checkout .* `make demo` \(or `pip install -e"):
        load_head(tmp_path / "models" / "perspective.skops")
    with pytest.raises(ModelMissingError, match="Build it with `lipservice train`"):  # a path of the user's own
        load_head(tmp_path / "mine" / "perspective.skops")
