"""The Dask engine: the batch job's shards as tasks on a ``distributed`` cluster.

Each task runs :func:`nlp.batch.run_shard`, the same function as the local engine, so the
output is identical. A worker process builds the pipeline on its first shard and keeps it.
Workers return Parquet bytes; the client writes them, so workers need no shared disk — but
they need lipservice and its models installed (``pip install 'lipservice[dask]'``).
"""
from __future__ import annotations

import logging
import uuid
from typing import Iterable, Iterator

from .errors import E_MISSING_EXTRA, UsageError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'lipservice[dask]'"


def _distributed():
    try:
        from dask import distributed
    except ImportError:
        raise UsageError(f"--engine dask needs dask.distributed, which is not installed; run `{INSTALL_HINT}`",
                         code=E_MISSING_EXTRA) from None
    return distributed


def dask_map(tasks: Iterable[tuple[int, list]], config_str: str, workers: int, scheduler: str | None,
             in_flight: int) -> Iterator:
    """Run shards on the cluster at ``scheduler`` (or a LocalCluster of ``workers`` processes).

    At most ``in_flight`` shards per worker are queued at once, so the client's memory stays
    flat however large the corpus is.
    """
    distributed = _distributed()
    from .batch import run_shard, threads_per_worker

    cluster = None
    try:
        if scheduler:
            client = distributed.Client(scheduler, timeout="30s")
        else:
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None, silence_logs=logging.WARNING)
            client = distributed.Client(cluster)
    except (OSError, TimeoutError) as err:
        raise UsageError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({err}); check the address "
                         "(tcp://host:8786) or omit --scheduler to start a local cluster") from None
    n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
    threads = threads_per_worker(n_workers) if cluster is not None else 0
    run = uuid.uuid4().hex[:8]
    try:
        pending: set = set()
        for index, items in tasks:
            pending.add(client.submit(run_shard, config_str, threads, index, items,
                                      key=f"lipservice-shard-{run}-{index}", pure=False))
            if len(pending) >= in_flight * n_workers:
                done, pending = distributed.wait(pending, return_when="FIRST_COMPLETED")
                for fut in done:
                    yield fut.result()
        for fut in distributed.as_completed(pending):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
