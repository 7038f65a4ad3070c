"""Running the CLI's command tree once: errors become one clear line and an exit code, never a traceback.

`perceo_cli.main` runs the `perceo` app with it; a command that runs other commands (`perceo demo`) runs its own
root command with it, so no command module imports the app that registers it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer.exceptions import TyperException

from perceo.errors import (
    ConfigError,
    GitTimeoutError,
    InvalidRefError,
    NotAGitRepositoryError,
    NotFoundError,
    PerceoError,
    ValidationFailed,
)
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus

#: Errors caused by what the user typed or wrote (a bad value, a flow or id that does not exist): exit 2.
#: Everything else a PerceoError means: exit 1.
USAGE_ERRORS: tuple[type[PerceoError], ...] = (
    ConfigError,
    InvalidRefError,
    NotAGitRepositoryError,
    NotFoundError,
    ValidationFailed,
)


#: What a read-only checkout or file system answers to a write.
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def exit_status_for(error: PerceoError) -> ExitStatus:
    if isinstance(error, GitTimeoutError):
        return ExitStatus.TIMEOUT
    return ExitStatus.USAGE if isinstance(error, USAGE_ERRORS) else ExitStatus.ERROR


def run_commands(command: Callable[..., Any], argv: Sequence[str], context: AppContext) -> int:
    """Run `command` (the typer app, or its click group) on `argv` and return the exit code; closes `context`."""
    try:
        result = command(args=list(argv), prog_name="perceo", standalone_mode=False, obj=context)
        code = int(result) if isinstance(result, int) else ExitStatus.OK
        if code == ExitStatus.INTERRUPTED:  # typer turns KeyboardInterrupt into a silent 130
            context.output.error("interrupted")
        return code
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
        if isinstance(error, OSError) and error.errno in NOT_WRITABLE:
            where = error.filename or "a file of the project"
            context.output.error(
                f"cannot write {where}: {error.strerror or 'permission denied'}. Is the folder read-only? "
                "Perceo keeps its config and data under .perceo/: run it in a writable checkout "
                "(or pass --project-dir)"
            )
            return ExitStatus.ERROR
        context.output.error(f"unexpected {type(error).__name__}: {error} (set PERCEO_DEBUG=1 for a traceback)")
        return ExitStatus.ERROR
    finally:
        context.close()
