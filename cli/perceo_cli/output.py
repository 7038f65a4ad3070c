"""Everything the CLI prints goes through here.

stdout carries results only (JSON with `--json`); human text, warnings and progress go to stderr.
rich and pydantic load on first use, not when the CLI starts (`perceo --version` never needs them).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


#: Variables with which rich styles output that is not a terminal.
_COLOUR_FORCED = frozenset({"FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"})


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 changed file`, `2 changed files`: the count with the word in the right number."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def esc(value: object) -> str:
    """A value for a rich-markup line: `[name=email]` or `[bold]` in a flow, a selector or a path stay text."""
    from rich.markup import escape

    return escape(str(value))


def to_jsonable(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    return value


class Output:
    def __init__(self, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> None:
        self._stdout = stdout or sys.stdout
        self._stderr = stderr or sys.stderr
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        """The rich console on stdout (created on first use)."""
        if self._out is None:
            self._out = _console(self._stdout)
        return self._out

    @out.setter
    def out(self, console: Console) -> None:
        self._out = console

    @property
    def err(self) -> Console:
        """The rich console on stderr (created on first use)."""
        if self._err is None:
            self._err = _console(self._stderr)
        return self._err

    @err.setter
    def err(self, console: Console) -> None:
        self._err = console

    @property
    def interactive(self) -> bool:
        return self.err.is_terminal

    def json(self, value: Any) -> None:
        """Print a JSON document on stdout, and nothing else."""
        self._stdout.write(json.dumps(to_jsonable(value), indent=2, sort_keys=False, ensure_ascii=False) + "\n")
        self._stdout.flush()

    def raw(self, text: str) -> None:
        """Text on stdout exactly as given (a file's content: no markup, no wrapping)."""
        self._stdout.write(text)
        self._stdout.flush()

    def text(self, message: str = "", **kwargs: Any) -> None:
        """A result line for humans on stdout (rich markup allowed)."""
        self.out.print(message, **kwargs)

    def info(self, message: str) -> None:
        """A plain line for humans on stderr: never read as markup (it often carries paths, names, selectors)."""
        if (plain := self._plain_stderr()) is not None:
            plain.write(message + "\n")
            return
        self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        if (plain := self._plain_stderr()) is not None:
            plain.write(f"warning: {message}\n")
            return
        self.err.print(f"[yellow]warning:[/yellow] {esc(message)}")

    def error(self, message: str) -> None:
        if (plain := self._plain_stderr()) is not None:
            plain.write(f"error: {message}\n")
            return
        self.err.print(f"[red]error:[/red] {esc(message)}", markup=True)

    def _plain_stderr(self) -> IO[str] | None:
        """stderr itself when lines need no console: not a terminal (CI, a pipe, a file), no colour forced, no console
        made yet. What rich would print there is the same text without styles, so a warning in CI does not cost
        loading rich."""
        if self._err is not None or _COLOUR_FORCED & os.environ.keys():
            return None
        try:
            return None if self._stderr.isatty() else self._stderr
        except (AttributeError, ValueError):  # a closed or odd stream: let rich decide
            return None

    @contextmanager
    def progress(self, *, enabled: bool = True) -> Iterator[Progress]:
        """A progress display on stderr; silent when stderr is not a terminal."""
        from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn

        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[message]}"),
            console=self.err,
            transient=True,
            disable=not (enabled and self.interactive),
        )
        with progress:
            yield progress


def _console(file: IO[str]) -> Console:
    from rich.console import Console

    return Console(file=file, highlight=False, soft_wrap=True)
