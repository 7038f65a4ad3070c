"""The flow graph port: every read and write of projects, personas, flows, steps, pages and analyses.

Two adapters implement it with one set of Cypher: `Neo4jFlowGraph` (Neo4j Aura, cloud) and
`FalkorFlowGraph` (the embedded store and tests). Every method is scoped by `project_id`; no method
can read or change another project's data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from perceo.models import (
    ChangeAnalysis,
    Flow,
    FlowMetrics,
    FlowUpdate,
    FlowView,
    Page,
    PageLink,
    Persona,
    Prediction,
    Project,
    Step,
    TestRun,
)
from perceo.models.vocab import TestOutcome

#: How many flows `list_flows_page` returns at most, whatever the caller asks.
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class FlowPage:
    """One page of a project's flows in (name, id) order."""

    flows: list[FlowView]
    #: (name, id) of the page's last flow when more flows follow (pass it as `after` for the next page), else None.
    next_after: tuple[str, str] | None = None


@runtime_checkable
class FlowGraph(Protocol):
    def ensure_schema(self) -> None:
        """Create indexes and uniqueness constraints. Idempotent."""

    def ping(self) -> bool:
        """True when the graph answers."""

    def close(self) -> None: ...

    # Projects
    def create_project(self, project: Project) -> Project: ...
    def get_project(self, project_id: str) -> Project | None: ...
    def list_projects(self) -> list[Project]: ...
    def delete_project(self, project_id: str) -> bool:
        """Delete the project and everything under it. False when there was no such project."""

    # Personas, keyed by (project_id, name)
    def upsert_personas(self, project_id: str, personas: Sequence[Persona]) -> list[Persona]:
        """Create or update by name; an existing persona keeps its id. Returns the stored personas."""

    def list_personas(self, project_id: str) -> list[Persona]: ...
    def delete_personas(self, project_id: str, persona_ids: Sequence[str]) -> int: ...

    # Flows, keyed by (project_id, name)
    def upsert_flows(self, project_id: str, flows: Sequence[Flow]) -> list[Flow]:
        """Create or update by name; an existing flow keeps its id and createdAt."""

    def set_flow_personas(self, project_id: str, flow_id: str, persona_names: Sequence[str]) -> None:
        """Replace the flow's FOR_PERSONA edges with edges to these personas (by name)."""

    def set_personas_of_flows(self, project_id: str, names_by_flow: Mapping[str, Sequence[str]]) -> None:
        """`set_flow_personas` for many flows in few queries; each flow's edges are replaced atomically.

        FlowNotFoundError names the flows the project does not have, after the others were written."""

    def set_flow_pages(self, project_id: str, flow_id: str, routes: Sequence[str]) -> None:
        """Replace the flow's VISITS edges, in journey order (`VISITS {order}`)."""

    def set_pages_of_flows(self, project_id: str, routes_by_flow: Mapping[str, Sequence[str]]) -> None:
        """`set_flow_pages` for many flows in few queries; each flow's edges are replaced atomically.

        FlowNotFoundError names the flows the project does not have, after the others were written."""

    def set_flow_connections(self, project_id: str, flow_id: str, flow_ids: Sequence[str]) -> None:
        """Replace the flow's CONNECTS_TO edges."""

    def set_connections_of_flows(self, project_id: str, ids_by_flow: Mapping[str, Sequence[str]]) -> None:
        """`set_flow_connections` for many flows in few queries; each flow's edges are replaced atomically.

        FlowNotFoundError names the flows the project does not have, after the others were written."""

    def get_flow(self, project_id: str, flow_id: str) -> FlowView | None: ...
    def get_flow_by_name(self, project_id: str, name: str) -> FlowView | None: ...
    def list_flows(self, project_id: str, *, include_steps: bool = False) -> list[FlowView]: ...
    def list_flows_page(
        self, project_id: str, *, limit: int, after: tuple[str, str] | None = None, include_steps: bool = False
    ) -> FlowPage:
        """At most `limit` (1..MAX_PAGE_SIZE) flows by (name, id), those after the key `after`; views as in
        `list_flows`. Flows written or deleted between pages do not make a page repeat or skip the others."""

    def update_flow(self, project_id: str, flow_id: str, update: FlowUpdate) -> Flow | None: ...
    def delete_flows(self, project_id: str, flow_ids: Sequence[str]) -> int:
        """Delete flows and their steps. Returns how many flows were deleted."""

    # Steps, keyed by (flow_id, order)
    def replace_steps(self, project_id: str, flow_id: str, steps: Sequence[Step]) -> list[Step]:
        """Replace all steps of one flow in a single atomic query, linked HAS_STEP and NEXT."""

    def replace_steps_of_flows(
        self, project_id: str, steps_by_flow: Mapping[str, Sequence[Step]]
    ) -> dict[str, list[Step]]:
        """`replace_steps` for many flows in few queries; each flow's replacement is atomic (never split).

        Everything is validated before anything is written. FlowNotFoundError / ConflictError name the flows
        left as they were, after the others were written."""

    def list_steps(self, project_id: str, flow_id: str) -> list[Step]: ...

    # Pages, keyed by (project_id, route)
    def upsert_pages(self, project_id: str, pages: Sequence[Page]) -> int: ...
    def upsert_page_links(self, project_id: str, links: Sequence[PageLink]) -> int:
        """Add LINKS_TO edges between existing pages. Returns how many new edges were made."""

    def list_pages(self, project_id: str) -> list[Page]: ...
    def delete_pages(self, project_id: str, routes: Sequence[str]) -> int:
        """Delete pages by route, with their links and the VISITS edges of flows to them. Returns how many."""

    def list_page_links(self, project_id: str) -> list[PageLink]:
        """Every LINKS_TO edge between the project's pages, sorted by (source, target)."""

    def delete_page_links(self, project_id: str, links: Sequence[PageLink]) -> int:
        """Delete these LINKS_TO edges (the pages stay). Returns how many were deleted."""

    def flows_visiting(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        """Active flows that visit any of these routes, with their pages (for impact)."""

    def matchable_routes(self, project_id: str) -> list[str]:
        """Every route a flow can be matched on, each once: the project's page routes and its active flows' entry
        points (change analysis matches these by pattern, then reads only the flows at the routes that match)."""

    def flows_at_routes(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        """Active flows that visit any of these routes or have one as entry point, each with all its pages in
        journey order: what change analysis matches. Personas, steps and connected flows are not read (empty)."""

    # Change analyses
    def record_analysis(self, analysis: ChangeAnalysis) -> ChangeAnalysis:
        """Store the analysis with AFFECTS {confidence, riskScore, reasons} edges to its flows."""

    def get_analysis(self, project_id: str, analysis_id: str) -> ChangeAnalysis | None: ...
    def list_analyses(self, project_id: str, *, limit: int = 20) -> list[ChangeAnalysis]: ...

    # Coordinator: test runs `(:TestRun)-[:TESTS]->(:Flow)`, coverage scores, predictions `-[:ABOUT]->(:Flow)`
    def record_test_runs(self, project_id: str, runs: Sequence[TestRun]) -> list[TestRun]:
        """Store runs (an id again replaces it), each linked TESTS to its flow when the project has that flow
        (else stored with flowId None). ConflictError names ids of another project's runs (the rest are kept)."""

    def list_test_runs(
        self,
        project_id: str,
        *,
        flow_id: str | None = None,
        commit_sha: str | None = None,
        suite_id: str | None = None,
        since: int = 0,
        limit: int = 100,
    ) -> list[TestRun]:
        """The project's runs, newest first, filtered by flow, commit, invocation and createdAt >= since."""

    def latest_test_runs(self, project_id: str) -> dict[str, TestRun]:
        """The newest run of each tested flow, by flow id."""

    def set_coverage_scores(self, project_id: str, scores: Mapping[str, float | None]) -> int:
        """Set flows' coverageScore (None clears it); returns how many flows were set."""

    def record_predictions(self, project_id: str, predictions: Sequence[Prediction]) -> int:
        """Store predictions, each linked ABOUT to its flow; returns how many were written."""

    def list_predictions(
        self,
        project_id: str,
        *,
        analysis_id: str | None = None,
        validated_only: bool = False,
        since: int = 0,
        limit: int = 1000,
    ) -> list[Prediction]:
        """The project's predictions, newest first."""

    def validate_predictions(
        self, project_id: str, outcomes: Sequence[tuple[str, str, TestOutcome]], *, validated_at: int | None = None
    ) -> int:
        """Fill actualResult/predictionCorrect of the unvalidated predictions of each (flow, commit, result)."""

    # Flow metrics, keyed by (project_id, flow_id, day)
    def upsert_flow_metrics(self, project_id: str, metrics: Sequence[FlowMetrics]) -> int:
        """Create or replace each flow's metrics of a day, linked HAS_METRICS from the flow. Metrics of flows the
        project does not have are skipped. Returns how many were written."""

    def list_flow_metrics(
        self, project_id: str, *, since: str, until: str, flow_ids: Sequence[str] | None = None
    ) -> list[FlowMetrics]:
        """The metrics from day `since` to `until` (inclusive, YYYY-MM-DD) of these flows (all when None), by day
        then flow id."""
