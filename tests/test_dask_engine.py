"""nlp/dask_engine.py: clear errors when the extra is missing or the scheduler unreachable; signals stop a run.

Output equality with the local engine on a LocalCluster is tested in tests/test_batch.py.
"""
from __future__ import annotations

import builtins
from pathlib import Path

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
    assert e.value.code == E_MISSING_EXTRA and "-m pip install -e " in str(e.value)
    assert f"{Path(dask_engine.__file__).resolve().parent.parent}[dask]" in str(e.value)  # the checkout, no index


def test_unreachable_scheduler_is_a_usage_error(monkeypatch):
    pytest.importorskip("dask.distributed")
    from nlp import dask_engine
    from nlp.dask_engine import dask_map

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "2s")  # a refused connection is retried until then

    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        list(dask_map(iter([]), "", 1, "tcp://127.0.0.1:1", 2))


class _Done:
    """A finished future."""

    def __init__(self, value):
        self.value = value

    def done(self):
        return True

    def result(self):
        return self.value


class _Client:
    """A client whose every task has finished by the time it is asked: all shards' results come from one
    wait, so a signal that comes while the caller writes one of them is seen by no later wait."""

    def __init__(self, *args, **kwargs):
        self.cancelled = []

    def scheduler_info(self):
        return {"workers": {"w1": {}}}

    def submit(self, fn, config_str, threads, index, items, key, pure):
        return _Done(index)

    def cancel(self, futures):
        self.cancelled += futures

    def close(self):
        pass


class _Stopped(Exception):
    pass


def test_a_signal_that_comes_while_a_shard_is_written_stops_the_run(monkeypatch):
    """SIGTERM sent while the caller wrote a shard was noted and then lost when every other result had
    come with the same wait: the run went on to its end and exited 0 (once in 21 CI runs, then under load)."""
    import os
    import signal
    import types

    from nlp import dask_engine

    monkeypatch.setattr(dask_engine, "_distributed", lambda: types.SimpleNamespace(Client=_Client))
    before = signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(_Stopped()))
    try:
        written = []
        with pytest.raises(_Stopped):
            for index in dask_map_of(dask_engine, 5):
                written.append(index)
                if len(written) == 1:
                    os.kill(os.getpid(), signal.SIGTERM)  # as the first shard is written
        assert len(written) == 1
        with pytest.raises(_Stopped):  # the last shard: noted after the last result, still stops the run
            for index in dask_map_of(dask_engine, 1):
                os.kill(os.getpid(), signal.SIGTERM)
        assert sorted(dask_map_of(dask_engine, 3)) == [0, 1, 2]  # no signal: every result

        class ClosingClient(_Client):
            def close(self):  # the signal comes while the cluster shuts down, after every shard
                os.kill(os.getpid(), signal.SIGTERM)

        monkeypatch.setattr(dask_engine, "_distributed", lambda: types.SimpleNamespace(Client=ClosingClient))
        with pytest.raises(_Stopped):
            list(dask_map_of(dask_engine, 2))

        def unreachable(*args, **kwargs):  # stopped while it tried to connect: the stop, not E100
            os.kill(os.getpid(), signal.SIGTERM)
            raise OSError("timed out")

        monkeypatch.setattr(dask_engine, "_distributed", lambda: types.SimpleNamespace(Client=unreachable))
        with pytest.raises(_Stopped):
            list(dask_map_of(dask_engine, 2))
    finally:
        signal.signal(signal.SIGTERM, before)


def dask_map_of(dask_engine, n):
    return dask_engine.dask_map(((i, [i]) for i in range(n)), "", 1, "tcp://fake:8786", in_flight=n)


@pytest.mark.parametrize("address,says", [
    ("garbage", "it has no port"),
    ("tcp://localhost", "it has no port"),
    ("tcp://127.0.0.1:abc", "its port 'abc' is not a number from 1 to 65535"),
    ("tcp://127.0.0.1:99999", "its port '99999' is not a number from 1 to 65535"),
    ("tcp://:8786", "it has no host"),
    ("tcp://::1:8786", "its host '::1' is not a host name or IP address (an IPv6 address goes in brackets"),
    ("inproc://x", "inproc:// is not a scheme a Dask client reaches a scheduler by"),
    ("http://127.0.0.1:8786", "http:// is not a scheme a Dask client reaches a scheduler by"),
])
def test_a_malformed_scheduler_address_is_a_coded_error_naming_it_and_the_form(address, says):
    """distributed raised ``ValueError: missing port number in address 'garbage'`` (and the like) in a traceback."""
    from nlp.dask_engine import check_scheduler
    from nlp.errors import E_ADDRESS

    with pytest.raises(UsageError) as e:
        check_scheduler(address)
    assert e.value.code == E_ADDRESS and e.value.exit_code == 2
    assert str(e.value).startswith(f"[E134] --scheduler {address!r}: {says}")
    assert "give the scheduler's address as tcp://HOST:PORT" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tcp://my-host.example:8786",
                                     "tcp://[::1]:8786", "tls://host:8786", "ws://host:8786", "wss://host:8786"])
def test_well_formed_scheduler_addresses_pass_the_check(address):
    from nlp.dask_engine import check_scheduler

    check_scheduler(address)  # whether it can be reached is found on connecting


def test_an_address_distributed_refuses_on_connecting_is_a_usage_error(monkeypatch):
    """tls:// without Dask's TLS settings is a TypeError from distributed, a bad address a ValueError: a traceback."""
    import types

    from nlp import dask_engine

    for exc in (TypeError("TLS expects a `ssl_context` argument"), ValueError("unknown address scheme")):
        def refuse(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(dask_engine, "_distributed", lambda: types.SimpleNamespace(Client=refuse))
        with pytest.raises(UsageError) as e:
            list(dask_map_of(dask_engine, 1))
        assert e.value.code == "E134" and str(exc) in str(e.value) and "tcp://HOST:PORT" in str(e.value)
