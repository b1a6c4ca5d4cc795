"""The packaged encoder exported to ONNX and run by ONNX Runtime, int8-quantised by default.

Chosen with ``runtime = "onnx-int8"`` (the default) or ``"onnx"`` in ``lipservice.Encoder.v2``. The ONNX file is derived from the installed
weights on first use (nothing is downloaded) and kept in a content-addressed cache
(``$LIPSERVICE_CACHE_DIR``, else ``~/.cache/lipservice``). Each sentence runs on its own, unpadded:
dynamic quantisation scales activations per input tensor, so a batch would let one
sentence's vector depend on its companions; alone, it never does (deterministic across
batchings, worker counts and runs), and no time goes to padding.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import warnings
import weakref
from pathlib import Path

import numpy as np

from .encoder import DEFAULT_ENCODER, SentenceEncoder
from .errors import E_BAD_SETTING, E_MISSING_EXTRA, E_OUTPUT, ConfigError, ModelMissingError, UsageError

log = logging.getLogger(__name__)

#: Bumped whenever the exported graph changes, so stale cache entries are never reused.
EXPORT_VERSION = "1"
QUANTIZE = ("int8", "none")
ORT_HINT = "pip install 'onnxruntime>=1.20' 'onnx>=1.16'"
_LOADED: "weakref.WeakSet[OnnxSentenceEncoder]" = weakref.WeakSet()


def cache_dir() -> Path:
    """Where exported models are kept: ``$LIPSERVICE_CACHE_DIR``, else ``$XDG_CACHE_HOME/lipservice``."""
    if os.environ.get("LIPSERVICE_CACHE_DIR"):
        return Path(os.environ["LIPSERVICE_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lipservice"


@functools.lru_cache(maxsize=None)
def _weights_digest(model_dir: str) -> str:
    """A checksum of the installed model's files, read once per process (three sessions share it)."""
    h = hashlib.blake2b(digest_size=16)
    for path in sorted(Path(model_dir).glob("*")):
        if path.is_file() and path.suffix in (".json", ".safetensors", ".bin", ".txt"):
            h.update(path.name.encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    return h.hexdigest()


def _digest(model_dir: str, state: dict[str, np.ndarray] | None, quantize: str) -> str:
    import onnxruntime
    import torch

    h = hashlib.blake2b(digest_size=16)
    h.update(f"{EXPORT_VERSION}|{quantize}|{torch.__version__}|{onnxruntime.__version__}".encode())
    h.update(_weights_digest(model_dir).encode())
    for key in sorted(state or {}):
        h.update(key.encode())
        h.update(np.ascontiguousarray(state[key]).tobytes())
    return h.hexdigest()


def _export(model_dir: str, state: dict[str, np.ndarray] | None, target: Path, quantize: str) -> None:
    """Trace the encoder (mean pooling, then L2 normalisation or the tuned head's softmax) to ONNX."""
    import torch
    from transformers import AutoModel

    from .tuned import apply_tuned_state

    model = AutoModel.from_pretrained(model_dir, local_files_only=True).eval()
    head = apply_tuned_state(model, state, model_dir) if state is not None else None

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            if head is None:
                return torch.nn.functional.normalize(pooled, p=2, dim=1)
            return torch.softmax(torch.nn.functional.linear(pooled, *head), dim=1)

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        plain = Path(tmp) / "model.onnx"
        ids = torch.ones((1, 8), dtype=torch.long)
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(Pooled().eval(), (ids, torch.ones_like(ids)), str(plain),
                              input_names=["input_ids", "attention_mask"], output_names=["out"],
                              dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                            "attention_mask": {0: "batch", 1: "tokens"}, "out": {0: "batch"}},
                              opset_version=17, dynamo=False)
        final = plain
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            final = Path(tmp) / "model.int8.onnx"
            root = logging.getLogger()
            quiet = logging.NullHandler()  # the quantiser warns through the root logger; never configure it
            root.addHandler(quiet)
            try:
                quantize_dynamic(str(plain), str(final), per_channel=True, weight_type=QuantType.QInt8)
            finally:
                root.removeHandler(quiet)
        os.replace(final, target)  # atomic: concurrent workers never read a half-written file


def exported_model(model_dir: str, state: dict[str, np.ndarray] | None = None, quantize: str = "int8") -> Path:
    """The ONNX file for these weights, exported on first use; the cache key is their content."""
    target = cache_dir() / "onnx" / f"{_digest(model_dir, state, quantize)}.onnx"
    if not target.is_file():
        log.info("exporting %s to ONNX (%s) in %s", model_dir, quantize, target.parent)
        try:
            _export(model_dir, state, target, quantize)
        except OSError as err:
            raise UsageError(f"cannot write the ONNX export to {target.parent} ({err.strerror}); set "
                             "LIPSERVICE_CACHE_DIR to a writable folder", code=E_OUTPUT) from None
    return target


class OnnxSentenceEncoder(SentenceEncoder):
    """``SentenceEncoder`` with the same contract (L2-normalised vectors, content-hash cache),
    computed by ONNX Runtime one sentence at a time."""

    def __init__(self, model: str = DEFAULT_ENCODER, *, max_length: int = 256, cache_size: int = 50_000,
                 num_threads: int = 0, quantize: str = "int8") -> None:
        if quantize not in QUANTIZE:
            raise ConfigError(f"encoder quantize is {quantize!r}; allowed: {', '.join(QUANTIZE)} "
                              "(int8 is the default)", code=E_BAD_SETTING)
        super().__init__(model, batch_size=1, max_length=max_length, cache_size=cache_size,
                         num_threads=num_threads)
        self.quantize = quantize
        self._session = None

    @property
    def runtime(self) -> str:
        return "onnx-int8" if self.quantize == "int8" else "onnx"

    def _state(self) -> dict[str, np.ndarray] | None:
        return None

    def _load(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelMissingError(f"the ONNX encoder needs ONNX Runtime: {ORT_HINT}",
                                    code=E_MISSING_EXTRA) from None
        from transformers import AutoTokenizer

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_dir, local_files_only=True)
        path = exported_model(self.model_dir, self._state(), self.quantize)
        options = ort.SessionOptions()
        # one thread unless the config asks for more: a single-threaded session has no thread pool,
        # so a forked child (spaCy's nlp.pipe(n_process=N)) can keep using it; workers give the parallelism
        options.intra_op_num_threads = self.num_threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # idle runtime threads sleep instead of spinning: spaCy and the other worker need the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self._width = int(self._session.get_outputs()[0].shape[1] or 0) or None
        _LOADED.add(self)

    @property
    def dim(self) -> int:
        self._load()
        if self._width is None:
            self._width = int(self._encode_uncached(["a"]).shape[1])
        return self._width

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        self._load()
        ids = self._tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        rows = []
        for seq in ids:
            x = np.asarray([seq], dtype=np.int64)
            rows.append(self._session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0])
        return np.asarray(rows, dtype=np.float32)

    def forget_session(self) -> None:
        """Drop the runtime session (rebuilt on next use): a forked child must not reuse its parent's threads."""
        self._session = None


def _forget_sessions_in_child() -> None:
    """A session with its own thread pool must not be used across a fork: rebuilt on next use."""
    for encoder in list(_LOADED):
        if encoder.num_threads > 1:
            encoder.forget_session()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_sessions_in_child)


class OnnxTunedScorer(OnnxSentenceEncoder):
    """A fine-tuned second opinion (nlp/tuned.py) exported with its head: class probabilities
    per sentence, one sentence at a time, cached by content."""

    def __init__(self, model: str, state: dict[str, np.ndarray], *, max_length: int, num_threads: int = 0,
                 quantize: str = "int8", cache_size: int = 50_000) -> None:
        super().__init__(model, max_length=max_length, cache_size=cache_size, num_threads=num_threads,
                         quantize=quantize)
        self.state = state

    def _state(self) -> dict[str, np.ndarray]:
        return self.state

    @property
    def width(self) -> int:
        from .tuned import HEAD_BIAS

        return int(self.state[HEAD_BIAS].shape[0])
