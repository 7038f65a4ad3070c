"""`perceo analytics connect|sync|correlate|gaps|status|impact|snippet`: production traffic of the project's flows.

Every command goes through the Backend port: the embedded default runs the engine in-process (events under
`.perceo/data/events/`, provider credentials in `.perceo/secrets/analytics.json`), the API backend calls
`/analytics/*`. Both print the same output.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from perceo.analytics.model import (
    PROVIDERS,
    SIMILARITY_BUCKETS,
    AnalyticsStatus,
    CorrelationReport,
    FlowImpact,
    GapsReport,
    ProviderName,
    SyncRun,
)
from perceo.errors import ValidationFailed
from perceo.models.common import now_ms
from perceo_cli.context import app_context
from perceo_cli.output import Output

app = typer.Typer(help="Production analytics: connect providers, sync, and each flow's production figures.")

#: The most days a report covers (the engine's limit).
MAX_DAYS = 92
_RELATIVE = re.compile(r"^(\d{1,3})d$")

ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", "-p", help=f"One provider ({', '.join(PROVIDERS)}); default: every connected one."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
DaysOption = Annotated[int, typer.Option("--days", min=1, max=MAX_DAYS, help="How many UTC days back, today included.")]
#: The version of the `correlate --json` and `gaps --json` documents (keys are only ever added within a version).
CONTRACT_VERSION = 1


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"


FormatOption = Annotated[ReportFormat, typer.Option("--format", help="Output on stdout: text, json or md.")]
FormatJsonOption = Annotated[bool, typer.Option("--json", help="Same as --format json: only JSON on stdout.")]


def _provider(value: str | None) -> ProviderName | None:
    if value is None:
        return None
    if value not in PROVIDERS:
        known = ", ".join(PROVIDERS)
        raise ValidationFailed(f"unknown provider {value!r}: one of {known}", details={"field": "provider"})
    return value


def parse_time(value: str | None, *, option: str, now: int | None = None) -> int | None:
    """Epoch ms of `7d` (7 days ago), `2026-03-01` (00:00 UTC) or an ISO-8601 time with a zone."""
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        return (now if now is not None else now_ms()) - int(relative.group(1)) * 86_400_000
    try:
        if len(text) == 10:
            return int(dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp() * 1000)
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValidationFailed(
            f"{option} {value!r} is not a time: use 7d, YYYY-MM-DD (UTC) or ISO-8601 with a zone",
            details={"field": option},
        )
    return int(when.timestamp() * 1000)


@app.command("connect")
def connect(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(help=f"{', '.join(PROVIDERS)}")],
    credentials_file: Annotated[
        Path | None,
        typer.Option("--credentials-file", help="A JSON object with the provider's credentials (e.g. a GA4 key)."),
    ] = None,
    credentials_stdin: Annotated[
        bool, typer.Option("--credentials-stdin", help="Read the credentials JSON object from stdin.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check a provider's credentials with it, then keep them in the secrets store (never in config.json).

    Mixpanel: {projectId, username, secret, region?}; Amplitude: {apiKey, secretKey, region?};
    GA4: {propertyId, serviceAccount} or {propertyId, accessToken}. Events from the browser snippet or a server
    need no connection: create a key with the `ingest` scope (`perceo keys create web --scope ingest`)."""
    app_ctx = app_context(ctx)
    name = _provider(provider)
    assert name is not None
    if (credentials_file is None) == (not credentials_stdin):
        raise ValidationFailed("give the credentials with exactly one of --credentials-file or --credentials-stdin")
    try:
        text = sys.stdin.read() if credentials_stdin else credentials_file.read_text("utf-8")  # type: ignore[union-attr]
    except OSError as error:
        raise ValidationFailed(f"cannot read {credentials_file}: {error.strerror}") from None
    try:
        credentials = json.loads(text)
    except ValueError:
        credentials = None
    if not isinstance(credentials, dict) or not credentials:
        raise ValidationFailed("the credentials must be a non-empty JSON object")  # never echo the text
    check = app_ctx.backend.analytics_connect(name, credentials)
    if as_json:
        app_ctx.output.json(check)
    else:
        app_ctx.output.text(f"Connected {check.provider}: {check.detail}")


@app.command("sync")
def sync(
    ctx: typer.Context,
    provider: ProviderOption = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From (7d, YYYY-MM-DD or ISO-8601); default: each provider's cursor.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to (same forms); default: now.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Pull the connected providers from where the last sync stopped, then update each flow's daily metrics
    (sessions aligned to flows) for the days touched and today's ingested events."""
    app_ctx = app_context(ctx)
    output = app_ctx.output
    start, end = parse_time(since, option="--since"), parse_time(until, option="--until")
    name = _provider(provider)
    with output.progress(enabled=not as_json) as progress:
        task = progress.add_task("sync", total=1, message="")

        def report(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=max(total, 1), message="")
            progress.refresh()

        run = app_ctx.backend.analytics_sync(name, since=start, until=end, progress=report)
    if as_json:
        output.json(run)
    else:
        print_sync(output, run)


def print_sync(output: Output, run: SyncRun) -> None:
    for report in run.providers:
        line = (
            f"{report.provider}: {report.status}, {report.accepted} new event(s), {report.duplicates} duplicate(s), "
            f"{report.malformed} malformed, {report.pages} page row(s) in {report.windows} window(s)"
        )
        output.text(line + (f" — {report.message}" if report.message else ""))
    if not run.providers:
        output.text("No provider connected: correlating ingested events only.")
    correlation = run.correlation
    if correlation is None:
        output.text("Nothing to correlate.")
        return
    span = f"{run.days[0]} to {run.days[-1]}" if run.days else "no days"
    output.text(
        f"Correlated {span}: {correlation.events} event(s), {correlation.sessions} session(s), "
        f"{correlation.matched_sessions} matched to flows, {correlation.unmapped_page_views} unmapped page view(s); "
        f"{correlation.metrics_written} daily flow metric(s) written."
    )


def parse_day(value: str | None, *, option: str, now: int | None = None) -> str | None:
    """A UTC day (YYYY-MM-DD) from `YYYY-MM-DD` or `Nd` (N days before today, UTC)."""
    if value is None:
        return None
    text = value.strip()
    relative = _RELATIVE.fullmatch(text)
    current = now if now is not None else now_ms()
    if relative:
        when = current - int(relative.group(1)) * 86_400_000
        return dt.datetime.fromtimestamp(when / 1000, tz=dt.UTC).date().isoformat()
    try:
        return dt.date.fromisoformat(text).isoformat() if len(text) == 10 else _not_a_day(value, option)
    except ValueError:
        return _not_a_day(value, option)


def _not_a_day(value: str, option: str) -> str:
    raise ValidationFailed(f"{option} {value!r} is not a day: use YYYY-MM-DD (UTC) or 7d", details={"field": option})


@app.command("correlate")
def correlate(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option("--since", help="First UTC day (YYYY-MM-DD or 7d); default: --until.")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last UTC day (same forms); default: today.")] = None,
    report_format: FormatOption = ReportFormat.text,
    as_json: FormatJsonOption = False,
) -> None:
    """Re-run sessions -> alignment -> daily flow metrics over stored events (no provider is asked): matches per
    flow, the similarity of the walks, the share of page views no route matched."""
    app_ctx = app_context(ctx)
    first, last = parse_day(since, option="--since"), parse_day(until, option="--until")
    fmt = ReportFormat.json if as_json else report_format
    report = app_ctx.backend.analytics_correlate(since=first, until=last)
    if fmt == ReportFormat.json:
        app_ctx.output.json(correlation_document(report))
    elif fmt == ReportFormat.md:
        app_ctx.output.text(correlation_markdown(report), markup=False, end="")
    else:
        print_correlation(app_ctx.output, report)


def correlation_document(report: CorrelationReport) -> dict[str, Any]:
    """The `correlate --json` contract (version 1)."""
    return {"version": CONTRACT_VERSION, **report.model_dump(by_alias=True, mode="json")}


def _buckets(report: CorrelationReport) -> list[tuple[str, int]]:
    width = 1 / SIMILARITY_BUCKETS
    return [(f"{i * width:.1f}–{(i + 1) * width:.1f}", n) for i, n in enumerate(report.similarity_histogram) if n]


def _span(days: list[str]) -> str:
    return days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"


def print_correlation(output: Output, report: CorrelationReport) -> None:
    unmapped = "—" if report.unmapped_share is None else f"{report.unmapped_share:.1%}"
    output.text(
        f"Correlated {_span(report.days)} (UTC): {report.events} event(s), {report.sessions} session(s), "
        f"{report.matched_sessions} walked a flow ({report.matches} walk(s)); {report.metrics_written} daily flow "
        f"metric(s) written."
    )
    output.text(f"Unmapped page views: {report.unmapped_page_views} of {report.page_views} ({unmapped}).")
    walked = [f for f in report.by_flow if f.matches]
    if walked:
        table = Table(title="Walks per flow", title_justify="left")
        table.add_column("Flow", no_wrap=True)
        for column in ("Walks", "Completed", "Mean similarity"):
            table.add_column(column, justify="right", no_wrap=True)
        for flow in walked:
            similarity = "—" if flow.mean_similarity is None else f"{flow.mean_similarity:.2f}"
            table.add_row(Text(flow.flow_name), str(flow.matches), str(flow.completions), similarity)
        _print_table(output, table)
    else:
        output.text("No session walked a flow.")
    buckets = _buckets(report)
    if buckets:
        output.text("Similarity of the walks: " + ", ".join(f"{label}: {n}" for label, n in buckets))
    for path in report.untested:
        output.text(f"Walked by no flow ({path.sessions} sessions): {' → '.join(path.routes)}", markup=False)


def correlation_markdown(report: CorrelationReport) -> str:
    unmapped = "—" if report.unmapped_share is None else f"{report.unmapped_share:.1%}"
    lines = [
        f"## Correlation {_span(report.days)} (UTC)",
        "",
        f"- Events: {report.events}; sessions: {report.sessions}; walked a flow: {report.matched_sessions} "
        f"({report.matches} walks); daily flow metrics written: {report.metrics_written}",
        f"- Unmapped page views: {report.unmapped_page_views} of {report.page_views} ({unmapped})",
        "",
        "| Flow | Walks | Completed | Mean similarity |",
        "|---|---:|---:|---:|",
    ]
    for flow in report.by_flow:
        similarity = "—" if flow.mean_similarity is None else f"{flow.mean_similarity:.2f}"
        lines.append(f"| {_md(flow.flow_name)} | {flow.matches} | {flow.completions} | {similarity} |")
    lines += ["", "| Similarity | Walks |", "|---|---:|"]
    lines += [f"| {label} | {n} |" for label, n in _buckets(report)]
    return "\n".join(lines) + "\n"


@app.command("gaps")
def gaps(
    ctx: typer.Context,
    days: DaysOption = 7,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many flows.")] = 20,
    report_format: FormatOption = ReportFormat.text,
    as_json: FormatJsonOption = False,
) -> None:
    """Flows many users walk but no test covers, ranked by users/day x (1 - coverage), with their gap score."""
    app_ctx = app_context(ctx)
    fmt = ReportFormat.json if as_json else report_format
    report = app_ctx.backend.analytics_gaps(days, limit=limit)
    if fmt == ReportFormat.json:
        app_ctx.output.json(gaps_document(report))
    elif fmt == ReportFormat.md:
        app_ctx.output.text(gaps_markdown(report), markup=False, end="")
    else:
        print_gaps(app_ctx.output, report)


def gaps_document(report: GapsReport) -> dict[str, Any]:
    """The `gaps --json` contract (version 1)."""
    return {"version": CONTRACT_VERSION, **report.model_dump(by_alias=True, mode="json")}


def _coverage(value: float | None) -> str:
    return "none" if not value else f"{value:.0%}"


def print_gaps(output: Output, report: GapsReport) -> None:
    period = f"{_span(report.days)} (UTC)"
    if not report.flows:
        output.text(f"No gaps over {period}: every walked flow is covered, or no flow metrics yet.")
        return
    table = Table(title=f"Flows users walk without tests, {period}", title_justify="left")
    table.add_column("Flow", no_wrap=True)
    for column in ("Users/day", "Coverage", "Priority", "Gap score", "Sessions"):
        table.add_column(column, justify="right", no_wrap=True)
    for gap in report.flows:
        table.add_row(
            Text(gap.flow_name),  # a name is data, never rich markup
            f"{gap.users_per_day:g}",
            _coverage(gap.coverage_score),
            f"{gap.priority:g}",
            f"{gap.gap_score:.2f}",
            str(gap.sessions),
        )
    _print_table(output, table)


def gaps_markdown(report: GapsReport) -> str:
    lines = [f"## Flows users walk without tests, {_span(report.days)} (UTC)", ""]
    if not report.flows:
        return "\n".join([*lines, "No gaps: every walked flow is covered, or no flow metrics yet.", ""])
    lines += ["| Flow | Users/day | Coverage | Priority | Gap score | Sessions |", "|---|---:|---:|---:|---:|---:|"]
    for gap in report.flows:
        lines.append(
            f"| {_md(gap.flow_name)} | {gap.users_per_day:g} | {_coverage(gap.coverage_score)} | {gap.priority:g} "
            f"| {gap.gap_score:.2f} | {gap.sessions} |"
        )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """A table cell: pipes escaped, no line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")


def _print_table(output: Output, table: Table) -> None:
    console = output.out
    if not console.is_terminal:  # piped: no width to respect, never cut a flow name
        table.width = Measurement.get(console, console.options.update_width(1_000), table).maximum
    console.print(table)


@app.command("status")
def status(
    ctx: typer.Context,
    days: DaysOption = 7,
    flow: Annotated[str | None, typer.Option("--flow", help="One flow (id or name).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Providers (connected, synced up to) and each flow's production figures over the last days."""
    app_ctx = app_context(ctx)
    report = app_ctx.backend.analytics_status(days, flow=flow)
    if as_json:
        app_ctx.output.json(report)
    else:
        print_status(app_ctx.output, report)


@app.command("impact")
def impact(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help="The flow (id or name).")],
    days: DaysOption = 7,
    as_json: JsonOption = False,
) -> None:
    """One flow in production: sessions, completions, success rate, users per day, where users drop off."""
    app_ctx = app_context(ctx)
    report = app_ctx.backend.analytics_status(days, flow=flow)
    found = report.flows[0]
    if as_json:
        app_ctx.output.json(found)
    else:
        print_impact(app_ctx.output, found)


@app.command("snippet")
def snippet(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The browser snippet (page views and clicks, batched, sendBeacon) that posts to /analytics/events."""
    app_ctx = app_context(ctx)
    text = app_ctx.backend.analytics_snippet()
    if as_json:
        app_ctx.output.json({"snippet": text})
    else:
        stdout = app_ctx.output.out.file  # the script as it is: no markup, no wrapping
        stdout.write(text if text.endswith("\n") else text + "\n")
        stdout.flush()


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def print_status(output: Output, report: AnalyticsStatus) -> None:
    period = f"{report.days[0]} to {report.days[-1]} (UTC)"
    for provider in report.providers:
        if not provider.connected:
            output.text(f"{provider.provider}: not connected")
            continue
        cursor = provider.cursor
        where = "never synced"
        if cursor is not None:
            synced = dt.datetime.fromtimestamp(cursor.synced_until / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
            where = f"synced up to {synced} UTC ({cursor.status}, {cursor.events_total} event(s))"
        output.text(f"{provider.provider}: connected, {where}")
    if not report.flows:
        output.text(f"No flow metrics from {period}: run `perceo analytics sync` after events arrive.")
        return
    table = Table(title=f"Flows in production, {period}", title_justify="left")
    table.add_column("Flow", no_wrap=True)
    for column in ("Users/day", "Sessions", "Completed", "Success", "Top drop-off", "Revenue at risk", "Gap"):
        table.add_column(column, justify="right", no_wrap=True)
    for flow in report.flows:
        table.add_row(*_impact_row(flow))
    _print_table(output, table)


def _impact_row(flow: FlowImpact) -> list[str]:
    drop = "—"
    if flow.top_drop_off_step is not None:
        drop = f"step {flow.top_drop_off_step}" + (f" {flow.top_drop_off_route}" if flow.top_drop_off_route else "")
    return [
        flow.flow_name,
        f"{flow.users_per_day:g}",
        str(flow.sessions),
        str(flow.completions),
        _rate(flow.success_rate),
        drop,
        "—" if flow.revenue_at_risk is None else f"{flow.revenue_at_risk:,.2f}",
        f"{flow.gap_score:.2f}",
    ]


def print_impact(output: Output, flow: FlowImpact) -> None:
    output.text(f"{flow.flow_name} ({flow.days[0]} to {flow.days[-1]}, UTC)")
    if not flow.sessions:
        output.text("  no production sessions walked this flow")
        return
    values: list[tuple[str, Any]] = [
        ("users per day", f"{flow.users_per_day:g}"),
        ("sessions", flow.sessions),
        ("completed", f"{flow.completions} ({_rate(flow.success_rate)})"),
        ("median duration", "—" if flow.median_duration_ms is None else f"{flow.median_duration_ms / 1000:.1f} s"),
        ("revenue at risk", "—" if flow.revenue_at_risk is None else f"{flow.revenue_at_risk:,.2f}"),
        ("covered by a test", "yes" if flow.covered else "no"),
    ]
    for label, value in values:
        output.text(f"  {label}: {value}")
    if flow.drop_off:
        output.text("  drop-off (sessions that never reached the step):")
        for step, count in flow.drop_off.items():
            output.text(f"    step {step}: {count}")
