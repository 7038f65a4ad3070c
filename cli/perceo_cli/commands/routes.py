"""`perceo routes`: the routes, their files and the navigation edges discovered in this app's code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from perceo.errors import NotAGitRepositoryError
from perceo.observer.model import DiscoveryResult
from perceo_cli.commands.ci import discovery_cache_dir
from perceo_cli.context import app_context
from perceo_cli.report import render_routes_text, routes_contract

app = typer.Typer(help="Routes, their files and navigation edges discovered in the code.")


@app.callback(invoke_without_command=True)
def routes(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the routes as JSON on stdout.")] = False,
) -> None:
    """Discover the working tree's routes (pages and API routes), their entry and layout files, and links."""
    app_ctx = app_context(ctx)
    framework = app_ctx.config.project.framework or "auto"
    discovery = discover_working_tree(app_ctx.project_dir, framework, discovery_cache_dir(app_ctx.project_dir))
    if as_json:
        app_ctx.output.json(routes_contract(discovery))
    else:
        app_ctx.output.text(render_routes_text(discovery), markup=False, end="")


def discover_working_tree(project_dir: Path, framework: str, cache_dir: Path) -> DiscoveryResult:
    from perceo.observer.discovery import discover
    from perceo.observer.snapshot import RepoSnapshot

    try:
        snapshot = RepoSnapshot.working_tree(project_dir)
    except NotAGitRepositoryError:
        snapshot = RepoSnapshot.directory(project_dir)
    from perceo.observer.filewarnings import collecting

    with snapshot, collecting() as unreadable:  # files it could not read: a warning each, never a crash
        found = discover(snapshot, framework=framework, cache_dir=cache_dir)
    if unreadable:
        found = found.model_copy(update={"warnings": [*found.warnings, *unreadable]})
    return found
