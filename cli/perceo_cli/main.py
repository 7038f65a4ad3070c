"""Entry point: run the app, map errors to one clear line and an exit code (`perceo_cli.runner`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from perceo_cli.app import app
from perceo_cli.context import AppContext
from perceo_cli.output import Output
from perceo_cli.runner import USAGE_ERRORS, exit_status_for, run_commands


def main(argv: Sequence[str] | None = None, *, context: AppContext | None = None) -> int:
    """Run `perceo` and return its exit code. stdout/stderr and the backend come from `context`."""
    ctx = context or AppContext(output=Output())
    return run_commands(app, list(sys.argv[1:] if argv is None else argv), ctx)


def run() -> None:
    sys.exit(main())


__all__ = ["USAGE_ERRORS", "exit_status_for", "main", "run"]
