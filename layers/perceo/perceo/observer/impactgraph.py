"""The impact graph of one tree — its routes and resolved import graph, what change impact needs — kept per commit
so that the graph of the next commit is derived from it in time proportional to what changed.

`build_impact_graph` computes a graph from every file (facts come from the blob-SHA cache, so a warm build parses
nothing, but it still lists, reads and resolves every file). Deriving starts from the graph of another tree and
the paths whose blob differs between the two (`TreeDelta`, from the diff `ci analyze` runs anyway):

- the new listing is the old one with the delta applied: no `git ls-tree` of a hundred thousand files;
- project configuration (tsconfig aliases, package.json resolution fields, workspaces, apps and their aliases) is
  read again; when it differs from the old tree's (`ImportResolver.context_signature`) nothing is derived;
- files whose blob changed are resolved again, and so are unchanged files whose resolution probed a place where a
  file appeared or disappeared (`imports.candidate_bases`). Resolution is a function of a file's specifiers, the
  configuration and which probed candidates exist, so every other file keeps its resolved imports exactly;
- routes are discovered again on the new listing: file-system routers only read names, and the few facts route
  discoverers look at (route configs, route modules, tagged Vue files) are fetched from the facts cache by key.

A derived graph equals a full build of the same tree (tests compare the two after adds, deletes and renames that
change resolution). `impact_graphs` anchors on the change's base: its graph is loaded (or derived from the newest
kept graph, or built) and kept, and the head's is derived from it. Graphs are kept in `<cache_dir>/impact/`, keyed
by commit, framework and a fingerprint of the discovery code (`ImpactGraphStore`).

A caller that analyses the same working tree again and again (`perceo watch`) passes an `ImpactMemory`: the base's
graph and recent facts stay in memory, and the head's route discovery is reused while nothing it read changed
(the head's snapshot logs the files read while its layout, resolver and routes are made; `_LazyFacts` logs the
files whose facts discovery asked for; see `impactmemory.RouteRecord`).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import marshal
import os
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from perceo.errors import PerceoError
from perceo.models import ChangeSet
from perceo.observer.changes import EMPTY_TREE, FROM_DISK, Git, TreeDelta
from perceo.observer.discovery import (
    app_aliases,
    discover_routes,
    files_with_route_configs,
    files_with_tags,
    find_apps,
    paused_collector,
)
from perceo.observer.discovery.cache import code_version
from perceo.observer.facts.index import FactIndex
from perceo.observer.facts.model import FileFacts, fact_kind
from perceo.observer.filewarnings import warn_file, warning_count
from perceo.observer.impactmemory import ImpactMemory, RouteRecord
from perceo.observer.imports import ImportResolver, build_import_graph, candidate_bases
from perceo.observer.model import AppInfo, RouteEntry
from perceo.observer.project import ProjectLayout
from perceo.observer.snapshot import BlobReader, RepoSnapshot, git_blob_sha

logger = logging.getLogger(__name__)

#: Bump when what a graph holds, or how it is stored, changes.
IMPACT_GRAPH_VERSION = 2
GRAPHS_KEPT = 4
_MAGIC = b"PERCEO-IMPACT-GRAPH\n"
_MARSHAL_VERSION = 4


@dataclass(eq=False)
class ImpactGraph:
    """Routes and imports of one tree, plus what deriving another tree's graph from it needs."""

    #: The commit described, None for a working tree (such a graph is never kept).
    commit: str | None
    framework: str
    #: `ImportResolver.context_signature` of the tree.
    signature: str
    #: path -> blob SHA of every file, in path order.
    files: dict[str, str | None]
    routes: list[RouteEntry]
    #: file -> repository files its specifiers resolve to (sorted).
    resolved: dict[str, list[str]]
    #: file -> external packages it imports (sorted).
    packages: dict[str, list[str]]
    #: file -> bases its resolution probed (see `imports.candidate_bases`).
    probes: dict[str, tuple[str, ...]]
    #: file -> components its template uses without importing them (Nuxt, unplugin-vue-components).
    auto_imports: dict[str, list[str]] = field(default_factory=dict)
    route_config_files: list[str] = field(default_factory=list)
    tagged_files: list[str] = field(default_factory=list)

    @functools.cached_property
    def imports(self) -> dict[str, list[str]]:
        """file -> repository files it imports: resolved specifiers plus auto-imported components."""
        if not self.auto_imports:
            return self.resolved
        merged = dict(self.resolved)
        for file, components in self.auto_imports.items():
            merged[file] = sorted({*merged.get(file, []), *components})
        return merged

    def same_as(self, other: ImpactGraph) -> bool:
        """True when both describe the same tree identically (the commit aside)."""
        return all(getattr(self, name) == getattr(other, name) for name in _COMPARED)


_COMPARED = (
    "framework",
    "signature",
    "files",
    "routes",
    "resolved",
    "packages",
    "probes",
    "auto_imports",
    "route_config_files",
    "tagged_files",
)


# ---------------------------------------------------------------------------------------------------------
# building and deriving


@dataclass
class _Tree:
    """One tree's listing and configuration, read once and shared by every way of getting its graph."""

    snapshot: RepoSnapshot
    framework: str
    layout: ProjectLayout
    apps: list[AppInfo]
    resolver: ImportResolver
    signature: str


def _prepare(snapshot: RepoSnapshot, framework: str, facts: FactIndex) -> _Tree:
    layout = ProjectLayout(snapshot)
    apps = find_apps(layout, framework)
    resolver = ImportResolver(layout, app_aliases(layout, apps, facts.extractor))
    return _Tree(snapshot, framework, layout, apps, resolver, resolver.context_signature())


def build_impact_graph(
    snapshot: RepoSnapshot, *, framework: str = "auto", facts: FactIndex | None = None
) -> ImpactGraph:
    """The impact graph of a snapshot, from every file (facts from `facts`' cache where it has them)."""
    index = facts if facts is not None else FactIndex()
    with paused_collector():
        return _build(_prepare(snapshot, framework, index), index)


def _build(tree: _Tree, facts: FactIndex) -> ImpactGraph:
    snapshot = tree.snapshot
    all_facts = facts.collect(tree.layout.files, snapshot.blob_sha, snapshot.read_bytes)
    graph = build_import_graph(all_facts, tree.resolver)
    route_configs, tagged = files_with_route_configs(all_facts), files_with_tags(all_facts)
    found = discover_routes(
        tree.layout, tree.apps, all_facts, tree.resolver, route_config_files=route_configs, tagged_files=tagged
    )
    return ImpactGraph(
        commit=snapshot.commit,
        framework=tree.framework,
        signature=tree.signature,
        files=snapshot.listing(),
        routes=found.routes,
        resolved=graph.imports,
        packages=graph.packages,
        probes=graph.probes,
        auto_imports=found.auto_imports,
        route_config_files=route_configs,
        tagged_files=tagged,
    )


def derive_impact_graph(
    base: ImpactGraph, snapshot: RepoSnapshot, changed: Collection[str], *, facts: FactIndex | None = None
) -> ImpactGraph | None:
    """The graph of `snapshot` derived from `base`, where `changed` lists every path whose blob differs between
    the two trees (added, deleted or modified); None when the project configuration differs (build it instead)."""
    index = facts if facts is not None else FactIndex()
    with paused_collector():
        tree = _prepare(snapshot, base.framework, index)
        return _derive(base, tree, changed, index) if tree.signature == base.signature else None


def _derive(
    base: ImpactGraph,
    tree: _Tree,
    changed: Collection[str],
    facts: FactIndex,
    memory: ImpactMemory | None = None,
) -> ImpactGraph:
    """`tree`'s graph from `base`'s. With a `memory` and a snapshot logging its reads (`_head_graph`), the routes
    of the previous discovery are reused when none of its inputs changed, else discovery runs and is recorded."""
    snapshot = tree.snapshot
    listing = snapshot.listing()
    appeared_or_gone = [path for path in changed if (path in base.files) != (path in listing)]
    stale: set[str] = set()
    if appeared_or_gone:
        bases = {b for path in appeared_or_gone for b in candidate_bases(path)}
        stale = {file for file, probed in base.probes.items() if not bases.isdisjoint(probed) and file in listing}
    redo = sorted({path for path in changed if path in listing} | stale)
    # the changed files are parsed for their imports, not read by route discovery: not logged
    logged, snapshot.reads = snapshot.reads, None
    try:
        known = facts.collect(redo, snapshot.blob_sha, snapshot.read_bytes)
    finally:
        snapshot.reads = logged
    partial = build_import_graph(known, tree.resolver)

    resolved, packages, probes = dict(base.resolved), dict(base.packages), dict(base.probes)
    for path in (*changed, *stale):
        resolved.pop(path, None)
        packages.pop(path, None)
        probes.pop(path, None)
    resolved.update(partial.imports)
    packages.update(partial.packages)
    probes.update(partial.probes)

    changed_set = set(changed)
    route_configs = _patched(base.route_config_files, changed_set, known, "routes")
    tagged = _patched(base.tagged_files, changed_set, known, "tags")
    record = memory.routes if memory is not None and logged is not None else None
    if record is not None and record.reusable(
        framework=tree.framework,
        signature=tree.signature,
        apps=tree.apps,
        route_config_files=route_configs,
        tagged_files=tagged,
        listing=listing,
    ):
        assert memory is not None
        memory.stats.routes_reused += 1
        routes, auto_imports = record.routes, record.auto_imports
    else:
        lazy = _LazyFacts(snapshot, facts, known, log=logged is not None)
        lazy.prefetch([*route_configs, *tagged])
        found = discover_routes(
            tree.layout, tree.apps, lazy, tree.resolver, route_config_files=route_configs, tagged_files=tagged
        )
        routes, auto_imports = found.routes, found.auto_imports
        if memory is not None and logged is not None:
            memory.stats.routes_discovered += 1
            memory.routes = _route_record(tree, listing, route_configs, tagged, logged, lazy, routes, auto_imports)
    return ImpactGraph(
        commit=snapshot.commit,
        framework=tree.framework,
        signature=tree.signature,
        files=listing,
        routes=routes,
        resolved=resolved,
        packages=packages,
        probes=probes,
        auto_imports=auto_imports,
        route_config_files=route_configs,
        tagged_files=tagged,
    )


def _route_record(
    tree: _Tree,
    listing: dict[str, str | None],
    route_configs: list[str],
    tagged: list[str],
    contents_read: set[str],
    lazy: _LazyFacts,
    routes: list[RouteEntry],
    auto_imports: dict[str, list[str]],
) -> RouteRecord | None:
    """What one discovery depended on (None when it looked at every file's facts: nothing to reuse then)."""
    if lazy.facts_read is None:
        return None
    read = {path: listing.get(path) for path in (*contents_read, *lazy.facts_read)}
    return RouteRecord(
        framework=tree.framework,
        signature=tree.signature,
        apps=list(tree.apps),
        route_config_files=list(route_configs),
        tagged_files=list(tagged),
        paths=frozenset(listing),
        read=read,
        routes=routes,
        auto_imports=auto_imports,
    )


def _patched(previous: list[str], changed: set[str], known: Mapping[str, FileFacts], attribute: str) -> list[str]:
    """`previous` with changed files dropped, and changed files whose new facts have `attribute` added."""
    kept = [path for path in previous if path not in changed]
    added = [path for path, facts in known.items() if path in changed and getattr(facts, attribute)]
    return sorted({*kept, *added}) if added else kept


class _LazyFacts(Mapping[str, FileFacts]):
    """Facts of a snapshot fetched on first use (from the cache by blob key, else parsed), for route discoverers
    that look at a few files of a large tree."""

    def __init__(
        self, snapshot: RepoSnapshot, facts: FactIndex, known: Mapping[str, FileFacts], *, log: bool = False
    ) -> None:
        self._snapshot = snapshot
        self._facts = facts
        self._known = dict(known)
        self._absent: set[str] = set()
        #: with `log`, the paths whose facts were asked for; None once every file's were (iteration)
        self.facts_read: set[str] | None = set() if log else None

    def prefetch(self, paths: list[str]) -> None:
        missing = [p for p in paths if p not in self._known and p in self._snapshot]
        if missing:
            self._known.update(self._facts.collect(missing, self._snapshot.blob_sha, self._snapshot.read_bytes))

    def __getitem__(self, path: str) -> FileFacts:
        if self.facts_read is not None:
            self.facts_read.add(path)
        found = self._known.get(path)
        if found is not None:
            return found
        if path in self._absent or path not in self._snapshot or fact_kind(path) is None:
            raise KeyError(path)
        fetched = self._facts.collect([path], self._snapshot.blob_sha, self._snapshot.read_bytes)
        if path not in fetched:
            self._absent.add(path)
            raise KeyError(path)
        self._known[path] = fetched[path]
        return fetched[path]

    def __iter__(self) -> Iterator[str]:  # every file with facts (loads them all: discoverers never iterate)
        self.facts_read = None  # depends on every file: not worth recording
        return (path for path in self._snapshot.files() if fact_kind(path) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


# ---------------------------------------------------------------------------------------------------------
# a change's graphs


def impact_graphs(
    repo_dir: Path,
    change_set: ChangeSet,
    delta: TreeDelta,
    *,
    framework: str = "auto",
    cache_dir: Path | None = None,
    workers: int | None = None,
    memory: ImpactMemory | None = None,
) -> tuple[ImpactGraph, ImpactGraph | None]:
    """The graphs of a change's head (the working tree in working-tree mode) and base (None for a repository
    without commits). `delta` is the change's tree delta (`changes.compute_change_delta`).

    With a `cache_dir`, the base's graph is kept and the head's derived from it, so the next push of a branch
    costs what its diff costs. The head's graph is kept too when it had to be built (its configuration differs
    from the base's), so later pushes derive from it.
    """
    return impact_graphs_at_root(
        Git.open(repo_dir).repo_dir,
        change_set,
        delta,
        framework=framework,
        cache_dir=cache_dir,
        workers=workers,
        memory=memory,
    )


def impact_graphs_at_root(
    root: Path,
    change_set: ChangeSet,
    delta: TreeDelta,
    *,
    framework: str = "auto",
    cache_dir: Path | None = None,
    workers: int | None = None,
    blob_reader: BlobReader | None = None,
    inspect: Callable[[HeadTree], None] | None = None,
    memory: ImpactMemory | None = None,
) -> tuple[ImpactGraph, ImpactGraph | None]:
    """`impact_graphs` for a caller that already knows the repository's top folder `root` (and may share its
    `git cat-file` process). `inspect`, when given, is called with the head's tree while its files are open.

    `memory`, kept by the caller between analyses of this repository (`perceo watch`), holds the base's graph, the
    facts of recently seen blobs and the head's last route discovery (see `impactmemory`); the result is the same
    with or without it."""
    store = ImpactGraphStore(cache_dir)
    facts = FactIndex(cache_dir, workers=workers, memory=memory.facts if memory is not None else None)
    built: list[ImpactGraph] = []
    try:
        with paused_collector():
            base = None
            if change_set.base_sha != EMPTY_TREE:
                base = memory.base(change_set.base_sha, framework) if memory is not None else None
                if base is None:
                    base = _commit_graph(root, change_set.base_sha, framework, store, facts, built, blob_reader)
                    if memory is not None:
                        memory.stats.base_loads += 1
                        if warning_count() == store.warnings_before:  # as `store.save`: complete graphs only
                            memory.keep_base(change_set.base_sha, framework, base)
                        else:
                            memory.forget_base()
            head = _head_graph(
                root, change_set, delta, base, framework, store, facts, built, blob_reader, inspect, memory
            )
    finally:
        if memory is not None:
            memory.stats.facts_from_memory += facts.stats.from_memory
        try:
            facts.save(complete=bool(built))
        except OSError as exc:
            logger.warning("could not write the facts cache under %s: %s", cache_dir, exc)
    return head, base


def _commit_graph(
    root: Path,
    commit: str,
    framework: str,
    store: ImpactGraphStore,
    facts: FactIndex,
    built: list[ImpactGraph],
    reader: BlobReader | None,
) -> ImpactGraph:
    """A commit's graph: kept, else derived from the newest kept graph, else built from `git ls-tree`."""
    graph = store.load(commit, framework)
    if graph is not None:
        return graph
    for header in store.headers(framework)[:1]:
        other = store.load(header.commit, framework)
        if other is None:
            continue
        try:
            delta = Git(root).tree_delta(header.commit, commit)
        except PerceoError:  # that commit is not in this clone
            continue
        listing = _applied(other.files, delta, root)[0]
        with RepoSnapshot.from_listing(root, listing, commit=commit, blob_reader=reader) as snapshot:
            tree = _prepare(snapshot, framework, facts)
            if tree.signature == other.signature:
                graph = _derive(other, tree, list(delta), facts)
            else:
                graph = _build(tree, facts)
                built.append(graph)
        store.save(graph)
        return graph
    with RepoSnapshot.at_ref(root, commit) as snapshot:
        graph = _build(_prepare(snapshot, framework, facts), facts)
    built.append(graph)
    store.save(graph)
    return graph


def _head_graph(
    root: Path,
    change_set: ChangeSet,
    delta: TreeDelta,
    base: ImpactGraph | None,
    framework: str,
    store: ImpactGraphStore,
    facts: FactIndex,
    built: list[ImpactGraph],
    reader: BlobReader | None,
    inspect: Callable[[HeadTree], None] | None = None,
    memory: ImpactMemory | None = None,
) -> ImpactGraph:
    listing, on_disk = _applied(base.files if base is not None else {}, delta, root)
    commit = None if change_set.working_tree else change_set.head_sha
    with RepoSnapshot.from_listing(root, listing, commit=commit, on_disk=on_disk, blob_reader=reader) as snapshot:
        if memory is not None:  # what the layout, the resolver and route discovery read (see `_derive`)
            snapshot.reads = set()
        tree = _prepare(snapshot, framework, facts)
        graph = _head_from_kept(root, change_set, delta, base, framework, store, facts, tree, commit, memory)
        snapshot.reads = None
        fresh = graph is None
        if graph is None:
            graph = _build(tree, facts)
        if inspect is not None:  # while the head's files, facts and resolver are at hand
            inspect(HeadTree(snapshot, tree.resolver, facts, graph))
    if fresh:
        built.append(graph)
        if commit is not None:
            store.save(graph)
    return graph


@dataclass(frozen=True)
class HeadTree:
    """The head of a change while its graph is made: its files, its import resolver and its per-file facts."""

    snapshot: RepoSnapshot
    resolver: ImportResolver
    facts: FactIndex
    graph: ImpactGraph

    def facts_of(self, path: str) -> FileFacts | None:
        if path not in self.snapshot or fact_kind(path) is None:
            return None
        return self.facts.collect([path], self.snapshot.blob_sha, self.snapshot.read_bytes).get(path)


def _head_from_kept(
    root: Path,
    change_set: ChangeSet,
    delta: TreeDelta,
    base: ImpactGraph | None,
    framework: str,
    store: ImpactGraphStore,
    facts: FactIndex,
    tree: _Tree,
    commit: str | None,
    memory: ImpactMemory | None = None,
) -> ImpactGraph | None:
    """The head's graph derived from the base's, or from another kept graph of the same configuration."""
    if base is not None and tree.signature == base.signature:
        return _derive(base, tree, list(delta), facts, memory)
    if commit is not None:
        for header in store.headers(framework):
            if header.signature != tree.signature or header.commit in (commit, change_set.base_sha):
                continue
            other = store.load(header.commit, framework)
            try:
                other_delta = Git(root).tree_delta(header.commit, commit) if other is not None else None
            except PerceoError:
                other_delta = None
            if other is not None and other_delta is not None:
                return _derive(other, tree, list(other_delta), facts)
    return None


def _applied(
    files: Mapping[str, str | None], delta: TreeDelta, root: Path
) -> tuple[dict[str, str | None], frozenset[str]]:
    """The listing after `delta`, and the paths whose content is read from the working tree."""
    listing = dict(files)
    on_disk: set[str] = set()
    for path, sha in delta.items():
        if sha == FROM_DISK:
            disk = root / path
            sha = _disk_sha(disk, path) if disk.is_file() and not disk.is_symlink() else None
            if sha is not None:
                on_disk.add(path)
        if sha is None:
            listing.pop(path, None)
        else:
            listing[path] = sha
    return listing, frozenset(on_disk)


def _disk_sha(disk: Path, path: str) -> str | None:
    try:
        return git_blob_sha(disk.read_bytes())
    except OSError as exc:  # a file the user may not read (chmod 000): analysed as absent, with a warning
        reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or type(exc).__name__)
        warn_file(path, f"could not be read ({reason}): analysed as if it were absent")
        return None


# ---------------------------------------------------------------------------------------------------------
# keeping graphs


@dataclass(frozen=True)
class GraphHeader:
    commit: str
    framework: str
    signature: str


class ImpactGraphStore:
    """Impact graphs kept in `<cache_dir>/impact/<commit>.<framework>.graph`, newest `GRAPHS_KEPT` only.

    A file is a magic line, a marshal-encoded header (format version, discovery code fingerprint, framework,
    commit, configuration signature), the SHA-256 of the body and the marshal-encoded body (plain containers of
    strings: marshal cannot run code, unlike pickle). A file whose header does not match what is asked for, whose
    body does not hash to the recorded digest, or whose body has the wrong shape is ignored and rewritten. Callers
    must not use a cache folder that git tracks (see `analyze.cache_is_trustworthy`).
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self.directory = cache_dir / "impact" if cache_dir is not None else None
        #: warnings given before this store existed; a graph built while files could not be read is not kept
        self.warnings_before = warning_count()

    def _path(self, commit: str, framework: str) -> Path | None:
        if self.directory is None or not _is_hex(commit) or not framework.replace("-", "").isalnum():
            return None
        return self.directory / f"{commit}.{framework}.graph"

    def load(self, commit: str, framework: str) -> ImpactGraph | None:
        path = self._path(commit, framework)
        if path is None:
            return None
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        header = _read_header(raw)
        if header is None or header.commit != commit or header.framework != framework:
            logger.info(
                "ignoring the impact graph %s: written by another version of Perceo, or not for %s", path, commit
            )
            return None
        graph = _decode(raw, commit, framework)
        if graph is None:
            logger.warning("ignoring the damaged impact graph %s", path)
            return None
        try:
            os.utime(path)  # recently used graphs are the ones kept
        except OSError:
            pass
        return graph

    def headers(self, framework: str) -> list[GraphHeader]:
        """Headers of the kept graphs for `framework`, newest first."""
        if self.directory is None:
            return []
        try:
            paths = sorted(self.directory.glob(f"*.{framework}.graph"), key=_mtime, reverse=True)
        except OSError:
            return []
        headers = []
        for path in paths:
            try:
                with path.open("rb") as handle:
                    header = _read_header(handle.read(4096))
            except OSError:
                continue
            if header is not None and header.framework == framework:
                headers.append(header)
        return headers

    def save(self, graph: ImpactGraph) -> None:
        path = self._path(graph.commit, graph.framework) if graph.commit is not None else None
        if path is None or warning_count() != self.warnings_before:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".graph-", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(_encode(graph))
            Path(tmp).replace(path)
            for stale in sorted(path.parent.glob("*.graph"), key=_mtime, reverse=True)[GRAPHS_KEPT:]:
                stale.unlink(missing_ok=True)
        except OSError as exc:  # a read-only cache still gets a result
            logger.warning("could not keep the impact graph under %s: %s", self.directory, exc)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _is_hex(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)


@functools.cache
def graph_code_version() -> str:
    """The discovery code's fingerprint plus this module's: a graph never outlives the code that made it."""
    try:
        own = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    except OSError:  # not on disk (zipped): the version numbers alone
        own = str(IMPACT_GRAPH_VERSION)
    return f"{code_version()}:{own}"


def _header_fields(graph: ImpactGraph) -> tuple[Any, ...]:
    return (IMPACT_GRAPH_VERSION, graph_code_version(), graph.framework, graph.commit, graph.signature)


def _encode(graph: ImpactGraph) -> bytes:
    # One string object per path, so marshal writes each path once and references it afterwards.
    canonical = {path: path for path in graph.files}

    def paths(items: list[str]) -> list[str]:
        return [canonical.get(item, item) for item in items]

    body = (
        graph.files,
        [
            (r.route, r.kind, r.framework, paths(r.entry_files), paths(r.layout_files), r.app)
            + (paths(r.config_files), r.definition, r.hash)
            for r in graph.routes
        ],
        {canonical.get(k, k): paths(v) for k, v in graph.resolved.items()},
        {canonical.get(k, k): v for k, v in graph.packages.items()},
        {canonical.get(k, k): v for k, v in graph.probes.items()},
        {canonical.get(k, k): paths(v) for k, v in graph.auto_imports.items()},
        paths(graph.route_config_files),
        paths(graph.tagged_files),
    )
    payload = marshal.dumps(body, _MARSHAL_VERSION)
    header = marshal.dumps(_header_fields(graph), _MARSHAL_VERSION)
    return b"".join((_MAGIC, len(header).to_bytes(4, "big"), header, hashlib.sha256(payload).digest(), payload))


def _read_header(raw: bytes) -> GraphHeader | None:
    fields = _header_tuple(raw)
    if fields is None:
        return None
    version, code, framework, commit, signature = fields[0]
    if version != IMPACT_GRAPH_VERSION or code != graph_code_version():
        return None
    if not (isinstance(framework, str) and isinstance(commit, str) and isinstance(signature, str)):
        return None
    return GraphHeader(commit, framework, signature)


def _header_tuple(raw: bytes) -> tuple[tuple[Any, ...], int] | None:
    """The header fields and the offset of the digest after them."""
    if not raw.startswith(_MAGIC):
        return None
    start = len(_MAGIC) + 4
    size = int.from_bytes(raw[len(_MAGIC) : start], "big")
    try:
        fields = marshal.loads(raw[start : start + size])
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(fields, tuple) or len(fields) != 5:
        return None
    return fields, start + size


def _decode(raw: bytes, commit: str, framework: str) -> ImpactGraph | None:
    found = _header_tuple(raw)
    if found is None:
        return None
    fields, offset = found
    expected = (IMPACT_GRAPH_VERSION, graph_code_version(), framework, commit, fields[4])
    if fields != expected or not isinstance(fields[4], str):
        return None
    digest, payload = raw[offset : offset + 32], memoryview(raw)[offset + 32 :]
    if hashlib.sha256(payload).digest() != digest:
        return None
    try:
        body = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    if not (isinstance(body, tuple) and len(body) == 8):
        return None
    files, routes, resolved, packages, probes, auto_imports, route_configs, tagged = body
    if not (
        all(isinstance(part, dict) for part in (files, resolved, packages, probes, auto_imports))
        and all(isinstance(part, list) for part in (routes, route_configs, tagged))
    ):
        return None
    try:
        entries = [
            RouteEntry(
                route=r,
                kind=k,
                framework=f,
                entry_files=e,
                layout_files=lf,
                app=a,
                config_files=c,
                definition=d,
                hash=h,
            )
            for r, k, f, e, lf, a, c, d, h in routes
        ]
    except (ValueError, TypeError):
        return None
    return ImpactGraph(
        commit=commit,
        framework=framework,
        signature=fields[4],
        files=files,
        routes=entries,
        resolved=resolved,
        packages=packages,
        probes=probes,
        auto_imports=auto_imports,
        route_config_files=route_configs,
        tagged_files=tagged,
    )
