"""Running the CLI's command tree once: errors become one clear line and an exit code, never a traceback.

`perceo_cli.main` runs the `perceo` app with it; a command that runs other commands (`perceo demo`) runs its own
root command with it, so no command module imports the app that registers it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer.exceptions import TyperException

from perceo.errors import (
    ConfigError,
    InvalidRefError,
    NotAGitRepositoryError,
    PerceoError,
    ValidationFailed,
)
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus

#: Errors caused by what the user typed or wrote: exit 2. Everything else a PerceoError means: exit 1.
USAGE_ERRORS: tuple[type[PerceoError], ...] = (ConfigError, InvalidRefError, NotAGitRepositoryError, ValidationFailed)


def exit_status_for(error: PerceoError) -> ExitStatus:
    return ExitStatus.USAGE if isinstance(error, USAGE_ERRORS) else ExitStatus.ERROR


def run_commands(command: Callable[..., Any], argv: Sequence[str], context: AppContext) -> int:
    """Run `command` (the typer app, or its click group) on `argv` and return the exit code; closes `context`."""
    try:
        result = command(args=list(argv), prog_name="perceo", standalone_mode=False, obj=context)
        return int(result) if isinstance(result, int) else ExitStatus.OK
    except PerceoError as error:
        context.output.error(error.message)
        return exit_status_for(error)
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        context.output.error("aborted")
        return ExitStatus.INTERRUPTED
    except TyperException as error:
        # Usage errors (unknown option, missing argument, bare group): typer's click prints usage and the reason.
        show = getattr(error, "show", None)
        if callable(show):
            show(file=context.output.err.file)
        else:
            context.output.error(str(error))
        return int(getattr(error, "exit_code", ExitStatus.USAGE))
    except KeyboardInterrupt:
        context.output.error("interrupted")
        return ExitStatus.INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if os.environ.get("PERCEO_DEBUG"):
            raise
        context.output.error(f"unexpected {type(error).__name__}: {error} (set PERCEO_DEBUG=1 for a traceback)")
        return ExitStatus.ERROR
    finally:
        context.close()
