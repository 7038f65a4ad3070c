"""Everything the CLI prints goes through here.

stdout carries results only (JSON with `--json`); human text, warnings and progress go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 changed file`, `2 changed files`: the count with the word in the right number."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def esc(value: object) -> str:
    """A value for a rich-markup line: `[name=email]` or `[bold]` in a flow, a selector or a path stay text."""
    return escape(str(value))


def to_jsonable(value: Any) -> Any:
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
        self.out = Console(file=self._stdout, highlight=False, soft_wrap=True)
        self.err = Console(file=self._stderr, highlight=False, soft_wrap=True)

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
        self.err.print(message, markup=False)

    def warn(self, message: str) -> None:
        self.err.print(f"[yellow]warning:[/yellow] {escape(message)}")

    def error(self, message: str) -> None:
        self.err.print(f"[red]error:[/red] {escape(message)}", markup=True)

    @contextmanager
    def progress(self, *, enabled: bool = True) -> Iterator[Progress]:
        """A progress display on stderr; silent when stderr is not a terminal."""
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
