"""Entry point: run the app, map errors to one clear line and an exit code (`perceo_cli.runner`).

Ctrl-C exits 130 without a traceback at any moment: while the modules load and while the process shuts down
(threads joined, stores closed) a SIGINT ends the process at once with 130; while a command runs it raises
KeyboardInterrupt, so the command's `finally` blocks (locks, temporary files, progress display) run first.
This module imports only the standard library at the top, so the first handler is in place before the app loads.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perceo_cli.context import AppContext

INTERRUPTED = 130


def main(argv: Sequence[str] | None = None, *, context: AppContext | None = None) -> int:
    """Run `perceo` and return its exit code. stdout/stderr and the backend come from `context`."""
    from perceo_cli.app import app
    from perceo_cli.context import AppContext
    from perceo_cli.output import Output
    from perceo_cli.runner import run_commands

    ctx = context or AppContext(output=Output())
    return run_commands(app, list(sys.argv[1:] if argv is None else argv), ctx)


def _say_interrupted() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        os.write(2, b"error: interrupted\n")
    except OSError:
        pass


def _exit_interrupted(signum: int, frame: FrameType | None) -> None:
    _say_interrupted()
    os._exit(INTERRUPTED)


def run() -> None:
    """The `perceo` console script."""
    signal.signal(signal.SIGINT, _exit_interrupted)  # loading the app: nothing to clean up yet
    try:
        from perceo_cli import app as _app  # noqa: F401 - load everything under the first handler

        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = main()
    except KeyboardInterrupt:  # outside the runner's own handling (closing the backend, between the handlers)
        _say_interrupted()
        code = INTERRUPTED
    signal.signal(signal.SIGINT, _exit_interrupted)  # shutting down: exit at once, no traceback
    sys.exit(code)


__all__ = ["main", "run"]
