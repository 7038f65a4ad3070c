"""`perceo status`: the last run of each scheduled job (`aggregate`, `detect-anomalies`, `check-alerts`,
`cleanup`): when it started and finished, how it ended, what it did, which projects failed.

Through the API it reads `GET /health`; on the embedded default, the records of the project's store (written when
the local cloud's scheduler or `perceo local run-schedule` runs a job against it). Exits 1 when a job's last run
failed or was partial, so a monitor can call it. A plain command, registered with
`app.command(name="status")(status)`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from perceo_cli.context import app_context
from perceo_cli.exit import ExitStatus


def _when(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """The last run of each scheduled job and its outcome; exit 1 when one failed."""
    app_ctx = app_context(ctx)
    records = app_ctx.backend.job_status()
    if as_json:
        app_ctx.output.json({"jobs": records})
    elif not records:
        app_ctx.output.text("No scheduled job has run yet.")
    else:
        table = Table(title_justify="left")
        for column in ("Job", "Started (UTC)", "Took", "Outcome", "Projects", "Did", "Failed projects"):
            table.add_column(column)
        for r in records:
            did = ", ".join(
                f"{value} {label}"
                for label, value in (("days", r.days), ("created", r.created), ("updated", r.updated),
                                     ("deleted", r.deleted), ("delivered", r.delivered), ("failed", r.failed))
                if value
            )  # fmt: skip
            failures = ", ".join(f"{f.project_id[:8]} ({f.error})" for f in r.failures[:5])
            took = f"{(r.finished_at - r.started_at) / 1000:.1f} s"
            table.add_row(r.job, _when(r.started_at), took, r.outcome, str(r.projects), did or "-", failures or "-")
        app_ctx.output.out.print(table)
    if any(r.outcome in ("failed", "partial") for r in records):
        raise typer.Exit(ExitStatus.ERROR)
