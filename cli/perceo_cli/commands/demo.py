"""`perceo demo`: build the sample app in a fresh git repository, then run the real job on it:
`perceo init --yes --no-llm`, synthetic production traffic ingested and `perceo analytics sync`, `perceo ci analyze`
on its last commit (its flows weighed by that traffic), and `perceo flows run --all` in headless Chromium against
the demo shop served on loopback (one flow fails on purpose), then `perceo analyze insights`. A plain command.
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from perceo.errors import ValidationFailed
from perceo_cli.context import AppContext, app_context
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.demo.traffic import DROP_OFF_SHARE, batches, demo_events
from perceo_cli.exit import ExitStatus
from perceo_cli.output import Output, esc, plural

#: The flow the demo shop breaks on purpose (its payment endpoint answers 503).
FAILING_FLOW = "Checkout"


def _run(ctx: typer.Context, argv: list[str], project_dir: Path, output: Output) -> int:
    """Run another `perceo` command on the demo app, through this command tree's own root."""
    from perceo_cli.runner import run_commands

    return run_commands(ctx.find_root().command, argv, AppContext(output=output, project_dir=project_dir))


def _browser_missing() -> str | None:
    """Why flows cannot run in a browser here, or None when Chromium is installed."""
    import os

    from perceo.coordinator.synthetic import find_chromium
    from perceo.errors import RunnerNotInstalledError

    try:
        find_chromium(os.environ)
    except RunnerNotInstalledError as error:
        return error.message
    return None


def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Where to create the app (a new or empty folder).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {app, init, traffic, sync, analysis, synthetic, insights} as JSON.")
    ] = False,
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep serving the demo shop afterwards, until Ctrl-C.")
    ] = False,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="Skip the flows run in Chromium.")] = False,
) -> None:
    """Create a sample shop with three commits, map its flows, analyze its last commit, and run its flows in a
    browser against the shop served on loopback."""
    from perceo_cli.demo.server import DemoServer

    app_ctx = app_context(ctx)
    output = app_ctx.output
    target = (directory or Path(tempfile.mkdtemp(prefix="perceo-demo-")) / "shop").resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ValidationFailed(f"{target} is not empty: choose a new or empty folder for the demo app (--dir)")
    demo_app = build_demo_app(target)
    missing = None if no_browser else _browser_missing()
    with DemoServer() as server:
        steps: Steps = [
            ("init", ["init", "--yes", "--no-llm"]),
            ("traffic", []),
            ("sync", ["analytics", "sync"]),
            ("analysis", ["ci", "analyze", "--base", demo_app.base, "--head", demo_app.head]),
        ]
        if not no_browser and missing is None:
            steps.append(("synthetic", ["flows", "run", "--all", "--base-url", server.url]))
        steps.append(("insights", ["analyze", "insights"]))
        # A failing flow is the point of the synthetic step: exit 4 there is what the demo shows.
        expected: Expected = {"synthetic": (ExitStatus.OK, ExitStatus.TESTS_FAILED)}
        if not as_json:
            _print_steps(ctx, steps, expected, target, output, commits=len(demo_app.commits))
            if missing is not None:
                output.info(f"\nFlows were not run in a browser: {missing}")
            elif not no_browser:
                output.info(
                    f"\n{FAILING_FLOW} fails on purpose: the demo shop's payment endpoint answers 503 "
                    "(see the failure's screenshot above)."
                )
            output.info(
                "The demo app's embedded store stops by itself when idle (flowGraph.idleStopS); "
                f"stop it now with `perceo -C {target} local stop`."
            )
        else:
            document = _json_steps(ctx, steps, expected, target, output)
            output.json({"app": {"path": str(target), "commits": demo_app.commits}, **document})
        if serve:
            output.info(f"\nThe demo shop is at {server.url} (Ctrl-C to stop). Try:")
            output.info(f"  perceo -C {target} flows run Checkout --base-url {server.url}")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                output.info("stopped")


Steps = list[tuple[str, list[str]]]
Expected = dict[str, tuple[ExitStatus, ...]]


def _print_steps(
    ctx: typer.Context, steps: Steps, expected: Expected, target: Path, output: Output, *, commits: int
) -> None:
    output.text(f"[bold]Demo app[/bold] created in {esc(target)} ({plural(commits, 'commit')})")
    for name, argv in steps:
        if name == "traffic":
            traffic = _ingest_traffic(target)
            output.text(
                f"\n[bold]Production traffic[/bold]: {traffic['events']} synthetic page views ingested "
                f"({esc(traffic['dropOffFlow'])}: {DROP_OFF_SHARE:.0%} of its users leave before its last step)"
            )
            continue
        output.text(f"\n[bold]$ perceo {esc(' '.join(argv))}[/bold]")
        code = _run(ctx, argv, target, output)
        if code not in expected.get(name, (ExitStatus.OK,)):
            raise typer.Exit(code)


def _json_steps(ctx: typer.Context, steps: Steps, expected: Expected, target: Path, output: Output) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, argv in steps:
        if name == "traffic":
            document[name] = _ingest_traffic(target)
            continue
        buffer = io.StringIO()
        code = _run(ctx, [*argv, "--json"], target, Output(buffer, output.err.file))
        if code not in expected.get(name, (ExitStatus.OK,)):
            raise typer.Exit(code)
        document[name] = json.loads(buffer.getvalue())
    document.setdefault("synthetic", None)
    return document


def _ingest_traffic(target: Path) -> dict[str, Any]:
    """The demo's synthetic production traffic, through the project's backend (as `POST /analytics/events`)."""
    from perceo.config.loader import load_config
    from perceo.models import now_ms
    from perceo_cli.backend.factory import make_backend

    backend = make_backend(target, load_config(target).config)
    try:
        events, dropping = demo_events(backend.list_flows(), now=now_ms())
        accepted = sum(backend.analytics_ingest(batch).accepted for batch in batches(events))
    finally:
        backend.close()
    return {"events": len(events), "accepted": accepted, "dropOffFlow": dropping}
