"""Change analysis: what a diff touches and which flows it puts at risk."""

from __future__ import annotations

from pydantic import Field

from perceo.models.common import EntityId, EpochMs, Model, ProjectId, Route, UnitFloat, new_id, now_ms
from perceo.models.vocab import ChangeStatus, Priority, RiskLevel


class ChangedFile(Model):
    path: str = Field(min_length=1, max_length=4096)
    status: ChangeStatus
    #: For renames and copies: where the file came from.
    old_path: str | None = None
    additions: int | None = Field(default=None, ge=0)
    deletions: int | None = Field(default=None, ge=0)
    #: Symbol-level impact: the exported names whose code this change touched (None: the file counts as a whole).
    symbols: list[str] | None = None
    #: With `symbols`: how many files import one of them (directly or through barrels); 0 means no code uses them.
    symbol_importers: int | None = Field(default=None, ge=0)


class ChangeSet(Model):
    base_sha: str
    head_sha: str
    files: list[ChangedFile] = Field(default_factory=list)
    working_tree: bool = False


class Reason(Model):
    """Why something is affected: the chain of files from the changed file to a route's entry file."""

    changed_file: str
    chain: list[str] = Field(default_factory=list)
    kind: str = "import"  # import | entry | layout | route | dependency | shell | global
    #: The route the chain ends at (set on a flow's reasons, where several pages can be affected).
    route: Route | None = None
    #: Symbol-level impact: the changed exports of `changed_file` the chain's next file imports.
    symbols: list[str] = Field(default_factory=list)
    #: In words, when there is more to say than the chain: "imports `formatPrice` from src/lib/index.ts, changed at
    #: line 42".
    detail: str | None = None


class AffectedRoute(Model):
    route: Route
    files: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    distance: int = Field(default=0, ge=0)


class ImpactedFlow(Model):
    id: EntityId
    name: str
    priority: Priority = "medium"
    risk_score: UnitFloat
    confidence: UnitFloat
    affected_pages: list[Route] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    #: Production users per day walking the flow (mean over the last week of metrics); None when none is known.
    users_per_day: float | None = Field(default=None, ge=0)
    #: Production sessions that completed the flow / that walked it, over the same days.
    prod_success_rate: UnitFloat | None = None


class ChangeAnalysis(Model):
    id: EntityId = Field(default_factory=new_id)
    project_id: ProjectId
    base_sha: str
    head_sha: str
    risk_level: RiskLevel = "low"
    risk_score: UnitFloat = 0.0
    files: list[ChangedFile] = Field(default_factory=list)
    affected_routes: list[AffectedRoute] = Field(default_factory=list)
    flows: list[ImpactedFlow] = Field(default_factory=list)
    created_at: EpochMs = Field(default_factory=now_ms)
    #: True when production traffic (flow metrics of the last week) weighed the flows; False when none exists.
    production_traffic: bool = False
