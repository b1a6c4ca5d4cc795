"""nlp/console.py: a stop while the command line is still loading is one line, never a traceback."""
from __future__ import annotations

import builtins
import signal

import pytest

from nlp import console


def _exit_code_of_main() -> int:
    """Run the console entry point to its exit, leaving the SIGTERM handler as it was."""
    previous = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as stop:
            console.main()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return stop.value.code


@pytest.mark.parametrize("sigterm, code, said", [(False, 130, "interrupted\n"), (True, 143, "terminated (SIGTERM)\n")])
def test_a_stop_while_the_cli_imports_is_one_line_and_its_exit_code(monkeypatch, capsys, sigterm, code, said):
    real_import = builtins.__import__

    def stopped(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "cli" and level == 1:  # `from .cli import main`, a second into it
            if sigterm:
                console._on_sigterm(signal.SIGTERM, None)
            raise KeyboardInterrupt
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", stopped)
    monkeypatch.setitem(console._SIGTERM, "came", False)
    assert _exit_code_of_main() == code and capsys.readouterr().err == said


def test_a_working_directory_that_no_longer_exists_is_one_line(monkeypatch, capsys):
    """torch's libraries failed to load there with "Intel oneMKL FATAL ERROR" and exit code 2."""
    def gone():
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(console.os, "getcwd", gone)
    assert _exit_code_of_main() == 1 and "[E127] the working directory no longer exists" in capsys.readouterr().err
