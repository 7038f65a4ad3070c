"""The embedded default: the domain in-process, against the embedded FalkorDB store under `.perceo/data/`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perceo.bus.port import EventBus
from perceo.config.model import PerceoConfig
from perceo.errors import ConfigError
from perceo.graph.port import FlowGraph
from perceo.models import AffectedRoute, ChangeAnalysis, ChangeSet, Flow, FlowUpdate, FlowView, Persona, Project
from perceo.service import ProjectService

NO_PROJECT = "no Perceo project here: run `perceo init` first (or pass --project-dir)"


class LocalBackend:
    def __init__(self, project_dir: Path, config: PerceoConfig) -> None:
        self.project_dir = project_dir
        self.config = config
        self._graph: FlowGraph | None = None
        self._bus: EventBus | None = None
        self._service: ProjectService | None = None

    @property
    def data_dir(self) -> Path:
        return self.project_dir / ".perceo" / "data"

    def _embedded_url(self) -> str | None:
        needs_embedded = self.config.flow_graph.type == "embedded" or self.config.event_bus.type == "embedded"
        if not needs_embedded:
            return None
        from perceo_cli.local.store import EmbeddedStore

        return EmbeddedStore(self.data_dir).ensure_running().url

    @property
    def service(self) -> ProjectService:
        if self._service is None:
            from perceo.bus.factory import open_event_bus
            from perceo.graph.factory import open_flow_graph

            url = self._embedded_url()
            self._graph = open_flow_graph(self.config.flow_graph, embedded_url=url)
            self._graph.ensure_schema()
            self._bus = open_event_bus(self.config.event_bus, embedded_url=url)
            self._service = ProjectService(self._graph, self._bus)
        return self._service

    @property
    def graph(self) -> FlowGraph:
        return self.service.graph

    @property
    def bus(self) -> EventBus | None:
        return self.service.bus

    @property
    def project_id(self) -> str:
        project_id = self.config.project.id
        if not project_id:
            raise ConfigError(NO_PROJECT)
        return project_id

    def project(self) -> Project:
        return self.service.get_project(self.project_id)

    def list_flows(self) -> list[FlowView]:
        return self.service.list_flows(self.project_id, include_steps=True)

    def get_flow(self, ref: str) -> FlowView:
        return self.service.get_flow(self.project_id, ref)

    def update_flow(self, ref: str, update: FlowUpdate) -> Flow:
        return self.service.update_flow(self.project_id, ref, update)

    def delete_flow(self, ref: str) -> None:
        self.service.delete_flow(self.project_id, ref)

    def list_personas(self) -> list[Persona]:
        return self.service.list_personas(self.project_id)

    def analyze(self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute]) -> ChangeAnalysis:
        return self.service.analyze(self.project_id, change_set, affected_routes)

    def get_analysis(self, analysis_id: str) -> ChangeAnalysis:
        return self.service.get_analysis(self.project_id, analysis_id)

    def list_analyses(self, limit: int = 20) -> list[ChangeAnalysis]:
        return self.service.list_analyses(self.project_id, limit=limit)

    def close(self) -> None:
        if self._graph is not None:
            self._graph.close()
        bus_close = getattr(self._bus, "close", None)
        if callable(bus_close):
            bus_close()
        self._graph = self._bus = self._service = None
