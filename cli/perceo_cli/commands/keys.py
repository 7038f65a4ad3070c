"""`perceo keys list|create|revoke`: the project's API keys, managed through the API (scope keys:manage).

A new key is printed once, on stdout, and never again (`keys list` shows prefixes only). Keys exist only in
the API: with the embedded default (no `observer.apiBaseUrl`) the backend answers `NotOnThisBackendError`, which
explains how to point the CLI at an API instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from perceo.models import ApiKey
from perceo.models.common import now_ms
from perceo.models.vocab import CI_KEY_SCOPES, SCOPES
from perceo_cli.context import app_context
from perceo_cli.output import esc

app = typer.Typer(help="The project's API keys (through the API).", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _scopes(scopes: Sequence[str]) -> str:
    """Scopes for people: `project:admin` grants every scope, so it stands alone."""
    return "project:admin (all)" if "project:admin" in scopes else " ".join(scopes)


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


@app.command("list")
def list_keys(
    ctx: typer.Context,
    include_inactive: Annotated[bool, typer.Option("--all", help="Also revoked and expired keys.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The project's API keys: prefix, name, scopes, status, dates (never the keys themselves)."""
    app_ctx = app_context(ctx)
    keys = app_ctx.backend.list_keys(include_inactive=include_inactive)
    if as_json:
        app_ctx.output.json({"keys": keys})
        return
    if not keys:
        app_ctx.output.info("no API keys" + ("" if include_inactive else " (--all shows revoked and expired ones)"))
        return
    now = now_ms()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("PREFIX", "NAME", "SCOPES", "STATUS", "CREATED", "LAST USED", "EXPIRES"):
        if column == "SCOPES":  # the one column that wraps, between scopes, never inside one
            table.add_column(column, min_width=max(map(len, SCOPES)), overflow="fold")
        else:
            table.add_column(column, no_wrap=True)
    for key in keys:
        table.add_row(
            key.prefix,
            esc(key.name),
            _scopes(key.scopes),
            key.status(now),
            _when(key.created_at),
            _when(key.last_used_at),
            _when(key.expires_at),
        )
    app_ctx.output.out.print(table)


@app.command("create")
def create_key(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the key, unique among the project's active keys.")],
    scopes: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            "-s",
            help=f"A scope to grant (repeat it). One of: {', '.join(SCOPES)}. Default: the CI set "
            f"({', '.join(CI_KEY_SCOPES)}).",
            show_default=False,
        ),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", min=1, max=3650, help="Expire the key after this many days.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key. It is printed this once: store it now (a CI secret, a password manager)."""
    app_ctx = app_context(ctx)
    granted = list(scopes) if scopes else list(CI_KEY_SCOPES)
    created = app_ctx.backend.create_key(name, granted, expires_in_days=expires_in_days)
    if as_json:
        app_ctx.output.json(created)
        return
    record = created.api_key
    app_ctx.output.info(
        f"Created API key {record.name!r} ({record.prefix}) with scopes {' '.join(record.scopes)}"
        + (f", expiring {_when(record.expires_at)} UTC" if record.expires_at else "")
        + ". This is the only time the key is shown:"
    )
    app_ctx.output.text(created.key, markup=False)


@app.command("revoke")
def revoke_key(
    ctx: typer.Context,
    prefix: Annotated[str, typer.Argument(help="The key's 12-character prefix, as `perceo keys list` shows it.")],
    reason: Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit trail).")] = None,
    allow_self: Annotated[
        bool, typer.Option("--allow-self", help="Allow revoking the key this command itself uses.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Revoke an API key of the project (it stops working at once)."""
    app_ctx = app_context(ctx)
    revoked: ApiKey = app_ctx.backend.revoke_key(prefix, reason=reason, allow_self=allow_self)
    if as_json:
        app_ctx.output.json(revoked)
        return
    app_ctx.output.text(f"Revoked API key {revoked.prefix} ({revoked.name})", markup=False)
