"""The Dask engine: the batch job's shards as tasks on a ``distributed`` cluster.

Each task runs :func:`nlp.batch.run_shard`, the same function as the local engine, so the
output is identical. A worker process builds the pipeline on its first shard and keeps it.
Workers return Parquet bytes; the client writes them, so workers need no shared disk — but
they need lipservice and its models installed (``pip install 'lipservice[dask]'``).

Ctrl-C and SIGTERM must not land inside distributed's threads and locks (a ``SystemExit`` raised
there ended in ``RuntimeError: release unlocked lock`` and pages of tracebacks): while the
cluster runs, the signals only set a flag, which the client's wait loop checks; it then cancels
what is queued, closes the client and cluster, and only then raises what the signal's own
handler raises (``KeyboardInterrupt``, or the CLI's SIGTERM exception). Local workers ignore both
signals (:func:`dask_setup`, a preload), so a Ctrl-C on the terminal, which reaches every process
of the group, stops them through the client, not with a traceback of their own.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import threading
import time
import uuid
from typing import Iterable, Iterator

from .errors import E_ADDRESS, E_MISSING_EXTRA, UsageError, install_hint

log = logging.getLogger(__name__)

def _distributed():
    try:
        from dask import distributed
    except ImportError:
        raise UsageError("--engine dask needs dask.distributed, which is not installed; run "
                         f"`{install_hint('dask')}`",
                         code=E_MISSING_EXTRA) from None
    return distributed


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_SECONDS = 0.1


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Within the block SIGINT and SIGTERM only note themselves in the list it yields; on the way out
    the handlers before are put back. Outside the main thread, where handlers cannot be set, a no-op."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        if before[sig] is not signal.SIG_IGN:
            signal.signal(sig, lambda signum, frame: noted.append(signum))
    try:
        yield noted
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def dask_setup(worker) -> None:
    """Run in each local worker process as it starts (``preload``): ignore Ctrl-C and SIGTERM, which reach
    every process of the terminal's group; the client stops the workers when it is stopped."""
    if threading.current_thread() is threading.main_thread():
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def raise_for(signum: int, handlers: dict) -> None:
    """What the handler in place before would have done for ``signum``: raise its exception, or end
    the process by the signal when it had none."""
    handler = handlers.get(signum)
    if callable(handler):
        handler(signum, None)
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


#: The schemes a client reaches a scheduler by as lipservice makes it (tls and wss take Dask's own TLS settings);
#: distributed also knows inproc (a scheduler inside this process) and ucx (needs ucx-py, no dependency of ours).
SCHEDULER_SCHEMES = ("tcp", "tls", "ws", "wss")
_HOST = re.compile(r"\[[0-9A-Za-z:.%]+\]|[\w.-]+")  # a name, an IPv4 address, or an IPv6 one in brackets


def check_scheduler(address: str) -> None:
    """Refuse a ``--scheduler`` that is no address a client can be given, before any work: distributed said
    ``ValueError: missing port number in address 'garbage'`` in a traceback, after the run's plan was written.
    A bare ``HOST:PORT`` is tcp, as distributed takes it. Whether the address can be reached is found on connecting."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if scheme not in SCHEDULER_SCHEMES:
        problem = f"{scheme}:// is not a scheme a Dask client reaches a scheduler by"
    elif not colon or rest.endswith("]"):
        problem = "it has no port"
    elif not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        problem = f"its port {port!r} is not a number from 1 to 65535"
    elif not _HOST.fullmatch(host):
        problem = (f"its host {host!r} is not a host name or IP address"
                   f"{' (an IPv6 address goes in brackets: [::1]:8786)' if ':' in host else ''}" if host else
                   "it has no host")
    else:
        return
    raise UsageError(f"--scheduler {address!r}: {problem}; give the scheduler's address as tcp://HOST:PORT (e.g. "
                     "tcp://10.0.0.5:8786; ws:// too, and tls:// or wss:// with Dask's TLS settings), or omit "
                     "--scheduler to start a local cluster", code=E_ADDRESS)


#: How long a client tries to reach ``--scheduler`` (a refused connection is retried until then).
CONNECT_TIMEOUT = "30s"


def dask_map(tasks: Iterable[tuple[int, list]], config_str: str, workers: int, scheduler: str | None,
             in_flight: int) -> Iterator:
    """Run shards on the cluster at ``scheduler`` (or a LocalCluster of ``workers`` processes).

    At most ``in_flight`` shards per worker are queued at once, so the client's memory stays
    flat however large the corpus is.
    """
    distributed = _distributed()
    from .batch import run_shard, threads_per_worker

    handlers = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    cluster = client = None
    pending: set = set()
    with deferred_signals() as noted:

        def stop_if_noted() -> None:
            """Raise what a signal noted meanwhile asks."""
            if noted:
                raise_for(noted[0], handlers)

        try:
            try:
                if scheduler:
                    client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
                else:
                    cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       dashboard_address=None, silence_logs=logging.CRITICAL,
                                                       preload=[__name__])  # dask_setup below
                    client = distributed.Client(cluster)
            except (OSError, TimeoutError) as err:
                stop_if_noted()  # stopped while it tried: the stop, not the address, is what the user asked about
                raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({err}); check the "
                                 "address (tcp://host:8786) or omit --scheduler to start a local cluster") from None
            except (ValueError, TypeError) as err:  # an address distributed refuses though check_scheduler took it
                if not scheduler:  # (tls:// without Dask's TLS settings is a TypeError)
                    raise
                raise UsageError(f"--scheduler {scheduler}: Dask cannot use this address ({err}); give it as "
                                 "tcp://HOST:PORT, or omit --scheduler to start a local cluster",
                                 code=E_ADDRESS) from None
            n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
            threads = threads_per_worker(n_workers) if cluster is not None else 0
            run = uuid.uuid4().hex[:8]

            def done_ones() -> Iterator:
                """The finished futures' results, waiting for one; a signal noted meanwhile stops them, also
                between two results (one that came while the caller wrote a shard was lost when no wait
                followed: the run went on to the end and exited 0)."""
                while True:
                    stop_if_noted()
                    done = [f for f in pending if f.done()]
                    if done:
                        pending.difference_update(done)
                        for fut in done:
                            stop_if_noted()
                            yield fut.result()
                        return
                    time.sleep(POLL_SECONDS)

            for index, items in tasks:
                stop_if_noted()
                pending.add(client.submit(run_shard, config_str, threads, index, items,
                                          key=f"lipservice-shard-{run}-{index}", pure=False))
                if len(pending) >= in_flight * n_workers:
                    yield from done_ones()
            while pending:
                yield from done_ones()
        finally:
            _close(client, cluster, pending)
        stop_if_noted()  # noted while the last shard was written or the cluster closed: stopped, not finished


#: Loggers that report a stopped run's way down (cancelled tasks, closed streams) at ERROR level. The
#: library leaves logging alone; the CLI quiets these (it decides where log lines go).
SHUTDOWN_LOGGERS = ("distributed", "tornado", "asyncio")


def _close(client, cluster, pending: set) -> None:
    """Cancel what is still queued, then close the client and the cluster."""
    if client is not None:
        if pending:
            with contextlib.suppress(Exception):
                client.cancel(list(pending))
        client.close()
    if cluster is not None:
        cluster.close()
