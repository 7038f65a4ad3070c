"""Domain entities: what Perceo knows about a project's users and flows."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from perceo.models.common import EntityId, EpochMs, Model, Name, ProjectId, Route, UnitFloat, new_id, now_ms
from perceo.models.vocab import ActionType, Priority, Source


class Project(Model):
    id: ProjectId = Field(default_factory=new_id)
    name: Name
    framework: str = "unknown"
    git_remote_url: str | None = None
    created_at: EpochMs = Field(default_factory=now_ms)
    updated_at: EpochMs = Field(default_factory=now_ms)


class Persona(Model):
    """A kind of user. Natural key: (project_id, name)."""

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    name: Name
    description: str = ""
    behaviors: list[str] = Field(default_factory=list)
    source: Source = "auto_generated"


class StepAction(Model):
    type: ActionType
    target: str | None = None
    value: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class ExpectedState(Model):
    url: str | None = None
    visible: list[str] = Field(default_factory=list)
    hidden: list[str] = Field(default_factory=list)
    text: dict[str, str] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)


class Step(Model):
    """One step of a flow. Natural key: (flow_id, order); orders are 1..n without gaps."""

    id: EntityId = Field(default_factory=new_id)
    flow_id: EntityId
    order: int = Field(ge=1)
    name: Name
    actions: list[StepAction] = Field(default_factory=list)
    expected_state: ExpectedState = Field(default_factory=ExpectedState)
    timeout_ms: int = Field(default=30_000, ge=100, le=600_000)
    retry_count: int = Field(default=3, ge=0, le=10)


class Page(Model):
    """A discovered route pattern and the files that render it. Natural key: (project_id, route)."""

    project_id: ProjectId
    route: Route
    files: list[str] = Field(default_factory=list)


class PageLink(Model):
    """A navigation edge between two pages (`LINKS_TO`)."""

    source: Route
    target: Route


class Flow(Model):
    """A user journey across pages. Natural key: (project_id, name)."""

    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    name: Name
    description: str = ""
    priority: Priority = "medium"
    entry_point: Route | None = None
    risk_score: UnitFloat = 0.0
    coverage_score: UnitFloat | None = None
    is_active: bool = True
    source: Source = "auto_generated"
    #: Set when a person edits an auto-generated flow; re-runs of `init` then leave it alone.
    user_edited: bool = False
    trigger_conditions: list[str] = Field(default_factory=list)
    created_at: EpochMs = Field(default_factory=now_ms)
    updated_at: EpochMs = Field(default_factory=now_ms)


class FlowView(Flow):
    """A flow with what hangs off it, as read back from the graph."""

    personas: list[str] = Field(default_factory=list)
    pages: list[Route] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    connected_flows: list[EntityId] = Field(default_factory=list)


class FlowUpdate(Model):
    """Fields of a flow a person (or the API) may change. Unset fields stay as they are."""

    description: str | None = None
    priority: Priority | None = None
    entry_point: Route | None = None
    risk_score: UnitFloat | None = None
    coverage_score: UnitFloat | None = None
    is_active: bool | None = None
    trigger_conditions: list[str] | None = None
    user_edited: bool | None = None

    @field_validator("trigger_conditions")
    @classmethod
    def _no_blank_conditions(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not c.strip() for c in value):
            raise ValueError("trigger conditions must not be blank")
        return value
