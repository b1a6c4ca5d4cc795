"""What every lipservice pipeline component shares: a skops head loaded on first use, the
``predict`` / ``set_annotations`` split, batch ``pipe``, and to_disk / from_disk of the head."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .doc_memo import once_per_doc
from .errors import E_BAD_HEAD, E_BAD_SETTING, E_NEEDS_INPUT, E_NO_HEAD, ConfigError, ModelMissingError
from .extensions import install_extensions
from .heads import load_head, save_head
from .markup import has_visible_text

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def project_path(value: str | Path) -> Path:
    """Resolve a config path: absolute stays, relative is taken from the project root (the folder
    holding models/ and corpora/), in config.cfg and in ``nlp.add_pipe(..., config=...)`` alike."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else PROJECT_ROOT / p


def resolved(value: str) -> str:
    """A file setting as the component keeps it: "" (none) stays "", a path is resolved."""
    return str(project_path(value)) if value else ""


_PARSE_FIX = ("add it after a dependency parser (the base model's 'parser'; lipservice.exclude and "
              "lipservice.disable must keep it), or use nlp.load(), which builds the whole pipeline")
#: What a component reads off a Doc, how to tell the Doc has it, and how to give it.
NEEDS: dict[str, tuple[str, Callable[[Doc], bool], str]] = {
    "parse": ("a dependency parse", lambda d: d.has_annotation("DEP"), _PARSE_FIX),
    "lemmas": ("lemmas", lambda d: d.has_annotation("LEMMA", require_complete=True),
               "add it after a lemmatizer (the base model's 'lemmatizer'), or use nlp.load()"),
    "perspective": ("sentence perspectives", lambda d: d._.perspective_counts is not None,
                    "add lipservice_perspective before it, or use nlp.load()"),
    "promises": ("promises", lambda d: "promises" in d.spans,
                 "add lipservice_promises before it, or use nlp.load()"),
}


def check_inputs(component: str, docs: Iterable[Doc], needs: Iterable[str]) -> None:
    """Refuse Docs that lack what a component reads (E305), instead of a spaCy error from deep
    inside or, worse, output computed from nothing: claims without perspectives all read as lip service."""
    for doc in docs:
        if all(t.is_space for t in doc):  # an empty or blank Doc needs nothing: it gets empty annotations
            continue
        for need in needs:
            what, present, fix = NEEDS[need]
            if not present(doc):
                raise ConfigError(f"the {component} component needs {what} on each Doc, and this one has none: "
                                  f"{fix}", code=E_NEEDS_INPUT)

#: The range of a probability threshold and of a cosine-similarity one.
PROBABILITY = (0.0, 1.0, "a probability")
SIMILARITY = (-1.0, 1.0, "a cosine similarity")


def check_setting(component: str, setting: str, value: float, default: float,
                  allowed: tuple[float, float, str] = PROBABILITY) -> float:
    """A component's threshold, refused with its name, value and range when outside ``allowed``
    (spaCy checks only its type): a probability of 2 would silently find nothing, -1 everything."""
    low, high, what = allowed
    if isinstance(value, bool) or not isinstance(value, (int, float)):  # "0.5" from a config failed deep inside
        raise ConfigError(f"components.{component}.{setting} = {value!r}: must be a number in [{low:g}, {high:g}] "
                          f"({what}; the default is {default}); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    if not low <= value <= high:  # also refuses NaN
        raise ConfigError(f"components.{component}.{setting} = {value!r}: must lie in [{low:g}, {high:g}] ({what}; "
                          f"the default is {default}); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    return float(value)


def check_count(component: str, setting: str, value: int, default: int, least: int = 1) -> int:
    """A whole-number setting of a component, refused below ``least`` or when not a whole number (E303)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"components.{component}.{setting} = {value!r}: must be a whole number, {least} or more "
                          f"(the default is {default}); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    return value


def check_digits(component: str, value: int, default: int) -> int:
    """``round_digits``, refused outside [2, 15]: decisions are taken on the probabilities as written, so
    -1 or 0 digits would round them to 0 or 1 and turn every label and threshold into noise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= 15:
        raise ConfigError(f"components.{component}.round_digits = {value!r}: must be a whole number in [2, 15] "
                          f"(the default is {default}); fix it in config.cfg or with --set", code=E_BAD_SETTING)
    return value


def carries_text(span: Span) -> bool:
    """Whether a sentence has something to read: not whitespace alone, nor invisible characters alone (a
    paragraph of a zero-width space, as pasted from a web page, was a sentence scored neutral)."""
    return has_visible_text(span.text)


def text_sentences(doc: Doc) -> list:
    """The sentences that carry text (whitespace-only "sentences" from blank lines are skipped)."""
    bounds = once_per_doc(doc, "text_sentences", lambda d: [(s.start, s.end) for s in d.sents if carries_text(s)])
    return [doc[start:end] for start, end in bounds]


def per_doc(docs: list[Doc], rows: Any) -> list:
    """Cut rows predicted for the text sentences of a whole batch back into one chunk per doc."""
    out, i = [], 0
    for doc in docs:
        n = len(text_sentences(doc))
        out.append(rows[i:i + n])
        i += n
    return out


class HeadComponent:
    """Subclasses set ``head_file`` and ``missing_hint`` and implement ``predict`` and
    ``set_annotations``; ``predict`` never modifies the Docs, ``set_annotations`` writes."""

    head_file = "head.skops"
    missing_hint = "run `lipservice train`"
    #: What the component reads off each Doc (keys of ``NEEDS``), checked before ``predict``.
    needs: tuple[str, ...] = ("parse",)

    def __init__(self, name: str, model: str) -> None:
        self.name = name
        self.model_path = resolved(model)
        self.head = None  # loaded on first use, so from_disk of a saved pipeline never needs the original

    def check_files(self) -> None:
        """Load-time check of the head the settings name (``nlp.load`` calls it): none, a wrong path, a
        damaged file or another kind of head fails at once, not at the first document. The head is loaded
        here (the first document needs it anyway); a saved pipeline skips this (its files travel)."""
        self.require_head()

    def __setstate__(self, state: dict) -> None:
        """A component unpickled in a fresh process (a pipeline pickled by its user, or sent to a spawned
        worker) installs the extensions it writes, as its factory does."""
        install_extensions()
        self.__dict__.update(state)

    def load_setting(self, path: str | Path, setting: str = ""):
        """The skops file a setting names, checked to be the kind of head that setting takes; a missing,
        damaged or foreign one is an error that says which component (and which of its settings) asked."""
        where = f" ({setting or 'model'})"
        try:
            head = load_head(path)
        except ModelMissingError as err:
            raise ModelMissingError(f"the {self.name} component{where}: {err.args[0]}", code=err.code) from None
        problem = self.head_problem(head, setting or "model")
        if problem:
            raise ModelMissingError(f"the {self.name} component{where}: {str(path)!r} {problem}; point the setting at "
                                    f"this component's own head (`lipservice train` writes them)", code=E_BAD_HEAD)
        return head

    #: The classes this component's head predicts (None: not checked), and the second opinion's.
    head_classes: tuple | None = None

    def check_width(self, head: Any, X: Any, setting: str = "model") -> None:
        """Refuse a head that reads another number of columns than this component gives it (E204):
        another component's head with the same classes, or one trained with another encoder or
        taxonomy, failed at the first Doc with scikit-learn's "X has 262557 features"."""
        wanted = getattr(head, "n_features_in_", None)
        if wanted is not None and X.shape[1] != wanted:
            raise ModelMissingError(f"the {self.name} component ({setting}): its head reads {wanted} columns and this "
                                    f"component gives it {X.shape[1]}: it is another component's head, or was trained "
                                    "with another encoder or taxonomy; point the setting at this component's own head, "
                                    "or retrain it (`lipservice train`)", code=E_BAD_HEAD)

    def head_problem(self, head: Any, setting: str) -> str | None:
        """Why ``head`` cannot serve as ``setting``, or None: a complaints head named as the perspective
        model loads fine and fails at the first Doc with a NumPy error, a head as second opinion likewise."""
        if not hasattr(head, "predict_proba") or not hasattr(head, "classes_"):
            return f"holds a {type(head).__name__}, not a fitted classifier"
        if setting == "tuned_model" and not hasattr(head, "set_runtime"):
            return f"holds a {type(head).__name__}, not a fine-tuned encoder (a second opinion)"
        if setting != "tuned_model" and hasattr(head, "set_runtime"):
            return "holds a fine-tuned encoder, which is a second opinion (tuned_model), not a head"
        wanted = self.head_classes if setting in ("model", "tuned_model") else None
        if wanted is not None and sorted(map(str, head.classes_)) != sorted(map(str, wanted)):
            return (f"predicts {', '.join(map(str, head.classes_))}, and this component needs "
                    f"{', '.join(map(str, wanted))}")
        return None

    def check_inputs(self, docs: list[Doc]) -> None:
        """Refuse Docs that lack what ``predict`` reads (see ``check_inputs``)."""
        check_inputs(self.name, docs, self.needs)

    def require_head(self):
        if self.head is None and self.model_path:
            self.head = self.load_setting(self.model_path)
        if self.head is None:
            raise ModelMissingError(f"the {self.name} component has no head: set its `model` in config.cfg to a "
                                    f".skops file, or {self.missing_hint}", code=E_NO_HEAD)
        return self.head

    def predict(self, docs: list[Doc]) -> Any:
        raise NotImplementedError

    def set_annotations(self, docs: list[Doc], predictions: Any) -> None:
        raise NotImplementedError

    def __call__(self, doc: Doc) -> Doc:
        self.check_inputs([doc])
        self.set_annotations([doc], self.predict([doc]))
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        for batch in minibatch(stream, size=batch_size):
            self.check_inputs(batch)
            self.set_annotations(batch, self.predict(batch))
            yield from batch

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """The head travels as a skops file inside the saved pipeline's directory."""
        Path(path).mkdir(parents=True, exist_ok=True)
        save_head(self.require_head(), Path(path) / self.head_file)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "HeadComponent":
        self.model_path = str(Path(path) / self.head_file)  # the file in use, not the config's original
        self.head = self.load_setting(self.model_path)
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """What ``to_disk`` writes, as bytes (``nlp.to_bytes`` skipped the components without a word)."""
        import tempfile

        import srsly

        with tempfile.TemporaryDirectory() as tmp:
            self.to_disk(tmp, exclude=exclude)
            return srsly.msgpack_dumps({p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "HeadComponent":
        """Read what ``to_bytes`` wrote, through ``from_disk``; the files are read before they go."""
        import tempfile

        import srsly

        with tempfile.TemporaryDirectory() as tmp:
            for name, content in srsly.msgpack_loads(data).items():
                (Path(tmp) / Path(name).name).write_bytes(content)
            return self.from_disk(tmp, exclude=exclude)


class TunedHeadComponent(HeadComponent):
    """A head with an optional second opinion: the encoder fine-tuned on the same sentences
    (nlp/tuned.py), loaded on first use and saved beside the head as ``tuned_file``."""

    tuned_file = "tuned.skops"

    def __init__(self, name: str, model: str, tuned_model: str) -> None:
        super().__init__(name, model)
        self.tuned_path = resolved(tuned_model)
        self.tuned = None  # loaded when the first unsure sentence asks for it

    def check_files(self) -> None:
        super().check_files()
        if self.tuned is None and self.tuned_path and not Path(self.tuned_path).is_file():
            self.load_setting(self.tuned_path, "tuned_model")

    def require_tuned(self):
        """The fine-tuned classifier, or None when the config names none (the head decides alone)."""
        if self.tuned is None and self.tuned_path:
            self._use_tuned(self.load_setting(self.tuned_path, "tuned_model"))
        return self.tuned

    def _use_tuned(self, tuned) -> None:
        """Keep the fine-tuned classifier, running on the same runtime as the component's encoder."""
        encoder = getattr(self, "encoder", None)
        self.tuned = tuned.set_runtime(getattr(encoder, "runtime", "torch"), int(getattr(encoder, "num_threads", 0)),
                                       shared=encoder)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        super().to_disk(path, exclude=exclude)
        if self.require_tuned() is not None:
            save_head(self.tuned, Path(path) / self.tuned_file)
        else:  # an earlier save's second opinion in the same directory would be loaded as this one's
            (Path(path) / self.tuned_file).unlink(missing_ok=True)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "TunedHeadComponent":
        super().from_disk(path, exclude=exclude)
        tuned = Path(path) / self.tuned_file
        self.tuned = None
        if tuned.is_file():
            self._use_tuned(self.load_setting(tuned, "tuned_model"))
        self.tuned_path = "" if self.tuned is None else str(tuned)
        return self
