"""Records → spaCy Docs → the annotate contract (one dict per record, in input order).

Long texts are cut into pieces of at most ``piece_chars`` characters at paragraph, line or
sentence ends, processed by ``nlp.pipe`` and stitched back with their offsets, so nothing is
cut off. Record-level scores are computed over all pieces. A batch sent to spaCy holds at most
``batch_size`` pieces and ``batch_chars`` characters: spaCy's tok2vec takes working memory in
proportion to the characters of a batch (about 4 KB each), so long documents must not share one.
"""
from __future__ import annotations

import logging
import operator
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch
from thinc.api import Config

from .baselines import pronoun_words
from .component import carries_text
from .errors import ConfigError
from .perspective_features import WE, I
from .records import ReadOptions, Record, Reject, check_text
from .scores import document_scores

log = logging.getLogger(__name__)


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, which containers and ``taskset`` narrow), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_CUTS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])\s+"), re.compile(r"\s+"))


def split_pieces(text: str, limit: int) -> list[tuple[int, str]]:
    """Cut ``text`` into ``(offset, piece)`` with ``len(piece) <= limit``; pieces concatenate back to text."""
    if not isinstance(text, str):
        raise TypeError(f"split_pieces cuts a str, not {type(text).__name__}; decode bytes first")
    given = limit
    try:
        limit = operator.index(limit) if not isinstance(limit, bool) else 0  # an int, or NumPy's
    except TypeError:
        limit = 0
    if limit < 1:
        raise ValueError(f"split_pieces: limit {given!r} must be a whole number of characters, 1 or more "
                         "(lipservice.piece_chars is 100000); a limit of 0 would cut empty pieces for ever")
    if len(text) <= limit:
        return [(0, text)]
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > limit:
        window = text[start:start + limit]
        cut = 0
        for pattern in _CUTS:  # prefer the coarsest boundary in the second half of the window
            ends = [m.end() for m in pattern.finditer(window) if m.end() > limit // 2]
            if ends:
                cut = ends[-1]
                break
        cut = cut or limit  # one unbroken run of characters: a hard cut is all that is left
        pieces.append((start, text[start:start + cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


@dataclass
class Counts:
    read: int = 0
    annotated: int = 0
    rejected: int = 0

    def reconcile(self) -> bool:
        return self.read == self.annotated + self.rejected


#: "I" as ``kind: auto`` counts it: not "id", which the perspective features read as "I'd" typed without
#: its apostrophe, since copy says "your ID" far more often than a review says "Id love".
SAYS_I = I - {"id"}


def resolve_kind(kind: str, text: str) -> str:
    """``auto`` → ``review`` when the writer speaks as "I" at least once and at least as often as "we", else
    ``company`` (a text with neither pronoun too: marketing copy often has none)."""
    if kind != "auto":
        return kind
    words = pronoun_words(text)
    n_i = sum(w in SAYS_I for w in words)
    n_we = sum(w in WE for w in words)
    return "review" if n_i and n_i >= n_we else "company"


PROMISE_FIELDS = ("text", "theme", "specificity", "strength", "quantities", "conditional", "perspective", "p")
CLAIM_FIELDS = ("text", "lip_service", "reasons", "substantiated", "p")


def _public(value: dict | None, fields: tuple[str, ...]) -> dict | None:
    return None if value is None else {k: value[k] for k in fields if k in value}


def sentence_dict(sent, offset: int, complaint_starts: frozenset[int] = frozenset()) -> dict[str, Any]:
    """One sentence of the contract (whitespace trimmed). Fields of components not yet in the
    pipeline stay null."""
    raw = sent.text
    text = raw.strip()
    start = offset + sent.start_char + (len(raw) - len(raw.lstrip()))
    return {
        "text": text,
        "start": start,
        "end": start + len(text),
        "perspective": sent._.perspective,
        "perspective_p": sent._.perspective_p,
        "promise": _public(sent._.promise, PROMISE_FIELDS),
        "claim": _public(sent._.claim, CLAIM_FIELDS),
        "complaint_p": sent._.complaint_p,
        "complaint": None if sent._.complaint_p is None else sent.start in complaint_starts,
        "theme": sent._.theme,
        "theme_reason": sent._.theme_reason,
    }


def record_dict(record: Record, pieces: list[tuple[int, Doc]], output_text: bool = False) -> dict[str, Any]:
    """The contract line for one record, from its annotated pieces; with ``output_text`` also the text
    its sentences' offsets index (for markup, the extracted text, which is in no file)."""
    sentences = [sentence_dict(s, off, frozenset(c.start for c in doc.spans.get("complaints", [])))
                 for off, doc in pieces for s in doc.sents if carries_text(s)]
    scores = document_scores(sentences)
    out = {"id": record.id, "kind": resolve_kind(record.kind, record.text), "scores": scores,
           "sentences": sentences, "source": record.source}
    if output_text:
        out["text"] = record.text
    if record.meta:
        out["meta"] = record.meta
    return out


#: The checks of a record's text that every reader makes, for records made in Python (any length: pieces).
_RECORD_CHECKS = ReadOptions(max_chars=sys.maxsize)


class Annotator:
    """Runs records through the pipeline, keeping input order and counting everything.

    With ``workers > 1`` records go in chunks to worker processes started with ``spawn``
    (never ``fork``: a forked copy of an initialised torch can deadlock), each building the
    pipeline once from ``config``. Results come back in input order and are identical to a
    single process's, because the encoder's output does not depend on batching.
    """

    def __init__(self, nlp: Language | None, *, piece_chars: int = 100_000, batch_size: int = 32,
                 batch_chars: int = 100_000, workers: int = 1, config: Config | None = None,
                 output_text: bool = False):
        for name, value in (("piece_chars", piece_chars), ("batch_chars", batch_chars)):
            if value < 1:
                raise ConfigError(f"lipservice.{name} is {value}; it must be a positive number of characters "
                                  "(the default is 100000)")
        if workers > 1 and config is None:
            raise ValueError("workers > 1 needs the config the workers build their pipeline from")
        if workers <= 1 and nlp is None:
            raise ValueError("a single-process Annotator needs a pipeline")
        self.nlp = nlp
        self.piece_chars = piece_chars
        self.batch_size = batch_size
        self.batch_chars = batch_chars
        self.workers = workers
        self.config = config
        self.output_text = output_text
        self.counts = Counts()

    @classmethod
    def from_config(cls, config: Config, nlp: Language | None = None, workers: int = 1) -> "Annotator":
        """An annotator with the ``[lipservice]`` settings of ``config``; a single process builds
        its pipeline from ``config`` unless ``nlp`` is given."""
        if workers <= 1 and nlp is None:
            from .pipeline import build_nlp

            nlp = build_nlp(config)
        ls = config["lipservice"]
        return cls(nlp, piece_chars=int(ls["piece_chars"]), batch_size=int(ls["batch_size"]),
                   batch_chars=int(ls["batch_chars"]), workers=workers, config=config,
                   output_text=bool(ls.get("output_text", False)))

    def _records(self, items: Iterable[Record | Reject], on_reject: Callable[[Reject], None]) -> Iterator[Record]:
        for item in items:
            self.counts.read += 1
            if isinstance(item, Record):  # made in Python, it met no reader's checks: a lone surrogate in it
                item = check_text(item.source, item.position or item.id, item.text, _RECORD_CHECKS) or item
            if isinstance(item, Reject):  # stopped the tokenizer, and the whole batch with it
                self.counts.rejected += 1
                on_reject(item)
            else:
                yield item

    def annotate(self, items: Iterable[Record | Reject], on_reject: Callable[[Reject], None]
                 ) -> Iterator[dict[str, Any]]:
        """Yield contract dicts for records; pass rejects to ``on_reject`` as they are met."""
        records = self._records(items, on_reject)
        results = self._pool(records) if self.workers > 1 else self._local(records)
        for result in results:
            self.counts.annotated += 1
            yield result

    def _local(self, records: Iterable[Record]) -> Iterator[dict[str, Any]]:
        pending: dict[int, Record] = {}
        expected: dict[int, int] = {}

        def batches() -> Iterator[list[tuple[str, tuple[int, int]]]]:
            batch: list[tuple[str, tuple[int, int]]] = []
            chars = 0
            for n, record in enumerate(records):
                parts = split_pieces(record.text, self.piece_chars)
                pending[n] = record
                expected[n] = len(parts)
                for offset, text in parts:
                    if batch and (len(batch) >= self.batch_size or chars + len(text) > self.batch_chars):
                        yield batch
                        batch, chars = [], 0
                    batch.append((text, (n, offset)))
                    chars += len(text)
            if batch:
                yield batch

        done: list[tuple[int, Doc]] = []
        for batch in batches():
            for doc, (n, offset) in self.nlp.pipe(batch, as_tuples=True, batch_size=len(batch)):
                done.append((offset, doc))  # nlp.pipe keeps order: a record's pieces are contiguous
                if len(done) == expected[n]:
                    yield record_dict(pending.pop(n), done, self.output_text)
                    done = []

    def _pool(self, records: Iterable[Record]) -> Iterator[dict[str, Any]]:
        import multiprocessing
        from collections import deque
        from concurrent.futures import ProcessPoolExecutor

        chunk_size = max(1, self.batch_size)
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_worker_init,
                                 initargs=(self.config.to_str(), self.piece_chars, self.batch_size,
                                           self.batch_chars, self.output_text)) as pool:
            in_flight: deque = deque()
            for chunk in minibatch(records, size=chunk_size):
                in_flight.append(pool.submit(_worker_run, list(chunk)))
                if len(in_flight) >= 2 * self.workers:  # bounded: memory does not grow with input
                    yield from in_flight.popleft().result()
            while in_flight:
                yield from in_flight.popleft().result()


_WORKER: Annotator | None = None


#: How often a worker process looks whether its parent is still there.
PARENT_POLL_SECONDS = 1.0


def exit_with_parent() -> None:
    """In a worker process: exit as soon as the parent is gone. A parent killed with ``kill -9`` cannot stop
    its pool, and its workers, each holding a pipeline (about 750 MB), would wait on the pool's pipe for ever."""
    import threading
    import time

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="lipservice-parent-watch", daemon=True).start()


def _worker_init(config_str: str, piece_chars: int, batch_size: int, batch_chars: int, output_text: bool) -> None:
    """Build the pipeline once per worker process, with the parent annotator's settings."""
    global _WORKER
    from .pipeline import build_nlp

    exit_with_parent()

    _WORKER = Annotator(build_nlp(Config().from_str(config_str)), piece_chars=piece_chars, batch_size=batch_size,
                        batch_chars=batch_chars, output_text=output_text)


def _worker_run(records: list[Record]) -> list[dict[str, Any]]:
    return list(_WORKER._local(records))
