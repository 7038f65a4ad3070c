"""The Backend port: what the CLI asks of Perceo, whether it runs in-process or behind the API.

`LocalBackend` runs the domain against the embedded store; `HttpBackend` calls the API. The same
command gives the same output on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from perceo.models import AffectedRoute, ChangeAnalysis, ChangeSet, Flow, FlowUpdate, FlowView, Persona, Project


class Backend(Protocol):
    def project(self) -> Project:
        """The current project (created on first use by the local backend)."""

    def list_flows(self) -> list[FlowView]: ...
    def get_flow(self, ref: str) -> FlowView:
        """A flow by id or by name. Raises FlowNotFoundError."""

    def update_flow(self, ref: str, update: FlowUpdate) -> Flow: ...
    def delete_flow(self, ref: str) -> None: ...
    def list_personas(self) -> list[Persona]: ...
    def analyze(self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute]) -> ChangeAnalysis:
        """Map routes the CLI found affected to this project's flows; score, store and publish the analysis."""

    def get_analysis(self, analysis_id: str) -> ChangeAnalysis: ...
    def list_analyses(self, limit: int = 20) -> list[ChangeAnalysis]: ...
    def close(self) -> None: ...
