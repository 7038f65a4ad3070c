"""`perceo local up|down`: the local cloud (the template's API with the real handlers, FalkorDB/Redis, moto).

Registered into the `local` group (`commands/local.py`, which owns `status`/`stop`) by `register(local.app)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from perceo.errors import ConfigError, ValidationFailed
from perceo_cli.context import app_context

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]

NO_TEMPLATE = (
    "no SAM template: pass --template path/to/template.yaml (`perceo local up` serves the API of a Perceo "
    "source checkout)"
)


def up(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port of the API (0: a free one).")] = 0,
    template: Annotated[
        Path | None, typer.Option("--template", help="The SAM template to serve. Default: this checkout's.")
    ] = None,
    cors_origin: Annotated[
        str | None, typer.Option("--cors-origin", help="The browser origin CORS allows (AllowedCorsOrigin).")
    ] = None,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            "--parameter",
            "-p",
            help="A template parameter NAME=VALUE (repeat it), e.g. KeyRateLimitPerSecond=100.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=0, max=32, help="Worker processes serving requests in parallel (0: one lane)."),
    ] = 2,
    as_json: JsonFlag = False,
) -> None:
    """Start the local cloud in the background: prints the API URL and, the first time, the admin key."""
    from perceo_cli.local.cloud import default_template
    from perceo_cli.local.cloud import up as start_cloud

    app_ctx = app_context(ctx)
    chosen = template or default_template()
    if chosen is None:
        raise ConfigError(NO_TEMPLATE)
    overrides: dict[str, str] = {}
    for item in parameter or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValidationFailed(f"--parameter {item!r}: expected NAME=VALUE")
        overrides[name.strip()] = value
    result = start_cloud(
        app_ctx.project_dir,
        template=chosen,
        port=port,
        cors_origin=cors_origin,
        parameters=overrides,
        workers=workers,
    )
    state = result.state
    if as_json:
        app_ctx.output.json(
            {
                "apiUrl": state.api_url,
                "pid": state.pid,
                "alreadyRunning": result.already_running,
                "storeRestarted": result.store_restarted,
                "motoUrl": state.moto_url,
                "storeUrl": state.store_url,
                "adminKey": result.admin_key,
                "secretsFile": str(state.secrets_file),
                "logFile": str(state.log_file),
            }
        )
        return
    status = "already running" if result.already_running else "started"
    if result.store_restarted:
        status += "; its store had stopped and was started again (same data)"
    app_ctx.output.info(f"local cloud: {status} (pid {state.pid}); log {state.log_file}")
    app_ctx.output.text(f"API        {state.api_url}", markup=False)
    if result.admin_key is not None:
        app_ctx.output.text(f"admin key  {result.admin_key}", markup=False)
        app_ctx.output.info(f"The admin key is shown this once; it is kept in {state.secrets_file} (mode 0600).")
    else:
        app_ctx.output.info(f"admin key: in {state.secrets_file} (mode 0600)")
    url = state.api_url
    app_ctx.output.info(
        f"Create a project and its first key here: `perceo projects create NAME --api-url {url} --login`, then "
        f"`perceo config set observer.apiBaseUrl {url}`. Stop with `perceo local down`."
    )


def down(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Stop the local cloud of this project and the store it started (data is kept)."""
    from perceo_cli.local.cloud import down as stop_cloud

    app_ctx = app_context(ctx)
    result = stop_cloud(app_ctx.project_dir)
    if as_json:
        app_ctx.output.json(result)
        return
    if result.stopped:
        app_ctx.output.text(f"local cloud: stopped (pid {result.pid})", markup=False)
    else:
        app_ctx.output.text("local cloud: was not running")
    if result.store_stopped:
        app_ctx.output.info("its store is stopped too; data kept under .perceo/data/cloud/")


def register(group: typer.Typer) -> None:
    """Add `up` and `down` to the `local` group."""
    group.command("up")(up)
    group.command("down")(down)
