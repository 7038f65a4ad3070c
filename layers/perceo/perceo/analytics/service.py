"""The analytics engine's one entry point: connect, ingest, sync, correlate, gaps, impact.

`AnalyticsService` takes its ports in the constructor (the composition root builds the adapters) and reads no
environment. The CLI's local backend and the API's handlers call the same methods, so both give the same answers.

- `connect(project, provider, credentials)`: asks the provider whether the credentials work, then keeps them in
  the credential store (a secrets store, never the config file).
- `ingest(project, body)`: our own events endpoint (see `ingest.py`).
- `sync(project, provider, since=, until=)`: pulls the provider's export window by window from the project's
  cursor, stores new events (deduplicated by the provider's event id) or page aggregates, and moves the cursor past
  each window that is complete and final. A provider that keeps failing ends the run as `partial`: what was stored
  stays, the cursor stays before the failed window, and the next run resumes there.
- `correlate(project, days)`: events of those days -> sessions -> walks of the flows -> `FlowMetrics` per flow and
  day in the graph (page aggregates where a day has no events).
- `gaps(project, days)`, `impact(project, flow, days)`: read the stored metrics.

Events: `analytics.data.synced` after a sync, `analytics.correlation.complete` and `analytics.metrics.updated`
after a correlation.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import statistics
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from perceo.analytics.codec import (
    decode_events,
    decode_pages,
    encode_pages,
    events_prefix,
    pages_key,
    pages_prefix,
)
from perceo.analytics.errors import (
    ProviderCredentialsError,
    ProviderNotConnectedError,
    ProviderQuotaError,
    ProviderResponseError,
    ProviderUnavailableError,
)
from perceo.analytics.ingest import IngestLimits, Ingestor, store_events
from perceo.analytics.model import (
    DAY_MS,
    PAGE_VIEW_EVENTS,
    PROVIDERS,
    AnalyticsStatus,
    ConnectionCheck,
    CorrelationReport,
    FlowGap,
    FlowImpact,
    FlowTraffic,
    GapsReport,
    IngestResult,
    PageTraffic,
    ProviderName,
    ProviderStatus,
    SyncCursor,
    SyncReport,
    SyncRun,
    TrackedEvent,
    day_of,
    day_start,
    days_between,
)
from perceo.analytics.ports import (
    CredentialStore,
    CursorStore,
    ObjectStore,
    ProviderClient,
    ProviderClients,
    SeenEvents,
)
from perceo.analytics.routes import RouteMapper, RouteTokens
from perceo.analytics.sessions import DEFAULT_TIMEOUT_MS, Sessionizer
from perceo.bus.port import EventBus
from perceo.config.model import AnalyticsSection
from perceo.errors import FlowNotFoundError, ProjectNotFoundError, ValidationFailed
from perceo.graph.port import FlowGraph
from perceo.models import EventType, FlowMetrics, FlowView, PerceoEvent, now_ms

if TYPE_CHECKING:
    from perceo.analytics.correlation import Correlator, FlowSpec

log = logging.getLogger(__name__)

#: Events from a provider are stored in objects of at most this many (each sorted by time).
_STORE_CHUNK = 10_000
#: A correlation or a report covers at most this many days.
MAX_DAYS = 92
#: A correlation is spread over at most this many chunks (by user; see `correlate_chunk`).
MAX_PARTS = 64

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AnalyticsOptions:
    """What the project's config (`analytics.*`) sets; the composition root maps the config onto it."""

    session_timeout_ms: int = DEFAULT_TIMEOUT_MS
    min_similarity: float = 0.7
    min_steps: int = 2
    page_view_events: tuple[str, ...] = PAGE_VIEW_EVENTS
    #: An event property holding revenue (e.g. "revenue" on the purchase event).
    revenue_property: str | None = None
    #: The value of one completion, by flow name or id.
    flow_values: Mapping[str, float] = field(default_factory=dict)
    average_order_value: float | None = None
    #: The first sync of a provider starts this many days back.
    initial_sync_days: int = 7
    ingest: IngestLimits = field(default_factory=IngestLimits)
    batch_sessions: int = 20_000

    @classmethod
    def from_config(cls, section: AnalyticsSection) -> AnalyticsOptions:
        """The options `.perceo/config.json` sets today: `analytics.correlation.minSimilarity` and
        `analytics.revenueTracking.avgOrderValue` (when `enabled`)."""
        revenue = section.revenue_tracking
        return cls(
            min_similarity=section.correlation.min_similarity,
            average_order_value=revenue.avg_order_value if revenue.enabled else None,
        )


class AnalyticsService:
    def __init__(
        self,
        graph: FlowGraph,
        store: ObjectStore,
        seen: SeenEvents,
        cursors: CursorStore,
        credentials: CredentialStore,
        providers: ProviderClients,
        bus: EventBus | None = None,
        *,
        clock: Callable[[], int] = now_ms,
        options: AnalyticsOptions | None = None,
    ) -> None:
        self.graph = graph
        self.store = store
        self.seen = seen
        self.cursors = cursors
        self.credentials = credentials
        self.providers = providers
        self.bus = bus
        self.clock = clock
        self.options = options or AnalyticsOptions()
        self._ingestor = Ingestor(store, seen, clock=clock, limits=self.options.ingest, batch_names=self._object_name)

    # -- connect and ingest

    def connect(self, project_id: str, provider: ProviderName, credentials: Mapping[str, Any]) -> ConnectionCheck:
        """Check the credentials with the provider, then keep them. ProviderCredentialsError when refused (nothing
        is kept); ValidationFailed when they lack a field the provider needs."""
        self._require_project(project_id)
        if provider not in PROVIDERS:
            raise ValidationFailed(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
        detail = self.providers.client(provider, credentials).check()
        self.credentials.put(project_id, provider, credentials)
        return ConnectionCheck(provider=provider, ok=True, detail=detail)

    def ingest(self, project_id: str, body: bytes | str | Mapping[str, Any]) -> IngestResult:
        """Store a batch of our own events (idempotent by event id); see `ingest.py` for the rules."""
        with _no_cyclic_gc():
            return self._ingestor.ingest(project_id, body)

    @staticmethod
    def snippet() -> str:
        """The browser snippet (page views and clicks, batched, sent with sendBeacon) as shipped in the package."""
        return resources.files("perceo.analytics").joinpath("snippet/perceo-analytics.js").read_text("utf-8")

    # -- sync

    def sync(
        self,
        project_id: str,
        provider: ProviderName,
        *,
        since: int | None = None,
        until: int | None = None,
        progress: Progress | None = None,
    ) -> SyncReport:
        """Pull [since, until) from the provider (default: from the cursor, or `initial_sync_days` back, to now)."""
        self._require_project(project_id)
        credentials = self.credentials.get(project_id, provider)
        if credentials is None:
            raise ProviderNotConnectedError(
                f"{provider} is not connected for this project: run `perceo analytics connect {provider}` first",
                details={"provider": provider},
            )
        client = self.providers.client(provider, credentials)
        started = self.clock()
        cursor = self.cursors.get(project_id, provider)
        start = (
            since
            if since is not None
            else (cursor.synced_until if cursor else started - self.options.initial_sync_days * DAY_MS)
        )
        end = min(until if until is not None else started, started)
        if end <= start:
            raise ValidationFailed("the sync window is empty: since must be before until (and before now)")
        final_until = started - client.settle_ms
        position = cursor.synced_until if cursor else start
        total = cursor.events_total if cursor else 0
        windows = client.windows(start, end)
        counts = {"accepted": 0, "duplicates": 0, "pages": 0}
        days: set[str] = set()
        status: Literal["success", "partial"] = "success"
        message: str | None = None
        done = 0
        for window_start, window_end in windows:
            try:
                self._sync_window(project_id, provider, client, window_start, window_end, counts, days)
            except ProviderCredentialsError as error:
                self._save_cursor(project_id, provider, position, total + counts["accepted"], "failed", error.message)
                raise
            except (ProviderUnavailableError, ProviderQuotaError, ProviderResponseError) as error:
                status, message = "partial", f"stopped at {day_of(window_start)}: {error.message}"
                log.warning("analytics sync of %s for %s %s", provider, project_id, message)
                break
            done += 1
            if window_end <= final_until and window_start <= position:
                position = max(position, window_end)
                self._save_cursor(project_id, provider, position, total + counts["accepted"], "success", None)
            if progress is not None:
                progress(day_of(window_start), done, len(windows))
        if status == "partial":
            self._save_cursor(project_id, provider, position, total + counts["accepted"], "partial", message)
        report = SyncReport(
            provider=provider,
            started_at=started,
            since=start,
            until=end,
            synced_until=position,
            status=status,
            windows=done,
            accepted=counts["accepted"],
            duplicates=counts["duplicates"],
            malformed=client.malformed,
            pages=counts["pages"],
            days=sorted(days),
            message=message,
        )
        self._publish(project_id, EventType.DATA_SYNCED, report.model_dump(by_alias=True, mode="json"))
        return report

    def _sync_window(
        self,
        project_id: str,
        provider: ProviderName,
        client: ProviderClient,
        start: int,
        end: int,
        counts: dict[str, int],
        days: set[str],
    ) -> None:
        events: list[TrackedEvent] = []
        pages: dict[str, list[PageTraffic]] = {}
        part = 0

        def flush() -> None:
            nonlocal part, events
            if not events:
                return
            # unique per run: a later sync of the same window adds an object, never replaces what this one stored
            name = f"{self._object_name()}-{part:05d}"
            stored = store_events(self.store, self.seen, project_id, provider, events, name)
            counts["accepted"] += stored
            counts["duplicates"] += len(events) - stored
            days.update(e.day for e in events)
            part += 1
            events = []

        for record in client.fetch(start, end):
            if isinstance(record, PageTraffic):
                pages.setdefault(record.day, []).append(record)
            else:
                events.append(record)
                if len(events) >= _STORE_CHUNK:
                    flush()
        flush()
        for day, rows in sorted(pages.items()):
            self.store.put(pages_key(project_id, day, provider), encode_pages(rows))
            counts["pages"] += len(rows)
            days.add(day)

    def _save_cursor(
        self,
        project_id: str,
        provider: ProviderName,
        position: int,
        total: int,
        status: Literal["success", "failed", "partial"],
        message: str | None,
    ) -> None:
        self.cursors.put(
            project_id,
            SyncCursor(
                provider=provider,
                synced_until=position,
                updated_at=self.clock(),
                status=status,
                message=message,
                events_total=total,
            ),
        )

    # -- correlate

    def correlate(self, project_id: str, days: Sequence[str]) -> CorrelationReport:
        """Sessions of `days` aligned to the project's active flows; writes every flow's metrics of each day.

        One chunk holding every user (`correlate_chunk`), merged (`merge_correlation`): the cloud's AnalyticsSync
        runs the same two functions with the users spread over several chunks, one Lambda each."""
        self._require_project(project_id)
        days = _check_days(days)
        return self.merge_correlation(project_id, days, [self.correlate_chunk(project_id, days)])

    def correlate_chunk(self, project_id: str, days: Sequence[str], *, part: int = 0, parts: int = 1) -> dict[str, Any]:
        """Sessions -> walks of one chunk of the days' events: the users whose id hashes to `part` (of `parts`;
        events without a user go to chunk 0). Chunks are cut by user, never by time, so no session is split between
        two: a user's sessions are the same in any chunking. Returns the chunk's partial result (JSON-ready), which
        `merge_correlation` adds up. Each chunk reads the days' objects and keeps its own users' events."""

        self._require_project(project_id)
        days = _check_days(days)
        if not 0 <= part < parts <= MAX_PARTS:
            raise ValidationFailed(
                f"part must be in [0, parts) and parts in [1, {MAX_PARTS}]", details={"field": "part"}
            )
        specs, mapper, tokens = self._correlation_setup(project_id)
        sessionizer = Sessionizer(
            mapper,
            tokens,
            timeout_ms=self.options.session_timeout_ms,
            page_view_events=self.options.page_view_events,
            revenue_property=self.options.revenue_property,
        )
        correlator = self._correlator(project_id, specs, tokens)
        with_events: set[str] = set()
        with _no_cyclic_gc():
            for day in days:
                for event in self._day_events(project_id, day):
                    with_events.add(day)
                    if parts > 1 and part_of(event.user_id or event.anonymous_id, parts) != part:
                        continue
                    for session in sessionizer.add(event):
                        correlator.add(session)
            correlator.add_all(sessionizer.flush())
            state = correlator.export()
        state["counts"] = dataclasses.asdict(sessionizer.counts)
        state["daysWithEvents"] = sorted(with_events)
        return state

    def merge_correlation(
        self, project_id: str, days: Sequence[str], parts: Sequence[Mapping[str, Any]]
    ) -> CorrelationReport:
        """The chunks' partial results added up (in the order given) into every flow's metrics of each day, written
        to the graph; days without events get page-aggregate metrics (GA4) when there are some. Publishes
        analytics.correlation.complete and analytics.metrics.updated."""
        self._require_project(project_id)
        days = _check_days(days)
        specs, mapper, tokens = self._correlation_setup(project_id)
        correlator = self._correlator(project_id, specs, tokens)
        counts: dict[str, int] = {}
        with_events: set[str] = set()
        for part in parts:
            correlator.absorb(part)
            for name, n in part["counts"].items():
                counts[name] = counts.get(name, 0) + n
            with_events.update(part["daysWithEvents"])
        now = self.clock()
        metrics = [m for m in correlator.metrics(days, updated_at=now) if m.day in with_events]
        for day in days:
            if day not in with_events:
                metrics.extend(self._page_metrics(project_id, specs, mapper, day, now))
        written = self.graph.upsert_flow_metrics(project_id, metrics) if metrics else 0
        page_views, unmapped = counts.get("page_views", 0), counts.get("unmapped_page_views", 0)
        report = CorrelationReport(
            days=list(days),
            events=counts.get("events", 0),
            page_views=page_views,
            unmapped_page_views=unmapped,
            sessions=correlator.totals.sessions,
            matched_sessions=correlator.totals.matched_sessions,
            matches=correlator.totals.matches,
            flows=len(specs),
            metrics_written=written,
            untested=correlator.untested(),
            unmapped_share=round(unmapped / page_views, 4) if page_views else None,
            by_flow=correlator.totals.by_flow(specs),
            similarity_histogram=list(correlator.totals.similarity_histogram),
        )
        data = report.model_dump(by_alias=True, mode="json")
        self._publish(project_id, EventType.CORRELATION_COMPLETE, data)
        self._publish(
            project_id, EventType.METRICS_UPDATED, {"days": list(days), "flows": len(specs), "metricsWritten": written}
        )
        return report

    def correlation_parts(self, project_id: str, days: Sequence[str], *, objects_per_part: int) -> int:
        """How many chunks to correlate `days` in: one per `objects_per_part` stored objects, 1 to MAX_PARTS."""
        objects = sum(len(self.store.list(events_prefix(project_id, day))) for day in _check_days(days))
        return max(1, min(MAX_PARTS, -(-objects // max(1, objects_per_part))))

    def _correlation_setup(self, project_id: str) -> tuple[list[FlowSpec], RouteMapper, RouteTokens]:
        from perceo.analytics.correlation import flow_specs

        specs = flow_specs(self.graph.list_flows(project_id), self.options.flow_values)
        routes = self.graph.matchable_routes(project_id)
        mapper = RouteMapper([*routes, *(r for s in specs for r in s.routes)])
        return specs, mapper, RouteTokens(r for s in specs for r in s.routes)

    def _correlator(self, project_id: str, specs: Sequence[FlowSpec], tokens: RouteTokens) -> Correlator:
        # numpy loads with the aligner, here and not at import: the ingest route never pays for it
        from perceo.analytics.correlation import Correlator

        return Correlator(
            project_id,
            specs,
            tokens,
            min_similarity=self.options.min_similarity,
            min_steps=self.options.min_steps,
            revenue_property=self.options.revenue_property,
            average_order_value=self.options.average_order_value,
            batch_sessions=self.options.batch_sessions,
        )

    def _day_events(self, project_id: str, day: str) -> Iterator[TrackedEvent]:
        """A day's stored events, object by object in the order they were stored (names start with a time)."""
        keys = sorted(self.store.list(events_prefix(project_id, day)), key=lambda k: (k.rsplit("/", 1)[-1], k))
        for key in keys:
            yield from decode_events(self.store.read_lines(key), where=key)

    def _page_metrics(
        self, project_id: str, specs: Sequence[FlowSpec], mapper: RouteMapper, day: str, now: int
    ) -> list[FlowMetrics]:
        rows: list[PageTraffic] = []
        for key in self.store.list(pages_prefix(project_id, day)):
            rows.extend(decode_pages(self.store.read_lines(key), where=key))
        if not rows:
            return []
        from perceo.analytics.correlation import pages_metrics

        return pages_metrics(
            project_id, specs, mapper, rows, day, average_order_value=self.options.average_order_value, updated_at=now
        )

    # -- reports

    def impact(self, project_id: str, flow: str, days: Sequence[str]) -> FlowImpact:
        """One flow (by id or name) in production over `days`, from its stored daily metrics."""
        self._require_project(project_id)
        days = _check_days(days)
        view = self.graph.get_flow(project_id, flow) or self.graph.get_flow_by_name(project_id, flow)
        if view is None:
            raise FlowNotFoundError(f"no flow {flow!r} in this project", details={"flow": flow})
        metrics = self.graph.list_flow_metrics(project_id, since=days[0], until=days[-1], flow_ids=[view.id])
        return _impact(view, metrics, days)

    def gaps(self, project_id: str, days: Sequence[str], *, limit: int = 20) -> GapsReport:
        """Flows users walk that no test (fully) covers, ranked by users per day x (1 - coverage score) over `days`
        (then by gap score and name); each with its mean gap score over those days."""
        self._require_project(project_id)
        days = _check_days(days)
        if not 1 <= limit <= 500:
            raise ValidationFailed("limit must be between 1 and 500", details={"field": "limit"})
        flows = {f.id: f for f in self.graph.list_flows(project_id)}
        metrics = self.graph.list_flow_metrics(project_id, since=days[0], until=days[-1])
        by_flow: dict[str, list[FlowMetrics]] = {}
        for m in metrics:
            by_flow.setdefault(m.flow_id, []).append(m)
        gaps: list[FlowGap] = []
        for flow_id, ms in by_flow.items():
            view = flows.get(flow_id)
            if view is None:
                continue
            users_per_day = round(sum(m.prod_daily_users or 0 for m in ms) / len(days), 2)
            coverage = view.coverage_score
            priority = round(users_per_day * (1.0 - (coverage or 0.0)), 2)
            if priority <= 0:
                continue  # nobody walks it, or tests cover it fully
            gaps.append(
                FlowGap(
                    flow_id=flow_id,
                    flow_name=view.name,
                    gap_score=round(sum(m.gap_score for m in ms) / len(days), 4),
                    users_per_day=users_per_day,
                    coverage_score=coverage,
                    priority=priority,
                    sessions=sum(m.sessions for m in ms),
                )
            )
        gaps.sort(key=lambda g: (-g.priority, -g.gap_score, g.flow_name, g.flow_id))
        return GapsReport(days=list(days), flows=gaps[:limit])

    # -- what the commands, routes and the scheduled workflow call

    def run_sync(
        self,
        project_id: str,
        provider: ProviderName | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        progress: Progress | None = None,
    ) -> SyncRun:
        """Pull `provider` (default: every connected provider) and correlate the days touched into flow metrics:
        `sync_providers` then `correlate`, as the AnalyticsSync workflow's two tasks do."""
        run = self.sync_providers(project_id, provider, since=since, until=until, progress=progress)
        if progress is not None:
            progress("correlating", 0, 1)
        correlation = self.correlate(project_id, run.days) if run.days else None
        if progress is not None:
            progress("correlated", 1, 1)
        return run.model_copy(update={"correlation": correlation})

    def sync_providers(
        self,
        project_id: str,
        provider: ProviderName | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        progress: Progress | None = None,
    ) -> SyncRun:
        """Pull `provider` (default: every connected provider); `days` of the answer are the days to correlate.

        Those are the days the providers stored something for, plus the days of [since, until] (default: yesterday
        and today, which is where our own ingest adds events), the latest `MAX_DAYS` of them. A provider named but
        not connected is a ProviderNotConnectedError; unnamed ones without credentials are listed."""
        self._require_project(project_id)
        now = self.clock()
        if provider is not None:
            chosen: list[ProviderName] = [provider]
            missing: list[ProviderName] = []
        else:
            connected = {name: self.credentials.get(project_id, name) is not None for name in PROVIDERS}
            chosen = [name for name in PROVIDERS if connected[name]]
            missing = [name for name in PROVIDERS if not connected[name]]
        reports: list[SyncReport] = []
        days: set[str] = set()
        for name in chosen:

            def tick(label: str, done: int, total: int, name: str = name) -> None:
                if progress is not None:
                    progress(f"{name} {label}", done, total)

            report = self.sync(project_id, name, since=since, until=until, progress=tick)
            reports.append(report)
            days.update(report.days)
        first = since if since is not None else now - DAY_MS
        last = min(until if until is not None else now, now)
        if first <= last:
            days.update(days_between(day_of(first), day_of(last)))
        return SyncRun(providers=reports, not_connected=missing, days=sorted(days)[-MAX_DAYS:])

    def status(self, project_id: str, days: Sequence[str], *, flow: str | None = None) -> AnalyticsStatus:
        """Each provider's connection and cursor, and each flow's production figures over `days` (flows with
        metrics, the most users first; with `flow`, that flow only, with or without metrics)."""
        self._require_project(project_id)
        days = _check_days(days)
        providers = [
            ProviderStatus(
                provider=name,
                connected=self.credentials.get(project_id, name) is not None,
                cursor=self.cursors.get(project_id, name),
            )
            for name in PROVIDERS
        ]
        if flow is not None:
            flows = [self.impact(project_id, flow, days)]
        else:
            views = {f.id: f for f in self.graph.list_flows(project_id)}
            by_flow: dict[str, list[FlowMetrics]] = {}
            for m in self.graph.list_flow_metrics(project_id, since=days[0], until=days[-1]):
                by_flow.setdefault(m.flow_id, []).append(m)
            flows = [_impact(views[fid], ms, days) for fid, ms in by_flow.items() if fid in views]
            flows.sort(key=lambda f: (-f.users_per_day, -f.sessions, f.flow_name))
        return AnalyticsStatus(project_id=project_id, days=list(days), providers=providers, flows=flows)

    def flow_metrics(self, project_id: str, since: str, until: str) -> list[FlowMetrics]:
        """Every flow's stored daily metrics from `since` to `until` (inclusive, at most MAX_DAYS days)."""
        self._require_project(project_id)
        if _check_days([since])[0] > _check_days([until])[0]:
            raise ValidationFailed("since must not be after until", details={"field": "since"})
        if len(days_between(since, until)) > MAX_DAYS:
            raise ValidationFailed(f"at most {MAX_DAYS} days at a time", details={"field": "until"})
        return self.graph.list_flow_metrics(project_id, since=since, until=until)

    def traffic(self, project_id: str, days: Sequence[str]) -> dict[str, FlowTraffic]:
        """Per flow with metrics in `days`: mean users and sessions per day and the success rate over them (what
        change analysis weighs a flow by). Empty when no metrics exist."""
        from perceo.analytics.traffic import traffic_of

        days = _check_days(days)
        return traffic_of(self.graph.list_flow_metrics(project_id, since=days[0], until=days[-1]))

    # -- helpers

    def _require_project(self, project_id: str) -> None:
        if self.graph.get_project(project_id) is None:
            raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})

    def _publish(self, project_id: str, kind: EventType, data: dict[str, Any]) -> None:
        if self.bus is not None:
            self.bus.publish(PerceoEvent(type=kind, source="analytics", project_id=project_id, data=data))

    @staticmethod
    def _object_name() -> str:
        return uuid.uuid4().hex[:16]


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector over a batch of events. Events, sessions and walks hold no reference cycles
    (reference counting frees them as they go), but each collector pass walks the whole growing heap: about a third
    of ingest's and correlate's CPU time (bench/ingest_bench.py). The collector is back on when the batch is done
    (left as it was found: a caller that paused it keeps it paused)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def part_of(user: str | None, parts: int) -> int:
    """The chunk of a user's events: a stable hash of the user (CRC-32, the same in every process, unlike `hash`);
    events without a user go to chunk 0."""
    return zlib.crc32(user.encode("utf-8")) % parts if user else 0


def last_days(now_ms_: int, count: int) -> list[str]:
    """The `count` UTC days up to and including the day of `now_ms_` (1 <= count <= MAX_DAYS)."""
    if not 1 <= count <= MAX_DAYS:
        raise ValidationFailed(f"days must be between 1 and {MAX_DAYS}", details={"field": "days"})
    return days_between(day_of(now_ms_ - (count - 1) * DAY_MS), day_of(now_ms_))


def window_days(now_ms_: int, since: str | None = None, until: str | None = None) -> list[str]:
    """The days from `since` to `until` (inclusive): `until` defaults to the day of `now_ms_`, `since` to `until`.
    ValidationFailed for a day that is not one, since after until, or more than MAX_DAYS days."""
    last = _check_days([until])[0] if until is not None else day_of(now_ms_)
    first = _check_days([since])[0] if since is not None else last
    if first > last:
        raise ValidationFailed("since must not be after until", details={"field": "since"})
    days = days_between(first, last)
    if len(days) > MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days at a time", details={"field": "since"})
    return days


def _check_days(days: Sequence[str]) -> list[str]:
    ordered = sorted(set(days))
    if not ordered:
        raise ValidationFailed("name at least one day", details={"field": "days"})
    if len(ordered) > MAX_DAYS:
        raise ValidationFailed(f"at most {MAX_DAYS} days at a time", details={"field": "days"})
    for day in ordered:
        if len(day) != 10 or day_of(_day_ms(day)) != day:
            raise ValidationFailed(f"{day!r} is not a day (YYYY-MM-DD)", details={"field": "days"})
    return ordered


def _day_ms(day: str) -> int:
    try:
        return day_start(day)
    except ValueError:
        raise ValidationFailed(f"{day!r} is not a day (YYYY-MM-DD)", details={"field": "days"}) from None


def _impact(view: FlowView, metrics: Sequence[FlowMetrics], days: Sequence[str]) -> FlowImpact:
    sessions = sum(m.sessions for m in metrics)
    completions = sum(m.completions for m in metrics)
    drop_off: dict[str, int] = {}
    for m in metrics:
        for step, n in m.drop_off.items():
            drop_off[step] = drop_off.get(step, 0) + n
    top = min(drop_off, key=lambda k: (-drop_off[k], int(k))) if drop_off else None
    routes = view.pages or ([view.entry_point] if view.entry_point else [])
    medians = [m.median_duration_ms for m in metrics if m.median_duration_ms is not None]
    risks = [m.revenue_at_risk for m in metrics if m.revenue_at_risk is not None]
    return FlowImpact(
        flow_id=view.id,
        flow_name=view.name,
        days=list(days),
        sessions=sessions,
        completions=completions,
        success_rate=round(completions / sessions, 4) if sessions else None,
        users_per_day=round(sum(m.prod_daily_users or 0 for m in metrics) / len(days), 2),
        top_drop_off_step=int(top) if top is not None else None,
        top_drop_off_route=routes[int(top) - 1] if top is not None and 0 < int(top) <= len(routes) else None,
        drop_off=dict(sorted(drop_off.items(), key=lambda item: int(item[0]))),
        median_duration_ms=float(statistics.median(medians)) if medians else None,
        revenue_at_risk=round(sum(risks), 2) if risks else None,
        gap_score=round(sum(m.gap_score for m in metrics) / len(days), 4),
        covered=bool(view.coverage_score),
    )
