"""`perceo insights ack|resolve|show ID`: triage the analyzer's insights (ID: the id or a unique prefix of 6+).

An acknowledged insight is being worked on: the analyzer keeps updating its evidence while the problem lasts. A
resolved one is closed: if the problem comes back on a later day, a new insight opens.
"""

from __future__ import annotations

from typing import Annotated

import typer

from perceo_cli.context import app_context

app = typer.Typer(help="Acknowledge, resolve and show the analyzer's insights.", no_args_is_help=True)

IdArgument = Annotated[str, typer.Argument(help="Insight id, or a unique prefix of it (6+ characters).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the insight as JSON on stdout.")]


@app.command("ack")
def acknowledge(ctx: typer.Context, ref: IdArgument, as_json: JsonOption = False) -> None:
    """Mark an insight as acknowledged (someone is on it)."""
    _set(ctx, ref, "acknowledged", as_json)


@app.command("resolve")
def resolve(ctx: typer.Context, ref: IdArgument, as_json: JsonOption = False) -> None:
    """Mark an insight as resolved."""
    _set(ctx, ref, "resolved", as_json)


def _set(ctx: typer.Context, ref: str, status: str, as_json: bool) -> None:
    app_ctx = app_context(ctx)
    insight = app_ctx.backend.set_insight_status(ref, "acknowledged" if status == "acknowledged" else "resolved")
    if as_json:
        app_ctx.output.json(insight)
    else:
        app_ctx.output.text(f"{insight.id[:8]} {insight.status}: {insight.title}")
