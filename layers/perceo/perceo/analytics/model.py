"""The analytics vocabulary: tracked events, ingest batches and answers, sessions, matches, sync state, reports.

Stored and sent shapes are camelCase (the `Model` base). Events travel as JSON lines (`codec.py`), never all in
memory; a `Session` is what the sessionizer hands to the aligner.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from perceo.models.common import EntityId, EpochMs, Model, UnitFloat

#: Providers Perceo pulls from.
ProviderName = Literal["ga4", "mixpanel", "amplitude"]
PROVIDERS: tuple[ProviderName, ...] = ("ga4", "mixpanel", "amplitude")
#: Where a stored event came from: our own ingest endpoint or a provider's raw export.
EventSource = Literal["ingest", "mixpanel", "amplitude"]

EventId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Identity = Annotated[str, StringConstraints(min_length=1, max_length=128)]
EventName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]

#: Event names that mean "a page was viewed" (ours, the snippet's, Mixpanel's, Amplitude's, PostHog's, Segment's).
PAGE_VIEW_EVENTS: tuple[str, ...] = (
    "page_view",
    "pageview",
    "$pageview",
    "$mp_web_page_view",
    "[Amplitude] Page Viewed",
    "Page Viewed",
    "Page View",
)

DAY_MS = 86_400_000


def day_of(timestamp_ms: int) -> str:
    """The UTC day (YYYY-MM-DD) of an epoch-ms timestamp."""
    return _day_name(timestamp_ms // DAY_MS)


@functools.lru_cache(maxsize=4096)
def _day_name(days_since_epoch: int) -> str:
    # called per event: the name of a day is worked out once
    return (dt.date(1970, 1, 1) + dt.timedelta(days=days_since_epoch)).isoformat()


def day_start(day: str) -> int:
    """Epoch ms of 00:00 UTC on `day`."""
    return int(dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=dt.UTC).timestamp() * 1000)


def days_between(first: str, last: str) -> list[str]:
    """Every day from `first` to `last`, inclusive (empty when last < first)."""
    start, end = day_start(first), day_start(last)
    return [day_of(t) for t in range(start, end + 1, DAY_MS)]


# --------------------------------------------------------------------------------------------------
# Our own ingest: what POST /analytics/events answers (the request models are in `ingest.py`)


RejectReason = Literal["invalid", "timestamp_in_future", "timestamp_too_old"]


class RejectedEvent(Model):
    index: int = Field(ge=0)
    event_id: str | None = None
    reason: RejectReason
    message: str


class IngestResult(Model):
    """What happened to a batch: new events stored, repeats of stored events skipped, the rest rejected."""

    accepted: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    rejected_count: int = Field(ge=0)
    rejected: list[RejectedEvent] = Field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Stored events and aggregates


@dataclass(slots=True)
class TrackedEvent:
    """An event as stored (one JSON line): ours or a provider's, normalized. `path` has no query or fragment."""

    id: str
    source: str
    name: str
    timestamp: int
    user_id: str | None = None
    anonymous_id: str | None = None
    session_id: str | None = None
    path: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> str | None:
        """Who sessions are grouped by: the user id when known, else the anonymous id."""
        return self.user_id or self.anonymous_id

    @property
    def day(self) -> str:
        return day_of(self.timestamp)


@dataclass(frozen=True, slots=True)
class PageTraffic:
    """One day of one page from an aggregate provider (GA4 runReport): views, users, sessions."""

    day: str
    path: str
    views: int
    users: int
    sessions: int


# --------------------------------------------------------------------------------------------------
# Sessions and matches


@dataclass(slots=True)
class Session:
    """One user's visits without a pause longer than the session timeout, as route tokens.

    Consecutive visits of the same route collapse into one token (a reload is not a step); `times` holds the
    time of each token's first visit. `events` counts every event of the session, `unmapped` the page views no
    route matched (their token is 0), `revenue` the revenue property summed over its events.
    """

    user: str
    start: int
    end: int
    tokens: list[int]
    times: list[int]
    events: int = 0
    page_views: int = 0
    unmapped: int = 0
    revenue: float = 0.0

    @property
    def day(self) -> str:
        return day_of(self.start)


class FlowMatch(Model):
    """How one session walked one flow: how far, how well, and the time each step took."""

    flow_id: EntityId
    user: str
    day: Day
    similarity: UnitFloat
    steps_reached: int = Field(ge=1)
    completed: bool
    #: The step the session did not reach (steps_reached + 1), None when it completed.
    dropped_at_step: int | None = None
    #: Milliseconds from the previous matched step to each step (None: the first step, or a step passed over).
    step_times_ms: list[int | None] = Field(default_factory=list)
    duration_ms: int = Field(ge=0)


# --------------------------------------------------------------------------------------------------
# Sync state and reports


class SyncCursor(Model):
    """Where a project's sync with one provider stands: everything before `synced_until` is stored."""

    provider: ProviderName
    synced_until: EpochMs
    updated_at: EpochMs
    status: Literal["success", "failed", "partial"] = "success"
    message: str | None = None
    events_total: int = Field(default=0, ge=0)


class SyncReport(Model):
    """One sync run against one provider."""

    provider: ProviderName
    started_at: EpochMs
    since: EpochMs
    until: EpochMs
    #: Where the cursor stands after this run (the next run starts there).
    synced_until: EpochMs
    status: Literal["success", "partial"]
    windows: int = Field(ge=0)
    accepted: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    malformed: int = Field(ge=0)
    pages: int = Field(default=0, ge=0)
    days: list[Day] = Field(default_factory=list)
    message: str | None = None


class UntestedPath(Model):
    """A route sequence many sessions walk that matches no flow."""

    routes: list[str]
    sessions: int = Field(ge=0)


class FlowCorrelation(Model):
    """How many sessions walked one flow in a correlation, and how well (similarity of each walk, see alignment)."""

    flow_id: EntityId
    flow_name: str
    matches: int = Field(ge=0)
    completions: int = Field(ge=0)
    mean_similarity: UnitFloat | None = None


#: Buckets of the similarity histogram: [0, 0.1), [0.1, 0.2), ..., [0.9, 1.0] (the last one includes 1).
SIMILARITY_BUCKETS = 10


class CorrelationReport(Model):
    days: list[Day]
    events: int = Field(ge=0)
    page_views: int = Field(ge=0)
    unmapped_page_views: int = Field(ge=0)
    sessions: int = Field(ge=0)
    matched_sessions: int = Field(ge=0)
    matches: int = Field(ge=0)
    flows: int = Field(ge=0)
    metrics_written: int = Field(ge=0)
    untested: list[UntestedPath] = Field(default_factory=list)
    #: Page views no route matched / page views (None without page views).
    unmapped_share: UnitFloat | None = None
    #: Every flow, the most matched first: walks, completions and their mean similarity.
    by_flow: list[FlowCorrelation] = Field(default_factory=list)
    #: Walks per similarity bucket (`SIMILARITY_BUCKETS` buckets of 0.1 from 0 to 1).
    similarity_histogram: list[int] = Field(default_factory=list)


class FlowImpact(Model):
    """One flow in production over a range of days (from its daily metrics)."""

    flow_id: EntityId
    flow_name: str
    days: list[Day]
    sessions: int
    completions: int
    success_rate: UnitFloat | None
    users_per_day: float
    top_drop_off_step: int | None
    #: The route of that step (the flow's journey page), when known.
    top_drop_off_route: str | None
    drop_off: dict[str, int]
    median_duration_ms: float | None
    revenue_at_risk: float | None
    gap_score: UnitFloat
    covered: bool


class FlowGap(Model):
    """A flow users walk that tests do not (fully) cover. `priority` = usersPerDay x (1 - coverageScore) ranks the
    gaps; `gapScore` is the same relative to the busiest flow of each day (0..1, mean over the days)."""

    flow_id: EntityId
    flow_name: str
    gap_score: UnitFloat
    users_per_day: float
    coverage_score: UnitFloat | None
    priority: float = Field(ge=0)
    #: Sessions that walked it over the days.
    sessions: int = Field(ge=0)


class GapsReport(Model):
    days: list[Day]
    flows: list[FlowGap]


class ConnectionCheck(Model):
    provider: ProviderName
    ok: bool
    detail: str


# --------------------------------------------------------------------------------------------------
# What the commands and routes answer: a sync run, the status of a project's analytics, traffic per flow


class SyncRequest(Model):
    """The body of POST /analytics/sync: one provider (default: every connected one) and an optional window."""

    provider: ProviderName | None = None
    #: Epoch ms; default: each provider's cursor (or `initial_sync_days` back); correlation: the last day.
    since: EpochMs | None = None
    until: EpochMs | None = None


class CorrelateRequest(Model):
    """The body of POST /analytics/correlate: the UTC days to correlate again from the stored events (no provider
    is asked): `since`..`until` (inclusive; `until` defaults to today, `since` to `until`), at most 92 days."""

    since: Day | None = None
    until: Day | None = None


class SyncRun(Model):
    """`analytics sync`: every provider pulled, then the days touched correlated into flow metrics."""

    providers: list[SyncReport] = Field(default_factory=list)
    #: Providers skipped because they are not connected (only when none was named).
    not_connected: list[ProviderName] = Field(default_factory=list)
    days: list[Day] = Field(default_factory=list)
    correlation: CorrelationReport | None = None


class ProviderStatus(Model):
    provider: ProviderName
    connected: bool
    cursor: SyncCursor | None = None


class AnalyticsStatus(Model):
    """`analytics status` / GET /analytics/metrics: providers, and each flow's production figures over `days`."""

    project_id: str
    days: list[Day]
    providers: list[ProviderStatus]
    #: Flows with metrics in the range, the most users first (one with `flow` asked: that flow, metrics or not).
    flows: list[FlowImpact]


class FlowTraffic(Model):
    """A flow's production traffic as change analysis weighs it (mean over the days that have metrics)."""

    flow_id: EntityId
    users_per_day: float = Field(ge=0)
    sessions_per_day: float = Field(ge=0)
    success_rate: UnitFloat | None = None
    days: int = Field(ge=0)


Provider = ProviderName
__all__ = [
    "PAGE_VIEW_EVENTS",
    "AnalyticsStatus",
    "FlowTraffic",
    "ProviderStatus",
    "SyncRequest",
    "SyncRun",
    "ConnectionCheck",
    "CorrelateRequest",
    "CorrelationReport",
    "Day",
    "EventSource",
    "FlowCorrelation",
    "FlowGap",
    "FlowImpact",
    "FlowMatch",
    "GapsReport",
    "IngestResult",
    "PageTraffic",
    "Provider",
    "ProviderName",
    "RejectedEvent",
    "Session",
    "SyncCursor",
    "SyncReport",
    "TrackedEvent",
    "UntestedPath",
    "day_of",
    "day_start",
    "days_between",
]
