"""`perceo local ...`: what runs on this machine.

`status` and `stop` manage the embedded store of the current project (the FalkorDB server under
`.perceo/data/`, started on demand by the commands that need it). The local cloud (`up`/`down`) lives here too.
"""

from __future__ import annotations

from typing import Annotated

import typer

from perceo_cli.context import app_context

app = typer.Typer(help="Things Perceo runs on this machine: the embedded store, the local cloud.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# -- the embedded store ------------------------------------------------------------------------------------


@app.command("status")
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show whether the embedded store of this project runs, where, and how much data it holds."""
    from perceo_cli.local.store import EmbeddedStore, project_data_dir

    context = app_context(ctx)
    report = EmbeddedStore(project_data_dir(context.project_dir)).status()
    if as_json:
        context.output.json(report)
        return
    size = _human_size(report.size_bytes)
    if report.running:
        context.output.text(
            f"embedded store: running (pid {report.pid}, {report.url}), data {report.data_dir} ({size})"
        )
    else:
        context.output.text(f"embedded store: not running, data {report.data_dir} ({size})", markup=False)


@app.command("stop")
def stop(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Stop the embedded store of this project. Its data is saved and kept; the next command restarts it."""
    from perceo_cli.local.store import EmbeddedStore, project_data_dir

    context = app_context(ctx)
    store = EmbeddedStore(project_data_dir(context.project_dir))
    pid = store.status().pid
    stopped = store.stop()
    if as_json:
        context.output.json({"stopped": stopped, "pid": pid if stopped else None, "dataDir": str(store.data_dir)})
        return
    if stopped:
        context.output.text(f"embedded store: stopped (pid {pid}), data kept in {store.data_dir}", markup=False)
    else:
        context.output.text("embedded store: was not running")
