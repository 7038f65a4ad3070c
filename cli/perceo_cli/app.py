"""The typer application: global options and the command groups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from perceo import __version__
from perceo_cli.context import AppContext, project_dir_from
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
        typer.Option(
            "--project-dir",
            "-C",
            help="Run as if started in this directory (the project is the nearest folder upwards with .perceo/).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    if not isinstance(ctx.obj, AppContext):
        ctx.obj = AppContext(output=Output())
    if project_dir is not None:
        ctx.obj.project_dir = project_dir_from(project_dir)


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
    from perceo_cli.commands import status as status_cmd
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
    app.command(name="status")(status_cmd.status)
    app.add_typer(workflows_cmd.app, name="workflows")
    app.command(name="watch")(watch_cmd.watch)


#: One example per command, shown at the end of its `--help` (commands keyed by their path).
EXAMPLES: dict[str, str] = {
    "init": "perceo init --yes            # map this app's flows (asks nothing)",
    "demo": "perceo demo --dir /tmp/shop   # a sample app, mapped and analyzed",
    "login": "perceo login --api-url https://api.example.com",
    "logout": "perceo logout --api-url https://api.example.com",
    "usage": "perceo usage --days 7 --json",
    "ci analyze": "perceo ci analyze --base origin/main --fail-on high",
    "config show": "perceo config show --json",
    "config get": "perceo config get llm.model",
    "config set": "perceo config set bootstrap.maxFlows 20",
    "flows list": "perceo flows list --json",
    "flows show": 'perceo flows show "Sign in"',
    "flows edit": 'perceo flows edit "Checkout" --priority critical',
    "flows delete": 'perceo flows delete "Browse products" --yes',
    "local status": "perceo local status --json",
    "local stop": "perceo local stop",
    "local up": "perceo local up",
    "local down": "perceo local down",
    "keys list": "perceo keys list --all",
    "keys create": "perceo keys create ci --scope ci:analyze",
    "keys revoke": "perceo keys revoke pk_live_ab12cd34",
    "projects create": "perceo projects create shop --admin-key-stdin < admin.key",
    "projects show": "perceo projects show --json",
    "projects delete": "perceo projects delete 0f3c... --yes",
    "routes": "perceo routes --json",
    "workflows status": "perceo workflows status 7d1e... --watch",
    "workflows review": "perceo workflows review 5a9b...",
    "watch": "perceo watch --json           # one analysis per settled change, as JSON lines",
    "dashboard": "perceo dashboard --open      # serve the project's page on 127.0.0.1 and open it",
    "alerts add": "perceo alerts add on-call --channel slack --url-env SLACK_WEBHOOK_URL --min-severity high",
    "alerts list": "perceo alerts list --json",
    "alerts remove": "perceo alerts remove on-call",
    "alerts test": "perceo alerts test on-call",
    "alerts deliveries": "perceo alerts deliveries --limit 20",
    "status": "perceo status --json",
    "analyze insights": "perceo analyze insights --severity high --format md",
    "analyze coverage": "perceo analyze coverage --json",
    "analyze predict": "perceo analyze predict --base origin/main --head HEAD",
    "analyze predictions": "perceo analyze predictions --json",
    "analytics connect": "perceo analytics connect mixpanel --credentials-file mixpanel.json",
    "analytics sync": "perceo analytics sync --since 7d",
    "analytics status": "perceo analytics status --days 7",
    "analytics impact": 'perceo analytics impact "Checkout" --days 30',
    "analytics snippet": "perceo analytics snippet > public/perceo.js",
    "ci test": "perceo ci test --base origin/main --junit results.xml",
    "ci report": "perceo ci report --junit results.xml --commit $GITHUB_SHA",
    "ci flaky": "perceo ci flaky --json",
    "flows tests": "perceo flows tests --json",
    "flows run": 'perceo flows run "Checkout" --base-url http://localhost:3000',
    "insights ack": "perceo insights ack 3fa9c1",
    "insights resolve": "perceo insights resolve 3fa9c1",
    "local run-schedule": "perceo local run-schedule AnalyticsSyncSchedule --wait",
}


def _unset(value: object) -> bool:
    from typer.models import DefaultPlaceholder

    return value is None or isinstance(value, DefaultPlaceholder)


def _add_examples() -> None:
    """Every command's `--help` ends with its example (`EXAMPLES`); a command without one is a test failure."""
    for command in app.registered_commands:
        name = command.name or ""
        if name in EXAMPLES and command.epilog is None:
            command.epilog = f"Example: {EXAMPLES[name]}"
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is None:
            continue
        if group.name in EXAMPLES and _unset(group.epilog):  # a group that is itself the command (`routes`)
            group.epilog = f"Example: {EXAMPLES[group.name or '']}"
        for command in sub.registered_commands:
            key = f"{group.name} {command.name}"
            if key in EXAMPLES and command.epilog is None:
                command.epilog = f"Example: {EXAMPLES[key]}"


def _flags_shown_as_flags() -> None:
    """Help shows a boolean flag as `--flag/--no-flag`, never as an option taking `<bool>`.

    Every boolean flag declared with one long name (`--json`) also accepts its negation (`--no-json`); eager
    options (`--help`, `--version`) and names that are already negations (`--no-llm`) are left as they are.
    """
    from typer.core import TyperOption

    if getattr(TyperOption, "_perceo_flags", False):
        return
    shown = TyperOption.display_type_rich
    created = TyperOption.__init__

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    def __init__(self: TyperOption, *args: Any, **kwargs: Any) -> None:  # noqa: N807 - the patched constructor
        created(self, *args, **kwargs)
        long_names = [o for o in self.opts if o.startswith("--")]
        if (
            self.is_bool_flag
            and not self.secondary_opts
            and not self.is_eager
            and len(long_names) == 1
            and not long_names[0].startswith("--no-")
        ):
            self.secondary_opts = ["--no-" + long_names[0][2:]]
            self.show_default = False  # "[default: no-json]" says nothing the pair does not

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperOption.__init__ = __init__  # type: ignore[method-assign]
    TyperOption._perceo_flags = True  # type: ignore[attr-defined]


_flags_shown_as_flags()
register_commands()
_add_examples()
