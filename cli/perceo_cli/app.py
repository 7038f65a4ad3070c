"""The typer application: global options and the command groups, each loaded when it runs.

`perceo --version` and `perceo --help` load no command module: the root group (`LazyGroup`) knows every command by
name, the `module:attribute` it lives at and its one-line help (`COMMANDS`), and imports the module only when the
command runs (or its own `--help` is asked). A test renders the root help from the table and from the loaded
commands and requires the two to be the same, so the table never drifts from the commands' docstrings.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from perceo import __version__

if TYPE_CHECKING:
    from typer._click import Command, Context, HelpFormatter


@dataclass(frozen=True)
class LazyCommand:
    #: `module:attribute` of a `typer.Typer` (a group of commands) or of a command function
    target: str
    #: what the root `--help` shows: the command's first paragraph of help (a test checks it against the command)
    help: str
    #: a Typer group whose module adds commands defined elsewhere: `module:function(group)` run once on load
    extend: tuple[str, ...] = ()


#: Every command of the root, in the order the root `--help` lists them (single commands, then groups).
COMMANDS: dict[str, LazyCommand] = {
    "dashboard": LazyCommand(
        "perceo_cli.commands.dashboard:dashboard",
        "Serve the dashboard until Ctrl-C: flows, analyses, production, tests, with live updates from the bus.",
    ),
    "init": LazyCommand(
        "perceo_cli.commands.init:init",
        "Discover the app's flows, personas and steps and store them in the flow graph.",
    ),
    "demo": LazyCommand(
        "perceo_cli.commands.demo:demo",
        "Create a sample shop with three commits, map its flows, analyze its last commit, and run its flows in a\n"
        "browser against the shop served on loopback.",
    ),
    "status": LazyCommand(
        "perceo_cli.commands.status:status",
        "The last run of each scheduled job and its outcome; exit 1 when one failed.",
    ),
    "export": LazyCommand(
        "perceo_cli.commands.backup:export",
        "Export a project (project, personas, flows, steps, pages, analyses, runs, metrics, insights, keys' metadata)\n"
        "as JSON Lines.",
    ),
    "import": LazyCommand(
        "perceo_cli.commands.backup:import_",
        "Restore a project from an export, all or nothing: the whole file is checked first.",
    ),
    "login": LazyCommand(
        "perceo_cli.commands.login:login",
        "Check an API key against the API and save it for that API URL (mode 0600).",
    ),
    "logout": LazyCommand("perceo_cli.commands.login:logout", "Forget the API key saved for an API URL."),
    "usage": LazyCommand(
        "perceo_cli.commands.usage:usage",
        "LLM usage of this project per day and model: calls, tokens and estimated cost (USD).",
    ),
    "watch": LazyCommand(
        "perceo_cli.commands.watch:watch",
        "Watch the working tree and analyse each settled change against HEAD, as `ci analyze --working-tree` does.",
    ),
    "alerts": LazyCommand(
        "perceo_cli.commands.alerts:app",
        "Alert rules: send insights, anomalies and risky changes to Slack, an HMAC-signed webhook or email.",
    ),
    "analyze": LazyCommand(
        "perceo_cli.commands.analyze:app",
        "Insights, coverage and predictions from flows, production metrics and test runs.",
    ),
    "analytics": LazyCommand(
        "perceo_cli.commands.analytics:app",
        "Production analytics: connect providers, sync, and each flow's production figures.",
    ),
    "ci": LazyCommand("perceo_cli.commands.ci:app", "Commands for CI pipelines."),
    "config": LazyCommand(
        "perceo_cli.commands.config:app", "Show, get and set the project's configuration (.perceo/config.json)."
    ),
    "flows": LazyCommand("perceo_cli.commands.flows:app", "List, show, edit and delete the project's flows."),
    "insights": LazyCommand(
        "perceo_cli.commands.insights:app", "Acknowledge, resolve and show the analyzer's insights."
    ),
    "local": LazyCommand(
        "perceo_cli.commands.local:app",
        "Things Perceo runs on this machine: the embedded store, the local cloud.",
        extend=("perceo_cli.commands.local_cloud:register", "perceo_cli.commands.local_schedule:register"),
    ),
    "keys": LazyCommand("perceo_cli.commands.keys:app", "The project's API keys (through the API)."),
    "projects": LazyCommand(
        "perceo_cli.commands.projects:app", "Projects on the Perceo API: create one (admin key), show yours, delete it."
    ),
    "routes": LazyCommand(
        "perceo_cli.commands.routes:app", "Routes, their files and navigation edges discovered in the code."
    ),
    "workflows": LazyCommand(
        "perceo_cli.commands.workflows:app",
        "Cloud workflows: the remote bootstrap and analysis reviews (through the API).",
    ),
}


def _attribute(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


#: The loaded command objects (a `typer.Typer` or a function), by command name: each module is set up once.
_loaded: dict[str, Any] = {}


def load(name: str) -> Any:
    """The `typer.Typer` or the function of the root command `name`, its module imported and its examples added."""
    if name not in _loaded:
        spec = COMMANDS[name]
        obj = _attribute(spec.target)
        for extend in spec.extend:
            _attribute(extend)(obj)
        if isinstance(obj, typer.Typer):
            _add_examples(name, obj)
        _loaded[name] = obj
    return _loaded[name]


def click_command(name: str) -> Command:
    """The click command `perceo <name>` runs (a group for a Typer with several commands)."""
    obj = load(name)
    if isinstance(obj, typer.Typer):
        command = typer.main.get_command(obj)
    else:
        single = typer.Typer()
        epilog = f"Example: {EXAMPLES[name]}" if name in EXAMPLES else None
        single.command(name=name, epilog=epilog)(obj)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: commands are imported when they run; help lists them from `COMMANDS`."""

    #: False renders the root help from the loaded commands (the test that keeps `COMMANDS` true does).
    help_from_table = True

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing and self.help_from_table:
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name].help)
        if cmd_name not in self.commands:
            self.commands[cmd_name] = click_command(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="perceo",
    cls=LazyGroup,
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
    from perceo_cli.context import AppContext, project_dir_from
    from perceo_cli.output import Output

    if not isinstance(ctx.obj, AppContext):
        ctx.obj = AppContext(output=Output())
    if project_dir is not None:
        ctx.obj.project_dir = project_dir_from(project_dir)


#: One example per command, shown at the end of its `--help` (commands keyed by their path).
EXAMPLES: dict[str, str] = {
    "init": "perceo init --yes            # map this app's flows (asks nothing)",
    "demo": "perceo demo --dir /tmp/shop   # a sample app, mapped and analyzed",
    "login": "perceo login --api-url https://api.example.com",
    "logout": "perceo logout --api-url https://api.example.com",
    "usage": "perceo usage --days 7 --json",
    "export": "perceo export --output backup.jsonl",
    "import": "perceo import backup.jsonl --replace",
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
    "analytics correlate": "perceo analytics correlate --since 7d --json",
    "analytics gaps": "perceo analytics gaps --format md",
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


def _add_examples(name: str, group: typer.Typer) -> None:
    """Every command's `--help` ends with its example (`EXAMPLES`); a command without one is a test failure."""
    if name in EXAMPLES and _unset(group.info.epilog):  # a group that is itself the command (`routes`)
        group.info.epilog = f"Example: {EXAMPLES[name]}"
    for command in group.registered_commands:
        key = f"{name} {command.name}"
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
