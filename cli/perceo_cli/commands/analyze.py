"""`perceo analyze insights|coverage|predict|predictions`: what Perceo tells the team to do, through the Backend port.

`analyze insights` runs the analyzer (anomaly detection and every insight rule, stored one per subject and day)
and lists the insights; `analyze coverage` ranks the flows by the users a day no recent test guards. The JSON
documents are versioned contracts (`version` 1; keys are only ever added), described in the README.
`analyze predictions` reports how `ci analyze`'s predictions held against test outcomes (the coordinator's).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer
from rich.table import Table

from perceo.errors import ValidationFailed
from perceo.models.vocab import InsightStatus, InsightType, Severity
from perceo_cli.context import app_context
from perceo_cli.output import Output

if TYPE_CHECKING:
    from perceo.analyzer.insights import AnalyzerRun, CoverageReport
    from perceo.models import Insight

app = typer.Typer(help="Insights, coverage and predictions from flows, production metrics and test runs.",
                  no_args_is_help=True)  # fmt: skip

CONTRACT_VERSION = 1
INSIGHT_TYPES: tuple[str, ...] = get_args(InsightType)
SEVERITIES: tuple[str, ...] = get_args(Severity)
STATUSES: tuple[str, ...] = get_args(InsightStatus)


class InsightsFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"


def _choices(values: list[str] | None, allowed: tuple[str, ...], option: str) -> list[Any]:
    unknown = [v for v in values or [] if v not in allowed]
    if unknown:
        raise ValidationFailed(
            f"unknown {option} {', '.join(repr(u) for u in unknown)}: use {', '.join(allowed)}",
            details={"field": option},
        )
    return list(values or [])


def _since(value: str, today: str | None) -> str:
    """The first day of `--since`, counted back from the analyzer's day (else today, UTC)."""
    from perceo.analyzer.insights import parse_since

    return parse_since(value, today=today or dt.datetime.now(dt.UTC).date().isoformat())


@app.command("insights")
def insights(
    ctx: typer.Context,
    kind: Annotated[
        list[str] | None, typer.Option("--type", help=f"Only this type (repeat): {', '.join(INSIGHT_TYPES)}.")
    ] = None,
    since: Annotated[str, typer.Option("--since", help="Seen since a day (YYYY-MM-DD) or N days back (7d).")] = "7d",
    severity: Annotated[
        str | None, typer.Option("--severity", help=f"At least this severity: {', '.join(SEVERITIES)}.")
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only this status (repeat); default open and acknowledged.")
    ] = None,
    run: Annotated[bool, typer.Option("--run/--no-run", help="Run the analyzer first (default) or only list.")] = True,
    report_format: Annotated[InsightsFormat, typer.Option("--format", help="Output on stdout.")] = InsightsFormat.text,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json: only JSON on stdout.")] = False,
) -> None:
    """Run the analyzer and list the project's insights, most severe first, with evidence and actions."""
    app_ctx = app_context(ctx)
    types = _choices(kind, INSIGHT_TYPES, "--type")
    statuses = _choices(status, STATUSES, "--status") or ["open", "acknowledged", "in_progress"]
    min_severity = _choices([severity] if severity else None, SEVERITIES, "--severity")
    _since(since, None)  # bad input stops here, before the analyzer writes anything
    fmt = InsightsFormat.json if as_json else report_format
    backend = app_ctx.backend
    done: AnalyzerRun | None = None
    if run:
        if fmt == InsightsFormat.text:
            app_ctx.output.info("Analyzing flows, metrics and test runs…")
        done = backend.run_analyzer()
    since_day = _since(since, done.day if done else None)
    found = backend.list_insights(
        types=types,
        statuses=statuses,
        min_severity=min_severity[0] if min_severity else None,
        since_day=since_day,
    )
    if fmt == InsightsFormat.json:
        app_ctx.output.json(insights_document(done, found, since_day=since_day))
    elif fmt == InsightsFormat.md:
        app_ctx.output.text(insights_markdown(found, since_day=since_day), markup=False, end="")
    else:
        print_insights(app_ctx.output, done, found, since_day=since_day)


def insights_document(done: AnalyzerRun | None, found: list[Insight], *, since_day: str) -> dict[str, Any]:
    return {
        "version": CONTRACT_VERSION,
        "since": since_day,
        "run": None
        if done is None
        else {
            "projectId": done.project_id,
            "day": done.day,
            "flows": done.flows,
            "metricDays": done.metric_days,
            "runs": done.runs,
            "analyses": done.analyses,
            "created": done.created,
            "updated": done.updated,
            "anomalies": done.anomalies,
            "alerts": done.alerts,
        },
        "insights": [i.model_dump(mode="json") for i in found],
    }


def _short(insight_id: str) -> str:
    return insight_id[:8]


def print_insights(output: Output, done: AnalyzerRun | None, found: list[Insight], *, since_day: str) -> None:
    if done is not None:
        output.info(
            f"Analyzed {done.flows} flows, {done.metric_days} days of metrics, {done.runs} test runs and "
            f"{done.analyses} change analyses: {done.created} new insight(s), {done.updated} updated, "
            f"{len(done.anomalies)} anomaly point(s) in the last days."
        )
        if done.alerts:
            failed = [a for a in done.alerts if a.get("status") == "failed"]
            sent = sum(a.get("status") == "delivered" for a in done.alerts)
            output.info(
                f"Alerts: {sent} sent, {len(failed)} failed"
                + (f" ({', '.join(sorted({str(a.get('reason')) for a in failed}))})" if failed else "")
                + "."
            )
    if not found:
        output.text(f"No insights since {since_day}.")
        return
    for insight in found:
        colour = {"critical": "red", "high": "red", "medium": "yellow"}.get(insight.severity, "dim")
        output.text(
            f"[{colour}]{insight.severity.upper():8}[/{colour}] {insight.type:12} {_short(insight.id)}  "
            f"[bold]{insight.title}[/bold]  [dim]({insight.status})[/dim]"
        )
        output.text(f"         {insight.message}")
        if insight.suggested_action:
            output.text(f"         [green]→[/green] {insight.suggested_action}")
    output.info("`perceo insights ack ID` / `perceo insights resolve ID`; evidence with --json.")


def insights_markdown(found: list[Insight], *, since_day: str) -> str:
    lines = ["<!-- perceo:analyze-insights -->", f"### Perceo insights since {since_day}", ""]
    if not found:
        return "\n".join([*lines, "No insights.", ""])
    lines += ["| severity | type | insight | suggested action | id |", "|---|---|---|---|---|"]
    for i in found:
        cells = [i.severity, i.type, f"**{i.title}**<br>{i.message}", i.suggested_action or "", f"`{_short(i.id)}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join([*lines, ""])


@app.command("coverage")
def coverage(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Flows x tests x traffic: what is covered, what is not, ranked by users a day at risk."""
    app_ctx = app_context(ctx)
    report = app_ctx.backend.coverage()
    if as_json:
        app_ctx.output.json({"version": CONTRACT_VERSION, **report.model_dump(mode="json")})
        return
    print_coverage(app_ctx.output, report)


def print_coverage(output: Output, report: CoverageReport) -> None:
    if not report.flows:
        output.text("No flows yet: run `perceo init`.")
        return
    table = Table(
        title=f"Coverage on {report.day}: covered = a test run in the last {report.stale_run_days} days",
        title_justify="left",
    )
    for column in ("Flow", "Priority", "Users/day", "Runs", "Last run", "Pass rate", "Covered", "Users at risk"):
        table.add_column(column, justify="right" if column in ("Users/day", "Runs", "Users at risk") else "left")
    for row in report.flows:
        last = "-" if row.last_run_status is None else f"{row.last_run_status}, {row.idle_days} d ago"
        table.add_row(
            row.name,
            row.priority,
            "-" if row.users_per_day is None else f"{row.users_per_day:,.0f}",
            str(row.runs),
            last,
            "-" if row.pass_rate is None else f"{row.pass_rate:.0%}",
            "yes" if row.covered else "[red]no[/red]",
            f"{row.users_at_risk:,.0f}",
        )
    output.out.print(table)
    output.text(
        f"{report.covered} covered, {report.uncovered} not; "
        f"{report.users_at_risk:,.0f} users a day walk untested flows."
    )


@app.command("predict")
def predict(
    ctx: typer.Context,
    base: Annotated[str, typer.Option("--base", help="Base ref (the merge base with HEAD is used).")] = "origin/main",
    head: Annotated[str, typer.Option("--head", help="Head ref.")] = "HEAD",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """The flows a change reaches, each with a failure probability, the model that gave it and its calibration."""
    from perceo.observer.analyze import analyze_checkout
    from perceo_cli.commands.ci import discovery_cache_dir

    app_ctx = app_context(ctx)
    config = app_ctx.config
    change_set, affected = analyze_checkout(
        app_ctx.project_dir,
        base,
        head,
        working_tree=False,
        deepen=False,
        framework=config.project.framework or "auto",
        cache_dir=discovery_cache_dir(app_ctx.project_dir),
    )
    backend = app_ctx.backend
    analysis = backend.analyze(change_set, affected)
    report = backend.predict(analysis.id)
    if as_json:
        app_ctx.output.json({"version": CONTRACT_VERSION, **report.model_dump(mode="json")})
        return
    model = report.model
    calibration = (
        f"Brier {model['brier']} on {model['outcomes']} outcomes (heuristic {model['heuristicBrier']})"
        if model.get("outcomes")
        else "no recorded outcomes yet"
    )
    app_ctx.output.text(
        f"Change {report.base_sha[:12]}..{report.head_sha[:12]}: {len(report.flows)} flow(s) reached; "
        f"{model['model']} model, {calibration}."
    )
    for flow in report.flows:
        app_ctx.output.text(
            f"  {flow.probability:>4.0%}  {flow.name} ({flow.priority})  risk {flow.risk_score:.2f}, "
            f"past failures {flow.past_failure_rate:.0%} of {flow.past_runs} run(s)"
        )


@app.command("predictions")
def predictions(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """How `ci analyze`'s predictions held against test outcomes: precision and recall of "affected" vs
    "failed", the Brier score and a reliability table by risk bucket (the last 90 days)."""
    from perceo_cli.coordinator.commands import predictions as report

    report(app_context(ctx), as_json=as_json)
