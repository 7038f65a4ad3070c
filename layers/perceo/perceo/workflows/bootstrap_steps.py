"""The BootstrapProject workflow's tasks: each loads the pipeline state from the bundle store, runs the stage
`perceo init` runs in-process (`perceo.bootstrap.pipeline`), saves the state back and reports progress.

What differs from the in-process run, and why:

- The code is not on a disk the next task can see, so `Clone and discover` clones, packs the source files into
  the bundle (`files.json.gz`) and every later stage reads them from there (`BootstrapInput.workspace` is a
  `bundle://` name and the snapshot opener understands it).
- An LLM failure ends the workflow instead of falling back to the offline heuristic: the in-process pipeline
  degrades gracefully for a person at a terminal; in the cloud a silent downgrade would hide the failure behind a
  SUCCEEDED status (the original's weakness). Transient LLM failures (`LLMUnavailableError`) are retried by Step
  Functions; unusable answers (`LLMOutputError`) are not.
- A failing flow in the step map fails the workflow (retried first when transient); persistence is by natural
  keys, so a re-run reconciles whatever the failed run had written.
- Progress goes to Redis (`perceo.workflows.progress`), where `GET /workflows/{id}` reads it.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from perceo.auth.scopes import grants
from perceo.bootstrap import pipeline
from perceo.bootstrap.pipeline import (
    BootstrapDeps,
    BootstrapInput,
    BootstrapLimits,
    BootstrapState,
    StepResult,
)
from perceo.bootstrap.stages import (
    CLONE_PROGRESS,
    COMPLETE_PROGRESS,
    EXTRACT_SPAN,
    FLOWS_PERSISTED_PROGRESS,
    STAGE_PROGRESS,
)
from perceo.errors import AuthenticationError, PerceoError, PermissionDeniedError
from perceo.models.common import now_ms
from perceo.workflows.bundle import (
    BundleStore,
    bundle_uri,
    files_key,
    get_files,
    get_json,
    parse_bundle_uri,
    put_files,
    put_json,
    request_key,
    state_key,
    step_result_key,
    workflow_prefix,
)
from perceo.workflows.errors import WorkflowStateMissingError
from perceo.workflows.failures import StrictLLM
from perceo.workflows.gitremote import check_branch, parse_git_remote
from perceo.workflows.model import StepInput, StoredBootstrapRequest
from perceo.workflows.runtime import StepRuntime

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

#: Progress when each task starts, and at the points within stages the cloud reports (the clone, the flows stored,
#: the end): `perceo.bootstrap.stages`.
PROGRESS = {
    **STAGE_PROGRESS,
    "clone": CLONE_PROGRESS,
    "flows_persisted": FLOWS_PERSISTED_PROGRESS,
    "complete": COMPLETE_PROGRESS,
}


# ------------------------------------------------------------------------------------------------ bundle state


def _load(store: BundleStore, key: str, model: type[T]) -> T:
    return model.model_validate(get_json(store, key))


def load_request(runtime: StepRuntime, step: StepInput) -> StoredBootstrapRequest:
    return _load(runtime.bundles, request_key(step.project_id, step.workflow_id), StoredBootstrapRequest)


def load_state(runtime: StepRuntime, step: StepInput) -> BootstrapState:
    return _load(runtime.bundles, state_key(step.project_id, step.workflow_id), BootstrapState)


def save_state(runtime: StepRuntime, step: StepInput, state: BootstrapState) -> None:
    put_json(runtime.bundles, state_key(step.project_id, step.workflow_id), state.model_dump(mode="json"))


# ------------------------------------------------------------------------------------------------ deps


def _bundle_snapshot_opener(runtime: StepRuntime) -> Callable[[str], pipeline.Snapshot]:
    def open_snapshot(workspace: str) -> pipeline.Snapshot:
        from perceo.observer.snapshot import RepoSnapshot

        ids = parse_bundle_uri(workspace)
        if ids is None:
            return pipeline._default_open_snapshot(workspace)
        files = get_files(runtime.bundles, files_key(*ids))
        return RepoSnapshot.from_files(dict(files))

    return open_snapshot


@contextmanager
def _deps(
    runtime: StepRuntime, step: StepInput, *, use_llm: bool, graph: bool = True
) -> Iterator[tuple[BootstrapDeps, StrictLLM | None]]:
    llm = runtime.llm if use_llm else None
    strict = StrictLLM(llm) if llm is not None else None

    def progress(stage: str, percentage: int, message: str) -> None:
        runtime.progress.report(
            step.project_id, step.workflow_id, stage=stage, percentage=PROGRESS.get(stage, percentage), message=message
        )

    deps = BootstrapDeps(
        graph=runtime.graph if graph else None,
        llm=strict,
        bus=runtime.bus,
        open_snapshot=_bundle_snapshot_opener(runtime),
        max_concurrency=runtime.settings.workflow_max_concurrency,
        progress=progress,
    )
    try:
        yield deps, strict
    finally:
        deps.close()


def _timed(state: BootstrapState, stage: str, started: float) -> BootstrapState:
    timings = {**state.stage_ms, stage: state.stage_ms.get(stage, 0) + int((time.perf_counter() - started) * 1000)}
    return state.model_copy(update={"stage_ms": timings})


def _counts(state: BootstrapState) -> dict[str, int]:
    discovery = state.discovery
    return {
        "routes": len([r for r in discovery.routes if r.kind == "page"]) if discovery else 0,
        "flows": len(state.flows),
        "personas": len(state.personas),
    }


# ------------------------------------------------------------------------------------------------ the tasks


def validate(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """The key that started the workflow is still valid for it, the URL passes the policy, the project exists."""
    started = time.perf_counter()
    request = load_request(runtime, step)
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="validate",
        percentage=PROGRESS["validate"],
        message="checking the project, the key and the repository URL",
    )
    key = runtime.key_lookup(step.project_id, request.key_prefix)
    if not key.is_active(now_ms()):
        raise AuthenticationError(f"API key {key.prefix} was revoked or has expired since the workflow started")
    if not grants(key.scopes, "workflows:start"):
        raise PermissionDeniedError(f"API key {key.prefix} lacks the scope 'workflows:start'")
    parse_git_remote(request.repo_url, runtime.settings.allowed_git_hosts)
    if request.branch is not None:
        check_branch(request.branch)
    # Not asked either way: the LLM when this deployment has one (the later steps read the choice from the state).
    use_llm = request.use_llm if request.use_llm is not None else runtime.llm is not None
    with tempfile.TemporaryDirectory(prefix="perceo-validate-") as placeholder:
        # The pipeline checks that the workspace is a folder; the clone comes in the next task, on another host.
        bootstrap_input = BootstrapInput(
            project_id=step.project_id,
            workspace=placeholder,
            framework=request.framework,
            use_llm=use_llm,
            personas=request.personas,
            limits=BootstrapLimits(max_flows=request.max_flows),
            excluded_flows=request.excluded_flows,
        )
        with _deps(runtime, step, use_llm=use_llm) as (deps, _):
            state = pipeline.validate(bootstrap_input, deps)
    state = state.model_copy(
        update={"input": state.input.model_copy(update={"workspace": bundle_uri(step.project_id, step.workflow_id)})}
    )
    save_state(runtime, step, _timed(state, "validate", started))
    return {"stage": "validate"}


def _pack_files(snapshot: Any, runtime: StepRuntime) -> tuple[dict[str, str], list[str]]:
    """The text files discovery and the later stages read, within the bundle's limits."""
    max_bytes = runtime.settings.bundle_max_file_kb * 1024
    files: dict[str, str] = {}
    skipped_large = skipped_binary = 0
    paths = snapshot.files()
    for path in paths[: runtime.settings.bundle_max_files]:
        data = snapshot.read_bytes(path)
        if len(data) > max_bytes:
            skipped_large += 1
            continue
        if b"\0" in data[:8192]:
            skipped_binary += 1
            continue
        files[path] = data.decode("utf-8", "replace")
    warnings = []
    if len(paths) > runtime.settings.bundle_max_files:
        warnings.append(f"bundle: only the first {runtime.settings.bundle_max_files} of {len(paths)} files were read")
    if skipped_large:
        warnings.append(f"bundle: {skipped_large} files over {runtime.settings.bundle_max_file_kb} KB were skipped")
    return files, warnings


def clone_and_discover(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """Shallow-clone the repository, pack its source files into the bundle, and discover routes and imports."""
    from perceo.workflows.clone import clone_repository

    started = time.perf_counter()
    request = load_request(runtime, step)
    state = load_state(runtime, step)
    remote = parse_git_remote(request.repo_url, runtime.settings.allowed_git_hosts)
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="clone",
        percentage=PROGRESS["clone"],
        message=f"cloning {remote.host}/{remote.path}",
    )
    credentials = runtime.credentials.credentials_for(step.project_id)
    with tempfile.TemporaryDirectory(prefix="perceo-clone-", dir=runtime.work_dir) as scratch:
        cloned = clone_repository(
            remote,
            Path(scratch) / "repo",
            branch=request.branch,
            credentials=credentials,
            limits=runtime.settings.clone_limits(),
            ca_file=runtime.settings.git_ssl_cainfo,
        )
        with cloned.snapshot() as snapshot:  # read with dulwich: the Lambda runtime has no git binary
            files, warnings = _pack_files(snapshot, runtime)
    put_files(runtime.bundles, files_key(step.project_id, step.workflow_id), files)
    state = state.model_copy(update={"warnings": [*state.warnings, *warnings]})
    with _deps(runtime, step, use_llm=False, graph=False) as (deps, _):
        state = pipeline.discover(state, deps)
    state = _timed(state, "discover", started)
    save_state(runtime, step, state)
    counts = {**_counts(state), "files": len(files)}
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="discover",
        percentage=PROGRESS["discover"],
        message=f"found {counts['routes']} routes in {len(files)} files",
        counts=counts,
    )
    return {"stage": "discover", "commit": cloned.commit, **counts}


def _state_stage(
    name: str, stage: Callable[[BootstrapState, BootstrapDeps], BootstrapState]
) -> Callable[[StepInput, StepRuntime], dict[str, Any]]:
    def run(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
        started = time.perf_counter()
        state = load_state(runtime, step)
        with _deps(runtime, step, use_llm=state.input.use_llm) as (deps, strict):
            state = stage(state, deps)
            if strict is not None:
                strict.raise_if_failed()
        state = _timed(state, name, started)
        save_state(runtime, step, state)
        runtime.progress.report(
            step.project_id,
            step.workflow_id,
            stage=name,
            percentage=PROGRESS[name],
            message=f"{name.replace('_', ' ')}: done",
            counts=_counts(state),
        )
        return {"stage": name, **_counts(state)}

    run.__name__ = name
    run.__doc__ = f"The pipeline's `{name}` stage on the state in the bundle store."
    return run


identify_flows = _state_stage("identify_flows", pipeline.identify_flows)
assign_personas = _state_stage("assign_personas", pipeline.assign_personas)
refine = _state_stage("refine", pipeline.refine)


def persist_flows(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """Store personas and flows (reconciled by name) and plan one step-extraction item per stored flow."""
    started = time.perf_counter()
    state = load_state(runtime, step)
    with _deps(runtime, step, use_llm=False) as (deps, _):
        state = pipeline.persist_flows(state, deps)
    state = _timed(state, "persist_flows", started)
    save_state(runtime, step, state)
    total = len(state.step_tasks)
    runtime.progress.plan_items(step.project_id, step.workflow_id, total)
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="persist_flows",
        percentage=PROGRESS["flows_persisted"],
        message=f"stored {len(state.flows)} flows and {len(state.personas)} personas",
        counts=_counts(state),
    )
    return {"items": [{"index": index} for index in range(total)], "count": total}


def extract_steps(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """One map item: the steps of one flow, written to the bundle store for `persist_steps`."""
    if step.index is None:
        raise ValueError("extract_steps needs the map item's index")
    # The stage from the first item's start (progress only moves forward: later items leave it as it is), so a
    # failure before any item ends is told as the steps' failure, not the stored flows' (`workflows status`).
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="extract_steps",
        percentage=PROGRESS["extract_steps"],
        message="writing the steps of each flow",
    )
    state = load_state(runtime, step)
    task = state.step_tasks[step.index]
    with _deps(runtime, step, use_llm=task.use_llm, graph=False) as (deps, strict):
        result = pipeline.extract_steps(task, deps)
        if strict is not None:
            strict.raise_if_failed()
    put_json(
        runtime.bundles, step_result_key(step.project_id, step.workflow_id, step.index), result.model_dump(mode="json")
    )
    runtime.progress.item_done(
        step.project_id,
        step.workflow_id,
        step.index,
        stage="extract_steps",
        base=PROGRESS["extract_steps"],
        span=EXTRACT_SPAN,
    )
    return {"index": step.index, "steps": len(result.steps)}


def persist_steps(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """Gather the map's results and replace each owned flow's steps where they changed."""
    started = time.perf_counter()
    state = load_state(runtime, step)
    results: list[StepResult] = []
    warnings = list(state.warnings)
    for index, task in enumerate(state.step_tasks):
        data = runtime.bundles.get_bytes(step_result_key(step.project_id, step.workflow_id, index))
        if data is None:
            warnings.append(f"steps:{task.flow_name}: no result; its steps were not updated")
            continue
        results.append(StepResult.model_validate_json(data))
    state = state.model_copy(update={"step_results": results, "warnings": warnings})
    with _deps(runtime, step, use_llm=False) as (deps, _):
        state = pipeline.persist_steps(state, deps)
    state = _timed(state, "persist_steps", started)
    save_state(runtime, step, state)
    steps = sum(len(r.steps) for r in results)
    runtime.progress.report(
        step.project_id,
        step.workflow_id,
        stage="persist_steps",
        percentage=PROGRESS["persist_steps"],
        message=f"stored {steps} steps",
        counts={**_counts(state), "steps": steps},
    )
    return {"stage": "persist_steps", "steps": steps}


def _take_back_unfinished_flows(runtime: StepRuntime, step: StepInput) -> int:
    """A failed bootstrap leaves no flow half-written: the flows it created (stored by `persist_flows`) that have no
    steps yet are deleted. Flows it only updated keep their earlier steps; personas and pages are reconciled by name
    and stay for the re-run. Best effort: when the state or the graph cannot be read, the flows stay (the re-run
    completes them) and the log says so. How many flows were deleted."""
    try:
        state = load_state(runtime, step)
    except WorkflowStateMissingError:
        return 0  # failed before anything was stored
    except PerceoError as error:
        logger.warning("workflow %s: its unfinished flows stay (%s)", step.workflow_id, error.message)
        return 0
    created = {name for name, status in state.report.flow_status.items() if status == "created"}
    if not created:
        return 0
    try:
        graph = runtime.graph
        unfinished = [
            f.id for f in graph.list_flows(step.project_id, include_steps=True) if f.name in created and not f.steps
        ]
        taken_back = graph.delete_flows(step.project_id, unfinished) if unfinished else 0
    except PerceoError as error:
        logger.warning("workflow %s: its unfinished flows stay (%s)", step.workflow_id, error.message)
        return 0
    if taken_back:
        logger.info("workflow %s failed: took back %d flows it had created without steps", step.workflow_id, taken_back)
    return taken_back


def cleanup(step: StepInput, runtime: StepRuntime, *, succeeded: bool) -> dict[str, Any]:
    """Release the workflow's bundle; on success, publish the result (the `perceo init --json` document), on failure
    take back the flows this run created and never finished (`_take_back_unfinished_flows`)."""
    result: dict[str, Any] = {"projectId": step.project_id, "workflowId": step.workflow_id}
    if succeeded:
        from perceo.bootstrap.summary import bootstrap_summary

        state = load_state(runtime, step)
        with _deps(runtime, step, use_llm=False) as (deps, _):
            state = pipeline.cleanup(state, deps)
        project = runtime.graph.get_project(step.project_id)
        summary = bootstrap_summary(state, runtime.graph, project_name=project.name if project else step.project_id)
        runtime.progress.set_result(step.project_id, step.workflow_id, summary)
        counts = {
            **_counts(state),
            "flows": len(summary["flows"]),
            "personas": len(summary["personas"]),
            "steps": sum(int(f["steps"]) for f in summary["flows"]),
        }
        runtime.progress.report(
            step.project_id,
            step.workflow_id,
            stage="complete",
            percentage=PROGRESS["complete"],
            message="bootstrap complete",
            counts=counts,
        )
        result["counts"] = counts
    else:
        result["flowsTakenBack"] = _take_back_unfinished_flows(runtime, step)
    deleted = runtime.bundles.delete_prefix(workflow_prefix(step.project_id, step.workflow_id))
    runtime.progress.release(step.project_id, "bootstrap", step.workflow_id)
    result["bundleObjectsDeleted"] = deleted
    return result
