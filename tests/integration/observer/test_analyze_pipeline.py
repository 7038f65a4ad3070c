"""The analysis pipeline on a real Next.js app (tests/apps.py), a real FalkorDB flow graph and a real Redis bus."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import redis
from apps import AppSpec, build_nextjs_app, git, git_commit_all

from perceo.bus.redis import RedisBus
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import AffectedRoute, ChangeAnalysis, ChangeSet, EventType, Flow, Project
from perceo.observer.analyze import affected_routes_in_checkout, analyze_change, analyze_checkout
from perceo.observer.changes import compute_change_set
from perceo.service import ProjectService
from perceo_cli.context import AppContext
from perceo_cli.local.server import ServerProcess
from perceo_cli.main import main
from perceo_cli.output import Output


@pytest.fixture
def graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    graph = FalkorFlowGraph(f"redis://{falkordb_server.host}:{falkordb_server.port}", f"analyze-{uuid.uuid4().hex}")
    graph.ensure_schema()
    try:
        yield graph
    finally:
        graph.close()


@pytest.fixture
def bus(redis_client: redis.Redis) -> RedisBus:
    return RedisBus(redis_client)


@pytest.fixture
def shop(tmp_path: Path) -> AppSpec:
    spec = build_nextjs_app(tmp_path / "shop")
    git_commit_all(spec.root, "shop")
    return spec


def seed_project(graph: FalkorFlowGraph) -> str:
    project_id = f"p-{uuid.uuid4().hex[:12]}"
    graph.create_project(Project(id=project_id, name="Shop"))
    flows = graph.upsert_flows(
        project_id,
        [
            Flow(project_id=project_id, name="Buy a product", priority="critical"),
            Flow(project_id=project_id, name="Read the docs", priority="low"),
            Flow(project_id=project_id, name="Old browse", priority="high", is_active=False),
        ],
    )
    by_name = {f.name: f.id for f in flows}
    graph.set_flow_pages(project_id, by_name["Buy a product"], ["/", "/products", "/products/42", "/cart", "/checkout"])
    graph.set_flow_pages(project_id, by_name["Read the docs"], ["/", "/docs/getting-started"])
    graph.set_flow_pages(project_id, by_name["Old browse"], ["/products"])
    return project_id


def change_types(spec: AppSpec) -> ChangeSet:
    # a change to the exported type its importers use (an export nobody imports would affect nothing)
    types = spec.root / "src/lib/types.ts"
    types.write_text(types.read_text().replace("price: number }", "price: number; currency?: string }"))
    git_commit_all(spec.root, "types")
    return compute_change_set(spec.root, "HEAD~1", "HEAD")


def test_shared_type_change_puts_the_buying_flow_at_risk_stored_and_published(
    shop: AppSpec, graph: FalkorFlowGraph, bus: RedisBus
) -> None:
    project_id = seed_project(graph)
    change = change_types(shop)
    affected = affected_routes_in_checkout(shop.root, change)

    analysis = analyze_change(project_id, change, affected, graph=graph, bus=bus)

    assert [f.name for f in analysis.flows] == ["Buy a product"]
    flow = analysis.flows[0]
    assert set(flow.affected_pages) == {"/products", "/products/42"}  # a concrete URL matches /products/:id
    assert flow.reasons[0].chain[0] == "src/lib/types.ts"
    assert {r.route for r in flow.reasons} <= {"/products", "/products/:id"}
    stored = graph.get_analysis(project_id, analysis.id)
    assert stored is not None
    assert [f.id for f in stored.flows] == [flow.id]
    assert stored.flows[0].risk_score == flow.risk_score
    assert stored.risk_level == analysis.risk_level
    events = [event for _, event in bus.replay(project_id)]
    assert [e.type for e in events] == [EventType.FLOWS_AFFECTED, EventType.ANALYSIS_COMPLETE]
    assert events[0].data["flows"][0]["name"] == "Buy a product"


def test_pair_cache_is_read_back_for_the_same_commits(shop: AppSpec, tmp_path: Path) -> None:
    change = change_types(shop)
    cache = tmp_path / "cache"
    first = affected_routes_in_checkout(shop.root, change, cache_dir=cache)
    entries = list((cache / "affected").glob("*.json"))
    assert len(entries) == 1
    # Prove the second run reads the entry: plant a marker result in it.
    marker = [AffectedRoute(route="/from-cache")]
    entries[0].write_text(json.dumps([r.model_dump(mode="json") for r in marker]))
    assert affected_routes_in_checkout(shop.root, change, cache_dir=cache) == marker
    assert affected_routes_in_checkout(shop.root, change, cache_dir=tmp_path / "other") == first


def test_a_cache_committed_into_the_repository_is_ignored(shop: AppSpec) -> None:
    change = change_types(shop)
    cache = shop.root / ".perceo" / "cache"
    real = affected_routes_in_checkout(shop.root, change, cache_dir=cache)
    entry = next((cache / "affected").glob("*.json"))
    entry.write_text(json.dumps([{"route": "/planted"}]))
    git(shop.root, "add", "-f", str(entry))
    git(shop.root, "commit", "-q", "-m", "plant a cache entry")
    assert affected_routes_in_checkout(shop.root, change, cache_dir=cache) == real


class ServiceBackend:
    """The CLI's Backend over a ProjectService on the real graph and bus (what LocalBackend does, without
    starting an embedded store of its own)."""

    def __init__(self, service: ProjectService, project_id: str) -> None:
        self.service, self.project_id = service, project_id

    def project(self) -> Project:
        return self.service.get_project(self.project_id)

    def analyze(self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute]) -> ChangeAnalysis:
        return self.service.analyze(self.project_id, change_set, affected_routes)

    def close(self) -> None:
        pass


def test_ci_analyze_with_a_project_maps_flows_and_fails_on_critical(
    shop: AppSpec, graph: FalkorFlowGraph, bus: RedisBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PERCEO_CONFIG_PATH", raising=False)
    project_id = seed_project(graph)
    (shop.root / ".perceo").mkdir()
    (shop.root / ".perceo" / "config.json").write_text(json.dumps({"project": {"id": project_id, "name": "Shop"}}))
    git(shop.root, "checkout", "-q", "-b", "feature")
    cart = shop.root / "src/app/cart/page.tsx"
    cart.write_text(cart.read_text() + "\n// new cart behaviour\n")
    checkout = shop.root / "src/app/checkout/page.tsx"
    checkout.write_text(checkout.read_text() + "\n// new checkout behaviour\n")
    git_commit_all(shop.root, "cart and checkout")

    stdout, stderr = io.StringIO(), io.StringIO()
    context = AppContext(output=Output(stdout, stderr))
    context.use_backend(ServiceBackend(ProjectService(graph, bus), project_id))  # type: ignore[arg-type]
    code = main(
        ["-C", str(shop.root), "ci", "analyze", "--base", "main", "--json", "--fail-on", "high"], context=context
    )

    doc = json.loads(stdout.getvalue())
    assert doc["project"] == {"id": project_id, "name": "Shop"}
    assert [f["name"] for f in doc["flows"]] == ["Buy a product"]
    assert doc["flows"][0]["priority"] == "critical"
    assert set(doc["flows"][0]["affectedPages"]) == {"/cart", "/checkout"}
    assert doc["riskLevel"] in ("high", "critical")
    assert code == 3, stderr.getvalue()
    assert graph.get_analysis(project_id, doc["analysisId"]) is not None


def test_analyze_checkout_reads_the_change_set_and_routes_of_a_known_commit_pair_from_the_cache(
    shop: AppSpec, tmp_path: Path
) -> None:
    change = change_types(shop)
    cache = tmp_path / "cache"
    first_change, first_affected = analyze_checkout(shop.root, "HEAD~1", "HEAD", cache_dir=cache)
    # the same change set, its module annotated with the export the change touched (symbol-level impact)
    (changed,) = first_change.files
    assert changed.symbols == ["Product"] and changed.symbol_importers > 0
    assert first_change.model_copy(update={"files": [change.files[0]]}) == change
    assert changed.model_copy(update={"symbols": None, "symbol_importers": None}) == change.files[0]
    entry = next((cache / "affected").glob("*.change.json"))
    entry.write_text(first_change.model_copy(update={"files": []}).model_dump_json())
    second_change, second_affected = analyze_checkout(shop.root, "HEAD~1", "HEAD", cache_dir=cache)
    assert second_change.files == [] and second_affected == first_affected


def test_only_the_newest_commit_pairs_are_kept(tmp_path: Path) -> None:
    import os

    from perceo.observer.analyze import PAIRS_KEPT, _prune_pairs

    pairs = [f"{n:032x}" for n in range(PAIRS_KEPT + 4)]
    for age, pair in enumerate(pairs):  # pairs[0] is the newest
        for suffix in (".json", ".change.json"):
            entry = tmp_path / f"{pair}{suffix}"
            entry.write_text("[]")
            os.utime(entry, (1_700_000_000 - age, 1_700_000_000 - age))
    _prune_pairs(tmp_path)
    kept = {p.name.split(".", 1)[0] for p in tmp_path.iterdir()}
    assert kept == set(pairs[:PAIRS_KEPT])
    assert len(list(tmp_path.iterdir())) == 2 * PAIRS_KEPT
