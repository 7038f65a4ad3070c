"""Project operations shared by the CLI's local backend and the API's Lambda handlers.

One code path: `LocalBackend` and the HTTP handlers both call these methods, so the same command gives
the same answer on the embedded store and in the cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from perceo.bus.port import EventBus
from perceo.errors import AnalysisNotFoundError, FlowNotFoundError, ProjectNotFoundError
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

    def ensure_project(self, project: Project) -> Project:
        """The stored project with this id, created from `project` when it does not exist yet."""
        return self.graph.get_project(project.id) or self.graph.create_project(project)

    def delete_project(self, project_id: str) -> None:
        if not self.graph.delete_project(project_id):
            raise ProjectNotFoundError(f"project {project_id} not found")

    # Flows
    def list_flows(self, project_id: str, *, include_steps: bool = False) -> list[FlowView]:
        return self.graph.list_flows(project_id, include_steps=include_steps)

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

    def delete_flow(self, project_id: str, ref: str) -> None:
        flow = self.get_flow(project_id, ref)
        self.graph.delete_flows(project_id, [flow.id])
        self._publish(project_id, EventType.FLOW_DELETED, "graph", {"flowId": flow.id, "name": flow.name})

    def list_personas(self, project_id: str) -> list[Persona]:
        return self.graph.list_personas(project_id)

    # Change analysis
    def analyze(self, project_id: str, change_set: ChangeSet, affected: Sequence[AffectedRoute]) -> ChangeAnalysis:
        """Map locally computed affected routes to this project's flows, score, store and publish."""
        from perceo.observer.analyze import analyze_change

        self.get_project(project_id)
        return analyze_change(project_id, change_set, list(affected), graph=self.graph, bus=self.bus)

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
