"""Entry point: run the app, map errors to one clear line and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import typer
from typer.exceptions import TyperException

from perceo.errors import (
    ConfigError,
    InvalidRefError,
    NotAGitRepositoryError,
    PerceoError,
    ValidationFailed,
)
from perceo_cli.app import app
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.output import Output

#: Errors caused by what the user typed or wrote: exit 2. Everything else a PerceoError means: exit 1.
USAGE_ERRORS: tuple[type[PerceoError], ...] = (ConfigError, InvalidRefError, NotAGitRepositoryError, ValidationFailed)


def exit_status_for(error: PerceoError) -> ExitStatus:
    return ExitStatus.USAGE if isinstance(error, USAGE_ERRORS) else ExitStatus.ERROR


def main(argv: Sequence[str] | None = None, *, context: AppContext | None = None) -> int:
    """Run `perceo` and return its exit code. stdout/stderr and the backend come from `context`."""
    ctx = context or AppContext(output=Output())
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result = app(args=args, prog_name="perceo", standalone_mode=False, obj=ctx)
        return int(result) if isinstance(result, int) else ExitStatus.OK
    except PerceoError as error:
        ctx.output.error(error.message)
        return exit_status_for(error)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        ctx.output.error("aborted")
        return ExitStatus.INTERRUPTED
    except TyperException as error:
        # Usage errors (unknown option, missing argument, bare group): typer's click prints usage and the reason.
        show = getattr(error, "show", None)
        if callable(show):
            show(file=ctx.output.err.file)
        else:
            ctx.output.error(str(error))
        return int(getattr(error, "exit_code", ExitStatus.USAGE))
    except KeyboardInterrupt:
        ctx.output.error("interrupted")
        return ExitStatus.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("PERCEO_DEBUG"):
            raise
        ctx.output.error(f"unexpected {type(error).__name__}: {error} (set PERCEO_DEBUG=1 for a traceback)")
        return ExitStatus.ERROR
    finally:
        ctx.close()


def run() -> None:
    sys.exit(main())


__all__ = ["main", "run"]
