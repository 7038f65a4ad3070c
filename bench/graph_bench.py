"""Flow graph on the embedded FalkorDB: bulk upsert of a large project and the impact lookup.

Starts its own FalkorDB (`perceo_cli.local.server.start_server`, a temp dir, no persistence) and, per run, a
fresh graph with the schema in place:

- upsert: 2,000 pages, 1,000 flows, each flow's VISITS edges (5 pages per flow) and 10 steps per flow
  (10,000 steps, HAS_STEP + NEXT) through `FalkorFlowGraph`'s batch methods (`upsert_pages`, `upsert_flows`,
  `set_pages_of_flows`, `replace_steps_of_flows`); then the VISITS and steps again through the single-flow
  port methods (`set_flow_pages`, `replace_steps`: one query per flow), for comparison;
- lookup: `flows_visiting` for 100 routes (active flows visiting any of them, with all their pages).
- reads: `list_flows` without and with steps, one `list_flows_page` of 100 (what `GET /flows` reads), and what
  change analysis reads (`matchable_routes` + `flows_at_routes` for 3 routes, against `list_flows` of every flow,
  which it read before). Baselines: the same LIST_FLOWS query decoded by the falkordb client's `QueryResult`
  (the adapter's old path) and the flows read as `properties(f)` maps instead of columns.

Baselines measured in the same run, on the same server:
- a raw single `UNWIND … CREATE` of the same 13,000 nodes (no edges, no keys) in one query;
- the Redis PING round trip (the floor under every per-flow query).

Targets: upsert < 5 s, lookup < 50 ms. Median of `--runs` runs (default 5).

Run: .venv/bin/python bench/graph_bench.py [--runs N] [--flows N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from falkordb import FalkorDB
from redis.utils import HIREDIS_AVAILABLE

from perceo.graph import queries as q
from perceo.graph.falkor import FalkorFlowGraph, _plain
from perceo.models import ExpectedState, Flow, Page, Project, Step, StepAction
from perceo_cli.local.server import start_server, stop_server

STEPS_PER_FLOW = 10
PAGES_PER_FLOW = 5
LOOKUP_ROUTES = 100
LOOKUP_REPEATS = 20
READ_REPEATS = 9
#: The flows as `properties(f)` maps (how LIST_FLOWS read them before it returned one column per property).
LIST_FLOWS_AS_MAPS = "MATCH (f:Flow {projectId: $projectId}) RETURN properties(f) AS flow ORDER BY f.name"


def build(project_id: str, flows: int) -> tuple[list[Page], list[Flow], dict[str, list[str]], dict[str, list[Step]]]:
    pages = [
        Page(project_id=project_id, route=f"/section-{n % 40}/page-{n}", files=[f"app/section-{n % 40}/page-{n}.tsx"])
        for n in range(flows * 2)
    ]
    flow_models = [
        Flow(project_id=project_id, name=f"Flow {n:05d}", description=f"journey {n}", priority="high")
        for n in range(flows)
    ]
    routes = {
        f.name: [pages[(i * 7 + k * 13) % len(pages)].route for k in range(PAGES_PER_FLOW)]
        for i, f in enumerate(flow_models)
    }
    steps = {
        f.name: [
            Step(
                flow_id=f.id,
                order=k,
                name=f"step {k} of {f.name}",
                actions=[StepAction(type="click", target=f"#cta-{k}"), StepAction(type="fill", target="#q", value="x")],
                expected_state=ExpectedState(url=routes[f.name][k % PAGES_PER_FLOW], visible=[f"#panel-{k}"]),
            )
            for k in range(1, STEPS_PER_FLOW + 1)
        ]
        for f in flow_models
    }
    return pages, flow_models, routes, steps


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def one_run(client: FalkorDB, flows: int) -> dict[str, float]:
    graph = FalkorFlowGraph(client, f"bench-{uuid.uuid4().hex[:10]}")
    graph.ensure_schema()
    project = graph.create_project(Project(name="Bench"))
    pages, flow_models, routes, steps = build(project.id, flows)
    figures: dict[str, float] = {}

    started = time.perf_counter()
    figures["pages"] = timed(lambda: graph.upsert_pages(project.id, pages))
    stored: list[Flow] = []
    figures["flows"] = timed(lambda: stored.extend(graph.upsert_flows(project.id, flow_models)))
    figures["visits"] = timed(lambda: graph.set_pages_of_flows(project.id, {f.id: routes[f.name] for f in stored}))
    figures["steps"] = timed(lambda: graph.replace_steps_of_flows(project.id, {f.id: steps[f.name] for f in stored}))
    figures["upsert"] = time.perf_counter() - started

    # The same again, one query per flow through the single-flow port methods (what reconcile does today).
    started = time.perf_counter()
    figures["visits_per_flow"] = timed(lambda: [graph.set_flow_pages(project.id, f.id, routes[f.name]) for f in stored])
    figures["steps_per_flow"] = timed(lambda: [graph.replace_steps(project.id, f.id, steps[f.name]) for f in stored])
    figures["per_flow"] = time.perf_counter() - started

    counts = graph._read("MATCH (s:Step {projectId: $projectId}) RETURN count(s) AS steps", {"projectId": project.id})[
        0
    ]["steps"]
    assert counts == flows * STEPS_PER_FLOW, counts

    lookup_routes = [p.route for p in pages[:: max(1, len(pages) // LOOKUP_ROUTES)]][:LOOKUP_ROUTES]
    found = graph.flows_visiting(project.id, lookup_routes)
    assert found, "the lookup found no flow"
    lookups = [timed(lambda: graph.flows_visiting(project.id, lookup_routes)) for _ in range(LOOKUP_REPEATS)]
    figures["lookup"] = statistics.median(lookups)
    figures["lookup_flows"] = len(found)

    figures.update(reads(client, graph, project.id, [p.route for p in pages[:3]]))

    nodes = len(pages) + len(flow_models) + flows * STEPS_PER_FLOW
    raw = client.select_graph(f"bench-raw-{uuid.uuid4().hex[:10]}")
    figures["raw_create"] = timed(
        lambda: raw.query("UNWIND range(1, $n) AS i CREATE (:Node {id: i, name: 'node ' + toString(i)})", {"n": nodes})
    )
    pings = 1000
    figures["ping"] = timed(lambda: [client.connection.ping() for _ in range(pings)]) / pings
    raw.delete()
    client.connection.delete(graph.graph_name)
    return figures


def reads(client: FalkorDB, graph: FalkorFlowGraph, project_id: str, routes: list[str]) -> dict[str, float]:
    """Median seconds of each read path (READ_REPEATS calls each)."""

    def median_of(action: Callable[[], object]) -> float:
        action()  # warm: plan cache
        return statistics.median(timed(action) for _ in range(READ_REPEATS))

    page = graph.list_flows_page(project_id, limit=100)
    params = {"projectId": project_id}

    def client_decoded() -> object:
        result = graph._graph.ro_query(q.LIST_FLOWS, params)
        return [{n[1]: _plain(v) for n, v in zip(result.header, row, strict=True)} for row in result.result_set]

    def analysis_reads() -> object:
        matched = [route for route in graph.matchable_routes(project_id) if route in routes]
        return graph.flows_at_routes(project_id, matched)

    return {
        "list": median_of(lambda: graph.list_flows(project_id)),
        "list_steps": median_of(lambda: graph.list_flows(project_id, include_steps=True)),
        "page": median_of(lambda: graph.list_flows_page(project_id, limit=100)),
        "page_next": median_of(lambda: graph.list_flows_page(project_id, limit=100, after=page.next_after)),
        "analysis_reads": median_of(analysis_reads),
        "analysis_flows": len(analysis_reads()),  # type: ignore[arg-type]
        "list_rows": median_of(lambda: graph._read(q.LIST_FLOWS, params)),
        "list_rows_client": median_of(client_decoded),
        "list_rows_maps": median_of(lambda: graph._read(LIST_FLOWS_AS_MAPS, params)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--flows", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="perceo-graph-bench-") as tmp:
        server = start_server(Path(tmp), persistent=False)
        try:
            with FalkorDB(host=server.host, port=server.port) as client:
                runs = [one_run(client, args.flows) for _ in range(args.runs)]
        finally:
            stop_server(server.pid)

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    flows = args.flows
    parser = "hiredis" if HIREDIS_AVAILABLE else "pure-Python (pip install hiredis for ~2-3x faster reads)"
    print(f"flow graph on embedded FalkorDB, median of {args.runs} runs; redis reply parser: {parser}")
    print(f"  data: {flows} flows, {flows * STEPS_PER_FLOW} steps, {flows * 2} pages, {flows * PAGES_PER_FLOW} VISITS")
    print(f"  upsert, batched         {median('upsert'):8.3f} s   (target < 5 s)")
    print(f"    pages                 {median('pages'):8.3f} s   upsert_pages")
    print(f"    flows                 {median('flows'):8.3f} s   upsert_flows")
    print(f"    visits                {median('visits'):8.3f} s   set_pages_of_flows")
    print(f"    steps                 {median('steps'):8.3f} s   replace_steps_of_flows")
    print(f"  visits + steps again, one query per flow (set_flow_pages, replace_steps) x {flows}")
    print(f"    visits                {median('visits_per_flow'):8.3f} s")
    print(f"    steps                 {median('steps_per_flow'):8.3f} s")
    print(f"  lookup, {LOOKUP_ROUTES} routes       {median('lookup') * 1000:8.2f} ms  (target < 50 ms)")
    print(f"    flows_visiting -> {int(median('lookup_flows'))} flows with pages; median of {LOOKUP_REPEATS} per run")
    ms = 1000
    print(f"  reads, {flows} flows (median of {READ_REPEATS} per run)")
    print(f"    list_flows                     {median('list') * ms:8.2f} ms  personas, pages, connections")
    print(f"    list_flows(include_steps=True) {median('list_steps') * ms:8.2f} ms  + {flows * STEPS_PER_FLOW} steps")
    print(f"    list_flows_page(limit=100)     {median('page') * ms:8.2f} ms  first page (GET /flows)")
    print(f"    list_flows_page, after a key   {median('page_next') * ms:8.2f} ms  second page")
    print(
        f"    matchable_routes + flows_at_routes {median('analysis_reads') * ms:8.2f} ms  3 routes -> "
        f"{int(median('analysis_flows'))} flows (change analysis; it read list_flows before)"
    )
    print(f"    LIST_FLOWS rows, this adapter's reader      {median('list_rows') * ms:8.2f} ms")
    print(f"    LIST_FLOWS rows, falkordb client's decoder  {median('list_rows_client') * ms:8.2f} ms  (baseline)")
    print(f"    flows as properties(f) maps, this reader    {median('list_rows_maps') * ms:8.2f} ms  (baseline)")
    print("  baselines (same server, same run)")
    nodes = flows * (STEPS_PER_FLOW + 3)
    print(f"    raw UNWIND CREATE of {nodes} bare nodes, one query {median('raw_create'):8.3f} s")
    print(f"    PING round trip                                {median('ping') * 1e6:8.1f} µs")
    floor = 2 * flows * median("ping")
    print(f"    {2 * flows} round trips (the per-flow path's floor) {floor:8.3f} s")


if __name__ == "__main__":
    main()
