"""Impact: from changed files to the routes and flows they put at risk, each with the chain of reasons.

A changed file affects a route when the route's entry or layout files import it, directly or through other files
(the reverse import closure). Every affected route carries its reasons: for each changed file that reaches it, the
shortest chain of files from the change to the route file (`Reason{changed_file, chain, kind}`), where `kind` is

- `entry`: the changed file is the route's own entry file;
- `layout`: the chain ends at a layout/template wrapping the route (a layout change affects every route under it);
- `import`: the chain ends at the route's entry file through imports;
- `dependency`: a dependency manifest or lockfile changed a package that a file on the chain imports
  (`chain = [lockfile, importing file, …, route file]`); a bump affects only the importers of that package;
- `global`: a file that shapes the whole app without being imported — tsconfig/jsconfig, framework and build
  config, `.env*` files, global stylesheets, `_app`/`_document`, middleware — affects every route of its app
  (app-scoped in monorepos: a file under `apps/web/` reaches the routes of `apps/web` only);
- `shell`: the app shell of a single-page app — its entry (`src/main.tsx`, `src/index.tsx`), root component
  (`App`, `app.component.ts`, `app.config.ts`) and what they import outside every route (providers, store setup,
  global styles, i18n) — affects every route of its app;
- `route`: a route table (`router.ts`, `app.routes.ts`, a `<Routes>` tree) changed this route's definition.

A route's code is its entry files' forward import closure plus the layouts that wrap it. A route table is not a
layout: the import edges from a file that declares routes to the components of routes are not followed (the
table imports every page; a change to one page is not a change to the others), and a change to a route table
affects the routes whose definition differs between base and head (added, removed, or with another path,
component or option) — every route it declares when there is no base to compare with.

Deleted files and the old path of a rename are looked up in the BASE graph (what imported them before the
change); everything else in the HEAD graph (a `CodeGraph`: a `DiscoveryResult` or an `impactgraph.ImpactGraph`).
The search costs one reverse walk per graph whatever the number of changed files (see `_ImportSearch`). A route
that exists only at base (its page was deleted) is affected too. A rename is reported under its new path, with the
chain starting at the old one.

Flows are matched to affected routes by route pattern, segment by segment (`/users/:id` matches `/users/[id]` and
`/users/42`): never by substring or keyword, so `/` does not match every page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from perceo.models import AffectedRoute, ChangedFile, ChangeSet, ImpactedFlow, Reason
from perceo.observer.manifests import ManifestChange, is_dependency_file
from perceo.observer.risk import churn_of, flow_risk, reason_confidence, route_confidence
from perceo.observer.routematch import route_segments, routes_match
from perceo.observer.symbols import SymbolScope, SymbolSeed

if TYPE_CHECKING:  # the flow and discovery models load only where flows are matched or routes discovered
    from perceo.models import FlowView
    from perceo.observer.model import RouteEntry

#: Reasons kept per affected route and per flow (nearest first); `files` always lists every changed file.
MAX_REASONS = 20
_KIND_RANK = {"entry": 0, "route": 1, "layout": 2, "import": 3, "dependency": 4, "shell": 5, "global": 6}
#: Frameworks whose app shell (entry, root component) is code outside every route; file-system routers' shells are
#: their root layouts, which are already every page's layout.
_SHELL_FRAMEWORKS = frozenset({"react-router", "react", "vue", "angular", "unknown"})
_SHELL_ROOTS = tuple(
    f"{folder}{stem}.{ext}"
    for folder in ("src/", "")
    for stem in ("main", "index", "App", "app")
    for ext in ("tsx", "ts", "jsx", "js", "mjs", "vue")
) + (
    "src/app/app.component.ts",
    "src/app/app.ts",
    "src/app/app.config.ts",
    "src/app/app.module.ts",
    "src/app/index.tsx",
    "src/app/provider.tsx",
    "src/app/providers.tsx",
    "src/app/app.tsx",
)

_CONFIG_FILE = re.compile(
    r"^(next|vite|vitest|remix|astro|svelte|nuxt|vue|webpack|rollup|rspack|rsbuild|babel|postcss|tailwind|"
    r"react-router|gatsby|craco|qwik|solid|turbo|modern)\.config\.(js|cjs|mjs|ts|cts|mts|json)$"
)
_GLOBAL_NAMES = frozenset(
    {
        "angular.json",
        "project.json",
        ".babelrc",
        ".babelrc.json",
        ".browserslistrc",
        ".postcssrc",
        ".postcssrc.json",
        ".swcrc",
        "vercel.json",
        "netlify.toml",
        "index.html",
    }
)
_GLOBAL_STEMS = frozenset({"_app", "_document", "middleware", "instrumentation"})
_GLOBAL_STYLE = re.compile(r"^_?globals?\.(css|scss|sass|less|styl)$")
#: Documentation of the variables an app reads, never loaded by it.
_ENV_EXAMPLES = frozenset({".env.example", ".env.sample", ".env.template", ".env.dist"})
_SOURCE_SUFFIXES = frozenset({".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".mts", ".cts"})


def is_global_file(path: str) -> bool:
    """True for files that shape the whole app without being imported (see the module docstring)."""
    name = PurePosixPath(path).name
    if name in _GLOBAL_NAMES or _CONFIG_FILE.match(name) or _GLOBAL_STYLE.match(name):
        return True
    if name == ".env" or (name.startswith(".env.") and name not in _ENV_EXAMPLES):
        return True
    if (name.startswith("tsconfig") or name.startswith("jsconfig")) and name.endswith(".json"):
        return True
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    return stem in _GLOBAL_STEMS and suffix in _SOURCE_SUFFIXES


def _directory(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


def _is_under(path: str, directory: str) -> bool:
    return directory == "" or path == directory or path.startswith(directory + "/")


def _in_scope(route: RouteEntry, scope: str) -> bool:
    """A file in `scope` reaches the route when the route's app is under it, or it is inside the route's app."""
    return _is_under(route.app, scope) or _is_under(scope, route.app)


class CodeGraph(Protocol):
    """What impact needs from a tree: a `DiscoveryResult` or an `impactgraph.ImpactGraph`."""

    @property
    def routes(self) -> Sequence[RouteEntry]: ...

    @property
    def imports(self) -> Mapping[str, Sequence[str]]: ...

    @property
    def packages(self) -> Mapping[str, Sequence[str]]: ...


@dataclass(frozen=True)
class _Origin:
    """Where a seed of the import search comes from: a changed file, or a package bump in a manifest."""

    changed_file: str
    prefix: tuple[str, ...]  # files before the seed in the chain ([lockfile] for a dependency)
    kind: str | None  # forces the reason's kind ("dependency"), else it follows from the route file
    #: symbol-level impact: the changed exports the seed imports, and the reason in words
    symbols: tuple[str, ...] = ()
    detail: str | None = None


#: A reason before its chain is built: the chain itself (global reasons), or where to find it in a search.
_PendingChain = list[str] | tuple["_ImportSearch", str, int, int]


@dataclass
class _RouteHits:
    entry: RouteEntry
    #: changed file -> (order, pending chain, kind) of the best reason found so far; chains are built for the
    #: reasons kept only, which matters when a thousand changed files reach hundreds of routes
    reasons: dict[str, tuple[tuple[int, int], _PendingChain, str]] = field(default_factory=dict)

    def offer(self, changed_file: str, length: int, kind: str, chain: _PendingChain) -> None:
        order = (length, _KIND_RANK.get(kind, 9))
        current = self.reasons.get(changed_file)
        if current is None or order < current[0]:
            self.reasons[changed_file] = (order, chain, kind)


def _reason_order(reason: Reason) -> tuple[int, int]:
    return len(reason.chain), _KIND_RANK.get(reason.kind, 9)


class _ImportSearch:
    """Shortest import chains from every changed file up to every route file that imports it, in one pass.

    Only files some route file imports (directly or not) can be on a chain, so the walk stays inside the forward
    import closure of the route files. Each changed file (an origin; a lockfile's many seeds share its one) is a
    bit. A breadth-first walk up the reverse import graph carries, level by level, the bits that reach a file for
    the first time: `levels[d][f]` holds the changed files whose nearest path to `f` is `d` imports long. The cost
    is the number of (file, level) pairs that gain a bit, whatever the number of changed files; a chain is rebuilt
    on demand by walking down from the route file through imports that hold the bit one level lower.
    """

    def __init__(
        self, imports: Mapping[str, Sequence[str]], seeds: Mapping[str, list[_Origin]], route_files: Iterable[str]
    ) -> None:
        self.imports = imports
        self.origins: list[_Origin] = []
        importers = _importers_within_closure(imports, route_files)
        start: dict[str, int] = {}
        bit_of: dict[tuple[str, tuple[str, ...]], int] = {}
        for seed, origins in seeds.items():
            if seed not in importers:
                continue  # no route file imports it
            mask = 0
            for origin in origins:
                # one bit per changed file and path to its seeds (a lockfile's seeds share one; a module's importers
                # reached through different barrels do not, so that each chain is rebuilt with its own prefix)
                key = (origin.changed_file, origin.prefix)
                bit = bit_of.get(key)
                if bit is None:
                    bit = bit_of[key] = len(self.origins)
                    self.origins.append(origin)
                mask |= 1 << bit
            start[seed] = mask
        self.levels: list[dict[str, int]] = []
        self.reached: dict[str, int] = dict(start)
        self._tails: dict[tuple[str, int], tuple[str, ...]] = {}
        frontier, reached = start, self.reached
        while frontier:
            self.levels.append(frontier)
            following: dict[str, int] = {}
            for node, mask in frontier.items():
                for importer in importers[node]:
                    known = reached.get(importer, 0)
                    new = mask & ~known
                    if new:
                        reached[importer] = known | new
                        following[importer] = following.get(importer, 0) | new
            frontier = following

    def hits(self, file: str) -> Iterator[tuple[int, int]]:
        """(distance, bit) of every changed file that reaches `file`, nearest first."""
        if file not in self.reached:
            return
        for distance, level in enumerate(self.levels):
            mask = level.get(file, 0)
            while mask:
                low = mask & -mask
                yield distance, low.bit_length() - 1
                mask ^= low

    def chain(self, file: str, distance: int, bit: int) -> list[str]:
        """A shortest chain from the changed file `bit` up to `file`, seed first (imports taken in order).

        The walk down from a file depends only on the file and the bit, so it is remembered: routes that share
        components share it."""
        tails = self._tails
        flag = 1 << bit
        walked: list[str] = []
        node = file
        while distance and (node, bit) not in tails:
            walked.append(node)
            level = self.levels[distance - 1]
            node = next(dep for dep in self.imports.get(node, ()) if level.get(dep, 0) & flag)
            distance -= 1
        tail = tails.get((node, bit)) or (node,)  # distance 0: `node` is the changed file itself
        for step in reversed(walked):
            tail = tails[(step, bit)] = (step, *tail)
        return list(reversed(tail))


def _importers_within_closure(imports: Mapping[str, Sequence[str]], roots: Iterable[str]) -> dict[str, list[str]]:
    """file -> the files that import it, for every file in the forward import closure of `roots` (roots included,
    each listed even when nothing imports it)."""
    importers: dict[str, list[str]] = {root: [] for root in roots}
    pending = list(importers)
    while pending:
        file = pending.pop()
        for dep in imports.get(file, ()):
            found = importers.get(dep)
            if found is None:
                importers[dep] = [file]
                pending.append(dep)
            else:
                found.append(file)
    return importers


class _RouteCode:
    """A graph's imports as route code sees them: without the edges from route tables to route components."""

    def __init__(self, graph: CodeGraph) -> None:
        self.graph = graph
        self.routes = graph.routes
        self.packages = graph.packages
        self.tables = {f for route in graph.routes for f in route.config_files}
        self.route_files = {f for route in graph.routes for f in route.files}
        self._shell: dict[str, str] | None = None
        imports = graph.imports
        if not self.tables:
            self.imports: Mapping[str, Sequence[str]] = imports
            return
        pruned = {
            table: [dep for dep in imports.get(table, ()) if dep not in self.route_files or dep == table]
            for table in self.tables
        }
        self.imports = _Overlay(imports, pruned)

    def shell(self) -> dict[str, str]:
        """file -> app root, for the app shell of each single-page app (see the module docstring)."""
        if self._shell is None:
            self._shell = {}
            imports = self.imports
            apps = {route.app for route in self.routes if route.framework in _SHELL_FRAMEWORKS}
            for app in sorted(apps):
                prefix = app + "/" if app else ""
                files = getattr(self.graph, "files", None) or imports  # an ImpactGraph lists every file
                roots = [prefix + name for name in _SHELL_ROOTS if prefix + name in files]
                # components registered globally are reached through the templates that use them, not the shell
                auto = getattr(self.graph, "auto_imports", None) or {}
                stop = self.tables | self.route_files | {f for targets in auto.values() for f in targets}
                seen = set(roots)
                pending = list(roots)
                while pending:
                    file = pending.pop()
                    for dep in imports.get(file, ()):
                        if dep not in seen and dep not in stop and dep.startswith(prefix):
                            seen.add(dep)
                            pending.append(dep)
                for file in seen:
                    self._shell.setdefault(file, app)
        return self._shell


class _Overlay(Mapping[str, Sequence[str]]):
    """`base` with some keys replaced, without copying a large mapping."""

    def __init__(self, base: Mapping[str, Sequence[str]], replaced: Mapping[str, Sequence[str]]) -> None:
        self.base = base
        self.replaced = replaced

    def __getitem__(self, key: str) -> Sequence[str]:
        if key in self.replaced:
            return self.replaced[key]
        return self.base[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.replaced:
            return self.replaced[key]
        return self.base.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.replaced or key in self.base

    def __iter__(self) -> Iterator[str]:
        yield from self.base
        yield from (key for key in self.replaced if key not in self.base)

    def __len__(self) -> int:
        return len(self.base) + sum(1 for key in self.replaced if key not in self.base)


def _collect_route_table_hits(
    change_set: ChangeSet, head: CodeGraph, base: CodeGraph | None, hits: dict[str, _RouteHits]
) -> None:
    """Routes whose definition a changed route table altered: new, removed, or declared differently."""
    changed_tables: dict[str, str] = {}
    for changed in change_set.files:
        changed_tables[changed.path] = changed.path
        if changed.status == "renamed" and changed.old_path:
            changed_tables[changed.old_path] = changed.path
    before = {(r.app, r.route, r.kind): r for r in base.routes} if base is not None else {}
    after = {(r.app, r.route, r.kind): r for r in head.routes}
    for key, route in after.items():
        tables = [changed_tables[f] for f in route.config_files if f in changed_tables]
        if not tables:
            continue
        old = before.get(key)
        if base is not None and old is not None and _same_definition(old, route):
            continue
        anchor = (route.entry_files or route.layout_files or [tables[0]])[0]
        for table in tables:
            _hits_for(hits, route).offer(table, 1, "route", [table, anchor])
    for key, route in before.items():
        if key in after:
            continue
        tables = [changed_tables[f] for f in route.config_files if f in changed_tables]
        anchor = (route.entry_files or route.layout_files or [""])[0]
        for table in tables:
            _hits_for(hits, route).offer(table, 1, "route", [table, anchor] if anchor else [table])


def _collect_shell_hits(
    change_set: ChangeSet, head: CodeGraph, head_view: _RouteCode, base_view: _RouteCode, hits: dict[str, _RouteHits]
) -> None:
    """A change to an app's shell affects every route of that app."""
    shell, base_shell = head_view.shell(), base_view.shell()
    for changed in change_set.files:
        app = shell.get(changed.path)
        if app is None and changed.old_path:
            app = base_shell.get(changed.old_path)
        if app is None and changed.status == "deleted":
            app = base_shell.get(changed.path)
        if app is None:
            continue
        for route in head.routes:
            if route.app == app:
                anchor = (route.entry_files or route.layout_files or [changed.path])[0]
                _hits_for(hits, route).offer(changed.path, 2, "shell", [changed.path, anchor])


def _same_definition(old: RouteEntry, new: RouteEntry) -> bool:
    return (
        old.definition == new.definition and old.entry_files == new.entry_files and old.layout_files == new.layout_files
    )


def _collect_import_hits(graph: CodeGraph, seeds: Mapping[str, list[_Origin]], hits: dict[str, _RouteHits]) -> None:
    if not seeds:
        return
    search = _ImportSearch(graph.imports, seeds, (f for route in graph.routes for f in route.files))
    for route in graph.routes:
        for route_file, role in [
            *((f, "entry") for f in route.entry_files),
            *((f, "layout") for f in route.layout_files),
        ]:
            if route_file not in search.reached:
                continue
            route_hits = _hits_for(hits, route)
            for distance, bit in search.hits(route_file):
                origin = search.origins[bit]
                kind = origin.kind or _kind(role, distance + len(origin.prefix))
                route_hits.offer(
                    origin.changed_file, len(origin.prefix) + distance + 1, kind, (search, route_file, distance, bit)
                )


def _kind(role: str, distance: int) -> str:
    if role == "layout":
        return "layout"
    return "entry" if distance == 0 else "import"


def _hits_for(hits: dict[str, _RouteHits], route: RouteEntry) -> _RouteHits:
    entry = hits.get(route.route)
    if entry is None:
        entry = hits[route.route] = _RouteHits(route)
    return entry


def _package_seeds(graph: CodeGraph, manifests: Sequence[ManifestChange]) -> dict[str, list[_Origin]]:
    """Files that import a package a manifest change touched (within the manifest's folder) become seeds."""
    seeds: dict[str, list[_Origin]] = {}
    if not manifests:
        return seeds
    scoped = [(manifest, manifest.scope) for manifest in manifests]
    for file, packages in graph.packages.items():
        for manifest, scope in scoped:
            if not manifest.packages.isdisjoint(packages) and _is_under(file, scope):
                seeds.setdefault(file, []).append(_Origin(manifest.path, (manifest.path,), "dependency"))
    return seeds


def affected_routes(
    change_set: ChangeSet,
    head: CodeGraph,
    base: CodeGraph | None = None,
    *,
    manifest_changes: Mapping[str, ManifestChange] | None = None,
    symbol_scopes: Mapping[str, SymbolScope] | None = None,
) -> list[AffectedRoute]:
    """Routes a change affects, nearest first, each with the changed files that reach it and why.

    `manifest_changes` (path -> what changed in that manifest or lockfile, see `perceo.observer.manifests`) lets a
    lockfile bump affect only the importers of the bumped packages; without it a changed manifest counts as global.
    `symbol_scopes` (path -> the importers of its changed exports, see `perceo.observer.symbols`) lets a change to
    some exports of a module affect only the files that import those exports; its reasons name them.
    """
    head_seeds: dict[str, list[_Origin]] = {}
    base_seeds: dict[str, list[_Origin]] = {}
    global_files: list[ChangedFile] = []
    targeted: list[ManifestChange] = []
    for changed in change_set.files:
        if is_dependency_file(changed.path):
            change = (manifest_changes or {}).get(changed.path)
            if change is None or change.global_change:
                global_files.append(changed)
            elif change.packages:
                targeted.append(change)
            continue
        if is_global_file(changed.path):
            global_files.append(changed)
        if changed.status == "deleted":
            base_seeds.setdefault(changed.path, []).append(_Origin(changed.path, (), None))
            continue
        symbols = (symbol_scopes or {}).get(changed.path)
        if symbols is not None and changed.status == "modified":
            for seed in symbols.seeds:
                head_seeds.setdefault(seed.file, []).append(
                    _Origin(changed.path, seed.via, None, seed.symbols, _symbol_detail(symbols, seed))
                )
            continue
        head_seeds.setdefault(changed.path, []).append(_Origin(changed.path, (), None))
        if changed.status == "renamed" and changed.old_path:
            base_seeds.setdefault(changed.old_path, []).append(_Origin(changed.path, (), None))

    for file, origins in _package_seeds(head, targeted).items():
        head_seeds.setdefault(file, []).extend(origins)

    hits: dict[str, _RouteHits] = {}
    head_view = _RouteCode(head)
    base_view = _RouteCode(base) if base is not None else head_view
    _collect_import_hits(head_view, head_seeds, hits)
    # without a base graph, deleted files can only be found where head still refers to them
    _collect_import_hits(base_view, base_seeds, hits)
    _collect_route_table_hits(change_set, head, base, hits)
    _collect_shell_hits(change_set, head, head_view, base_view, hits)
    for changed in global_files:
        scope = _directory(changed.path)
        for route in head.routes:
            if _in_scope(route, scope):
                anchor = (route.entry_files or route.layout_files or [changed.path])[0]
                _hits_for(hits, route).offer(changed.path, 2, "global", [changed.path, anchor])
    return sorted((_affected(h) for h in hits.values()), key=lambda a: (a.distance, a.route))


_NOT_APP_CODE = re.compile(
    r"(^|/)(__tests__|__mocks__|tests?|e2e|cypress|playwright|\.storybook|stories|scripts|docs?)/"
    r"|\.(test|spec|stories|story|cy|e2e)\.[^/]+$|\.config\.[^/]+$|(^|/)\.[^/]+$"
)


def unmapped_files(change_set: ChangeSet, affected: Sequence[AffectedRoute]) -> list[str]:
    """Changed app source files that reach no affected route: outside every route's code and not app shell.

    Tests, stories, scripts, docs, tool configuration, dependency manifests and global files (which reach every
    route when there are routes) are left out: they are not expected to map to a route. A non-empty answer means
    the analysis cannot tell what these files affect — never an all-clear.
    """
    from perceo.observer.facts.model import fact_kind

    reached = {file for route in affected for file in route.files}
    out: list[str] = []
    for changed in change_set.files:
        path = changed.path
        if path in reached or fact_kind(path) is None or _NOT_APP_CODE.search(path):
            continue
        if is_dependency_file(path) or (is_global_file(path) and affected):
            continue
        if changed.symbols is not None and changed.symbol_importers == 0:
            continue  # its changed exports are known, and no file imports them: it affects nothing
        out.append(path)
    return out


def _symbol_detail(scope: SymbolScope, seed: SymbolSeed) -> str:
    """A symbol-level reason in words: which changed exports the importer takes, from where, changed where."""
    source = seed.via[-1]
    through = f" (re-exported from {scope.changed_file})" if source != scope.changed_file else ""
    if not seed.symbols:
        names = ", ".join(f"`{n}`" for n in sorted(scope.symbols)[:5])
        return f"{seed.file} takes {source} as a whole{through}; changed: {names}"
    parts = [f"`{name}`" for name in seed.symbols[:5]]
    first = min(scope.symbols.get(name, 0) for name in seed.symbols)
    return (
        f"{seed.file} imports {', '.join(parts)} from {source}{through}, changed at line {first} of "
        f"{scope.changed_file}"
    )


def _affected(hits: _RouteHits) -> AffectedRoute:
    ranked = sorted(hits.reasons.items(), key=lambda item: (item[1][0], item[0]))[:MAX_REASONS]
    reasons = [_reason(file, pending, kind) for file, (_, pending, kind) in ranked]
    return AffectedRoute(
        route=hits.entry.route,
        files=sorted(hits.reasons),
        reasons=reasons,
        distance=len(reasons[0].chain) - 1 if reasons else 0,
    )


def _reason(changed_file: str, pending: _PendingChain, kind: str) -> Reason:
    reason = Reason(changed_file=changed_file, chain=_built(pending), kind=kind)
    if isinstance(pending, tuple):
        origin = pending[0].origins[pending[3]]
        if origin.detail is not None:
            reason.symbols = list(origin.symbols)
            reason.detail = origin.detail
    return reason


def _built(pending: _PendingChain) -> list[str]:
    if isinstance(pending, list):
        return pending
    search, file, distance, bit = pending
    return [*search.origins[bit].prefix, *search.chain(file, distance, bit)]


# Flows


class RouteMatcher:
    """Finds the affected routes a flow page names: exact match first, then by pattern."""

    def __init__(self, affected: Sequence[AffectedRoute]) -> None:
        self.exact: dict[tuple[str, ...], AffectedRoute] = {}
        for route in affected:
            self.exact.setdefault(route_segments(route.route), route)
        self.affected = list(affected)

    def match(self, page: str) -> list[AffectedRoute]:
        exact = self.exact.get(route_segments(page))
        if exact is not None:
            return [exact]
        return [route for route in self.affected if routes_match(route.route, page)]


def impacted_flows(
    affected: Sequence[AffectedRoute],
    flows: Sequence[FlowView],
    metrics: Mapping[str, float] | None = None,
    *,
    changes: Sequence[ChangedFile] = (),
    success_rates: Mapping[str, float | None] | None = None,
) -> list[ImpactedFlow]:
    """Flows that visit an affected route, riskiest first.

    `metrics` maps flow id -> production traffic (users or sessions per day); when given, a flow's share of the
    busiest flow's traffic raises its weight (see `perceo.observer.risk`). `changes` gives line counts for the
    change-size term. With `metrics`, each flow reports its users per day (and its production success rate from
    `success_rates`), or None when the flow has no metrics.
    """
    if not affected:
        return []
    matcher = RouteMatcher(affected)
    churn_by_file = {c.path: churn_of(c) for c in changes}
    busiest = max((v for v in (metrics or {}).values() if v > 0), default=0.0)
    impacted: list[ImpactedFlow] = []
    for flow in flows:
        if not flow.is_active:
            continue
        pages = list(dict.fromkeys(flow.pages or ([flow.entry_point] if flow.entry_point else [])))
        hit_pages: dict[str, list[AffectedRoute]] = {}
        for page in pages:
            matched = matcher.match(page)
            if matched:
                hit_pages[page] = matched
        if not hit_pages:
            continue
        routes = {r.route: r for matched in hit_pages.values() for r in matched}
        confidence = max(route_confidence(r) for r in routes.values())
        changed_files = {f for r in routes.values() for f in r.files}
        churn = sum(churn_by_file.get(f, churn_of(None)) for f in changed_files)
        traffic = (metrics or {}).get(flow.id, 0.0) / busiest if busiest else None
        risk = flow_risk(
            flow.priority, share=len(hit_pages) / len(pages), confidence=confidence, churn=churn, traffic=traffic
        )
        impacted.append(
            ImpactedFlow(
                id=flow.id,
                name=flow.name,
                priority=flow.priority,
                risk_score=risk,
                confidence=round(confidence, 3),
                affected_pages=list(hit_pages),
                reasons=_flow_reasons(routes.values()),
                users_per_day=(metrics or {}).get(flow.id),
                prod_success_rate=(success_rates or {}).get(flow.id),
            )
        )
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    return sorted(impacted, key=lambda f: (-f.risk_score, rank[f.priority], f.name))


def _flow_reasons(routes: Iterable[AffectedRoute]) -> list[Reason]:
    reasons = [r.model_copy(update={"route": route.route}) for route in routes for r in route.reasons]
    reasons.sort(key=lambda r: (-reason_confidence(r), *_reason_order(r), r.route or "", r.changed_file))
    return reasons[:MAX_REASONS]
