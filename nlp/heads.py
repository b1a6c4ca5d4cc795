"""The trainable heads: scikit-learn estimators over [sentence embedding | dense features | lexical].

They follow scikit-learn's rules (``__init__`` stores parameters, ``fit`` returns self,
learned attributes end in ``_``) and are saved with skops, so loading never runs code.
"""
from __future__ import annotations

import json
import numbers
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import E_BAD_HEAD, E_NO_HEAD, ModelMissingError

PERSPECTIVE_LABELS = ("company", "customer", "neutral")


class SentenceHead(ClassifierMixin, BaseEstimator):
    """Logistic regression over three blocks of columns of X (dense or sparse):

    the first ``n_embedding`` columns are the sentence embedding; the next ``n_grammar`` are
    parse features, standardised and scaled by ``grammar_weight``; the rest are lexical
    counts, TF-IDF weighted (sublinear) and scaled by ``lexical_weight``.
    """

    def __init__(self, n_embedding: int = 384, n_grammar: int = 0, grammar_weight: float = 0.3,
                 lexical_weight: float = 2.0, C: float = 16.0, class_weight: str | None = "balanced",
                 max_iter: int = 5000, random_state: int | None = 0):
        self.n_embedding = n_embedding
        self.n_grammar = n_grammar
        self.grammar_weight = grammar_weight
        self.lexical_weight = lexical_weight
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def __sklearn_tags__(self):
        """scikit-learn's tags: sparse input is accepted (the lexical block usually is sparse)."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def __setstate__(self, state: dict) -> None:
        """Heads saved before ``n_iter_`` existed (the shipped models/*.skops) get it from their classifier."""
        super().__setstate__(state)
        if "clf_" in state and "n_iter_" not in state:
            self.n_iter_ = self.clf_.n_iter_

    def _validate(self, X, reset: bool):
        """X as a float64 array or CSR matrix, its width checked against fit's (arrays, lists, sparse)."""
        return validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=reset)

    def _blocks(self, X):
        X = sparse.csr_matrix(X, dtype=np.float64)
        e, g = self.n_embedding, self.n_embedding + self.n_grammar
        return X[:, :e], X[:, e:g].toarray(), X[:, g:]

    def _transform(self, X):
        emb, grammar, lexical = self._blocks(X)
        parts = [emb]
        if self.scaler_ is not None:
            parts.append(sparse.csr_matrix(self.scaler_.transform(grammar) * self.grammar_weight))
        if lexical.shape[1]:
            parts.append(self.tfidf_.transform(lexical) * self.lexical_weight)
        return sparse.hstack(parts).tocsr()

    def fit(self, X, y) -> "SentenceHead":
        """Learn the grammar scaler, the lexical TF-IDF weights and the logistic regression."""
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64)  # sets n_features_in_
        blocks = {"n_embedding": self.n_embedding, "n_grammar": self.n_grammar}
        bad = [f"{k}={v!r}" for k, v in blocks.items() if isinstance(v, bool) or not isinstance(v, numbers.Integral)
               or v < 0]
        if bad:  # a negative width cut the blocks from the end: "Input contains NaN" from deep inside
            raise ValueError(f"{', '.join(bad)}: the widths of the embedding and parse-feature blocks must be whole "
                             "numbers >= 0 (a block wider than what is left of X takes the rest of it)")
        _, grammar, lexical = self._blocks(X)
        self.scaler_ = StandardScaler().fit(grammar) if grammar.shape[1] else None
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(lexical) if lexical.shape[1] else None
        self.clf_ = LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=self.max_iter,
                                       random_state=self.random_state)
        self.clf_.fit(self._transform(X), y)
        self.classes_ = self.clf_.classes_
        self.n_iter_ = self.clf_.n_iter_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "clf_")
        return self.clf_.predict_proba(self._transform(self._validate(X, reset=False)))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)  # checks fittedness first
        return self.classes_[np.argmax(proba, axis=1)]


#: The perspective head is a SentenceHead over [embedding | parse features | word_role tokens].
PerspectiveHead = SentenceHead

#: Types a head file may contain. Anything else in a file is refused, not executed.
TRUSTED_TYPES = [
    "nlp.heads.SentenceHead",
    "nlp.tuned.TunedSentenceClassifier",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
]


def save_head(head: BaseEstimator, path: str | Path) -> None:
    """Write a fitted head as a deflate-compressed skops file."""
    import zipfile

    import skops.io as sio

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sio.dump(head, path, compression=zipfile.ZIP_DEFLATED, compresslevel=9)  # float16 weights shrink a little


_PLAIN = {f"builtins.{t}" for t in ("dict", "list", "tuple", "str", "int", "float", "bool", "NoneType", "set",
                                    "bytes", "slice", "type")}


def _types_in(path: Path) -> set[str]:
    """Every ``module.class`` a skops file names, read from its schema without loading anything.

    skops trusts scikit-learn types by default; lipservice refuses any type a head does not use.
    """
    import zipfile

    with zipfile.ZipFile(path) as zf:
        schema = json.loads(zf.read("schema.json"))
    found: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return found


def load_head(path: str | Path) -> BaseEstimator:
    """Load a skops head, refusing any type outside ``TRUSTED_TYPES``."""
    import skops.io as sio

    path = Path(path)
    if path.is_dir():
        raise ModelMissingError(f"head file {str(path)!r} is a directory; point the setting at the .skops file "
                                "inside it", code=E_NO_HEAD)
    if not path.is_file():
        from . import component  # the project's root: the checkout, or site-packages for an install without one

        root = component.PROJECT_ROOT
        if not (root / "pyproject.toml").is_file() and path.parent == root / "models":
            raise ModelMissingError(  # a wheel carries the package alone: models/ and corpora/ stay in the checkout
                f"head file {str(path)!r} does not exist: lipservice was installed without its checkout (a wheel, "
                "or pip install without -e), and the heads ship in the checkout's models/. Install it from a "
                "checkout with `make demo` (or `pip install -e .`), or point [paths] models at a models directory",
                code=E_NO_HEAD)
        raise ModelMissingError(
            f"head file {str(path)!r} does not exist. Build it with `lipservice train`, or point the setting "
            "at an existing .skops file (for a second opinion trained without fine-tuning: tuned_model = \"\").",
            code=E_NO_HEAD)
    try:
        untrusted = sorted((set(sio.get_untrusted_types(file=path)) | _types_in(path)) - set(TRUSTED_TYPES) - _PLAIN)
    except Exception as err:  # noqa: BLE001 - any parse failure means "not a skops file"
        raise ModelMissingError(f"{str(path)!r} is not a readable skops file ({err}). Rebuild it with "
                                "`lipservice train`.", code=E_BAD_HEAD) from None
    if untrusted:
        raise ModelMissingError(
            f"{str(path)!r} contains types lipservice does not trust: {', '.join(untrusted)}. "
            "Only heads written by `lipservice train` load.", code=E_BAD_HEAD)
    try:
        return sio.load(path, trusted=TRUSTED_TYPES)
    except Exception as err:  # noqa: BLE001 - trusted types, damaged members (a cut array, a bad schema)
        raise ModelMissingError(f"{str(path)!r} is a damaged skops file ({err.__class__.__name__}: {err}). Rebuild "
                                "it with `lipservice train`.", code=E_BAD_HEAD) from None
