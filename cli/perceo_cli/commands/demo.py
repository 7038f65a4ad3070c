"""`perceo demo`: build the sample app in a fresh git repository, then run the real job on it:
`perceo init --yes --no-llm`, `perceo ci analyze` on its last commit and `perceo analyze insights`. A plain command.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from perceo_cli.context import AppContext, app_context
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.exit import ExitStatus
from perceo_cli.output import Output


def _run(ctx: typer.Context, argv: list[str], project_dir: Path, output: Output) -> int:
    """Run another `perceo` command on the demo app, through this command tree's own root."""
    from perceo_cli.runner import run_commands

    return run_commands(ctx.find_root().command, argv, AppContext(output=output, project_dir=project_dir))


def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="Where to create the app (a new or empty folder).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {app, init, analysis, insights} as JSON.")] = False,
) -> None:
    """Create a sample Next.js shop with three commits, map its flows, analyze its last commit, list insights."""
    app_ctx = app_context(ctx)
    output = app_ctx.output
    target = (directory or Path(tempfile.mkdtemp(prefix="perceo-demo-")) / "shop").resolve()
    demo_app = build_demo_app(target)
    steps = [
        ("init", ["init", "--yes", "--no-llm"]),
        ("analysis", ["ci", "analyze", "--base", demo_app.base, "--head", demo_app.head]),
        ("insights", ["analyze", "insights"]),
    ]
    if not as_json:
        output.text(f"[bold]Demo app[/bold] created in {target} ({len(demo_app.commits)} commits)")
        for _name, argv in steps:
            output.text(f"\n[bold]$ perceo {' '.join(argv)}[/bold]")
            code = _run(ctx, argv, target, output)
            if code != ExitStatus.OK:
                raise typer.Exit(code)
        output.info(f"\nThe embedded store keeps running for this app; stop it with `perceo -C {target} local stop`.")
        return
    document: dict[str, Any] = {"app": {"path": str(target), "commits": demo_app.commits}}
    for name, argv in steps:
        buffer = io.StringIO()
        code = _run(ctx, [*argv, "--json"], target, Output(buffer, output.err.file))
        if code != ExitStatus.OK:
            raise typer.Exit(code)
        document[name] = json.loads(buffer.getvalue())
    output.json(document)
