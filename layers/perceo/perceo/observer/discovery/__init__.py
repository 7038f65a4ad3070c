"""Route, navigation and import discovery for the web apps in a repository snapshot.

`discover(snapshot)` finds the apps (the root, or each workspace package that is a web app), detects each
one's framework, lists its routes with their entry and layout files, resolves the import graph of every
source file and links routes through the navigation found in code.

With a `cache_dir`, per-file facts are cached by blob SHA (a warm run parses only what changed) and whole
results by a digest of the tree's content (the same tree again costs a hash and one JSON load).
"""

from __future__ import annotations

import gc
import logging
import posixpath
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from perceo.errors import ValidationFailed
from perceo.observer.discovery.angular import discover_angular
from perceo.observer.discovery.cache import GraphCache, ResultCache, resolution_digest, snapshot_digest
from perceo.observer.discovery.codeconfig import discover_react_router, discover_vue
from perceo.observer.discovery.context import AppScan, merge_routes
from perceo.observer.discovery.detect import FRAMEWORKS, detect_in_layout
from perceo.observer.discovery.navigation import build_navigation
from perceo.observer.discovery.nextjs import discover_nextjs
from perceo.observer.discovery.nuxt import auto_imported_components, discover_nuxt
from perceo.observer.discovery.patterns import join_route
from perceo.observer.discovery.remix import discover_remix
from perceo.observer.discovery.sveltekit import discover_sveltekit
from perceo.observer.discovery.viteconfig import vite_aliases
from perceo.observer.facts.index import FactIndex, FactStats
from perceo.observer.facts.model import FileFacts
from perceo.observer.facts.script import Extractor
from perceo.observer.hashrouting import HASH_CAPABLE, setup_candidates, uses_hash_routing
from perceo.observer.imports import ImportGraph, ImportResolver, build_import_graph
from perceo.observer.model import AppInfo, DiscoveryResult, RouteEntry
from perceo.observer.project import ProjectLayout
from perceo.observer.snapshot import RepoSnapshot

__all__ = ["FRAMEWORKS", "FactStats", "detect_framework", "discover", "discover_routes"]

logger = logging.getLogger(__name__)

Discoverer = Callable[[AppScan], list[RouteEntry]]

DISCOVERERS: dict[str, Discoverer] = {
    "nextjs": discover_nextjs,
    "remix": discover_remix,
    "react-router": discover_react_router,
    "react": discover_react_router,
    "vue": discover_vue,
    "nuxt": discover_nuxt,
    "sveltekit": discover_sveltekit,
    "angular": discover_angular,
}

#: Frameworks whose presence alone makes a package an app (libraries depend on react/vue too).
_APP_FRAMEWORKS = frozenset({"nextjs", "remix", "nuxt", "sveltekit", "angular"})
_APP_MARKERS = (
    "index.html",
    "public/index.html",
    "src/index.html",
    "vite.config.ts",
    "vite.config.js",
    "vite.config.mjs",
    "webpack.config.js",
    "craco.config.js",
    "vue.config.js",
    "rsbuild.config.ts",
)


def detect_framework(snapshot: RepoSnapshot, app_root: str = "") -> str:
    """The framework of the app at `app_root`: one of nextjs, remix, react-router, react, vue, nuxt,
    sveltekit, angular, unknown."""
    return detect_in_layout(ProjectLayout(snapshot), app_root.strip("/"))


def discover(
    snapshot: RepoSnapshot,
    *,
    framework: str = "auto",
    cache_dir: Path | None = None,
    route_prefixes: Mapping[str, str] | None = None,
    stats: FactStats | None = None,
    workers: int | None = None,
) -> DiscoveryResult:
    """Routes, navigation and imports of every web app in `snapshot`.

    `framework` forces one framework for every app instead of detecting it. `route_prefixes` maps an app
    root (`apps/admin`) to a URL prefix (`/admin`) for its routes; nothing is prefixed by default.
    `stats`, when given, is filled with how many files were parsed versus read from the cache
    (`result_cached` when the whole result for this exact tree came from `cache_dir`).
    """
    if framework != "auto" and framework not in FRAMEWORKS:
        raise ValidationFailed(
            f"unknown framework {framework!r}; expected auto or one of {', '.join(FRAMEWORKS)}",
            details={"framework": framework},
        )
    with paused_collector():
        return _discover(snapshot, framework, cache_dir, route_prefixes, stats, workers)


@contextmanager
def paused_collector() -> Iterator[None]:
    """Discovery allocates millions of small acyclic objects (facts, graph lists); the cyclic garbage
    collector would rescan them over and over, which costs more than the work itself on large repos."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _discover(
    snapshot: RepoSnapshot,
    framework: str,
    cache_dir: Path | None,
    route_prefixes: Mapping[str, str] | None,
    stats: FactStats | None,
    workers: int | None,
) -> DiscoveryResult:
    results = ResultCache(cache_dir)
    key = snapshot_digest(snapshot, framework, route_prefixes) if cache_dir is not None else ""
    cached = results.load(key) if key else None
    if cached is not None:
        if stats is not None:
            stats.result_cached = True
        return cached
    result = _discover_uncached(snapshot, framework, cache_dir, route_prefixes, stats, workers)
    if key:
        results.save(key, result)
    return result


def _discover_uncached(
    snapshot: RepoSnapshot,
    framework: str,
    cache_dir: Path | None,
    route_prefixes: Mapping[str, str] | None,
    stats: FactStats | None,
    workers: int | None,
) -> DiscoveryResult:
    files = snapshot.files()
    layout = ProjectLayout(snapshot, files)
    apps = find_apps(layout, framework)

    index = FactIndex(cache_dir, workers=workers)
    facts = index.collect(files, snapshot.blob_sha, snapshot.read_bytes)
    try:
        index.save(complete=True)
    except OSError as exc:  # a read-only checkout still gets a result
        logger.warning("could not write the facts cache under %s: %s", cache_dir, exc)
    if stats is not None:
        stats.files, stats.cached, stats.parsed = index.stats.files, index.stats.cached, index.stats.parsed

    aliases = app_aliases(layout, apps, index.extractor)
    resolver = ImportResolver(layout, aliases)
    graph = _import_graph(snapshot, facts, resolver, aliases, cache_dir)

    found = discover_routes(
        layout,
        apps,
        facts,
        resolver,
        route_config_files=files_with_route_configs(facts),
        tagged_files=files_with_tags(facts),
    )
    for file, components in found.auto_imports.items():
        graph.imports[file] = sorted({*graph.imports.get(file, []), *components})
    routes, warnings = found.routes, found.warnings

    navigation = build_navigation(routes, facts, graph.imports, route_prefixes or {})
    if navigation.unmatched:
        sample = ", ".join(sorted(navigation.unmatched)[:5])
        warnings.append(f"{len(navigation.unmatched)} navigation target(s) match no route: {sample}")
    if route_prefixes:
        routes = _prefix_routes(routes, route_prefixes)

    frameworks = sorted({app.framework for app in apps})
    return DiscoveryResult(
        framework=frameworks[0] if len(frameworks) == 1 else ("unknown" if not frameworks else "mixed"),
        apps=apps,
        routes=routes,
        navigation=navigation.edges,
        imports=graph.imports,
        packages=graph.packages,
        warnings=[*layout.warnings, *warnings],
    )


@dataclass
class RouteDiscovery:
    routes: list[RouteEntry]
    #: file -> component files its template uses without importing them (Nuxt, unplugin-vue-components).
    auto_imports: dict[str, list[str]]
    warnings: list[str]


def discover_routes(
    layout: ProjectLayout,
    apps: list[AppInfo],
    facts: Mapping[str, FileFacts],
    resolver: ImportResolver,
    *,
    route_config_files: list[str],
    tagged_files: list[str],
) -> RouteDiscovery:
    """Routes of every app (merged), and the component edges auto-imports add to the import graph.

    `facts` is only asked for the files discoverers look at (route files, route configs and what they import,
    tagged Vue files), so it may load them lazily; `route_config_files` and `tagged_files` list the files whose
    facts hold route-config trees and template tags.
    """
    warnings: list[str] = []
    routes: list[RouteEntry] = []
    auto_imports: dict[str, list[str]] = {}
    app_roots = [app.root for app in apps]
    for app in apps:
        scan = AppScan(
            app=app,
            files=_app_files(layout.files, app.root, app_roots),
            facts=facts,
            resolver=resolver,
            layout=layout,
            snapshot=layout.snapshot,
            warnings=warnings,
            route_config_files=_app_files(route_config_files, app.root, app_roots),
            tagged_files=_app_files(tagged_files, app.root, app_roots),
        )
        discoverer = DISCOVERERS.get(app.framework)
        if discoverer is not None:
            found = discoverer(scan)
            if found and app.framework in HASH_CAPABLE and _routes_in_hash(scan):
                found = [route.model_copy(update={"hash": True}) for route in found]
            routes.extend(found)
        if app.framework in ("nuxt", "vue"):
            for file, components in auto_imported_components(scan).items():
                auto_imports[file] = sorted({*auto_imports.get(file, []), *components})
    return RouteDiscovery(merge_routes(routes), auto_imports, warnings)


def _routes_in_hash(scan: AppScan) -> bool:
    """Whether the app's router keeps routes in the URL's fragment (see `hashrouting`)."""
    for path in setup_candidates(scan.root, scan.files, scan.route_config_files):
        try:
            text = scan.snapshot.read_text(path)
        except (OSError, KeyError):  # unreadable (a file warning says so) or gone
            continue
        if uses_hash_routing(text):
            return True
    return False


def files_with_route_configs(facts: Mapping[str, FileFacts]) -> list[str]:
    """Files whose facts hold route-config trees, sorted."""
    return sorted(path for path, file_facts in facts.items() if file_facts.routes)


def files_with_tags(facts: Mapping[str, FileFacts]) -> list[str]:
    """Files whose facts list template component tags, sorted."""
    return sorted(path for path, file_facts in facts.items() if file_facts.tags)


def app_aliases(
    layout: ProjectLayout, apps: list[AppInfo], extractor: Callable[[], Extractor]
) -> dict[str, list[tuple[str, str]]]:
    """app root -> its path aliases: the Vite config's `resolve.alias`, then the framework defaults. `extractor`
    is called only when an app has a Vite config (building one compiles every tree-sitter query)."""
    return {app.root: [*vite_aliases(layout, extractor, app.root), *default_aliases(layout, app)] for app in apps}


def _import_graph(
    snapshot: RepoSnapshot,
    facts: Mapping[str, FileFacts],
    resolver: ImportResolver,
    aliases: Mapping[str, list[tuple[str, str]]],
    cache_dir: Path | None,
) -> ImportGraph:
    """The import graph, reusing the resolutions of unchanged files from a run with the same context."""
    if cache_dir is None:
        return build_import_graph(facts, resolver)
    graphs = GraphCache(cache_dir)
    key = resolution_digest(snapshot, aliases)
    previous = graphs.load(key)
    graph = build_import_graph(facts, resolver, previous=previous, blob_sha=snapshot.blob_sha)
    entries = {
        path: [snapshot.blob_sha(path), graph.imports.get(path, []), graph.packages.get(path, [])]
        for path, file_facts in facts.items()
        if file_facts.imports
    }
    if entries != previous:
        graphs.save(key, entries)
    return graph


def find_apps(layout: ProjectLayout, framework: str = "auto") -> list[AppInfo]:
    """The web apps of the repository: workspace packages that are apps, else the root."""
    candidates = [""] + [d for d in layout.workspace_dirs if d]
    if not layout.workspace_dirs and (layout.package("") is None or detect_in_layout(layout, "") == "unknown"):
        # No workspaces and no app at the root (no manifest, or one without a framework): apps may sit in
        # sub-folders (`frontend/`, `web/`, `apps/react-vite/`).
        candidates += [d for d in layout.package_dirs if d and d.count("/") < 3]
    apps: list[AppInfo] = []
    for root in candidates:
        detected = detect_in_layout(layout, root)
        if detected == "unknown" or (root and not _looks_like_app(layout, root, detected)):
            continue
        if root == "" and layout.workspace_dirs and detected not in _APP_FRAMEWORKS:
            continue  # a monorepo root with react in devDependencies is not an app
        apps.append(AppInfo(root=root, name=_app_name(layout, root), framework=detected))
    if not apps:
        apps.append(AppInfo(root="", name=_app_name(layout, ""), framework="unknown"))
    if framework != "auto":
        apps = [app.model_copy(update={"framework": framework}) for app in apps]
    return apps


def default_aliases(layout: ProjectLayout, app: AppInfo) -> list[tuple[str, str]]:
    """Aliases a framework defines without tsconfig (`$lib`, Nuxt's `~`/`@`), plus the common `@/` -> src."""

    def path(relative: str) -> str:
        return posixpath.join(app.root, relative) if app.root else relative

    def has_dir(relative: str) -> bool:
        prefix = path(relative) + "/"
        return any(f.startswith(prefix) for f in layout.files)

    aliases: list[tuple[str, str]] = []
    if app.framework == "sveltekit":
        aliases.append(("$lib", path("src/lib")))
    if app.framework == "nuxt":
        src_dir = path("app") if has_dir("app/pages") or has_dir("app/components") else path("")
        aliases += [("~~/", path("")), ("@@/", path("")), ("~/", src_dir), ("@/", src_dir)]
    src = path("src") if has_dir("src") else path("")
    aliases += [("@/", src), ("~/", path("app") if app.framework == "remix" else src)]
    return aliases


def _looks_like_app(layout: ProjectLayout, root: str, framework: str) -> bool:
    if framework in _APP_FRAMEWORKS:
        return True
    prefix = root + "/"
    return any(prefix + marker in layout.file_set for marker in _APP_MARKERS)


def _app_name(layout: ProjectLayout, root: str) -> str:
    package = layout.package(root)
    if package is not None and package.name:
        return package.name
    if root:
        return root.rsplit("/", 1)[-1]
    return layout.snapshot.root.resolve().name or "app"


def _app_files(files: list[str], root: str, app_roots: list[str]) -> list[str]:
    nested = tuple(r + "/" for r in app_roots if r != root and (not root or r.startswith(root + "/")))
    prefix = root + "/" if root else ""
    if nested:
        return [f for f in files if f.startswith(prefix) and not f.startswith(nested)]
    return [f for f in files if f.startswith(prefix)] if prefix else files


def _prefix_routes(routes: list[RouteEntry], prefixes: Mapping[str, str]) -> list[RouteEntry]:
    return [
        route.model_copy(update={"route": join_route(prefixes[route.app], route.route)})
        if prefixes.get(route.app)
        else route
        for route in routes
    ]


def facts_for(snapshot: RepoSnapshot, cache_dir: Path | None = None) -> dict[str, FileFacts]:
    """Per-file facts of a snapshot (cached by blob SHA), for callers that need more than the result."""
    index = FactIndex(cache_dir)
    facts = index.collect(snapshot.files(), snapshot.blob_sha, snapshot.read_bytes)
    index.save()
    return facts
