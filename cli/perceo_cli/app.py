"""The typer application: global options and the command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from perceo import __version__
from perceo_cli.context import AppContext
from perceo_cli.output import Output

app = typer.Typer(
    name="perceo",
    help="Which of your users' flows does this change put at risk — before the merge.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"perceo {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    project_dir: Annotated[
        Path | None,
        typer.Option("--project-dir", "-C", help="Run as if started in this directory.", show_default=False),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    if not isinstance(ctx.obj, AppContext):
        ctx.obj = AppContext(output=Output())
    if project_dir is not None:
        ctx.obj.project_dir = project_dir.resolve()


def register_commands() -> None:
    """Attach every command group. Each module under `commands/` owns one noun."""
    from perceo_cli.commands import alerts as alerts_cmd
    from perceo_cli.commands import analytics as analytics_cmd
    from perceo_cli.commands import analyze as analyze_cmd
    from perceo_cli.commands import ci as ci_cmd
    from perceo_cli.commands import config as config_cmd
    from perceo_cli.commands import dashboard as dashboard_cmd
    from perceo_cli.commands import demo as demo_cmd
    from perceo_cli.commands import flows as flows_cmd
    from perceo_cli.commands import init as init_cmd
    from perceo_cli.commands import insights as insights_cmd
    from perceo_cli.commands import keys as keys_cmd
    from perceo_cli.commands import local as local_cmd
    from perceo_cli.commands import local_cloud as local_cloud_cmd
    from perceo_cli.commands import local_schedule as local_schedule_cmd
    from perceo_cli.commands import login as login_cmd
    from perceo_cli.commands import projects as projects_cmd
    from perceo_cli.commands import routes as routes_cmd
    from perceo_cli.commands import usage as usage_cmd
    from perceo_cli.commands import watch as watch_cmd
    from perceo_cli.commands import workflows as workflows_cmd

    app.add_typer(alerts_cmd.app, name="alerts")
    app.add_typer(analyze_cmd.app, name="analyze")
    app.add_typer(analytics_cmd.app, name="analytics")
    app.add_typer(ci_cmd.app, name="ci")
    app.add_typer(config_cmd.app, name="config")
    app.command(name="dashboard")(dashboard_cmd.dashboard)
    app.command(name="init")(init_cmd.init)
    app.add_typer(flows_cmd.app, name="flows")
    app.add_typer(insights_cmd.app, name="insights")
    app.command(name="demo")(demo_cmd.demo)
    app.add_typer(local_cmd.app, name="local")
    local_cloud_cmd.register(local_cmd.app)
    local_schedule_cmd.register(local_cmd.app)
    app.command(name="login")(login_cmd.login)
    app.command(name="logout")(login_cmd.logout)
    app.add_typer(keys_cmd.app, name="keys")
    app.add_typer(projects_cmd.app, name="projects")
    app.add_typer(routes_cmd.app, name="routes")
    app.command(name="usage")(usage_cmd.usage)
    app.add_typer(workflows_cmd.app, name="workflows")
    app.command(name="watch")(watch_cmd.watch)


register_commands()
