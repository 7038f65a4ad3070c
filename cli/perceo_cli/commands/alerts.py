"""`perceo alerts add|list|remove|test`: send the analyzer's insights to Slack or to a signed webhook.

Channel URLs and signing secrets are read from environment variables (never from the command line, where shell
history and process lists would keep them) and kept in the project's secrets store, never in the config. Rules are
checked after each `perceo analyze insights` run. The embedded default only, for now.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Annotated, Any, get_args

import typer
from rich.table import Table

from perceo.errors import ValidationFailed
from perceo.models.vocab import InsightType, Severity
from perceo_cli.context import app_context
from perceo_cli.exit import ExitStatus

app = typer.Typer(help="Alert rules: send insights to Slack or to an HMAC-signed webhook.", no_args_is_help=True)

INSIGHT_TYPES: tuple[str, ...] = get_args(InsightType)
SEVERITIES: tuple[str, ...] = get_args(Severity)
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
    kind: Annotated[str, typer.Option("--channel", help="slack or webhook.")] = "webhook",
    url_env: Annotated[str, typer.Option("--url-env", help="Environment variable holding the channel's URL.")] = (
        "PERCEO_ALERT_URL"
    ),
    secret_env: Annotated[
        str, typer.Option("--secret-env", help="Environment variable holding the webhook's signing secret.")
    ] = "PERCEO_ALERT_SECRET",
    kinds: Annotated[list[str] | None, typer.Option("--type", help="Only this insight type (repeat).")] = None,
    min_severity: Annotated[str, typer.Option("--min-severity", help="At least this severity.")] = "high",
    as_json: JsonOption = False,
) -> None:
    """Add (or replace) an alert rule and its channel."""
    from perceo.analyzer.alertrules import AlertRule
    from perceo.analyzer.alerts import Channel

    app_ctx = app_context(ctx)
    if kind not in ("slack", "webhook"):
        raise ValidationFailed(f"--channel must be slack or webhook (got {kind!r})", details={"field": "--channel"})
    unknown = [t for t in kinds or [] if t not in INSIGHT_TYPES]
    if unknown:
        raise ValidationFailed(f"unknown --type {', '.join(map(repr, unknown))}: use {', '.join(INSIGHT_TYPES)}")
    if min_severity not in SEVERITIES:
        raise ValidationFailed(f"unknown --min-severity {min_severity!r}: use {', '.join(SEVERITIES)}")
    url = _from_env(url_env, f"the {kind} URL")
    secret = _from_env(secret_env, "the webhook's signing secret") if kind == "webhook" else None
    project_id = app_ctx.backend.project().id
    rule = AlertRule.model_validate(
        {"project_id": project_id, "name": name, "types": kinds or [], "min_severity": min_severity, "channel": name}
    )
    saved = app_ctx.backend.add_alert(rule, Channel(name=name, kind=kind, url=url, secret=secret))  # type: ignore[arg-type]
    if as_json:
        app_ctx.output.json({"rule": saved, "channel": {"name": name, "kind": kind}})
    else:
        app_ctx.output.text(f"Alert rule {saved.name}: {_filter(saved.types, saved.min_severity)} → {kind}.")


def _filter(types: Sequence[str], min_severity: str) -> str:
    return f"{', '.join(types) or 'every type'} at {min_severity} or worse"


@app.command("list")
def list_rules(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The project's alert rules (channel URLs and secrets are never shown)."""
    app_ctx = app_context(ctx)
    rules = app_ctx.backend.list_alerts()
    if as_json:
        app_ctx.output.json({"rules": rules})
        return
    if not rules:
        app_ctx.output.text("No alert rules: add one with `perceo alerts add NAME --channel slack|webhook`.")
        return
    table = Table(title_justify="left")
    for column in ("Name", "Insights", "Channel"):
        table.add_column(column)
    for rule in rules:
        table.add_row(rule.name, _filter(rule.types, rule.min_severity), rule.channel)
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
