"""The in-memory state `perceo watch` keeps between analyses (`perceo.observer.impactmemory`), on real git
repositories (tests/apps.py) analysed in working-tree mode: the base's graph comes from memory until HEAD moves,
route discovery is reused exactly when nothing it read changed and runs again otherwise, and every analysis equals
a memory-less one of the same tree (routes, import graph, affected routes and changed symbols)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apps import build_nextjs_app, build_react_router_app, git, git_commit_all

from perceo.observer.analyze import analyze_checkout
from perceo.observer.changes import compute_change_delta
from perceo.observer.impactgraph import ImpactGraph, impact_graphs
from perceo.observer.impactmemory import FactMemory, ImpactMemory


def analysed(repo: Path, memory: ImpactMemory, cache: Path) -> tuple[ImpactGraph, dict[str, Any]]:
    """The head's graph and the analysis of the working tree with `memory`, after checking both equal those of a
    memory-less analysis (with its own cache: nothing shared)."""
    change_set, delta = compute_change_delta(repo, None, working_tree=True)
    head, base = impact_graphs(repo, change_set, delta, cache_dir=cache, memory=memory)
    plain_head, plain_base = impact_graphs(repo, change_set, delta)
    assert head.same_as(plain_head), "the head graph made with memory differs from a memory-less one"
    assert base is not None and plain_base is not None and base.same_as(plain_base)

    with_memory = analyze_checkout(repo, None, working_tree=True, cache_dir=cache, memory=memory)
    without = analyze_checkout(repo, None, working_tree=True)
    dumped = [(cs.model_dump(), [a.model_dump() for a in affected]) for cs, affected in (with_memory, without)]
    assert dumped[0] == dumped[1], "the analysis made with memory differs from a memory-less one"
    return head, {"files": dumped[0][0]["files"], "affected": {a["route"] for a in dumped[0][1]}}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_next_app_routes_are_reused_until_a_page_appears_and_the_base_is_reloaded_when_head_moves(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    first = git_commit_all(repo, "first")
    git(repo, "branch", "other")
    cache, memory = tmp_path / "cache", ImpactMemory()
    stats = memory.stats

    card = repo / "src/components/ProductCard.tsx"
    edit(card, "<li>", '<li className="one">')
    analysed(repo, memory, cache)  # each `analysed` runs the pipeline twice with the memory
    assert (stats.base_loads, stats.routes_discovered) == (1, 1)
    assert stats.base_reused == 1 and stats.routes_reused == 1

    # (a) a component no discoverer reads: routes reused, the base from memory, its facts too
    edit(card, '"one"', '"two"')
    head, result = analysed(repo, memory, cache)
    assert (stats.base_loads, stats.routes_discovered) == (1, 1)
    assert stats.routes_reused == 3 and stats.base_reused == 3
    assert stats.facts_from_memory > 0
    assert "/products" in result["affected"]

    # (b) a new page: the listing changed, discovery runs again and the route is there
    (repo / "src/app/wishlist").mkdir()
    (repo / "src/app/wishlist/page.tsx").write_text(
        'import { ProductCard } from "@/components/ProductCard";\n'
        "export default function Wishlist() { return <ProductCard />; }\n"
    )
    head, result = analysed(repo, memory, cache)
    assert stats.routes_discovered == 2
    assert any(r.route == "/wishlist" for r in head.routes)
    assert "/wishlist" in result["affected"]

    # (c) a branch switch: HEAD moves, the base is loaded again (the working tree's changes come along)
    git(repo, "checkout", "-q", "other")
    (repo / "src/app/page.tsx").write_text((repo / "src/app/page.tsx").read_text() + "// on other\n")
    git(repo, "commit", "-qam", "other's home")
    loads = stats.base_loads
    head, result = analysed(repo, memory, cache)
    assert stats.base_loads == loads + 1
    assert any(r.route == "/wishlist" for r in head.routes)
    assert git(repo, "rev-parse", "HEAD") != first


def test_react_router_a_route_config_edit_and_a_hash_router_are_never_missed(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    build_react_router_app(repo)
    git_commit_all(repo, "first")
    cache, memory = tmp_path / "cache", ImpactMemory()
    stats = memory.stats

    login = repo / "src/pages/Login.tsx"
    login.write_text(login.read_text() + "export const edited = 1;\n")
    analysed(repo, memory, cache)
    discovered = stats.routes_discovered
    hook = repo / "src/hooks/useSession.ts"  # imported by a page, never read by discovery
    hook.write_text(hook.read_text() + "export const edited = 1;\n")
    analysed(repo, memory, cache)
    assert stats.routes_discovered == discovered and stats.routes_reused >= 2

    # the route config: same path set, same list of route-config files, only its facts differ
    app = repo / "src/App.tsx"
    edit(
        app,
        '<Route path="dashboard" element={<Dashboard />} />',
        '<Route path="dashboard" element={<Dashboard />} />\n<Route path="wishlist" element={<Dashboard />} />',
    )
    head, result = analysed(repo, memory, cache)
    assert stats.routes_discovered == discovered + 1
    assert any(r.route == "/wishlist" for r in head.routes)
    assert "/wishlist" in result["affected"]

    # the entry module, read as text (not as facts) to find the routing mode: routes move to the fragment
    assert not any(r.hash for r in head.routes)
    main = repo / "src/main.tsx"
    edit(main, "<BrowserRouter><App /></BrowserRouter>", "<HashRouter><App /></HashRouter>")
    edit(main, "import { BrowserRouter }", "import { HashRouter }")
    head, _ = analysed(repo, memory, cache)
    assert stats.routes_discovered == discovered + 2
    assert head.routes and all(r.hash for r in head.routes)

    # and back: reuse must not return the hash routes recorded before
    edit(main, "<HashRouter><App /></HashRouter>", "<BrowserRouter><App /></BrowserRouter>")
    edit(main, "import { HashRouter }", "import { BrowserRouter }")
    head, _ = analysed(repo, memory, cache)
    assert not any(r.hash for r in head.routes)


def test_fact_memory_keeps_the_most_recently_used_entries() -> None:
    from perceo.observer.facts.model import FileFacts

    memory = FactMemory(limit=3)
    for key in ("a", "b", "c"):
        memory[key] = FileFacts()
    assert memory["a"] is not None  # used: now the newest
    memory["d"] = FileFacts()
    assert sorted(memory) == ["a", "c", "d"]


def test_the_watcher_keeps_its_memory_between_settled_changes(tmp_path: Path) -> None:
    """`Watcher.settle` as `perceo watch` calls it for each burst (the burst's paths handed over directly: the OS
    file events are exercised by tests/integration/cli/test_watch_cli.py)."""
    from perceo_cli.watch import Watcher, WatchSettings

    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    git_commit_all(repo, "first")
    settings = WatchSettings(
        root=repo,
        paths=(),
        ignore=(),
        debounce_ms=100,
        analyze=True,
        framework="auto",
        cache_dir=tmp_path / "cache",
    )
    watcher = Watcher(settings, project_id="p", flows=None)
    card = repo / "src/components/ProductCard.tsx"
    routes = []
    for label in ("one", "two", "three"):
        edit(card, "<li", f'<li data-edit="{label}"')
        result = watcher.settle([str(card)])
        assert result is not None and result.error is None and result.analysis is not None
        routes.append({r.route for r in result.analysis.affected_routes})
    assert watcher.memory is not None
    stats = watcher.memory.stats
    assert (stats.base_loads, stats.base_reused) == (1, 2)
    assert (stats.routes_discovered, stats.routes_reused) == (1, 2)
    assert routes[0] == routes[1] == routes[2] and "/products" in routes[0]
    plain = analyze_checkout(repo, None, working_tree=True)
    assert {r.route for r in plain[1]} == routes[2]
