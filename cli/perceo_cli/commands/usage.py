"""`perceo usage`: the project's LLM calls, tokens and estimated cost, per day and model.

A plain command (no subcommands): registered with `app.command(name="usage")(usage)`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.measure import Measurement
from rich.table import Table

from perceo.llm.model import MAX_REPORT_DAYS  # the models only: no openai, no redis
from perceo_cli.context import app_context
from perceo_cli.output import Output, esc, plural

if TYPE_CHECKING:  # the LLM client imports openai (~0.5 s): only the command itself pays for it
    from perceo.llm.model import UsageReport


def usage(
    ctx: typer.Context,
    days: Annotated[
        int, typer.Option("--days", min=1, max=MAX_REPORT_DAYS, help="How many days back, today (UTC) included.")
    ] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """LLM usage of this project per day and model: calls, tokens and estimated cost (USD)."""
    app_ctx = app_context(ctx)
    # The embedded default reads the project's store; the API its workflows' LLM calls, for the key's project.
    report = app_ctx.backend.usage(days)
    if as_json:
        app_ctx.output.json(report)
    else:
        print_report(app_ctx.output, report)


def _cost(value: float | None, unpriced_calls: int = 0) -> str:
    """A model without a known price costs "unknown", never "$0.0000"; a sum missing some calls says so."""
    if value is None:
        return "unknown"
    return f"${value:.4f} + unknown" if unpriced_calls else f"${value:.4f}"


def print_report(output: Output, report: UsageReport) -> None:
    period = f"{report.since} to {report.until} (UTC)"
    if not report.rows:
        output.text(f"No LLM calls for project {report.project_id} from {period}.", markup=False)
        return
    table = Table(title=f"LLM usage of {report.project_id}, {period}; costs are estimates", title_justify="left")
    for column in ("Day", "Model"):
        table.add_column(column, no_wrap=True)
    for column in ("Calls", "Cached", "Failed", "Tokens in", "Tokens out", "Cost (USD)"):
        table.add_column(column, justify="right", no_wrap=True)
    for row in report.rows:
        table.add_row(
            row.day,
            esc(row.model),
            str(row.calls),
            str(row.cached_calls),
            str(row.failed_calls),
            f"{row.tokens_in:,}",
            f"{row.tokens_out:,}",
            _cost(row.cost_usd, row.unpriced_calls),
        )
    totals = report.totals
    table.add_section()
    table.add_row(
        "Total",
        "",
        str(totals.calls),
        str(totals.cached_calls),
        str(totals.failed_calls),
        f"{totals.tokens_in:,}",
        f"{totals.tokens_out:,}",
        _cost(totals.cost_usd, totals.unpriced_calls),
    )
    console = output.out
    if not console.is_terminal:
        # Piped output has no width to respect: never cut a model name to fit 80 columns.
        table.width = Measurement.get(console, console.options.update_width(1_000), table).maximum
    console.print(table)
    if totals.unpriced_calls:
        calls = plural(totals.unpriced_calls, "call")
        output.info(f"{calls} of a model without a known price: their cost is not included.")
