"""`perceo analyze …`: what Perceo learnt from its own records (`analyze predictions`)."""

from __future__ import annotations

from typing import Annotated

import typer

from perceo_cli.context import app_context

app = typer.Typer(help="Reports over what Perceo recorded.", no_args_is_help=True)


@app.command("predictions")
def predictions(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """How `ci analyze`'s predictions held against test outcomes: precision and recall of "affected" vs
    "failed", the Brier score and a reliability table by risk bucket (the last 90 days)."""
    from perceo_cli.coordinator.commands import predictions as report

    report(app_context(ctx), as_json=as_json)
