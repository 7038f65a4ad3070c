"""Impact graphs kept per commit and derived for the next one: a derived graph always equals a full build, on real
git repositories of every framework (tests/apps.py), after adds, deletes and renames that change how unchanged
files resolve their imports; the kept graphs are never trusted blindly."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from apps import (
    ALL_SINGLE_APP_BUILDERS,
    AppSpec,
    build_monorepo,
    build_nextjs_app,
    build_react_router_app,
    git,
    git_commit_all,
)

from perceo.observer.analyze import analyze_checkout
from perceo.observer.changes import Git, compute_change_delta
from perceo.observer.facts.index import FactIndex
from perceo.observer.impactgraph import (
    ImpactGraph,
    ImpactGraphStore,
    build_impact_graph,
    derive_impact_graph,
    impact_graphs,
)
from perceo.observer.imports import RESOLVE_EXTENSIONS
from perceo.observer.snapshot import RepoSnapshot

BUILDERS: dict[str, Callable[[Path], AppSpec]] = {**ALL_SINGLE_APP_BUILDERS, "monorepo": build_monorepo}


def full_build(repo: Path, ref: str, cache: Path | None = None) -> ImpactGraph:
    with RepoSnapshot.at_ref(repo, ref) as snapshot:
        return build_impact_graph(snapshot, facts=FactIndex(cache))


def reshuffle(repo: Path, graph: ImpactGraph) -> set[str]:
    """Commit a change that adds files where unchanged importers probe (`x.ts` next to an imported `x.tsx`,
    `folder.ts` next to an imported `folder/index.ts`), deletes and renames imported files, and adds a module;
    returns the unchanged importers whose resolution it should change."""
    targets = sorted({t for deps in graph.resolved.values() for t in deps})
    importers = {t: sorted(f for f, deps in graph.resolved.items() if t in deps) for t in targets}
    shadowed: list[str] = []
    for target in targets:
        stem, dot, ext = target.rpartition(".")
        if not dot or "." + ext not in RESOLVE_EXTENSIONS or ext == "ts":
            continue
        shadow = (stem[: -len("/index")] if stem.endswith("/index") else stem) + ".ts"
        if shadow in graph.files or len(shadowed) >= 3:
            continue
        (repo / shadow).parent.mkdir(parents=True, exist_ok=True)
        (repo / shadow).write_text("export const shadow = 1;\nexport default function Shadow() { return null; }\n")
        shadowed.append(target)
    rest = [t for t in targets if t not in shadowed and t.endswith((".ts", ".tsx", ".js", ".vue", ".svelte"))]
    if rest:
        (repo / rest[0]).unlink()
    if len(rest) > 1:
        old = rest[-1]
        new = old.replace("/", "/moved_", 1) if "/" in old else "moved_" + old
        (repo / new).parent.mkdir(parents=True, exist_ok=True)
        git(repo, "mv", old, new)
    # a new module in an existing folder (a new top folder such as `src/` would move the `@/` alias: a new config)
    folder = targets[0].rsplit("/", 1)[0] if "/" in targets[0] else ""
    new_module = f"{folder}/brand_new_module.ts" if folder else "brand_new_module.ts"
    (repo / new_module).write_text('import { shadow } from "./nowhere";\nexport const x = shadow;\n')
    git_commit_all(repo, "reshuffle")
    return {f for t in [*shadowed, *rest[:1]] for f in importers[t]}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_derived_graph_equals_a_full_build_after_files_appear_disappear_and_move(name: str, tmp_path: Path) -> None:
    repo = tmp_path / name
    BUILDERS[name](repo)
    first = git_commit_all(repo, "first")
    base = full_build(repo, first)

    touched = reshuffle(repo, base)
    changed = Git(repo).tree_delta(first, "HEAD")
    with RepoSnapshot.at_ref(repo, "HEAD") as snapshot:
        derived = derive_impact_graph(base, snapshot, list(changed), facts=FactIndex())
    full = full_build(repo, "HEAD")

    assert derived is not None, "the configuration did not change: the graph must be derived"
    assert derived.same_as(full)
    # the derivation had real work: unchanged importers now resolve differently (keeping theirs would be wrong)
    unchanged = [f for f in touched if f not in changed and f in full.files]
    assert any(base.resolved.get(f) != full.resolved.get(f) for f in unchanged)


def test_shadowing_a_folder_index_re_resolves_its_importers(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    build_react_router_app(repo)
    first = git_commit_all(repo, "first")
    base = full_build(repo, first)
    folder_index = next(t for deps in base.resolved.values() for t in deps if t.endswith("/index.ts"))
    (repo / (folder_index[: -len("/index.ts")] + ".ts")).write_text("export const shadow = 1;\n")
    git_commit_all(repo, "a module next to the folder")

    with RepoSnapshot.at_ref(repo, "HEAD") as snapshot:
        derived = derive_impact_graph(base, snapshot, list(Git(repo).tree_delta(first, "HEAD")))
    assert derived is not None and derived.same_as(full_build(repo, "HEAD"))
    moved = {f for f, deps in base.resolved.items() if folder_index in deps}
    assert moved and all(folder_index not in derived.resolved.get(f, []) for f in moved)


def test_a_configuration_change_is_built_not_derived_and_still_equals_a_full_build(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    first = git_commit_all(repo, "first")
    base = full_build(repo, first)
    (repo / "tsconfig.json").write_text('{ "compilerOptions": { "baseUrl": ".", "paths": { "@/*": ["./*"] } } }\n')
    git_commit_all(repo, "aliases point elsewhere")

    with RepoSnapshot.at_ref(repo, "HEAD") as snapshot:
        assert derive_impact_graph(base, snapshot, list(Git(repo).tree_delta(first, "HEAD"))) is None
    change_set, delta = compute_change_delta(repo, first, "HEAD")
    head, kept_base = impact_graphs(repo, change_set, delta, cache_dir=tmp_path / "cache")
    assert kept_base is not None and kept_base.same_as(base)
    assert head.same_as(full_build(repo, "HEAD"))


def test_the_working_tree_graph_is_derived_from_the_head_commit(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    spec = build_nextjs_app(repo)
    git_commit_all(repo, "first")
    base = full_build(repo, "HEAD")
    reshuffle(repo, base)
    git(repo, "reset", "-q", "--soft", "HEAD~1")  # the reshuffle, staged but not committed
    (repo / "src/app/cart/page.tsx").write_text('export { default } from "../../lib/session";\n')  # unstaged
    (repo / "src/untracked.ts").write_text('import "./app/layout";\n')
    assert spec.root == repo

    change_set, delta = compute_change_delta(repo, None, working_tree=True)
    head, _ = impact_graphs(repo, change_set, delta, cache_dir=tmp_path / "cache")
    full = build_impact_graph(RepoSnapshot.working_tree(repo))
    assert head.commit is None and head.same_as(full)
    assert "src/untracked.ts" in head.resolved


def test_analysing_a_second_pair_with_a_warm_cache_equals_a_cold_run(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    main = git_commit_all(repo, "main")
    git(repo, "checkout", "-q", "-b", "feature")
    page = repo / "src/app/cart/page.tsx"
    page.write_text(page.read_text() + "\n// first push\n")
    git_commit_all(repo, "first push")
    cache = tmp_path / "cache"
    analyze_checkout(repo, "main", "feature", cache_dir=cache)  # keeps main's graph

    reshuffle(repo, full_build(repo, main))  # second push: resolution of unchanged files moves
    warm = analyze_checkout(repo, "main", "feature", cache_dir=cache)
    cold = analyze_checkout(repo, "main", "feature")
    assert warm == cold
    assert len(list((cache / "impact").glob("*.graph"))) == 1  # main's graph, reused rather than rebuilt


def test_the_base_graph_is_derived_from_a_kept_graph_of_another_commit(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    git_commit_all(repo, "main")
    cache = tmp_path / "cache"
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "src/lib/extra.ts").write_text("export const extra = 1;\n")
    git_commit_all(repo, "feature")
    analyze_checkout(repo, "main", "feature", cache_dir=cache)

    git(repo, "checkout", "-q", "main")  # main moves on: the next analysis has a new merge base
    reshuffle(repo, full_build(repo, "main"))
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-edit", "main")
    (repo / "src/lib/extra.ts").write_text("export const extra = 2;\n")
    git_commit_all(repo, "feature again")

    warm = analyze_checkout(repo, "main", "feature", cache_dir=cache)
    assert warm == analyze_checkout(repo, "main", "feature")
    main_graph = ImpactGraphStore(cache).load(git(repo, "rev-parse", "main"), "auto")
    assert main_graph is not None and main_graph.same_as(full_build(repo, "main"))


def _analysed(tmp_path: Path) -> tuple[Path, Path, str, Path]:
    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    base = git_commit_all(repo, "main")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "src/lib/types.ts").write_text((repo / "src/lib/types.ts").read_text() + "\nexport type X = 1;\n")
    (repo / "src/lib/session.ts").unlink()
    git_commit_all(repo, "feature")
    cache = tmp_path / "cache"
    analyze_checkout(repo, "main", "feature", cache_dir=cache)
    (graph_file,) = (cache / "impact").glob("*.graph")
    shutil.rmtree(cache / "affected")  # analyse again, not read the pair back
    return repo, cache, base, graph_file


@pytest.mark.parametrize("damage", ["flipped byte", "truncated", "other code version", "other commit's file"])
def test_a_damaged_or_foreign_kept_graph_is_ignored_and_rewritten(damage: str, tmp_path: Path) -> None:
    repo, cache, base, graph_file = _analysed(tmp_path)
    expected = analyze_checkout(repo, "main", "feature")
    raw = bytearray(graph_file.read_bytes())
    if damage == "flipped byte":
        raw[len(raw) // 2] ^= 0xFF
    elif damage == "truncated":
        raw = raw[: len(raw) // 3]
    elif damage == "other code version":
        raw = raw.replace(b"PERCEO-IMPACT-GRAPH\n", b"PERCEO-IMPACT-GRAPX\n")
    else:  # the file of another commit, renamed to this one's name
        other = full_build(repo, "feature")
        ImpactGraphStore(tmp_path / "elsewhere").save(other)
        raw = bytearray(next((tmp_path / "elsewhere" / "impact").glob("*.graph")).read_bytes())
    graph_file.write_bytes(bytes(raw))

    assert ImpactGraphStore(cache).load(base, "auto") is None
    assert analyze_checkout(repo, "main", "feature", cache_dir=cache) == expected
    rewritten = ImpactGraphStore(cache).load(base, "auto")
    assert rewritten is not None and rewritten.same_as(full_build(repo, base))


def test_a_planted_graph_is_used_only_from_a_cache_git_does_not_track(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    build_nextjs_app(repo)
    base = git_commit_all(repo, "main")
    git(repo, "checkout", "-q", "-b", "feature")
    types = repo / "src/lib/types.ts"
    # an export the product card imports (a new export nobody imports would reach no route at all)
    types.write_text(types.read_text().replace("price: number", "price: number; sku?: string"))
    git_commit_all(repo, "feature")
    real = analyze_checkout(repo, "main", "feature")

    graph = full_build(repo, base)
    graph.resolved = {}  # a graph in which nothing imports anything: the change would reach no route
    outside = tmp_path / "outside-cache"
    ImpactGraphStore(outside).save(graph)
    # Positive control: a kept graph is what the analysis starts from ...
    assert analyze_checkout(repo, "main", "feature", cache_dir=outside)[1] == []
    assert real[1]

    tracked = repo / ".perceo" / "cache"
    ImpactGraphStore(tracked).save(graph)
    git(repo, "add", "-f", ".perceo")
    git(repo, "commit", "-q", "-m", "plant a graph")
    # ... but never from a folder git tracks (the pair is still main...feature~0 as analysed before)
    assert analyze_checkout(repo, "main", "feature~1", cache_dir=tracked) == real


def test_a_route_added_to_a_router_config_and_a_page_re_exported_elsewhere_are_seen_by_a_derived_graph(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "shop"
    build_react_router_app(repo)
    first = git_commit_all(repo, "first")
    base = full_build(repo, first)
    app = repo / "src/App.tsx"
    app.write_text(
        app.read_text()
        .replace(
            '<Route path="dashboard" element={<Dashboard />} />',
            '<Route path="dashboard" element={<Dashboard />} />\n<Route path="wishlist" element={<Wishlist />} />',
        )
        .replace(
            'import Home from "./pages/Home";',
            'import Home from "./pages/Home";\nimport { Wishlist } from "./pages/lists";',
        )
    )
    (repo / "src/pages/lists").mkdir()
    (repo / "src/pages/lists/index.ts").write_text('export { default as Wishlist } from "./Wishlist";\n')
    (repo / "src/pages/lists/Wishlist.tsx").write_text("export default function Wishlist() { return null; }\n")
    git_commit_all(repo, "wishlist")

    with RepoSnapshot.at_ref(repo, "HEAD") as snapshot:
        derived = derive_impact_graph(base, snapshot, list(Git(repo).tree_delta(first, "HEAD")))
    full = full_build(repo, "HEAD")
    assert derived is not None and derived.same_as(full)
    wishlist = next(r for r in derived.routes if r.route == "/wishlist")
    assert wishlist.entry_files == ["src/pages/lists/Wishlist.tsx"]
    assert "src/App.tsx" in derived.route_config_files and derived.route_config_files == base.route_config_files
