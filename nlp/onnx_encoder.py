"""The packaged encoder exported to ONNX and run by ONNX Runtime, int8-quantised by default.

Chosen with ``runtime = "onnx-int8"`` (the default) or ``"onnx"`` in ``lipservice.Encoder.v2``.
The ONNX file is derived from the installed weights on first use (nothing is downloaded) and
kept in a content-addressed cache (``$LIPSERVICE_CACHE_DIR``, else
``~/.cache/lipservice``).
Each sentence runs on its own, unpadded: dynamic quantisation scales activations per input tensor,
so a batch would let one sentence's vector depend on its companions; alone, it never does (deterministic across
batchings, worker counts and runs), and no time goes to padding.

A fine-tuned second opinion whose bottom layers stayed the installed ones (``tune_frozen_layers``)
is exported as its top layers only, and reads the hidden states its component's encoder computed
anyway: the shared bottom runs once per sentence, not once per model.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import numbers
import os
import tempfile
import warnings
import weakref
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .encoder import DEFAULT_ENCODER, SentenceEncoder, check_texts, from_pretrained, missing_files, text_key
from .errors import E_BAD_SETTING, E_MISSING_EXTRA, E_OUTPUT, ConfigError, ModelMissingError, UsageError

log = logging.getLogger(__name__)

#: Bumped whenever the exported graph changes, so stale cache entries are never reused.
EXPORT_VERSION = "3"
QUANTIZE = ("int8", "none")
ORT_HINT = "pip install 'onnxruntime>=1.20' 'onnx>=1.16'"
_LOADED: "weakref.WeakSet[OnnxSentenceEncoder]" = weakref.WeakSet()
#: Hidden states an encoder keeps for the second opinions that read them (oldest dropped first);
#: one nlp.pipe batch needs a few MB, and a dropped one is recomputed, never missing.
HIDDEN_CACHE_BYTES = 64 << 20
#: Sentences a shared-bottom second opinion scores per round of hidden states (see OnnxTunedScorer).
TOP_CHUNK = 256


def cache_dir() -> Path:
    """Where exported models are kept: ``$LIPSERVICE_CACHE_DIR``, else ``$XDG_CACHE_HOME/lipservice``."""
    if os.environ.get("LIPSERVICE_CACHE_DIR"):
        return Path(os.environ["LIPSERVICE_CACHE_DIR"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lipservice"


def load_tokenizer(model_dir: str, max_length: int):
    """Token ids per text, [CLS] … [SEP], cut at ``max_length``: the model's fast tokenizer read
    with the ``tokenizers`` library (the same ids as transformers' AutoTokenizer, which a test
    checks, without importing transformers into every worker)."""
    path = Path(model_dir) / "tokenizer.json"
    if not path.is_file():
        from transformers import AutoTokenizer

        tokenizer = from_pretrained(AutoTokenizer, model_dir)
        return lambda texts: tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    from tokenizers import Tokenizer

    try:
        fast = Tokenizer.from_file(str(path))
    except Exception as err:  # noqa: BLE001 - the tokenizers library raises plain Exceptions on a bad file
        raise missing_files(model_dir, err) from None
    fast.no_padding()
    fast.enable_truncation(max_length=max_length)
    return lambda texts: [e.ids for e in fast.encode_batch(texts)]


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


def _digest(model_dir: str, state: dict[str, np.ndarray] | None, quantize: str, top: bool) -> str:
    import onnxruntime
    import torch

    h = hashlib.blake2b(digest_size=16)
    h.update(f"{EXPORT_VERSION}|{quantize}|{top}|{torch.__version__}|{onnxruntime.__version__}".encode())
    h.update(_weights_digest(model_dir).encode())
    for key in sorted(state or {}):
        h.update(key.encode())
        h.update(np.ascontiguousarray(state[key]).tobytes())
    return h.hexdigest()


def _graph(model_dir: str, state: dict[str, np.ndarray] | None, top: bool):
    """The module to trace, its example inputs, input and output names, and dynamic axes.

    The encoder: token ids → L2-normalised mean-pooled vector ``out``, plus ``hidden_<k>`` (the
    hidden states after k layers, for the second opinions that share them). A second opinion:
    the same with its head's softmax; with ``top``, only its tuned layers, from ``hidden``.
    """
    import torch
    from transformers import AutoModel

    from .tuned import apply_tuned_state, state_frozen_layers

    model = from_pretrained(AutoModel, model_dir).eval()
    head = apply_tuned_state(model, state, model_dir) if state is not None else None

    def pool(hidden, mask):
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        if head is None:
            return torch.nn.functional.normalize(pooled, p=2, dim=1)
        return torch.softmax(torch.nn.functional.linear(pooled, *head), dim=1)

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=head is None)
            pooled = pool(out.last_hidden_state, attention_mask.unsqueeze(-1).to(out.last_hidden_state.dtype))
            return (pooled, *out.hidden_states[1:-1]) if head is None else pooled

    class Top(torch.nn.Module):  # one unpadded sentence: every token attends to every token
        def __init__(self, layers, encoder) -> None:
            super().__init__()
            self.layers = layers
            self.encoder = encoder

        def last_hidden(self, hidden):
            # What the encoder passes every layer besides the hidden states: MPNet its relative
            # position bias (computed from the sentence's length), BERT-like models nothing.
            extra = ((None, None, self.encoder.compute_position_bias(hidden))
                     if hasattr(self.encoder, "compute_position_bias") else ())
            for layer in self.layers:
                hidden = layer(hidden, *extra)
                hidden = hidden[0] if isinstance(hidden, tuple) else hidden
            return hidden

        def forward(self, hidden):
            hidden = self.last_hidden(hidden)
            return pool(hidden, torch.ones_like(hidden[..., :1]))

    ids = torch.ones((1, 8), dtype=torch.long)
    if top:
        frozen = state_frozen_layers(state)
        module = Top(model.encoder.layer[frozen:], model.encoder).eval()
        _check_top(model_dir, model, module, frozen)
        return (module, (torch.zeros((1, 8, model.config.hidden_size)),),
                ["hidden"], ["out"], {"hidden": {0: "batch", 1: "tokens"}, "out": {0: "batch"}})
    tokens = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}, "out": {0: "batch"}}
    hidden = [f"hidden_{k}" for k in range(1, model.config.num_hidden_layers)] if head is None else []
    return (Pooled().eval(), (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"], ["out", *hidden],
            {**tokens, **{name: {0: "batch", 1: "tokens"} for name in hidden}})


#: The sentence a second opinion's top layers are checked on before they are exported alone.
CHECK_SENTENCE = "You get your money back within 48 hours, and we answer every call."
#: Largest difference in the last hidden states that the check lets pass (float32 rounding is
#: about 1e-6; a bottom that differs from the installed one shows as 1e-4 or more).
TOP_TOLERANCE = 1e-4


def _check_top(model_dir: str, model, top, frozen: int) -> None:
    """Refuse to export a second opinion's top layers alone unless, fed the installed encoder's
    hidden states after ``frozen`` layers, they compute what the whole fine-tuned ``model`` does:
    an architecture whose layers need more than the hidden states, or weights that changed the
    bottom, would otherwise score silently differently. Compared before pooling and the head, where
    a confident sentence's saturated probabilities cannot hide a difference."""
    import torch
    from transformers import AutoModel

    installed = from_pretrained(AutoModel, model_dir).eval()
    ids = torch.tensor(load_tokenizer(model_dir, 64)([CHECK_SENTENCE]), dtype=torch.long)
    mask = torch.ones_like(ids)
    with torch.inference_mode():
        bottom = installed(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[frozen]
        whole = model(input_ids=ids, attention_mask=mask).last_hidden_state
        gap = float((top.last_hidden(bottom) - whole).abs().max())
    log.debug("top layers of the second opinion on %s, alone vs whole: %.2g", model_dir, gap)
    if not gap <= TOP_TOLERANCE:
        raise ConfigError(
            f"the fine-tuned second opinion on {model_dir!r} (model type {model.config.model_type}) cannot "
            f"continue from its component's hidden states: its top layers alone differ from the whole model by "
            f"{gap:.2g} (allowed: {TOP_TOLERANCE:g}). Retrain it with training.<task>.tune_frozen_layers = 0, or run "
            "the encoder with runtime = \"torch\"", code=E_BAD_SETTING)


def _export(model_dir: str, state: dict[str, np.ndarray] | None, target: Path, quantize: str, top: bool) -> None:
    """Trace the graph (see ``_graph``) to ONNX, then quantise it."""
    import torch

    module, example, inputs, outputs, axes = _graph(model_dir, state, top)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        plain = Path(tmp) / "model.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, example, str(plain), input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=17, dynamo=False)
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


def exported_model(model_dir: str, state: dict[str, np.ndarray] | None = None, quantize: str = "int8",
                   top: bool = False) -> Path:
    """The ONNX file for these weights (with ``top``: a second opinion's tuned layers only),
    exported on first use; the cache key is their content."""
    target = cache_dir() / "onnx" / f"{_digest(model_dir, state, quantize, top)}.onnx"
    if not target.is_file():
        log.info("exporting %s to ONNX (%s) in %s", model_dir, quantize, target.parent)
        try:
            _export(model_dir, state, target, quantize, top)
        except OSError as err:
            raise UsageError(f"cannot write the ONNX export to {target.parent} ({err.strerror}); set "
                             "LIPSERVICE_CACHE_DIR to a writable folder", code=E_OUTPUT) from None
    return target


class OnnxSentenceEncoder(SentenceEncoder):
    """``SentenceEncoder`` with the same contract (L2-normalised vectors, content-hash cache,
    thread-safe, picklable without its session), computed by ONNX Runtime one sentence at a time."""

    _RUNTIME_ATTRS = SentenceEncoder._RUNTIME_ATTRS + ("_session", "_width", "_hidden", "_hidden_bytes")

    def __init__(self, model: str = DEFAULT_ENCODER, *, max_length: int = 256, cache_size: int = 50_000,
                 num_threads: int = 0, quantize: str = "int8") -> None:
        if quantize not in QUANTIZE:
            raise ConfigError(f"encoder quantize is {quantize!r}; allowed: {', '.join(QUANTIZE)} "
                              "(int8 is the default)", code=E_BAD_SETTING)
        super().__init__(model, batch_size=1, max_length=max_length, cache_size=cache_size,
                         num_threads=num_threads)
        self.quantize = quantize
        self._taps: set[int] = set()  # a setting (second opinions asked for them): kept when pickled

    def _reset_runtime(self) -> None:
        """The unloaded state, as in ``SentenceEncoder``, plus no session and no hidden states kept."""
        super()._reset_runtime()
        self._session = None
        self._width: int | None = None
        self._hidden: OrderedDict[bytes, dict[int, np.ndarray]] = OrderedDict()
        self._hidden_bytes = 0

    @property
    def runtime(self) -> str:
        return "onnx-int8" if self.quantize == "int8" else "onnx"

    def _state(self) -> dict[str, np.ndarray] | None:
        return None

    def _top(self) -> bool:
        return False

    def _load(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelMissingError(f"the ONNX encoder needs ONNX Runtime: {ORT_HINT}",
                                    code=E_MISSING_EXTRA) from None
        self._tokenizer = load_tokenizer(self.model_dir, self.max_length)
        path = exported_model(self.model_dir, self._state(), self.quantize, self._top())
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
        with self._lock:
            self._load()
            if self._width is None:
                self._width = int(self._encode_uncached(["a"]).shape[1])
            return self._width

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        return self._run(texts, with_states=False)[0]

    def _run(self, texts: list[str], with_states: bool) -> tuple[np.ndarray, list[dict[int, np.ndarray]]]:
        """Each text's vector, and with ``with_states`` its hidden states after each tapped layer
        (kept anyway, within HIDDEN_CACHE_BYTES, for a second opinion that continues from them)."""
        self._load()
        ids = self._tokenizer(texts)
        taps = sorted(self._taps)
        names = ["out"] + [f"hidden_{k}" for k in taps]
        rows, states = [], []
        for text, seq in zip(texts, ids):
            x = np.asarray([seq], dtype=np.int64)
            out = self._session.run(names, {"input_ids": x, "attention_mask": np.ones_like(x)})
            rows.append(out[0][0])
            kept = {k: h[0] for k, h in zip(taps, out[1:])}
            if taps:
                self._keep_hidden(text_key(text), kept)
            if with_states:
                states.append(kept)
        return np.asarray(rows, dtype=np.float32), states

    def tap(self, layer: int) -> None:
        """Keep the hidden states after ``layer`` layers of every sentence encoded from now on, for a
        second opinion that continues from them (see ``hidden_states``)."""
        is_int = isinstance(layer, numbers.Integral) and not isinstance(layer, bool)
        with self._lock:
            if is_int and layer in self._taps:
                return
            count = self._layer_count()
            if not is_int or not 1 <= layer < count:
                raise ConfigError(f"layer {layer!r}: the encoder {self.model_dir!r} exposes hidden states after 1 to "
                                  f"{count - 1} layers; ask for one of those", code=E_BAD_SETTING)
            self._taps.add(int(layer))

    def _layer_count(self) -> int:
        try:
            config = json.loads((Path(self.model_dir) / "config.json").read_text(encoding="utf-8"))
            return int(config["num_hidden_layers"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise missing_files(self.model_dir, err) from None

    def _keep_hidden(self, key: bytes, states: dict[int, np.ndarray]) -> None:
        old = self._hidden.pop(key, None)
        self._hidden_bytes -= sum(h.nbytes for h in old.values()) if old else 0
        self._hidden[key] = states
        self._hidden_bytes += sum(h.nbytes for h in states.values())
        while self._hidden_bytes > HIDDEN_CACHE_BYTES and len(self._hidden) > 1:
            self._hidden_bytes -= sum(h.nbytes for h in self._hidden.popitem(last=False)[1].values())

    def hidden_states(self, texts: list[str], layer: int) -> list[np.ndarray]:
        """Each text's hidden states (tokens × width) after ``layer`` layers: kept from encoding when
        tapped, else computed now (the same numbers: a sentence always runs alone)."""
        texts = check_texts(texts)
        with self._lock:
            self.tap(layer)
            keys = [text_key(t) for t in texts]
            # held here, not looked up afterwards: computing the rest may evict them from the bounded cache
            found = {k: self._hidden[k][layer] for k in keys if layer in self._hidden.get(k, {})}
            todo = {k: t for k, t in zip(keys, texts) if k not in found}
            if todo:
                found.update((k, states[layer]) for k, states in zip(todo, self._run(list(todo.values()), True)[1]))
            return [found[k] for k in keys]

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
    per sentence, one sentence at a time, cached by content.

    When its bottom layers are the installed ones and ``bottom`` (its component's encoder, on the
    same runtime) is given, only the tuned layers run, from the hidden states ``bottom`` keeps;
    the tokens are then ``bottom``'s (its ``max_length``).
    """

    def __init__(self, model: str, state: dict[str, np.ndarray], *, max_length: int, num_threads: int = 0,
                 quantize: str = "int8", cache_size: int = 50_000, bottom: OnnxSentenceEncoder | None = None) -> None:
        from .tuned import state_frozen_layers

        super().__init__(model, max_length=max_length, cache_size=cache_size, num_threads=num_threads,
                         quantize=quantize)
        self.state = state
        self.frozen = state_frozen_layers(state)
        shares = (type(bottom) is OnnxSentenceEncoder and self.frozen > 0 and bottom.model_dir == self.model_dir
                  and bottom.quantize == quantize)
        self.bottom = bottom if shares else None
        if self.bottom is not None:
            self.bottom.tap(self.frozen)

    def _state(self) -> dict[str, np.ndarray]:
        return self.state

    def _top(self) -> bool:
        return self.bottom is not None

    def _encode_uncached(self, texts: list[str]) -> np.ndarray:
        if self.bottom is None:
            return super()._encode_uncached(texts)
        self._load()
        rows = []
        for start in range(0, len(texts), TOP_CHUNK):  # bounds the hidden states held at once
            rows += [self._session.run(None, {"hidden": h[None]})[0][0]
                     for h in self.bottom.hidden_states(texts[start:start + TOP_CHUNK], self.frozen)]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)

    @property
    def width(self) -> int:
        from .tuned import HEAD_BIAS

        return int(self.state[HEAD_BIAS].shape[0])
