"""`perceo alerts add|list|remove|test|deliveries`: send the analyzer's insights, anomalies and risky changes to
Slack, to a signed webhook or by email (SES).

Channel URLs and signing secrets are read from environment variables (never from the command line, where shell
history and process lists would keep them) and kept in the project's secrets store (`.perceo/secrets`, or Secrets
Manager through the API), never in the config. Rules are checked after each `perceo analyze insights` run and by
the `check-alerts` job. Both backends: the embedded store and the API.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any, get_args

import typer
from rich.table import Table

from perceo.errors import ValidationFailed
from perceo.models.vocab import RISK_LEVELS, InsightType, Severity
from perceo_cli.context import app_context
from perceo_cli.exit import ExitStatus

app = typer.Typer(
    help="Alert rules: send insights, anomalies and risky changes to Slack, an HMAC-signed webhook or email.",
    no_args_is_help=True,
)

INSIGHT_TYPES: tuple[str, ...] = get_args(InsightType)
SEVERITIES: tuple[str, ...] = get_args(Severity)
if TYPE_CHECKING:
    from perceo.analyzer.alertrules import AlertRule

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _from_env(variable: str, what: str) -> str:
    value = os.environ.get(variable, "").strip()
    if not value:
        raise ValidationFailed(f"{what}: the environment variable {variable} is not set", details={"field": variable})
    return value


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rule's name (adding a name again replaces that rule).")],
    kind: Annotated[str, typer.Option("--channel", help="slack, webhook or email.")] = "webhook",
    url_env: Annotated[str, typer.Option("--url-env", help="Environment variable holding the channel's URL.")] = (
        "PERCEO_ALERT_URL"
    ),
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="Environment variable holding the webhook's signing secret.")
    ] = "PERCEO_ALERT_SECRET",
    kinds: Annotated[list[str] | None, typer.Option("--type", help="Only this insight type (repeat).")] = None,
    min_severity: Annotated[str, typer.Option("--min-severity", help="At least this severity.")] = "high",
    flows: Annotated[
        list[str] | None, typer.Option("--flow", help="Only about this flow (name or id; repeat).")
    ] = None,
    anomalies: Annotated[
        bool, typer.Option("--anomalies", help="Also every anomaly of a flow's series (check-alerts job).")
    ] = False,
    risk_levels: Annotated[
        list[str] | None,
        typer.Option("--risk-level", help="Also every change analysis of this risk level (repeat; check-alerts job)."),
    ] = None,
    recipients: Annotated[list[str] | None, typer.Option("--to", help="email: a recipient address (repeat).")] = None,
    sender: Annotated[str | None, typer.Option("--from", help="email: the sender address (verified in SES).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add (or replace) an alert rule and its channel."""
    from perceo.analyzer.alertrules import AlertRule
    from perceo.analyzer.alerts import CHANNEL_KINDS, Channel

    app_ctx = app_context(ctx)
    if kind not in CHANNEL_KINDS:
        raise ValidationFailed(
            f"--channel must be {', '.join(CHANNEL_KINDS)} (got {kind!r})", details={"field": "--channel"}
        )
    unknown = [t for t in kinds or [] if t not in INSIGHT_TYPES]
    if unknown:
        raise ValidationFailed(f"unknown --type {', '.join(map(repr, unknown))}: use {', '.join(INSIGHT_TYPES)}")
    if min_severity not in SEVERITIES:
        raise ValidationFailed(f"unknown --min-severity {min_severity!r}: use {', '.join(SEVERITIES)}")
    bad_levels = [r for r in risk_levels or [] if r not in RISK_LEVELS]
    if bad_levels:
        raise ValidationFailed(f"unknown --risk-level {', '.join(map(repr, bad_levels))}: use {', '.join(RISK_LEVELS)}")
    if kind == "email":
        channel = Channel(name=name, kind="email", recipients=tuple(recipients or ()), sender=sender)
    else:
        url = _from_env(url_env, f"the {kind} URL")
        secret = _from_env(secret_env, "the webhook's signing secret") if kind == "webhook" else None
        channel = Channel(name=name, kind=kind, url=url, secret=secret)
    project_id = app_ctx.backend.project().id
    rule = AlertRule.model_validate(
        {"project_id": project_id, "name": name, "types": kinds or [], "min_severity": min_severity,
         "flows": flows or [], "anomalies": anomalies, "risk_levels": risk_levels or [], "channel": name}
    )  # fmt: skip
    saved = app_ctx.backend.add_alert(rule, channel)
    if as_json:
        app_ctx.output.json({"rule": saved, "channel": channel.masked()})
    else:
        app_ctx.output.text(f"Alert rule {saved.name}: {_filter(saved)} → {kind}.", markup=False)


def _filter(rule: AlertRule) -> str:
    what = f"{', '.join(rule.types) or 'every type'} at {rule.min_severity} or worse"
    if rule.anomalies:
        what += "; anomalies"
    if rule.risk_levels:
        what += f"; {'/'.join(rule.risk_levels)}-risk changes"
    if rule.flows:
        what += f" (flows {', '.join(f[:8] for f in rule.flows)})"
    return what


@app.command("list")
def list_rules(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The project's alert rules (channel URLs and secrets are never shown)."""
    app_ctx = app_context(ctx)
    views = app_ctx.backend.list_alerts()
    if as_json:
        app_ctx.output.json({"rules": [v.rule for v in views], "channels": {v.rule.channel: v.channel for v in views}})
        return
    if not views:
        app_ctx.output.text("No alert rules: add one with `perceo alerts add NAME --channel slack|webhook|email`.")
        return
    table = Table(title_justify="left")
    for column in ("Name", "Sends", "Channel"):
        table.add_column(column)
    for view in views:
        channel = view.channel or {}
        where = channel.get("kind", "missing channel")
        if channel.get("url"):
            where += f" {channel['url']}"
        if channel.get("recipients"):
            where += f" to {len(channel['recipients'])} recipient(s)"
        table.add_row(view.rule.name, _filter(view.rule), where)
    app_ctx.output.out.print(table)


@app.command("remove")
def remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The rule's name.")], as_json: JsonOption = False
) -> None:
    """Remove an alert rule (and its channel, when no other rule uses it)."""
    app_ctx = app_context(ctx)
    app_ctx.backend.remove_alert(name)
    if as_json:
        app_ctx.output.json({"removed": name})
    else:
        app_ctx.output.text(f"Removed alert rule {name}.")


@app.command("test")
def test(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The rule's name.")], as_json: JsonOption = False
) -> None:
    """Send a sample insight to the rule's channel now; exit 1 when it could not be delivered."""
    app_ctx = app_context(ctx)
    delivery = app_ctx.backend.test_alert(name)
    document: dict[str, Any] = delivery.model_dump(mode="json")
    if as_json:
        app_ctx.output.json(document)
    elif delivery.status == "delivered":
        app_ctx.output.text(f"Delivered a test alert to {delivery.channel} ({delivery.attempts} attempt(s)).")
    else:
        app_ctx.output.error(f"the test alert to {delivery.channel} failed: {delivery.reason}")
    if delivery.status != "delivered":
        raise typer.Exit(ExitStatus.ERROR)


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The project's last alert deliveries, newest first: delivered, or failed with the reason."""
    import datetime as dt

    app_ctx = app_context(ctx)
    found = app_ctx.backend.alert_deliveries(limit)
    if as_json:
        app_ctx.output.json({"deliveries": found})
        return
    if not found:
        app_ctx.output.text("No alert was sent yet.")
        return
    table = Table(title_justify="left")
    for column in ("When (UTC)", "Rule", "Channel", "About", "Status", "Attempts", "Reason"):
        table.add_column(column)
    for d in found:
        when = dt.datetime.fromtimestamp(d.at / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")
        table.add_row(when, d.rule or d.rule_id[:8], d.channel, f"{d.kind} {d.insight_id[:40]}", d.status,
                      str(d.attempts), d.reason or "")  # fmt: skip
    app_ctx.output.out.print(table)
