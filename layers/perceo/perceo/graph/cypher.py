"""The flow graph over Cypher: every FlowGraph method, written once for Neo4j and FalkorDB.

An adapter supplies only how a query runs (`_read`, `_write`), its schema bootstrap, `ping` and `close`;
the queries (`queries.py`), the validation and the row -> model mapping (`mapping.py`) live here, so the
two engines cannot disagree about what the port means.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from perceo.errors import ConflictError, FlowNotFoundError, ProjectNotFoundError, ValidationFailed
from perceo.graph import queries as q
from perceo.graph.alerts import AlertRuleRecords
from perceo.graph.backup import BackupRecords
from perceo.graph.insights import InsightRecords
from perceo.graph.mapping import (
    Row,
    affects_rows,
    analysis_from,
    analysis_props,
    flow_from,
    flow_row,
    flow_update_props,
    flow_views_from,
    flows_with_pages_from,
    metrics_from,
    metrics_row,
    page_from,
    page_row,
    persona_from,
    persona_row,
    project_from,
    project_props,
    step_from,
    step_row,
)
from perceo.graph.port import MAX_PAGE_SIZE, FlowPage
from perceo.graph.retention import RetentionRecords
from perceo.graph.runs import TestRunRecords
from perceo.models import (
    ChangeAnalysis,
    Flow,
    FlowMetrics,
    FlowUpdate,
    FlowView,
    Page,
    PageLink,
    Persona,
    Project,
    Step,
    now_ms,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_BATCH_SIZE = 1000
#: `list_analyses` never returns more than this many, whatever the caller asks.
MAX_ANALYSES = 500


class CypherFlowGraph(TestRunRecords, InsightRecords, AlertRuleRecords, RetentionRecords, BackupRecords, ABC):
    """FlowGraph on a Cypher engine. Subclasses run queries; this class knows what they mean.

    Upserts go in batches of `batch_size` rows (one query each). Everything that must be atomic (a flow's
    steps, a flow's personas/pages/connections, an analysis with its AFFECTS edges) is a single query.
    The coordinator's records (test runs, coverage scores, predictions) come from `TestRunRecords`, the
    analyzer's insights from `InsightRecords` (`perceo.graph.insights.InsightStore`) and its alert rules from
    `AlertRuleRecords` (`perceo.graph.alerts.AlertRuleStore`).
    """

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE, clock: Callable[[], int] = now_ms) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self.clock = clock

    # -- what an adapter supplies

    @abstractmethod
    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        """Run a read-only query; one dict per record, keyed by the RETURN names."""

    @abstractmethod
    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        """Run a query that writes, atomically; one dict per record."""

    @abstractmethod
    def ensure_schema(self) -> None:
        """Create indexes and uniqueness constraints. Idempotent."""

    @abstractmethod
    def close(self) -> None: ...

    def ping(self) -> bool:
        """True when the graph answers a trivial query."""
        try:
            rows = self._read(q.PING, {})
        except Exception:  # any failure to answer means "not healthy"; the caller only wants a yes or no
            log.debug("flow graph ping failed", exc_info=True)
            return False
        return bool(rows) and rows[0].get("ok") == 1

    # -- Projects

    def create_project(self, project: Project) -> Project:
        """Store a new project. ConflictError when a project with this id exists."""
        rows = self._write(q.CREATE_PROJECT, {"projectId": project.id, "props": project_props(project)})
        if not rows:
            raise ConflictError(f"project {project.id} already exists", details={"projectId": project.id})
        return project_from(rows[0]["project"])

    def get_project(self, project_id: str) -> Project | None:
        rows = self._read(q.GET_PROJECT, {"projectId": project_id})
        return project_from(rows[0]["project"]) if rows else None

    def list_projects(self) -> list[Project]:
        return [project_from(row["project"]) for row in self._read(q.LIST_PROJECTS, {})]

    def delete_project(self, project_id: str) -> bool:
        """Delete the project and every node carrying its id. False when there was no such project."""
        return bool(self._write(q.DELETE_PROJECT, {"projectId": project_id}))

    # -- Personas

    def upsert_personas(self, project_id: str, personas: Sequence[Persona]) -> list[Persona]:
        """Create or update by name; an existing persona keeps its id. Returns the stored personas, in order."""
        _check_project(project_id, personas, "personas")
        _check_unique([p.name for p in personas], "persona name")
        stored: dict[str, Persona] = {}
        for batch in _batches([persona_row(p) for p in personas], self.batch_size):
            rows = self._write(q.UPSERT_PERSONAS, {"projectId": project_id, "rows": batch})
            self._require_rows(rows, project_id)
            stored.update((persona.name, persona) for persona in (persona_from(r["persona"]) for r in rows))
        return [stored[p.name] for p in personas]

    def list_personas(self, project_id: str) -> list[Persona]:
        return [persona_from(row["persona"]) for row in self._read(q.LIST_PERSONAS, {"projectId": project_id})]

    def delete_personas(self, project_id: str, persona_ids: Sequence[str]) -> int:
        if not persona_ids:
            return 0
        rows = self._write(q.DELETE_PERSONAS, {"projectId": project_id, "ids": list(persona_ids)})
        return _count(rows, "deleted")

    # -- Flows

    def upsert_flows(self, project_id: str, flows: Sequence[Flow]) -> list[Flow]:
        """Create or update by name; an existing flow keeps its id and createdAt. Every other field is written
        as given (None clears it) and updatedAt becomes the clock's now. Returns the stored flows, in order."""
        _check_project(project_id, flows, "flows")
        _check_unique([f.name for f in flows], "flow name")
        stored: dict[str, Flow] = {}
        now = self.clock()
        for batch in _batches([flow_row(f, now) for f in flows], self.batch_size):
            rows = self._write(q.UPSERT_FLOWS, {"projectId": project_id, "rows": batch})
            self._require_rows(rows, project_id)
            stored.update((flow.name, flow) for flow in (flow_from(r["flow"]) for r in rows))
        return [stored[f.name] for f in flows]

    def set_flow_personas(self, project_id: str, flow_id: str, persona_names: Sequence[str]) -> None:
        """Replace the flow's FOR_PERSONA edges with edges to these personas (names it has none for are skipped)."""
        self.set_personas_of_flows(project_id, {flow_id: persona_names})

    def set_personas_of_flows(self, project_id: str, names_by_flow: Mapping[str, Sequence[str]]) -> None:
        """`set_flow_personas` for many flows in few queries (each flow's edges are replaced in one query).

        FlowNotFoundError names the flows the project does not have, after the others were written.
        """
        entries = [{"flowId": flow_id, "names": list(dict.fromkeys(names))} for flow_id, names in names_by_flow.items()]
        self._link_flows(q.SET_PERSONAS_OF_FLOWS, project_id, entries, edges="names")

    def set_flow_pages(self, project_id: str, flow_id: str, routes: Sequence[str]) -> None:
        """Replace the flow's VISITS edges, in journey order; routes without a page get one."""
        self.set_pages_of_flows(project_id, {flow_id: routes})

    def set_pages_of_flows(self, project_id: str, routes_by_flow: Mapping[str, Sequence[str]]) -> None:
        """`set_flow_pages` for many flows in few queries (each flow's edges are replaced in one query).

        FlowNotFoundError names the flows the project does not have, after the others were written.
        """
        entries = [
            {"flowId": flow_id, "rows": [{"route": route, "order": n} for n, route in enumerate(routes, start=1)]}
            for flow_id, routes in routes_by_flow.items()
        ]
        self._link_flows(q.SET_FLOW_PAGES, project_id, entries)

    def set_flow_connections(self, project_id: str, flow_id: str, flow_ids: Sequence[str]) -> None:
        """Replace the flow's CONNECTS_TO edges (ids of flows outside the project, or itself, are skipped)."""
        self.set_connections_of_flows(project_id, {flow_id: flow_ids})

    def set_connections_of_flows(self, project_id: str, ids_by_flow: Mapping[str, Sequence[str]]) -> None:
        """`set_flow_connections` for many flows in few queries (each flow's edges are replaced in one query).

        FlowNotFoundError names the flows the project does not have, after the others were written.
        """
        entries = []
        for flow_id, flow_ids in ids_by_flow.items():
            ids = list(dict.fromkeys(flow_ids))
            rows = [{"id": other, "order": order} for order, other in enumerate(ids, start=1)]
            entries.append({"flowId": flow_id, "ids": ids, "rows": rows})
        self._link_flows(q.SET_CONNECTIONS_OF_FLOWS, project_id, entries)

    def _link_flows(self, query: str, project_id: str, entries: list[dict[str, Any]], *, edges: str = "rows") -> None:
        """Run one of the per-flow edge-replacing queries over `entries` ({flowId, ...}) in batches of about
        `batch_size` edges (the items under each entry's `edges` key); a flow is never split."""
        found: set[str] = set()
        for batch in _batches_by_rows(entries, self.batch_size, edges):
            rows = self._write(query, {"projectId": project_id, "flows": batch})
            found.update(row["flowId"] for row in rows)
        _require_flows({entry["flowId"] for entry in entries} - found)

    def get_flow(self, project_id: str, flow_id: str) -> FlowView | None:
        rows = self._read(q.GET_FLOW, {"projectId": project_id, "flowId": flow_id})
        views = self._views(project_id, rows, include_steps=True)
        return views[0] if views else None

    def get_flow_by_name(self, project_id: str, name: str) -> FlowView | None:
        rows = self._read(q.GET_FLOW_BY_NAME, {"projectId": project_id, "name": name})
        views = self._views(project_id, rows, include_steps=True)
        return views[0] if views else None

    def list_flows(self, project_id: str, *, include_steps: bool = False) -> list[FlowView]:
        """The project's flows by name, with personas, pages and connections (and steps when asked)."""
        rows = self._read(q.LIST_FLOWS, {"projectId": project_id})
        return self._views(project_id, rows, include_steps=include_steps)

    def list_flows_page(
        self, project_id: str, *, limit: int, after: tuple[str, str] | None = None, include_steps: bool = False
    ) -> FlowPage:
        """At most `limit` (capped at MAX_PAGE_SIZE) flows by (name, id) after the key `after`, as `list_flows`
        gives them. One row more than the page is read to know whether another page follows."""
        if limit < 1:
            raise ValidationFailed("a page holds at least one flow", details={"field": "limit"})
        size = min(limit, MAX_PAGE_SIZE)
        after_name, after_id = after or ("", "")
        params = {"projectId": project_id, "afterName": after_name, "afterId": after_id, "limit": size + 1}
        rows = self._read(q.LIST_FLOWS_PAGE, params)
        more = len(rows) > size
        views = self._views(project_id, rows[:size], include_steps=include_steps)
        last = views[-1] if more else None
        return FlowPage(flows=views, next_after=(last.name, last.id) if last is not None else None)

    def update_flow(self, project_id: str, flow_id: str, update: FlowUpdate) -> Flow | None:
        """Apply the fields set on `update` and move updatedAt. None when the project has no such flow."""
        params = {"projectId": project_id, "flowId": flow_id, "props": flow_update_props(update, self.clock())}
        rows = self._write(q.UPDATE_FLOW, params)
        return flow_from(rows[0]["flow"]) if rows else None

    def delete_flows(self, project_id: str, flow_ids: Sequence[str]) -> int:
        """Delete flows and their steps. Returns how many flows were deleted."""
        if not flow_ids:
            return 0
        rows = self._write(q.DELETE_FLOWS, {"projectId": project_id, "flowIds": list(flow_ids)})
        return _count(rows, "deleted")

    # -- Steps

    def replace_steps(self, project_id: str, flow_id: str, steps: Sequence[Step]) -> list[Step]:
        """Replace all steps of one flow in a single atomic query, linked HAS_STEP and NEXT (by order).

        The steps are stored under `flow_id` whatever their own `flow_id` says. Nothing is written when two
        steps share an order (ValidationFailed), when the project has no such flow (FlowNotFoundError) or when
        a step id is already used by another flow (ConflictError).
        """
        return self.replace_steps_of_flows(project_id, {flow_id: steps})[flow_id]

    def replace_steps_of_flows(
        self, project_id: str, steps_by_flow: Mapping[str, Sequence[Step]]
    ) -> dict[str, list[Step]]:
        """`replace_steps` for many flows in few queries. Each flow's replacement is atomic (one query never
        splits a flow); flows go in batches of about `batch_size` steps.

        Everything is validated before anything is written (orders unique per flow, step ids unique across
        all). A flow the project does not have, or whose step ids another flow uses, is left as it was, and
        FlowNotFoundError / ConflictError names it after the other flows were written.
        """
        stored: dict[str, list[Step]] = {}
        for flow_id, steps in steps_by_flow.items():
            _check_orders(flow_id, steps)
            stored[flow_id] = [s.model_copy(update={"flow_id": flow_id}) for s in sorted(steps, key=lambda s: s.order)]
        _check_unique([s.id for steps in stored.values() for s in steps], "step id")
        written: set[str] = set()
        cleared = [flow_id for flow_id, steps in stored.items() if not steps]
        if cleared:
            rows = self._write(q.CLEAR_STEPS, {"projectId": project_id, "flowIds": cleared})
            written.update(row["flowId"] for row in rows)
        entries = [
            {"flowId": flow_id, "stepIds": [s.id for s in steps], "rows": [step_row(s) for s in steps]}
            for flow_id, steps in stored.items()
            if steps
        ]
        for batch in _batches_by_rows(entries, self.batch_size):
            step_ids = [step_id for entry in batch for step_id in entry["stepIds"]]
            rows = self._write(q.REPLACE_STEPS, {"projectId": project_id, "stepIds": step_ids, "flows": batch})
            written.update(row["flowId"] for row in rows)
        refused = set(stored) - written
        if refused:
            existing = self._read(q.FLOW_EXISTS, {"projectId": project_id, "flowIds": sorted(refused)})
            _require_flows(refused - {row["flowId"] for row in existing})
            raise ConflictError(
                f"a step id of flow(s) {', '.join(sorted(refused))} is already used by another flow; "
                "those flows were left as they were",
                details={"flowIds": sorted(refused), "field": "steps.id"},
            )
        return stored

    def list_steps(self, project_id: str, flow_id: str) -> list[Step]:
        rows = self._read(q.FLOW_STEPS, {"projectId": project_id, "flowIds": [flow_id]})
        return sorted((step_from(row) for row in rows), key=lambda s: s.order)

    # -- Pages

    def upsert_pages(self, project_id: str, pages: Sequence[Page]) -> int:
        """Create or update pages by route (their files are replaced). Returns how many were written."""
        _check_project(project_id, pages, "pages")
        written = 0
        unique = {p.route: p for p in pages}  # the last one of a route wins, as it would row by row
        for batch in _batches([page_row(p) for p in unique.values()], self.batch_size):
            rows = self._write(q.UPSERT_PAGES, {"projectId": project_id, "rows": batch})
            count = _count(rows, "written")
            if count == 0:
                self._raise_project_missing(project_id)
            written += count
        return written

    def upsert_page_links(self, project_id: str, links: Sequence[PageLink]) -> int:
        """Add LINKS_TO edges between existing pages of the project. Returns how many new edges were made."""
        unique = list(dict.fromkeys((link.source, link.target) for link in links))
        created = 0
        for batch in _batches([{"source": s, "target": t} for s, t in unique], self.batch_size):
            created += _count(self._write(q.UPSERT_PAGE_LINKS, {"projectId": project_id, "rows": batch}), "created")
        return created

    def list_pages(self, project_id: str) -> list[Page]:
        return [page_from(row["page"]) for row in self._read(q.LIST_PAGES, {"projectId": project_id})]

    def delete_pages(self, project_id: str, routes: Sequence[str]) -> int:
        """Delete pages by route, with their links and the VISITS edges of flows to them. Returns how many."""
        unique = list(dict.fromkeys(routes))
        deleted = 0
        for batch in _batches(unique, self.batch_size):
            deleted += _count(self._write(q.DELETE_PAGES, {"projectId": project_id, "routes": batch}), "deleted")
        return deleted

    def list_page_links(self, project_id: str) -> list[PageLink]:
        """Every LINKS_TO edge between the project's pages, sorted by (source, target)."""
        rows = self._read(q.LIST_PAGE_LINKS, {"projectId": project_id})
        return [PageLink(source=row["source"], target=row["target"]) for row in rows]

    def delete_page_links(self, project_id: str, links: Sequence[PageLink]) -> int:
        """Delete these LINKS_TO edges (the pages stay). Returns how many edges were deleted."""
        unique = list(dict.fromkeys((link.source, link.target) for link in links))
        deleted = 0
        for batch in _batches([{"source": s, "target": t} for s, t in unique], self.batch_size):
            deleted += _count(self._write(q.DELETE_PAGE_LINKS, {"projectId": project_id, "rows": batch}), "deleted")
        return deleted

    def flows_visiting(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        """Active flows that visit any of these routes, with all their pages (for impact), without steps."""
        if not routes:
            return []
        rows = self._read(q.FLOWS_VISITING, {"projectId": project_id, "routes": list(dict.fromkeys(routes))})
        return self._views(project_id, rows, include_steps=False)

    def matchable_routes(self, project_id: str) -> list[str]:
        """The project's page routes and its active flows' entry points, each once, sorted."""
        rows = self._read(q.MATCHABLE_ROUTES, {"projectId": project_id})
        return sorted({row["route"] for row in rows})

    def flows_at_routes(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        """Active flows visiting any of these routes or starting at one (entry point), by name, each with all its
        pages; personas, steps and connected flows are left empty. One query, whatever the number of flows."""
        if not routes:
            return []
        rows = self._read(q.FLOWS_AT_ROUTES, {"projectId": project_id, "routes": list(dict.fromkeys(routes))})
        return sorted(flows_with_pages_from(rows), key=lambda f: (f.name, f.id))

    # -- Change analyses

    def record_analysis(self, analysis: ChangeAnalysis) -> ChangeAnalysis:
        """Store the analysis with AFFECTS {confidence, riskScore, reasons} edges to its flows.

        Only flows of the analysis's own project are linked; the returned analysis lists exactly those
        (what `get_analysis` will give back). Recording the same id again replaces it.
        """
        project_id = analysis.project_id
        _check_unique([f.id for f in analysis.flows], "impacted flow id")
        params = {
            "projectId": project_id,
            "analysisId": analysis.id,
            "props": analysis_props(analysis),
            "flowIds": [f.id for f in analysis.flows],
            "rows": affects_rows(analysis.flows),
        }
        rows = self._write(q.RECORD_ANALYSIS, params)
        if not rows:
            self._raise_project_missing(project_id)
            raise ConflictError(
                f"analysis id {analysis.id} is taken by another project", details={"analysisId": analysis.id}
            )
        linked = set(rows[0]["linked"])
        return analysis.model_copy(update={"flows": [f for f in analysis.flows if f.id in linked]})

    def get_analysis(self, project_id: str, analysis_id: str) -> ChangeAnalysis | None:
        rows = self._read(q.GET_ANALYSIS, {"projectId": project_id, "analysisId": analysis_id})
        return analysis_from(rows[0]) if rows else None

    def list_analyses(self, project_id: str, *, limit: int = 20) -> list[ChangeAnalysis]:
        """The newest analyses first, at most `limit` (capped at MAX_ANALYSES)."""
        if limit < 1:
            return []
        rows = self._read(q.LIST_ANALYSES, {"projectId": project_id, "limit": min(limit, MAX_ANALYSES)})
        analyses = [analysis_from(row) for row in rows]
        return sorted(analyses, key=lambda a: (a.created_at, a.id), reverse=True)

    # -- Flow metrics

    def upsert_flow_metrics(self, project_id: str, metrics: Sequence[FlowMetrics]) -> int:
        """Create or replace each flow's metrics of a day (one node per flow and day, linked HAS_METRICS from the
        flow), in batches. Metrics of flows the project does not have are skipped; returns how many were written."""
        strangers = sorted({m.project_id for m in metrics if m.project_id != project_id})
        if strangers:
            raise ValidationFailed(
                f"flow metrics of project {', '.join(strangers)} cannot be written to project {project_id}",
                details={"field": "projectId"},
            )
        _check_unique([f"{m.flow_id}/{m.day}" for m in metrics], "flow metrics (flow/day)")
        written = 0
        for batch in _batches([metrics_row(m) for m in metrics], self.batch_size):
            written += len(self._write(q.UPSERT_FLOW_METRICS, {"projectId": project_id, "rows": batch}))
        return written

    def list_flow_metrics(
        self, project_id: str, *, since: str, until: str, flow_ids: Sequence[str] | None = None
    ) -> list[FlowMetrics]:
        """The metrics from `since` to `until` (inclusive) of these flows (every flow when None), by day and flow."""
        params = {"projectId": project_id, "since": since, "until": until, "flowIds": list(flow_ids or [])}
        if flow_ids is not None and not flow_ids:
            return []
        return [metrics_from(row["metrics"]) for row in self._read(q.LIST_FLOW_METRICS, params)]

    # -- helpers

    def _views(self, project_id: str, rows: list[Row], *, include_steps: bool) -> list[FlowView]:
        """Complete rows of flow columns into FlowViews with two more flat reads (links, steps)."""
        if not rows:
            return []
        params = {"projectId": project_id, "flowIds": [row["id"] for row in rows]}
        links = self._read(q.FLOW_LINKS, params)
        steps = self._read(q.FLOW_STEPS, params) if include_steps else []
        return flow_views_from(rows, links, steps)

    def _require_rows(self, rows: list[Row], project_id: str) -> None:
        """A batch upsert that starts with MATCH (project) returns no row only when the project is missing."""
        if not rows:
            self._raise_project_missing(project_id)

    def _raise_project_missing(self, project_id: str) -> None:
        if self.get_project(project_id) is None:
            raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})

    @staticmethod
    def _require_flow(rows: list[Row], flow_id: str) -> None:
        if not rows:
            raise FlowNotFoundError(f"no flow {flow_id} in this project", details={"flowId": flow_id})


def _batches(rows: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _batches_by_rows(entries: list[dict[str, Any]], size: int, key: str = "rows") -> Iterator[list[dict[str, Any]]]:
    """Per-flow entries grouped so a batch holds about `size` rows (the items under `key`); a flow is never split.
    A flow with no rows still counts as one, so a batch of edge removals stays bounded too."""
    batch: list[dict[str, Any]] = []
    rows = 0
    for entry in entries:
        weight = max(1, len(entry[key]))
        if batch and rows + weight > size:
            yield batch
            batch, rows = [], 0
        batch.append(entry)
        rows += weight
    if batch:
        yield batch


def _require_flows(missing: set[str]) -> None:
    if missing:
        shown = ", ".join(sorted(missing))
        raise FlowNotFoundError(f"no flow {shown} in this project", details={"flowIds": sorted(missing)})


def _check_orders(flow_id: str, steps: Sequence[Step]) -> None:
    duplicates = sorted(order for order, n in Counter(s.order for s in steps).items() if n > 1)
    if duplicates:
        raise ValidationFailed(
            f"steps of flow {flow_id} repeat order(s) {', '.join(map(str, duplicates))}; each order must be unique",
            details={"field": "steps.order", "flowId": flow_id, "orders": duplicates},
        )


def _count(rows: list[Row], key: str) -> int:
    return int(rows[0][key]) if rows else 0


def _check_project(project_id: str, items: Sequence[Persona | Flow | Page], what: str) -> None:
    """Items name their project; writing one into another project would break tenant isolation."""
    strangers = sorted({item.project_id for item in items if item.project_id != project_id})
    if strangers:
        raise ValidationFailed(
            f"{what} of project {', '.join(strangers)} cannot be written to project {project_id}",
            details={"field": "projectId"},
        )


def _check_unique(keys: Sequence[str], what: str) -> None:
    repeated = sorted(key for key, n in Counter(keys).items() if n > 1)
    if repeated:
        raise ValidationFailed(f"repeated {what}(s): {', '.join(repeated)}", details={"values": repeated})
