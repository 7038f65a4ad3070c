"""`perceo watch`: while you code, the flows your uncommitted change touches, after every save.

Exit codes: 0 when stopped (Ctrl-C included), 2 for bad options or config.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from perceo_cli.context import AppContext, app_context
from perceo_cli.exit import ExitStatus

if TYPE_CHECKING:
    from perceo_cli.watch import Watcher, WatchResult


def watch(
    ctx: typer.Context,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev/--no-dev",
            help="Compare the working tree (uncommitted and untracked files) with HEAD; the only mode today.",
        ),
    ] = True,
    analyze: Annotated[
        bool,
        typer.Option("--analyze/--no-analyze", help="Analyse each settled change (else only list the changed files)."),
    ] = True,
    paths: Annotated[
        list[str] | None,
        typer.Option("--paths", help="Folders to watch (repeatable; default observer.watch.paths)."),
    ] = None,
    debounce_ms: Annotated[
        int | None,
        typer.Option("--debounce-ms", min=0, max=60_000, help="Quiet time before a burst is analysed."),
    ] = None,
    reasons: Annotated[
        bool, typer.Option("--reasons/--no-reasons", help="Show why each flow is affected (the chain of files).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json/--no-json", help="One JSON document per line, per analysis.")] = (
        False
    ),
) -> None:
    """Watch the working tree and analyse each settled change against HEAD, as `ci analyze --working-tree` does."""
    app_ctx = app_context(ctx)
    if not dev:
        raise typer.BadParameter("only the working tree can be watched today (--dev)", param_hint="--dev")
    watcher = _watcher(app_ctx, paths, debounce_ms, analyze)
    root = watcher.settings.root
    shown = ", ".join(str(p.relative_to(root)) if p != root else "." for p in watcher.watched_paths())
    app_ctx.output.info(f"watching {shown} in {root} (debounce {watcher.settings.debounce_ms} ms); Ctrl-C to stop")

    def emit(result: WatchResult) -> None:
        if as_json:
            app_ctx.output.out.file.write(json.dumps(_document(result, watcher.project_name)) + "\n")
            app_ctx.output.out.file.flush()
        else:
            app_ctx.output.text(_render(result, reasons=reasons), markup=False, end="")

    try:
        watcher.run(emit)
    except KeyboardInterrupt:
        pass
    app_ctx.output.info("stopped watching")
    raise typer.Exit(ExitStatus.OK)


def _watcher(app_ctx: AppContext, paths: list[str] | None, debounce_ms: int | None, analyze: bool) -> Watcher:
    from perceo_cli.commands.ci import LOCAL_PROJECT_ID, discovery_cache_dir, git_timeouts
    from perceo_cli.watch import FlowSource, Watcher, WatchSettings

    config = app_ctx.config
    root = app_ctx.project_dir.resolve()
    wanted = paths if paths else config.observer.watch.paths
    settings = WatchSettings(
        root=root,
        paths=tuple(_inside(root, p) for p in wanted),
        ignore=tuple(config.observer.watch.ignore),
        debounce_ms=config.observer.watch.debounce_ms if debounce_ms is None else debounce_ms,
        analyze=analyze,
        framework=config.project.framework or "auto",
        cache_dir=discovery_cache_dir(app_ctx.project_dir),
        git_timeouts=git_timeouts(config),
    )
    if config.project.id:
        backend = app_ctx.backend
        return Watcher(
            settings,
            project_id=config.project.id,
            flows=FlowSource(backend.list_flows),
            bus=backend.event_bus(),
            project_name=config.project.name or root.name,
        )
    # before `perceo init`: routes only, nothing published (as `ci analyze`)
    return Watcher(settings, project_id=LOCAL_PROJECT_ID, flows=None, bus=None, project_name=root.name)


def _inside(root: Path, given: str) -> Path:
    path = (root / given).resolve()
    try:
        path.relative_to(root)
    except ValueError:
        raise typer.BadParameter(f"{given!r} is outside the project ({root})", param_hint="--paths") from None
    return path


def _document(result: WatchResult, project_name: str) -> dict[str, object]:
    from perceo_cli.report import analysis_contract

    return {
        "seq": result.seq,
        "at": int(time.time() * 1000),
        "changed": result.changed,
        "durationMs": round(result.duration_ms, 1),
        "error": result.error,
        "analysis": (
            analysis_contract(result.analysis, project_name=project_name, working_tree=True)
            if result.analysis is not None
            else None
        ),
    }


def _render(result: WatchResult, *, reasons: bool) -> str:
    from perceo_cli.output import plural

    stamp = time.strftime("%H:%M:%S")
    files = ", ".join(result.changed[:3]) + (f", +{len(result.changed) - 3} more" if len(result.changed) > 3 else "")
    lines = [f"{stamp}  #{result.seq}  {plural(len(result.changed), 'file')} changed: {files}"]
    if result.error is not None:
        lines.append(f"  analysis failed: {result.error}")
    analysis = result.analysis
    if analysis is not None:
        head = (
            f"  risk {analysis.risk_level.upper()} ({analysis.risk_score:.2f}) · "
            f"{plural(len(analysis.files), 'file')} differ from HEAD · {result.duration_ms / 1000:.2f} s"
        )
        lines.append(head)
        if analysis.flows:
            for flow in analysis.flows[:8]:
                lines.append(f"    {flow.risk_score:.2f}  {flow.name}  [{flow.priority}]")
                if reasons:
                    for reason in flow.reasons[:3]:
                        chain = " → ".join(reason.chain) if reason.chain else reason.changed_file
                        lines.append(f"          {chain}  ({reason.kind}, {reason.route})")
            if len(analysis.flows) > 8:
                lines.append(f"    … +{len(analysis.flows) - 8} more")
        elif analysis.affected_routes:
            routes = ", ".join(r.route for r in analysis.affected_routes[:5])
            lines.append(f"    no known flow; affected routes: {routes}")
        else:
            lines.append("    no route affected")
    return "\n".join(lines) + "\n"
