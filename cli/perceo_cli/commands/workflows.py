"""`perceo workflows status ID [--watch] [--json]`, `perceo workflows review ANALYSIS_ID [--watch]` (the LLM's slow
path of a change analysis), and the cloud bootstrap behind `perceo init --remote`.

Following a workflow polls `GET /workflows/{id}` until it ends, with a progress bar on stderr (when stderr is a
terminal). It always stops: at a terminal status (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), or at the overall wait
timeout (`--timeout`). Ctrl-C stops following and says how to pick it up again; the workflow keeps running (the
CLI never stops an execution). A failure is shown with its error type and message, and exits 1.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from perceo.errors import ConfigError, PerceoError
from perceo.workflows.model import (
    MAX_BOOTSTRAP_FLOWS,
    TERMINAL_STATUSES,
    BootstrapRequest,
    ReviewRequest,
    WorkflowView,
    is_workflow_id,
)
from perceo_cli.backend.port import Backend
from perceo_cli.context import AppContext, app_context
from perceo_cli.exit import ExitStatus
from perceo_cli.output import Output, esc
from perceo_cli.project_files import set_project_value, write_gitignore

app = typer.Typer(
    help="Cloud workflows: the remote bootstrap and analysis reviews (through the API).", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]
DEFAULT_TIMEOUT_S = 30 * 60.0
DEFAULT_INTERVAL_S = 1.0


class WorkflowFailedError(PerceoError):
    """The workflow ended without succeeding (its own error is in the message)."""

    code = "workflow_failed"


class WorkflowWaitTimeoutError(PerceoError):
    code = "workflow_wait_timeout"


def describe_failure(view: WorkflowView) -> str:
    error = view.error
    what = f"{error.type}: {error.message}" if error is not None else "no error was recorded"
    where = f" at {view.progress.stage.replace('_', ' ')}" if view.progress.stage else ""
    return f"workflow {view.workflow_id} {view.status}{where}: {what}"


def follow(
    backend: Backend,
    workflow_id: str,
    output: Output,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    interval_s: float = DEFAULT_INTERVAL_S,
    show_progress: bool = True,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WorkflowView:
    """Poll until the workflow ends (returns its last view) or `timeout_s` passes (WorkflowWaitTimeoutError).

    KeyboardInterrupt propagates: the caller says the workflow keeps running.
    """
    deadline = clock() + timeout_s
    with output.progress(enabled=show_progress) as progress:
        task = progress.add_task("starting", total=100, message="")
        while True:
            view = backend.workflow_status(workflow_id)
            stage = view.progress.stage.replace("_", " ")
            progress.update(task, description=stage, completed=view.progress.percentage, message=view.progress.message)
            if view.status in TERMINAL_STATUSES:
                return view
            if clock() >= deadline:
                raise WorkflowWaitTimeoutError(
                    f"workflow {workflow_id} is still running after {timeout_s:g}s ({stage}, "
                    f"{view.progress.percentage}%); it goes on in the cloud: `perceo workflows status {workflow_id} "
                    "--watch`",
                    details={"workflowId": workflow_id},
                )
            sleep(interval_s)


def _stopped_following(output: Output, workflow_id: str) -> int:
    output.info(
        f"Stopped following; the workflow keeps running in the cloud. Pick it up again with "
        f"`perceo workflows status {workflow_id} --watch`."
    )
    return ExitStatus.INTERRUPTED


def print_view(output: Output, view: WorkflowView) -> None:
    progress = view.progress
    output.text(f"{esc(view.workflow_id)} ({view.kind}): [bold]{view.status}[/bold]")
    output.text(f"  {progress.stage.replace('_', ' ')} · {progress.percentage}% · {progress.message}", markup=False)
    if progress.counts:
        output.text(
            "  " + " · ".join(f"{name} {value}" for name, value in sorted(progress.counts.items())), markup=False
        )
    if view.error is not None:
        output.text(f"  error: {view.error.type}: {view.error.message}", markup=False)


@app.command("status")
def status(
    ctx: typer.Context,
    workflow_id: Annotated[str, typer.Argument(help="The workflow id (wf-…), as `init --remote` printed it.")],
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow it until it ends.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="With --watch: give up waiting after this many seconds.")
    ] = DEFAULT_TIMEOUT_S,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="Seconds between polls.")] = DEFAULT_INTERVAL_S,
    as_json: JsonFlag = False,
) -> int:
    """A workflow's status, progress and error; exits 1 when it ended without succeeding."""
    from perceo.errors import ValidationFailed

    app_ctx = app_context(ctx)
    if not is_workflow_id(workflow_id):
        raise ValidationFailed(f"{workflow_id!r} is not a workflow id (wf- and 32 hex characters)")
    backend = app_ctx.backend
    output = app_ctx.output
    try:
        view = (
            follow(backend, workflow_id, output, timeout_s=timeout, interval_s=interval, show_progress=not as_json)
            if watch
            else backend.workflow_status(workflow_id)
        )
    except KeyboardInterrupt:
        return _stopped_following(output, workflow_id)
    return _finish(output, view, as_json=as_json)


def _finish(output: Output, view: WorkflowView, *, as_json: bool) -> int:
    if as_json:
        output.json(view)
    else:
        print_view(output, view)
        if view.kind == "analyze" and view.result:
            for flow in view.result.get("reviewed", []):
                verdict = "affected" if flow["affected"] else "not affected"
                output.text(
                    f"  {flow['name']}: {verdict}, confidence {flow['confidenceBefore']:.2f} → "
                    f"{flow['confidenceAfter']:.2f}: {flow['rationale']}",
                    markup=False,
                )
    if view.status in TERMINAL_STATUSES and view.status != "SUCCEEDED":
        if not as_json:
            output.error(describe_failure(view))
        return ExitStatus.ERROR
    return ExitStatus.OK


@app.command("review")
def review(
    ctx: typer.Context,
    analysis_id: Annotated[str, typer.Argument(help="The analysis id (`analysisId` of `perceo ci analyze --json`).")],
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", min=0.0, max=1.0, help="Review flows below this confidence (default: analysis.llmThreshold)."
        ),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Follow it until it ends.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="With --watch: stop waiting after this.")] = (
        DEFAULT_TIMEOUT_S
    ),
    as_json: JsonFlag = False,
) -> int:
    """Have the LLM review an analysis's low-confidence flows in the cloud (the slow path of `ci analyze`)."""
    app_ctx = app_context(ctx)
    backend = app_ctx.backend
    output = app_ctx.output
    chosen = threshold if threshold is not None else app_ctx.config.observer.analysis.llm_threshold
    started = backend.start_review(analysis_id, ReviewRequest(llm_threshold=chosen))
    if not watch:
        if as_json:
            output.json(started)
        else:
            output.text(started.workflow_id, markup=False)
            output.info(f"Follow it with `perceo workflows status {started.workflow_id} --watch`.")
        return ExitStatus.OK
    try:
        view = follow(backend, started.workflow_id, output, timeout_s=timeout, show_progress=not as_json)
    except KeyboardInterrupt:
        return _stopped_following(output, started.workflow_id)
    return _finish(output, view, as_json=as_json)


# ------------------------------------------------------------------------------------------------ init --remote


def origin_url(project_dir: Path) -> str | None:
    """The checkout's `origin` remote URL, if it has one (the default repository for `init --remote`)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(project_dir), "remote", "get-url", "origin"],
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=10,  # reads the config: a hang means a stuck file system, and the URL can be given instead
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    url = proc.stdout.strip()
    return url if proc.returncode == 0 and url else None


def run_remote_init(
    app_ctx: AppContext,
    project_dir: Path,
    *,
    repo_url: str | None,
    branch: str | None,
    framework: str,
    use_llm: bool | None,
    personas: list[Any],
    timeout_s: float = DEFAULT_TIMEOUT_S,
    interval_s: float = DEFAULT_INTERVAL_S,
    show_progress: bool = True,
) -> dict[str, Any]:
    """Start the cloud bootstrap of the key's project and follow it. Returns the `init --json` document (the
    workflow's result, plus `workflowId`); WorkflowFailedError when it ends without succeeding."""
    url = repo_url or origin_url(project_dir)
    if url is None:
        raise ConfigError(
            f"{project_dir} has no `origin` remote: pass --repo-url https://host/owner/repo (the cloud clones it)",
            details={"where": "--repo-url"},
        )
    backend = app_ctx.backend
    output = app_ctx.output
    settings = app_ctx.config.bootstrap
    max_flows = min(settings.max_flows, MAX_BOOTSTRAP_FLOWS)
    if max_flows < settings.max_flows:
        app_ctx.output.warn(
            f"bootstrap.maxFlows is {settings.max_flows}; the cloud bootstrap keeps at most {MAX_BOOTSTRAP_FLOWS} flows"
        )
    # The flows the team deleted (`perceo flows delete` records them in the config) stay deleted in the cloud too.
    request = BootstrapRequest(
        repo_url=url,
        branch=branch,
        framework=framework,
        use_llm=use_llm,
        personas=personas,
        max_flows=max_flows,
        excluded_flows=settings.exclude_flows,
    )
    started = backend.start_bootstrap(request)
    output.info(
        f"Started cloud bootstrap {started.workflow_id} (follow it elsewhere: "
        f"`perceo workflows status {started.workflow_id} --watch`)"
    )
    try:
        view = follow(
            backend,
            started.workflow_id,
            output,
            timeout_s=timeout_s,
            interval_s=interval_s,
            show_progress=show_progress,
        )
    except KeyboardInterrupt:
        _stopped_following(output, started.workflow_id)
        raise typer.Exit(ExitStatus.INTERRUPTED) from None
    if view.status != "SUCCEEDED":
        raise WorkflowFailedError(describe_failure(view), details={"workflowId": view.workflow_id})
    result = {**(view.result or {}), "workflowId": view.workflow_id}
    config_path = _remember_project(project_dir, result)
    return {**result, "configPath": config_path}


def _remember_project(project_dir: Path, result: dict[str, Any]) -> str | None:
    """Write the cloud project's id, name and framework to `.perceo/config.json`, as a local init does, so the
    commands that need a project (`ci analyze`, `flows`) find it."""
    from perceo.config.loader import load_config

    perceo_dir = project_dir / ".perceo"
    perceo_dir.mkdir(exist_ok=True)
    write_gitignore(perceo_dir)
    loaded = load_config(project_dir)
    for key, field in (("id", "projectId"), ("name", "projectName"), ("framework", "framework")):
        value = result.get(field)
        if isinstance(value, str) and value:
            set_project_value(project_dir, loaded.raw, key, value)
    return str(loaded.path)
