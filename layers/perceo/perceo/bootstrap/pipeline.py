"""The bootstrap pipeline as an ordered list of stages with JSON-serialisable inputs and outputs.

    validate → discover → identify_flows → assign_personas → refine → persist_flows
             → extract_steps (one task per flow, bounded concurrency) → persist_steps → cleanup

The CLI runs them in-process with `run_bootstrap`; the cloud runs the same functions as Step Functions
tasks. Their order is `perceo.bootstrap.stages.BOOTSTRAP_STAGES` (tests hold the ASL and `run_bootstrap` to it).
Each stage takes the state model (and, for `extract_steps`, one `StepTask`) plus `BootstrapDeps` (ports, never
serialised) and returns a model.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from perceo.bootstrap.guards import detect_auth
from perceo.bootstrap.heuristic import FlowFinder, derive_flows_and_personas
from perceo.bootstrap.llm_stages import (
    Notes,
    assign_personas_llm,
    extract_steps_llm,
    ground_steps,
    identify_flows_llm,
    refine_llm,
)
from perceo.bootstrap.markup import uses_hash_routing
from perceo.bootstrap.model import FlowDraft, PersonaDraft, PersonaSpec, StepDraft
from perceo.bootstrap.pagecode import PageReader, hashed_step_urls, heuristic_steps
from perceo.bootstrap.reconcile import Reconciler, ReconcileReport
from perceo.bootstrap.roles import detect_roles
from perceo.bootstrap.routes import RouteGraph
from perceo.bootstrap.stages import STAGE_NAMES, STAGE_PROGRESS
from perceo.bus.port import EventBus
from perceo.errors import LLMError, PerceoError, ProjectNotFoundError, ValidationFailed
from perceo.graph.port import FlowGraph
from perceo.llm.concurrency import map_bounded
from perceo.llm.model import LLMRequest
from perceo.llm.port import LLM
from perceo.models import Page, PageLink
from perceo.models.common import Model
from perceo.observer.model import DiscoveryResult, NavEdge, RouteEntry

logger = logging.getLogger(__name__)

#: The stage order, from the one list (`perceo.bootstrap.stages`).
STAGES = STAGE_NAMES


class BootstrapLimits(Model):
    max_flows: int = Field(default=15, ge=1, le=200)
    max_steps_per_flow: int = Field(default=15, ge=1, le=100)
    code_token_budget: int = Field(default=12_000, ge=500)
    prompt_token_budget: int = Field(default=24_000, ge=1_000)
    llm_max_tokens: int = Field(default=2_048, ge=64, le=32_768)
    llm_stage_timeout_s: float = Field(default=180.0, gt=0, le=3_600)


class BootstrapInput(Model):
    project_id: str = Field(min_length=1)
    #: Where the code is: a directory (a git working tree or a plain folder) the stages can read.
    workspace: str = Field(min_length=1)
    framework: str = "auto"
    use_llm: bool = False
    personas: list[PersonaSpec] = Field(default_factory=list)
    limits: BootstrapLimits = Field(default_factory=BootstrapLimits)
    #: Where discovery keeps its per-file cache (optional).
    cache_dir: str | None = None
    #: Flow names never (re)created: the team deleted them (`bootstrap.excludeFlows`).
    excluded_flows: list[str] = Field(default_factory=list)


class StepTask(Model):
    """One item of the `extract_steps` map: everything needed to write one flow's steps."""

    project_id: str
    workspace: str
    framework: str
    use_llm: bool
    flow_id: str
    flow_name: str
    flow_description: str
    pages: list[str]
    #: Per page: the files that render it (entry files), in order.
    page_files: dict[str, list[str]]
    #: The page files plus the components they import, most important first (the LLM code context).
    context_files: list[str]
    #: file -> internal files it imports, restricted to `context_files` (for the offline steps).
    imports: dict[str, list[str]] = Field(default_factory=dict)
    links: list[NavEdge] = Field(default_factory=list)
    limits: BootstrapLimits = Field(default_factory=BootstrapLimits)
    #: The app routes in the URL's fragment (`/#/login`): navigate steps and link selectors follow.
    hash_routing: bool = False
    #: Every page route of the app, so a link to `/projects/new` is never taken for one to `/projects/:id`.
    routes: list[str] = Field(default_factory=list)
    #: Per page: the layouts around it (their navigation links are on the page too).
    layout_files: dict[str, list[str]] = Field(default_factory=dict)


class StepResult(Model):
    flow_id: str
    flow_name: str
    steps: list[StepDraft] = Field(default_factory=list)
    source: Literal["llm", "heuristic"] = "heuristic"
    warnings: list[str] = Field(default_factory=list)
    limits: list[str] = Field(default_factory=list)
    dropped: int = 0


class BootstrapState(Model):
    """What flows from stage to stage."""

    input: BootstrapInput
    framework: str = "unknown"
    discovery: DiscoveryResult | None = None
    auth_snippets: list[str] = Field(default_factory=list)
    protected_routes: dict[str, str] = Field(default_factory=dict)
    hash_routing: bool = False
    flows: list[FlowDraft] = Field(default_factory=list)
    personas: list[PersonaDraft] = Field(default_factory=list)
    flow_source: Literal["llm", "heuristic"] = "heuristic"
    step_tasks: list[StepTask] = Field(default_factory=list)
    step_results: list[StepResult] = Field(default_factory=list)
    report: ReconcileReport = Field(default_factory=ReconcileReport)
    warnings: list[str] = Field(default_factory=list)
    limits_hit: list[str] = Field(default_factory=list)
    stage_ms: dict[str, int] = Field(default_factory=dict)
    llm_units_failed: int = 0
    #: Items of the model's answers dropped because the code does not have them (pages, flows, selectors).
    llm_dropped: int = 0
    #: Offline heuristic flows (or flows' steps) kept because the model's answer covered less.
    heuristic_kept: int = 0


class Snapshot(Protocol):
    def files(self) -> list[str]: ...
    def read_text(self, path: str) -> str: ...
    def close(self) -> None: ...


T = TypeVar("T", bound=BaseModel)

Discover = Callable[[Any, str, Path | None], DiscoveryResult]
Progress = Callable[[str, int, str], None]


def _default_open_snapshot(workspace: str) -> Snapshot:
    from perceo.errors import NotAGitRepositoryError
    from perceo.observer.snapshot import RepoSnapshot

    try:
        return RepoSnapshot.working_tree(workspace)
    except NotAGitRepositoryError:
        return RepoSnapshot.directory(workspace)


def _default_discover(snapshot: Any, framework: str, cache_dir: Path | None) -> DiscoveryResult:
    from perceo.observer.discovery import discover

    result: DiscoveryResult = discover(snapshot, framework=framework, cache_dir=cache_dir)
    return result


@dataclass(frozen=True)
class _StageLLM:
    """An LLM whose requests carry a stage's token bound, deadline and retry reporting."""

    llm: LLM
    max_tokens: int
    deadline: float
    on_retry: Callable[[str], None]

    def complete(self, request: LLMRequest, response_model: type[T]) -> T:
        bounded = dataclasses.replace(
            request,
            max_tokens=request.max_tokens or self.max_tokens,
            deadline=min(request.deadline or self.deadline, self.deadline),
            on_retry=request.on_retry or self.on_retry,
        )
        return self.llm.complete(bounded, response_model)


@dataclass
class BootstrapDeps:
    """The ports the stages use. Nothing here is serialised; each runtime builds its own."""

    graph: FlowGraph | None = None
    llm: LLM | None = None
    bus: EventBus | None = None
    open_snapshot: Callable[[str], Snapshot] = _default_open_snapshot
    discover: Discover = _default_discover
    max_concurrency: int = 4
    progress: Progress | None = None
    _snapshots: dict[str, Snapshot] = field(default_factory=dict)
    _deadlines: dict[str, float] = field(default_factory=dict)

    def snapshot(self, workspace: str) -> Snapshot:
        if workspace not in self._snapshots:
            self._snapshots[workspace] = self.open_snapshot(workspace)
        return self._snapshots[workspace]

    def read_text(self, workspace: str) -> Callable[[str], str | None]:
        snapshot = self.snapshot(workspace)

        def read(path: str) -> str | None:
            try:
                return snapshot.read_text(path)
            except (OSError, KeyError, UnicodeDecodeError, PerceoError):
                return None

        return read

    def close(self) -> None:
        for snapshot in self._snapshots.values():
            snapshot.close()
        self._snapshots.clear()

    def report(self, stage: str, message: str) -> None:
        if self.progress is not None:
            self.progress(stage, STAGE_PROGRESS.get(stage, 0), message)

    def stage_llm(self, stage: str, limits: BootstrapLimits) -> LLM:
        """The LLM as one stage uses it: every answer bounded by `llmMaxTokens`, every call (retries included)
        by the stage's deadline (`llmStageTimeoutS` from the stage's first call), retries shown as progress."""
        assert self.llm is not None
        deadline = self._deadlines.setdefault(stage, time.monotonic() + limits.llm_stage_timeout_s)
        return _StageLLM(self.llm, limits.llm_max_tokens, deadline, lambda message: self.report(stage, message))

    def require_graph(self) -> FlowGraph:
        if self.graph is None:
            raise ValidationFailed("the bootstrap needs a flow graph to persist into")
        return self.graph


# --- stages ----------------------------------------------------------------------------------------------


def validate(request: BootstrapInput, deps: BootstrapDeps) -> BootstrapState:
    """Check the request before doing any work: the workspace exists, the project exists, an LLM if asked."""
    deps.report("validate", "checking the request")
    if not Path(request.workspace).is_dir():
        raise ValidationFailed(f"workspace {request.workspace} is not a directory")
    if deps.graph is not None and deps.graph.get_project(request.project_id) is None:
        raise ProjectNotFoundError(f"project {request.project_id} not found")
    if request.use_llm and deps.llm is None:
        raise ValidationFailed("use_llm is set but no LLM is configured")
    names = [p.name.casefold() for p in request.personas]
    if len(names) != len(set(names)):
        raise ValidationFailed("configured personas must have distinct names")
    return BootstrapState(input=request)


def discover(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """Routes, navigation and imports from the code; which routes need a session."""
    deps.report("discover", "discovering routes, navigation and imports")
    request = state.input
    snapshot = deps.snapshot(request.workspace)
    cache_dir = Path(request.cache_dir) if request.cache_dir else None
    result = deps.discover(snapshot, request.framework, cache_dir)
    graph = RouteGraph.build(result)
    auth = detect_auth(graph, snapshot.files(), deps.read_text(request.workspace))
    warnings = [*state.warnings, *result.warnings]
    if not graph.routes:
        warnings.append("discovery found no page routes: check the framework (--framework) and the directory")
    return state.model_copy(
        update={
            "framework": result.framework,
            "discovery": result,
            "auth_snippets": auth.snippets,
            "protected_routes": auth.protected,
            # discovery marks the routes of hash-routed apps; the setup files are read for apps it found no route in
            "hash_routing": any(route.hash for route in result.routes)
            or _hash_routing(snapshot.files(), deps.read_text(request.workspace)),
            "warnings": warnings,
        }
    )


#: Names of the heuristic's flows whose last page is the form they are about (`Create project`, `Submit … form`).
FORM_FLOW_PREFIXES = ("Submit ", "Use ", "Work ", "Create ", "Edit ", "Update ", "Delete ", "Reset ", "Checkout")

_ROUTER_SETUP = re.compile(
    r"(?:^|/)(?:router|routes|routing|app\.config|app\.module|app-routing\.module|main|app|index)(?:/index)?\.[jt]sx?$",
    re.I,
)


def _hash_routing(files: list[str], read: Callable[[str], str | None]) -> bool:
    """True when the app's router setup routes in the URL's fragment (read from the few files that set it up)."""
    setup = [f for f in files if _ROUTER_SETUP.search(f) and "node_modules/" not in f and "/test" not in f][:200]
    return any(uses_hash_routing(read(f) or "") for f in setup)


def _route_graph(state: BootstrapState) -> RouteGraph:
    if state.discovery is None:
        raise ValidationFailed("the discover stage has not run")
    return RouteGraph.build(state.discovery)


def _heuristic(state: BootstrapState, deps: BootstrapDeps) -> tuple[list[FlowDraft], list[PersonaDraft], Notes]:
    graph = _route_graph(state)
    assert state.discovery is not None
    read = deps.read_text(state.input.workspace)
    from perceo.bootstrap.guards import AuthModel, is_login_route, is_signup_route

    auth = AuthModel(
        protected=dict(state.protected_routes),
        login_routes=[r.route for r in graph.routes if is_login_route(r.route)],
        signup_routes=[r.route for r in graph.routes if is_signup_route(r.route)],
        admin_routes=[r.route for r in graph.routes if "admin" in r.route.casefold().split("/")],
        snippets=list(state.auth_snippets),
    )
    roles = detect_roles(graph, deps.snapshot(state.input.workspace).files(), read)
    finder = FlowFinder(graph, auth, PageReader(graph, state.discovery.imports, read), roles)
    result = derive_flows_and_personas(
        finder, max_flows=state.input.limits.max_flows, user_personas=state.input.personas
    )
    notes = Notes()
    notes.warnings += result.warnings
    notes.limits += result.limits
    personas = [
        *[
            PersonaDraft(name=p.name, description=p.description, behaviors=p.behaviors, source="user_configured")
            for p in state.input.personas
        ],
        *result.personas,
    ]
    return result.flows, personas, notes


def _merge_notes(state: BootstrapState, notes: Notes, **update: Any) -> BootstrapState:
    """The stage's notes added to the state's; a warning a later stage repeats word for word is kept once (refine
    keeps the heuristic's uncovered flows again, with the same message, when the model still leaves them out)."""
    return state.model_copy(
        update={
            "warnings": list(dict.fromkeys([*state.warnings, *notes.warnings])),
            "limits_hit": [*state.limits_hit, *notes.limits],
            "llm_dropped": state.llm_dropped + notes.dropped,
            **update,
        }
    )


def identify_flows(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """Multi-page flows from the route and navigation graph (LLM, or the offline heuristic)."""
    deps.report("identify_flows", "identifying flows")
    flows, personas, notes = _heuristic(state, deps)
    if not state.input.use_llm or deps.llm is None:
        return _merge_notes(state, notes, flows=flows, personas=personas, flow_source="heuristic")
    llm_notes = Notes()
    try:
        llm_flows = identify_flows_llm(
            deps.stage_llm("identify_flows", state.input.limits),
            project_id=state.input.project_id,
            framework=state.framework,
            graph=_route_graph(state),
            auth_snippets=state.auth_snippets,
            max_flows=state.input.limits.max_flows,
            prompt_budget=state.input.limits.prompt_token_budget,
            notes=llm_notes,
        )
    except LLMError as error:
        llm_notes.warnings.append(f"flows: the LLM failed ({error.message}); used the offline heuristic instead")
        return _merge_notes(
            _merge_notes(state, llm_notes),
            notes,
            flows=flows,
            personas=personas,
            flow_source="heuristic",
            llm_units_failed=state.llm_units_failed + 1,
        )
    if not llm_flows:
        llm_notes.warnings.append("flows: the LLM proposed no usable flow; used the offline heuristic instead")
        return _merge_notes(
            _merge_notes(state, llm_notes), notes, flows=flows, personas=personas, flow_source="heuristic"
        )
    kept, added = not_worse_than_heuristic(llm_flows, flows, max_flows=state.input.limits.max_flows, notes=llm_notes)
    return _merge_notes(
        state, llm_notes, flows=kept, personas=[], flow_source="llm", heuristic_kept=state.heuristic_kept + added
    )


def not_worse_than_heuristic(
    candidate: list[FlowDraft], heuristic: list[FlowDraft], *, max_flows: int, notes: Notes
) -> tuple[list[FlowDraft], int]:
    """The model's flows plus every offline heuristic flow that none of them covers (no model flow visits all of
    its pages): the model refines what the code gives, it never loses a flow the code shows. The heuristic's
    flows come first when `max_flows` cuts. Returns the flows and how many heuristic flows were added."""
    covered = [set(f.pages) for f in candidate]
    missing = [h for h in heuristic if not any(set(h.pages) <= pages for pages in covered)]
    if not missing:
        return candidate, 0
    names = {f.name.casefold() for f in candidate}
    added = []
    for flow in missing:
        name = flow.name if flow.name.casefold() not in names else f"{flow.name} (from code)"
        names.add(name.casefold())
        added.append(flow.model_copy(update={"name": name}))
    shown = ", ".join(f"'{f.name}'" for f in added[:5])
    notes.warnings.append(
        f"flows: the LLM's answer covers less than the offline heuristic; kept {len(added)} of its flows ({shown})"
    )
    room = max(0, max_flows - len(added))
    return [*added, *candidate[:room]][:max_flows], len(added)


def assign_personas(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """Who walks each flow. Configured personas (`--personas`) are kept and given flows."""
    deps.report("assign_personas", "assigning personas")
    if state.flow_source == "heuristic" or deps.llm is None:
        return state
    flows = [f.model_copy(deep=True) for f in state.flows]
    notes = Notes()
    try:
        personas = assign_personas_llm(
            deps.stage_llm("assign_personas", state.input.limits),
            project_id=state.input.project_id,
            framework=state.framework,
            flows=flows,
            user_personas=state.input.personas,
            auth_snippets=state.auth_snippets,
            prompt_budget=state.input.limits.prompt_token_budget,
            notes=notes,
        )
    except LLMError as error:
        notes.warnings.append(f"personas: the LLM failed ({error.message}); used the offline persona rules")
        _, fallback_personas, _ = _heuristic(state, deps)
        return _merge_notes(
            state,
            notes,
            personas=fallback_personas,
            flows=_assign_fallback(state, deps),
            llm_units_failed=state.llm_units_failed + 1,
        )
    return _merge_notes(state, notes, flows=flows, personas=personas)


def _assign_fallback(state: BootstrapState, deps: BootstrapDeps) -> list[FlowDraft]:
    """LLM flows with personas from the offline rules (the persona of the heuristic flow sharing most pages)."""
    heuristic_flows, personas, _ = _heuristic(state, deps)
    default = personas[0].name if personas else "User"
    out = []
    for flow in state.flows:
        best = max(heuristic_flows, key=lambda h: len(set(h.pages) & set(flow.pages)), default=None)
        chosen = best.personas if best is not None and set(best.pages) & set(flow.pages) else [default]
        out.append(flow.model_copy(update={"personas": list(chosen)}))
    return out


def refine(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """One review pass over flows and personas together (LLM only; the offline result is already final)."""
    deps.report("refine", "refining flows and personas")
    if state.flow_source == "heuristic" or deps.llm is None:
        return state
    notes = Notes()
    try:
        flows, personas = refine_llm(
            deps.stage_llm("refine", state.input.limits),
            project_id=state.input.project_id,
            framework=state.framework,
            graph=_route_graph(state),
            flows=[f.model_copy(deep=True) for f in state.flows],
            personas=list(state.personas),
            user_personas=state.input.personas,
            max_flows=state.input.limits.max_flows,
            prompt_budget=state.input.limits.prompt_token_budget,
            notes=notes,
        )
    except LLMError as error:
        notes.warnings.append(f"refine: the LLM failed ({error.message}); kept the flows and personas unrefined")
        return _merge_notes(state, notes, llm_units_failed=state.llm_units_failed + 1)
    heuristic_flows, _, _ = _heuristic(state, deps)
    flows, added = not_worse_than_heuristic(flows, heuristic_flows, max_flows=state.input.limits.max_flows, notes=notes)
    return _merge_notes(state, notes, flows=flows, personas=personas, heuristic_kept=max(state.heuristic_kept, added))


def _context_files(pages: list[str], graph: RouteGraph, imports: dict[str, list[str]]) -> list[str]:
    """Page entry files first (journey order), then their layouts, then imported modules breadth-first."""
    ordered: list[str] = []
    for route in pages:
        entry = graph.by_route.get(route)
        if entry:
            ordered += [f for f in entry.entry_files if f not in ordered]
    for route in pages:
        entry = graph.by_route.get(route)
        if entry:
            ordered += [f for f in entry.layout_files if f not in ordered]
    frontier = list(ordered)
    for _ in range(2):
        nxt = []
        for path in frontier:
            for dep in imports.get(path, []):
                if dep not in ordered:
                    ordered.append(dep)
                    nxt.append(dep)
        frontier = nxt
    return ordered


def plan_step_tasks(state: BootstrapState, flow_ids: dict[str, str]) -> list[StepTask]:
    """One `extract_steps` task per flow of `state.flows` whose stored id is in `flow_ids` (flow name -> id)."""
    graph = _route_graph(state)
    assert state.discovery is not None
    imports = state.discovery.imports
    ids = {name.casefold(): flow_id for name, flow_id in flow_ids.items()}
    tasks: list[StepTask] = []
    for flow in state.flows:
        flow_id = ids.get(flow.name.casefold())
        if flow_id is None:
            continue
        files = _context_files(flow.pages, graph, imports)
        tasks.append(
            StepTask(
                project_id=state.input.project_id,
                workspace=state.input.workspace,
                framework=state.framework,
                use_llm=state.flow_source == "llm" and state.input.use_llm,
                flow_id=flow_id,
                flow_name=flow.name,
                flow_description=flow.description,
                pages=flow.pages,
                page_files={p: list(graph.by_route[p].entry_files) for p in flow.pages if p in graph.by_route},
                context_files=files,
                imports={f: [d for d in imports.get(f, []) if d in files] for f in files if imports.get(f)},
                links=[e for p in flow.pages for e in graph.out_edges.get(p, []) if e.target in flow.pages],
                limits=state.input.limits,
                hash_routing=state.hash_routing,
                routes=[r.route for r in graph.routes],
                layout_files={p: list(graph.by_route[p].layout_files) for p in flow.pages if p in graph.by_route},
            )
        )
    return tasks


def persist_flows(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """Reconcile pages, personas and flows with the graph; plan one step task per flow the pipeline owns."""
    excluded = {name.casefold() for name in state.input.excluded_flows}
    if excluded:
        state = state.model_copy(update={"flows": [f for f in state.flows if f.name.casefold() not in excluded]})
    deps.report("persist_flows", f"storing {len(state.flows)} flows and {len(state.personas)} personas")
    graph_port = deps.require_graph()
    project_id = state.input.project_id
    graph = _route_graph(state)
    assert state.discovery is not None
    reconciler = Reconciler(graph_port, project_id, bus=deps.bus)
    reconciler.pages(
        [Page(project_id=project_id, route=r.route, files=r.files) for r in graph.routes if r.route.startswith("/")],
        [PageLink(source=s, target=t) for s, t in sorted(graph.links)],
    )
    reconciler.load_flows()
    names = reconciler.personas(state.personas, referenced_by_user_flows=reconciler.user_flow_personas())
    owned = reconciler.flows(state.flows, names)
    reconciler.prune_pages(reconciler.visited_routes(state.flows))
    tasks = plan_step_tasks(state, owned)
    return state.model_copy(update={"report": reconciler.report, "step_tasks": tasks})


def _task_graph(task: StepTask) -> RouteGraph:
    routes = [
        RouteEntry(
            route=page, framework=task.framework, entry_files=files, layout_files=task.layout_files.get(page, [])
        )
        for page, files in task.page_files.items()
    ]
    routes += [
        RouteEntry(route=route, framework=task.framework) for route in task.routes if route not in task.page_files
    ]
    return RouteGraph.build(DiscoveryResult(framework=task.framework, routes=routes, navigation=task.links))


def extract_steps(task: StepTask, deps: BootstrapDeps) -> StepResult:
    """The steps of one flow: from its code through the LLM, else (or on failure) from the page code."""
    notes = Notes()
    read = deps.read_text(task.workspace)
    graph = _task_graph(task)
    reader = PageReader(graph, task.imports, read)
    offline, truncated = heuristic_steps(
        task.pages,
        reader,
        max_steps=task.limits.max_steps_per_flow,
        hash_routing=task.hash_routing,
        # Flows about a page's form end by submitting it; others (sign in, browsing) end by looking.
        fill_last=task.flow_name.startswith(FORM_FLOW_PREFIXES),
    )
    if truncated:
        notes.limits.append(
            f"bootstrap.maxStepsPerFlow: '{task.flow_name}' needed more than {task.limits.max_steps_per_flow} steps"
        )
    result = StepResult(flow_id=task.flow_id, flow_name=task.flow_name, steps=offline, source="heuristic")
    if task.use_llm and deps.llm is not None:
        llm_notes = Notes()
        try:
            steps = extract_steps_llm(
                deps.stage_llm("extract_steps", task.limits),
                project_id=task.project_id,
                framework=task.framework,
                flow_name=task.flow_name,
                flow_description=task.flow_description,
                pages=task.pages,
                files=task.context_files,
                read_text=read,
                max_steps=task.limits.max_steps_per_flow,
                code_budget=task.limits.code_token_budget,
                notes=llm_notes,
            )
        except LLMError as error:
            notes.warnings.append(
                f"steps:{task.flow_name}: the LLM failed ({error.message}); used steps from the page code instead"
            )
            return result.model_copy(update={"warnings": notes.warnings, "limits": notes.limits})
        code = "\n".join(read(path) or "" for path in task.context_files)
        known = {t for step in offline for a in step.actions if (t := a.target)} | {
            v for step in offline for v in step.expected_state.visible
        }
        steps = ground_steps(
            steps, code=code, known=known, resolve=graph.resolve, notes=llm_notes, what=f"steps:{task.flow_name}"
        )
        if task.hash_routing:  # the model writes app paths (`/users`); the browser needs `/#/users`
            steps = hashed_step_urls(steps)
        if steps:
            return result.model_copy(
                update={
                    "steps": steps,
                    "source": "llm",
                    "warnings": llm_notes.warnings,
                    "limits": llm_notes.limits,
                    "dropped": llm_notes.dropped,
                }
            )
        llm_notes.warnings.append(
            f"steps:{task.flow_name}: the LLM returned no steps; used steps from the page code instead"
        )
        notes.warnings += llm_notes.warnings
        notes.limits += llm_notes.limits
    return result.model_copy(update={"warnings": notes.warnings, "limits": notes.limits})


def persist_steps(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """Replace the steps of each owned flow where they changed: in batches, atomically per flow."""
    deps.report("persist_steps", f"storing steps of {len(state.step_results)} flows")
    reconciler = Reconciler(deps.require_graph(), state.input.project_id, bus=deps.bus)
    reconciler.report = state.report.model_copy(deep=True)
    reconciler.load_flows()
    warnings, limits = list(state.warnings), list(state.limits_hit)
    for result in state.step_results:
        warnings += result.warnings
        limits += result.limits
    reconciler.steps_of_flows([(r.flow_name, r.flow_id, r.steps) for r in state.step_results])
    warnings += [
        f"steps:{name}: the flow was deleted while the bootstrap ran; its steps were not written"
        for name in reconciler.vanished_flows
    ]
    return state.model_copy(update={"report": reconciler.report, "warnings": warnings, "limits_hit": limits})


def cleanup(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """Release the workspace (the git reader process here; the clone in the cloud)."""
    deps.report("cleanup", "done")
    deps.close()
    return state


StateStage = Callable[[BootstrapState, BootstrapDeps], BootstrapState]

#: The stages that map a state to a state, by name (`validate` and `extract_steps` have their own shapes).
STATE_STAGES: dict[str, StateStage] = {
    "discover": discover,
    "identify_flows": identify_flows,
    "assign_personas": assign_personas,
    "refine": refine,
    "persist_flows": persist_flows,
    "persist_steps": persist_steps,
    "cleanup": cleanup,
}


def run_extract_steps(state: BootstrapState, deps: BootstrapDeps) -> BootstrapState:
    """The map stage in-process: `extract_steps` over every task, at most `deps.max_concurrency` at once."""
    deps.report("extract_steps", f"writing steps for {len(state.step_tasks)} flows")
    outcomes = map_bounded(lambda task: extract_steps(task, deps), state.step_tasks, deps.max_concurrency)
    results: list[StepResult] = []
    warnings = list(state.warnings)
    for outcome in outcomes:
        if outcome.ok and outcome.result is not None:
            results.append(outcome.result)
        else:
            warnings.append(f"steps:{outcome.item.flow_name}: failed ({outcome.error}); its steps were not updated")
    failed = sum(1 for r in results if any("the LLM failed" in w for w in r.warnings))
    return state.model_copy(
        update={
            "step_results": results,
            "warnings": warnings,
            "llm_units_failed": state.llm_units_failed + failed,
            "llm_dropped": state.llm_dropped + sum(r.dropped for r in results),
        }
    )


def run_bootstrap(request: BootstrapInput, deps: BootstrapDeps) -> BootstrapState:
    """Run every stage of `STAGES` in order, in this process. The workspace is released even on failure."""
    timings: dict[str, int] = {}
    state: BootstrapState | None = None
    try:
        for stage in STAGES:
            started = time.perf_counter()
            if stage == "validate":
                state = validate(request, deps)
            elif stage == "extract_steps":
                assert state is not None
                state = run_extract_steps(state, deps)
            else:
                assert state is not None
                state = STATE_STAGES[stage](state, deps)
            timings[stage] = int((time.perf_counter() - started) * 1000)
    finally:
        deps.close()
    assert state is not None
    return state.model_copy(update={"stage_ms": timings})
