"""A sentence classifier fine-tuned from the packaged encoder: the complaint detector's second opinion.

A logistic head over frozen embeddings tops out near 0.85 macro-F1 on the complaints benchmark;
fine-tuning the transformer's own layers on the same sentences lifts it (models/complaints.md).
The learned weights are kept as float16 arrays and saved with skops, so loading never runs code;
the word embeddings stay the installed encoder's and are not stored.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .encoder import DEFAULT_ENCODER, RUNTIMES, SentenceEncoder

log = logging.getLogger(__name__)

#: Parameters that stay the installed encoder's: not trained, not stored.
FROZEN = ("embeddings.word_embeddings.weight",)
HEAD_WEIGHT, HEAD_BIAS = "classifier.weight", "classifier.bias"
_LAYER_KEY = re.compile(r"encoder\.layer\.(\d+)\.")


def _mean_pool(hidden, mask):
    mask = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def _stored_layers(state: dict[str, np.ndarray]) -> set[int]:
    return {int(m.group(1)) for k in state if (m := _LAYER_KEY.match(k))}


def state_layers(state: dict[str, np.ndarray]) -> int:
    """How many transformer layers the fine-tuned weights reach (the first ones of the encoder)."""
    return max(_stored_layers(state), default=-1) + 1


def state_frozen_layers(state: dict[str, np.ndarray]) -> int:
    """How many bottom layers the fine-tuning left as installed (not stored): 0 when it tuned all."""
    return min(_stored_layers(state), default=0)


def is_frozen(name: str, frozen_layers: int) -> bool:
    """Whether parameter ``name`` stays the installed encoder's: the word embeddings always; when
    the bottom is frozen, everything but the layers above ``frozen_layers``. Weights the layers
    share (MPNet's relative position bias) then stay installed too, so the bottom the second
    opinion learned on is the one its component's encoder runs."""
    if name in FROZEN:
        return True
    if frozen_layers <= 0:
        return False
    m = _LAYER_KEY.match(name)
    return m is None or int(m.group(1)) < frozen_layers


def keep_layers(model, layers: int | None) -> None:
    """Cut the encoder ``model`` to its first ``layers`` transformer layers (None or more than it
    has: all). A second opinion on fewer layers costs proportionally less to run."""
    if layers is None or layers >= model.config.num_hidden_layers:
        return
    if layers < 1:
        raise ValueError(f"layers is {layers}; it must be at least 1 (or None for all)")
    model.encoder.layer = model.encoder.layer[:layers]
    model.config.num_hidden_layers = layers


def apply_tuned_state(model, state: dict[str, np.ndarray], model_dir: str):
    """Load the fine-tuned body weights into ``model`` (the installed encoder, cut to as many layers
    as the weights hold); return the head's (weight, bias) tensors. Weights that do not fit the
    encoder are an error, not a partial load."""
    import torch

    keep_layers(model, state_layers(state) or None)
    frozen = state_frozen_layers(state)
    body = {k: torch.from_numpy(v.astype(np.float32)) for k, v in state.items() if k not in (HEAD_WEIGHT, HEAD_BIAS)}
    missing = {n for n, _ in model.named_parameters() if not is_frozen(n, frozen)} - set(body)
    unexpected = model.load_state_dict(body, strict=False).unexpected_keys
    if missing or unexpected:
        raise ValueError(f"fine-tuned weights do not fit {model_dir!r}: missing {sorted(missing)[:3]}, "
                         f"unexpected {sorted(unexpected)[:3]}")
    return (torch.from_numpy(state[HEAD_WEIGHT].astype(np.float32)),
            torch.from_numpy(state[HEAD_BIAS].astype(np.float32)))


class TunedScorer(SentenceEncoder):
    """Class probabilities from the fine-tuned weights, with the encoder's length buckets (a text's
    probabilities never depend on its batch companions) and its content-hash cache."""

    def __init__(self, model: str, state: dict[str, np.ndarray], *, max_length: int, batch_size: int = 64,
                 cache_size: int = 50_000) -> None:
        super().__init__(model, batch_size=batch_size, max_length=max_length, cache_size=cache_size)
        self.state = state
        self._head = None

    @property
    def width(self) -> int:
        return int(self.state[HEAD_BIAS].shape[0])

    def _load(self) -> None:
        if self._model is not None:
            return
        super()._load()
        self._head = apply_tuned_state(self._model, self.state, self.model_dir)
        self._model.eval()

    def _encode_fixed(self, texts: list[str], length: int) -> np.ndarray:
        import torch

        batch = self._tokenizer(texts, padding="max_length", truncation=True, max_length=length,
                                return_tensors="pt")
        pooled = _mean_pool(self._model(**batch).last_hidden_state, batch["attention_mask"])
        logits = torch.nn.functional.linear(pooled, *self._head)
        return torch.softmax(logits, dim=1).numpy()


def _seed(random_state: Any) -> int:
    """The fine-tuning seed: an int as given; None (scikit-learn's "not fixed") a fresh one from numpy's global
    generator; a ``RandomState`` drawn from."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    return int(random_state)


class TunedSentenceClassifier(ClassifierMixin, BaseEstimator):
    """The packaged encoder fine-tuned end to end (mean pooling, one linear layer) on labelled sentences.

    AdamW with linear warm-up and decay, shuffled mini-batches; ``random_state`` seeds the
    initialisation, the order and dropout (None: not fixed, as in scikit-learn), on a generator of its
    own: the caller's torch generator is left as it was. ``layers`` keeps only the encoder's first layers (None:
    all); ``frozen_layers`` leaves the bottom ones as installed (not stored), so that on ONNX the
    second opinion continues from its component's encoder instead of rerunning them. Both make it
    faster to run. ``predict_proba`` takes texts, not a design matrix.
    """

    def __init__(self, model: str = DEFAULT_ENCODER, epochs: int = 3, learning_rate: float = 5e-5,
                 batch_size: int = 16, max_length: int = 128, weight_decay: float = 0.01, warmup: float = 0.1,
                 layers: int | None = None, frozen_layers: int = 0, random_state: int | None = 0):
        self.model = model
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.weight_decay = weight_decay
        self.warmup = warmup
        self.layers = layers
        self.frozen_layers = frozen_layers
        self.random_state = random_state

    def fit(self, texts: Sequence[str], y) -> "TunedSentenceClassifier":
        import torch

        texts, y = list(texts), np.asarray(y)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} texts but {len(y)} labels")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"fine-tuning needs two classes or more; the labels hold only {self.classes_.tolist()}")
        target = torch.from_numpy(np.searchsorted(self.classes_, y).astype(np.int64))
        with torch.random.fork_rng(devices=[]):  # the caller's torch generator is left as it was
            return self._fit(texts, target, _seed(self.random_state))

    def _fit(self, texts: list[str], target: Any, seed: int) -> "TunedSentenceClassifier":
        import torch

        torch.manual_seed(seed)
        base = SentenceEncoder(self.model, max_length=self.max_length)
        base._load()
        net, tokenizer = base._model, base._tokenizer
        keep_layers(net, self.layers)
        head = torch.nn.Linear(net.config.hidden_size, len(self.classes_))
        frozen = int(self.frozen_layers)
        if not 0 <= frozen < net.config.num_hidden_layers:
            raise ValueError(f"frozen_layers is {frozen}; it must lie in [0, {net.config.num_hidden_layers - 1}] "
                             "(at least one layer is tuned)")
        for name, param in net.named_parameters():
            param.requires_grad_(not is_frozen(name, frozen))
        params = [p for p in net.parameters() if p.requires_grad] + list(head.parameters())
        optimiser = torch.optim.AdamW(params, lr=self.learning_rate, weight_decay=self.weight_decay)
        steps = max(1, self.epochs * -(-len(texts) // self.batch_size))
        warm = max(1, int(self.warmup * steps))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: s / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
        order_rng = np.random.RandomState(seed)
        net.train()
        for epoch in range(self.epochs):
            order = order_rng.permutation(len(texts))
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt")
                logits = head(_mean_pool(net(**batch).last_hidden_state, batch["attention_mask"]))
                loss = torch.nn.functional.cross_entropy(logits, target[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                schedule.step()
                total += loss.item() * len(idx)
            log.info("fine-tuning epoch %d/%d: mean loss %.4f", epoch + 1, self.epochs, total / len(texts))
        state = {k: v.detach().numpy().astype(np.float16) for k, v in net.state_dict().items()
                 if not is_frozen(k, frozen) and v.is_floating_point()}
        state[HEAD_WEIGHT] = head.weight.detach().numpy().astype(np.float16)
        state[HEAD_BIAS] = head.bias.detach().numpy().astype(np.float16)
        self.state_ = state
        self._scorer = None
        return self

    def set_runtime(self, runtime: str = "torch", num_threads: int = 0,
                    shared: SentenceEncoder | None = None) -> "TunedSentenceClassifier":
        """Score on one of the encoder's RUNTIMES, as the component's encoder does; on ONNX, with
        frozen bottom layers, continue from the hidden states of ``shared`` (that encoder) instead of
        recomputing them. A runtime setting, not a learned one: it is not saved with the model."""
        if runtime not in RUNTIMES:
            raise ValueError(f"runtime {runtime!r}; allowed: {', '.join(RUNTIMES)}")
        self._runtime_choice = (runtime, num_threads, shared)
        self._scorer = None
        if hasattr(self, "state_"):
            self._runtime()  # cheap (loads lazily), and a shared encoder keeps hidden states from now on
        return self

    def _runtime(self) -> SentenceEncoder:
        if getattr(self, "_scorer", None) is None:
            runtime, threads, shared = getattr(self, "_runtime_choice", ("torch", 0, None))
            if runtime == "torch":
                self._scorer = TunedScorer(self.model, self.state_, max_length=self.max_length)
            else:
                from .onnx_encoder import OnnxTunedScorer

                quantize = "int8" if runtime == "onnx-int8" else "none"
                self._scorer = OnnxTunedScorer(self.model, self.state_, max_length=self.max_length,
                                               num_threads=threads, quantize=quantize, bottom=shared)
        return self._scorer

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities (columns in ``classes_`` order) for each text; repeated texts are scored once."""
        check_is_fitted(self, "state_")
        return self._runtime().encode(list(texts))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]

    def __getstate__(self) -> dict:
        """What a saved model holds (skops reads this): the learned weights, no runtime setting."""
        state = dict(self.__dict__)
        state.pop("_scorer", None)  # the loaded torch model is rebuilt from state_, never saved
        state.pop("_runtime_choice", None)
        return state

    def __reduce_ex__(self, protocol):
        """Pickling (a spawned ``nlp.pipe`` worker, a deep copy) keeps the runtime setting, so the copy
        scores on the same runtime and shared encoder; skops saves only ``__getstate__``."""
        reduced = super().__reduce_ex__(protocol)
        choice = getattr(self, "_runtime_choice", None)
        if choice is None or len(reduced) < 3 or not isinstance(reduced[2], dict):
            return reduced
        return (*reduced[:2], {**reduced[2], "_runtime_choice": choice}, *reduced[3:])
