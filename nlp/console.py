"""The ``lipservice`` console script. The command line takes a second to import (typer, rich, scikit-learn):
Ctrl-C or SIGTERM in that second printed a page of traceback; here it is one line, as in a command."""
from __future__ import annotations

import os
import signal
import sys

_SIGTERM = {"came": False}


def _on_sigterm(signum, frame) -> None:
    _SIGTERM["came"] = True
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)  # until cli.main puts its own in place
    try:
        os.getcwd()
    except FileNotFoundError:  # torch's libraries then fail to load with "Intel oneMKL FATAL ERROR"
        sys.stderr.write("error: [E127] the working directory no longer exists (it was deleted or moved); cd to one "
                         "that does and run the command again\n")
        sys.exit(1)  # as every E127, the machine's doing
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("terminated (SIGTERM)\n" if _SIGTERM["came"] else "interrupted\n")
        sys.exit(143 if _SIGTERM["came"] else 130)
    run()
