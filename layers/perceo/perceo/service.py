"""Project operations shared by the CLI's local backend and the API's Lambda handlers.

One code path: `LocalBackend` and the HTTP handlers both call these methods, so the same command gives
the same answer on the embedded store and in the cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from perceo.bus.port import EventBus
from perceo.errors import (
    AnalysisNotFoundError,
    ConflictError,
    FlowNotFoundError,
    PersonaNotFoundError,
    ProjectNotFoundError,
    ValidationFailed,
)
from perceo.graph.paging import decode_cursor, encode_cursor
from perceo.graph.port import FlowGraph
from perceo.models import (
    AffectedRoute,
    ChangeAnalysis,
    ChangeSet,
    EventType,
    Flow,
    FlowUpdate,
    FlowView,
    PerceoEvent,
    Persona,
    Project,
    Step,
    now_ms,
)
from perceo.models.vocab import EventSource


class ProjectService:
    def __init__(self, graph: FlowGraph, bus: EventBus | None = None, *, clock: Callable[[], int] = now_ms) -> None:
        self.graph = graph
        self.bus = bus
        self.clock = clock

    # Projects
    def get_project(self, project_id: str) -> Project:
        project = self.graph.get_project(project_id)
        if project is None:
            raise ProjectNotFoundError(f"project {project_id} not found")
        return project

    def create_project(self, project: Project) -> Project:
        """Store a new project; ConflictError when a project with its id exists."""
        if self.graph.get_project(project.id) is not None:
            raise ConflictError(f"project {project.id} already exists", details={"projectId": project.id})
        return self.graph.create_project(project)

    def ensure_project(self, project: Project) -> Project:
        """The stored project with this id, created from `project` when it does not exist yet."""
        return self.graph.get_project(project.id) or self.graph.create_project(project)

    def delete_project(self, project_id: str, *, missing_ok: bool = False) -> bool:
        """Delete the project and its graph data. ProjectNotFoundError when absent, unless `missing_ok`."""
        deleted = self.graph.delete_project(project_id)
        if not deleted and not missing_ok:
            raise ProjectNotFoundError(f"project {project_id} not found")
        return deleted

    # Flows
    def list_flows(self, project_id: str, *, include_steps: bool = False) -> list[FlowView]:
        return self.graph.list_flows(project_id, include_steps=include_steps)

    def list_flows_page(
        self, project_id: str, *, limit: int, cursor: str | None = None, include_steps: bool = False
    ) -> tuple[list[FlowView], str | None]:
        """One page of the project's flows by name and the cursor of the next page (None after the last)."""
        after = decode_cursor(cursor) if cursor else None
        page = self.graph.list_flows_page(project_id, limit=limit, after=after, include_steps=include_steps)
        return page.flows, encode_cursor(page.next_after) if page.next_after is not None else None

    def get_flow(self, project_id: str, ref: str) -> FlowView:
        """A flow by id, or else by exact name (case-insensitive when unambiguous)."""
        flow = self.graph.get_flow(project_id, ref) or self.graph.get_flow_by_name(project_id, ref)
        if flow is None:
            matches = [f for f in self.graph.list_flows(project_id) if f.name.casefold() == ref.casefold()]
            if len(matches) == 1:
                return self.graph.get_flow(project_id, matches[0].id) or matches[0]
            raise FlowNotFoundError(f"no flow '{ref}' in this project", details={"flow": ref})
        return flow

    def update_flow(self, project_id: str, ref: str, update: FlowUpdate, *, by_user: bool = True) -> Flow:
        """Change a flow. An edit by a person marks it user-edited so `init` never overwrites it."""
        flow = self.get_flow(project_id, ref)
        if by_user and update.user_edited is None:
            update = update.model_copy(update={"user_edited": True})
        updated = self.graph.update_flow(project_id, flow.id, update)
        if updated is None:
            raise FlowNotFoundError(f"no flow '{ref}' in this project", details={"flow": ref})
        self._publish(project_id, EventType.FLOW_UPDATED, "graph", {"flowId": updated.id, "name": updated.name})
        return updated

    def create_flow(
        self,
        project_id: str,
        flow: Flow,
        *,
        personas: Sequence[str] = (),
        pages: Sequence[str] = (),
        steps: Sequence[Step] = (),
    ) -> FlowView:
        """Store a new flow with its personas (by name), pages (in journey order) and steps.

        Everything is checked before anything is written: ConflictError when the project already has a flow of
        that name, ValidationFailed for an unknown persona or steps that are not this flow's, numbered 1..n.
        If a write fails half-way, the flow is removed again.
        """
        self.get_project(project_id)
        if flow.project_id != project_id:
            raise ValidationFailed("the flow belongs to another project", details={"field": "projectId"})
        if self._flow_named(project_id, flow.name) is not None:
            raise ConflictError(f"a flow named '{flow.name}' already exists", details={"name": flow.name})
        persona_names = self._known_personas(project_id, personas)
        _check_steps(flow.id, steps)
        stored = self.graph.upsert_flows(project_id, [flow])[0]
        try:
            if persona_names:
                self.graph.set_flow_personas(project_id, stored.id, persona_names)
            if pages:
                self.graph.set_flow_pages(project_id, stored.id, list(pages))
            if steps:
                linked = [step.model_copy(update={"flow_id": stored.id}) for step in steps]
                self.graph.replace_steps(project_id, stored.id, linked)
        except BaseException:
            self.graph.delete_flows(project_id, [stored.id])
            raise
        self._publish(project_id, EventType.FLOW_CREATED, "graph", {"flowId": stored.id, "name": stored.name})
        return self.get_flow(project_id, stored.id)

    def edit_flow(
        self,
        project_id: str,
        ref: str,
        update: FlowUpdate,
        *,
        personas: Sequence[str] | None = None,
        pages: Sequence[str] | None = None,
    ) -> FlowView:
        """A person's edit: fields, and optionally the flow's personas and pages. Marks the flow user-edited."""
        flow = self.get_flow(project_id, ref)
        persona_names = self._known_personas(project_id, personas) if personas is not None else None
        self.update_flow(project_id, flow.id, update)
        if persona_names is not None:
            self.graph.set_flow_personas(project_id, flow.id, persona_names)
        if pages is not None:
            self.graph.set_flow_pages(project_id, flow.id, list(pages))
        return self.get_flow(project_id, flow.id)

    def list_steps(self, project_id: str, ref: str) -> list[Step]:
        flow = self.get_flow(project_id, ref)
        return self.graph.list_steps(project_id, flow.id)

    def replace_steps(self, project_id: str, ref: str, steps: Sequence[Step]) -> list[Step]:
        """Replace a flow's steps (numbered 1..n, in order) in one write; marks the flow user-edited."""
        flow = self.get_flow(project_id, ref)
        _check_steps(flow.id, steps)
        stored = self.graph.replace_steps(project_id, flow.id, list(steps))
        self.update_flow(project_id, flow.id, FlowUpdate(user_edited=True))
        return stored

    def delete_flow(self, project_id: str, ref: str) -> None:
        flow = self.get_flow(project_id, ref)
        self.graph.delete_flows(project_id, [flow.id])
        self._publish(project_id, EventType.FLOW_DELETED, "graph", {"flowId": flow.id, "name": flow.name})

    def list_personas(self, project_id: str) -> list[Persona]:
        return self.graph.list_personas(project_id)

    def get_persona(self, project_id: str, persona_id: str) -> Persona:
        for persona in self.graph.list_personas(project_id):
            if persona.id == persona_id:
                return persona
        raise PersonaNotFoundError(f"no persona '{persona_id}' in this project", details={"persona": persona_id})

    def create_persona(self, project_id: str, persona: Persona) -> Persona:
        """Store a new persona; ConflictError when the project has one of that name (case-insensitive)."""
        self.get_project(project_id)
        if persona.project_id != project_id:
            raise ValidationFailed("the persona belongs to another project", details={"field": "projectId"})
        if any(p.name.casefold() == persona.name.casefold() for p in self.graph.list_personas(project_id)):
            raise ConflictError(f"a persona named '{persona.name}' already exists", details={"name": persona.name})
        return self.graph.upsert_personas(project_id, [persona])[0]

    def update_persona(
        self,
        project_id: str,
        persona_id: str,
        *,
        description: str | None = None,
        behaviors: Sequence[str] | None = None,
    ) -> Persona:
        """A person's edit of a persona: it becomes user-configured, so `init` keeps it as it is."""
        persona = self.get_persona(project_id, persona_id)
        changes: dict[str, object] = {"source": "user_configured"}
        if description is not None:
            changes["description"] = description
        if behaviors is not None:
            changes["behaviors"] = list(behaviors)
        return self.graph.upsert_personas(project_id, [persona.model_copy(update=changes)])[0]

    def delete_persona(self, project_id: str, persona_id: str) -> None:
        persona = self.get_persona(project_id, persona_id)
        self.graph.delete_personas(project_id, [persona.id])

    def _known_personas(self, project_id: str, names: Sequence[str]) -> list[str]:
        """The stored names of these personas; ValidationFailed naming any the project does not have."""
        stored = {p.name.casefold(): p.name for p in self.graph.list_personas(project_id)}
        unknown = [name for name in names if name.casefold() not in stored]
        if unknown:
            raise ValidationFailed(
                f"unknown persona(s): {', '.join(unknown)}; create them first", details={"field": "personas"}
            )
        return list(dict.fromkeys(stored[name.casefold()] for name in names))

    def _flow_named(self, project_id: str, name: str) -> FlowView | None:
        exact = self.graph.get_flow_by_name(project_id, name)
        if exact is not None:
            return exact
        return next((f for f in self.graph.list_flows(project_id) if f.name.casefold() == name.casefold()), None)

    # Change analysis
    def analyze(self, project_id: str, change_set: ChangeSet, affected: Sequence[AffectedRoute]) -> ChangeAnalysis:
        """Map locally computed affected routes to this project's flows, score, store and publish. Flows are
        weighed by their production users per day when the last week has flow metrics (`perceo analytics`)."""
        from perceo.analytics.traffic import recent_traffic
        from perceo.observer.analyze import analyze_change

        self.get_project(project_id)
        traffic = recent_traffic(self.graph, project_id, now=self.clock()) if affected else {}
        analysis = analyze_change(
            project_id,
            change_set,
            list(affected),
            graph=self.graph,
            bus=self.bus,
            metrics={flow_id: t.users_per_day for flow_id, t in traffic.items()} or None,
            success_rates={flow_id: t.success_rate for flow_id, t in traffic.items()} or None,
        )
        if not change_set.working_tree:
            # One prediction per active flow at the head commit, checked later against that commit's test runs.
            from perceo.coordinator.service import CoordinatorService

            CoordinatorService(self.graph, clock=self.clock).record_predictions(analysis)
        return analysis

    def get_analysis(self, project_id: str, analysis_id: str) -> ChangeAnalysis:
        analysis = self.graph.get_analysis(project_id, analysis_id)
        if analysis is None:
            raise AnalysisNotFoundError(f"analysis {analysis_id} not found")
        return analysis

    def list_analyses(self, project_id: str, *, limit: int = 20) -> list[ChangeAnalysis]:
        return self.graph.list_analyses(project_id, limit=limit)

    def _publish(self, project_id: str, type_: EventType, source: EventSource, data: dict[str, object]) -> None:
        if self.bus is not None:
            self.bus.publish(PerceoEvent(type=type_, source=source, project_id=project_id, data=dict(data)))


def _check_steps(flow_id: str, steps: Sequence[Step]) -> None:
    """Steps must belong to the flow and be numbered 1..n in list order (the graph links them in that order)."""
    for position, step in enumerate(steps, start=1):
        if step.order != position:
            raise ValidationFailed(
                f"step orders must be 1..{len(steps)} in list order; step {position} has order {step.order}",
                details={"field": f"steps.{position - 1}.order"},
            )
        if step.flow_id != flow_id:
            raise ValidationFailed("a step belongs to another flow", details={"field": f"steps.{position - 1}.flowId"})
