"""nlp/dask_engine.py: clear errors when the extra is missing or the scheduler unreachable.

Output equality with the local engine on a LocalCluster is tested in tests/test_batch.py.
"""
from __future__ import annotations

import builtins

import pytest

from nlp.errors import E_MISSING_EXTRA, UsageError


def test_missing_dask_gives_an_install_hint(monkeypatch):
    from nlp import dask_engine

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "dask" or name.startswith("dask."):
            raise ImportError("no dask")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(UsageError) as e:
        dask_engine._distributed()
    assert e.value.code == E_MISSING_EXTRA and "lipservice[dask]" in str(e.value)


def test_unreachable_scheduler_is_a_usage_error():
    pytest.importorskip("dask.distributed")
    from nlp.dask_engine import dask_map

    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        list(dask_map(iter([]), "", 1, "tcp://127.0.0.1:1", 2))
