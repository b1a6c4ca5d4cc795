"""Progress of a batch run: a rich bar on a terminal, periodic log lines elsewhere."""
from __future__ import annotations

import logging
import sys
import time
from typing import Any

log = logging.getLogger(__name__)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class BatchProgress:
    """Counts records read, documents annotated and sentences; shows rates and an ETA.

    ``live=None`` picks the rich bar when stderr is a terminal. Without a terminal it logs one
    line every ``every`` seconds (and at the end), so a log file shows the run's pace.
    """

    def __init__(self, total: int | None, *, live: bool | None = None, every: float = 30.0) -> None:
        self.total = total
        self.live = sys.stderr.isatty() if live is None else live
        self.every = every
        self.read = self.docs = self.sentences = 0
        self._start = self._last = time.monotonic()
        self._bar: Any = None
        self._task: Any = None
        self._begun = False
        self._logged: tuple[int, int, int | None] | None = None  # what the last log line said
        self._exact = False  # whether ``total`` is known, not estimated

    def __enter__(self) -> BatchProgress:
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("annotating"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[rates]}"), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("batch", total=self.total, rates="")
        return self

    def begin(self) -> None:
        """The engine takes its first shard: a log file shows the run has started, before that shard is
        done (not before the engine is up: a scheduler that cannot be reached starts nothing)."""
        if self._bar is None and not self._begun:
            log.info("batch: started on %s records; a line every %gs as shards finish",
                     f"~{self.total:,}" if self.total else "an unknown number of", self.every)
        self._begun = True

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if exc[0] is None and self._begun:  # done: what was read is the total, however high the estimate was
                self.total = self.read
                self._bar.update(self._task, completed=self.read, total=self.total)
            self._bar.__exit__(*exc)
        elif self._begun:
            if exc[0] is None:  # done: what was read is the total ("1 of ~7 records (14%)" of a file rejected whole)
                self.total, self._exact = self.read, True
            if self._logged != (self.read, self.docs, self.total):  # the last advance may have said it all
                self._log()

    def rates(self) -> tuple[float, float]:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        return self.docs / elapsed, self.sentences / elapsed

    def skip(self, read: int) -> None:
        """Records of shards already done (``--resume``), and entries of directories rejected before any shard:
        they count toward the total, not the rates."""
        self.read += read
        if self.total is not None:
            self.total = max(self.total, self.read)
        if self._bar is not None:
            self._bar.update(self._task, completed=self.read, total=self.total)

    def advance(self, read: int, docs: int, sentences: int) -> None:
        self.read += read
        self.docs += docs
        self.sentences += sentences
        if self.total is not None and self.read > self.total:
            self.total = self.read  # the estimate was low (e.g. blank lines counted as records)
        if self._bar is not None:
            dps, sps = self.rates()
            self._bar.update(self._task, completed=self.read, total=self.total,
                             rates=f"{self.docs:,} docs · {dps:,.1f} docs/s · {sps:,.0f} sentences/s")
        elif time.monotonic() - self._last >= self.every:
            self._log()

    def _log(self) -> None:
        self._last = time.monotonic()
        self._logged = (self.read, self.docs, self.total)
        dps, sps = self.rates()
        share = f" ({self.read / self.total:.0%})" if self.total else ""
        eta = ""
        if self.total and dps > 0 and self.read < self.total:
            per_read = (time.monotonic() - self._start) / max(self.docs, 1)
            eta = f", ETA {_duration(per_read * (self.total - self.read))}"
        log.info("batch: %s of %s records%s; %s docs annotated, %.1f docs/s, %.0f sentences/s%s",
                 f"{self.read:,}", f"{'' if self._exact else '~'}{self.total:,}" if self.total else "?", share,
                 f"{self.docs:,}", dps, sps, eta)
