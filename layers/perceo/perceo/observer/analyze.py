"""Change analysis: the pipeline from a checkout to a scored, stored and published `ChangeAnalysis`.

Two halves, so the server never needs the checkout:

- client side (needs the repository): `compute_change_delta` (the change set and its tree delta, one `git diff`)
  → the impact graphs of base and head (`impactgraph.impact_graphs`: the base's kept per commit, the head's derived
  from it in time proportional to the diff) → `manifest_changes` → `affected_routes`. `analyze_checkout` runs it
  all, and keeps the result per commit pair.
- server side (needs only the flow graph): `analyze_change(project_id, change_set, affected, graph, bus)` reads the
  flows, maps them to the affected routes, scores, records the analysis with its AFFECTS edges and publishes
  `observer.flows.affected` and `observer.analysis.complete`. The API calls it with routes computed by the CLI.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import TypeAdapter

from perceo.models import AffectedRoute, ChangeAnalysis, ChangeSet, now_ms
from perceo.observer.changes import (
    Git,
    TreeDelta,
    compute_change_delta,
    read_blob_specs,
    resolve_commits,
    tree_delta_of,
)
from perceo.observer.filewarnings import warning_count
from perceo.observer.gitproc import GitTimeouts
from perceo.observer.impact import CodeGraph, RouteMatcher, affected_routes, impacted_flows
from perceo.observer.manifests import ManifestChange, diff_manifest, is_dependency_file
from perceo.observer.risk import score

if TYPE_CHECKING:  # the flow and event models load only when a graph or a bus is given (not in `ci analyze`)
    from perceo.bus.port import EventBus
    from perceo.graph.port import FlowGraph
    from perceo.models import FlowView
    from perceo.observer.impactmemory import ImpactMemory
    from perceo.observer.snapshot import BlobReader

log = logging.getLogger(__name__)


def analyze_change(
    project_id: str,
    change_set: ChangeSet,
    affected: Sequence[AffectedRoute],
    graph: FlowGraph | None = None,
    bus: EventBus | None = None,
    *,
    flows: Sequence[FlowView] | None = None,
    metrics: Mapping[str, float] | None = None,
    success_rates: Mapping[str, float | None] | None = None,
    clock: Callable[[], int] = now_ms,
) -> ChangeAnalysis:
    """Map affected routes to flows, score the change, record it and publish it.

    Flows come from `flows` when given, else from the graph (`flows_to_match`: the active flows at the routes that
    match, with their pages), else there are none (before `perceo init`: the analysis then covers routes only).
    `metrics` maps flow id -> production users per day (`success_rates`: its production success rate); the analysis
    says whether any was known (`production_traffic`). Nothing is stored without a graph, nothing published without
    a bus.
    """
    if flows is None:
        flows = flows_to_match(graph, project_id, affected) if graph is not None and affected else []
    impacted = impacted_flows(affected, flows, metrics, changes=change_set.files, success_rates=success_rates)
    assessment = score(impacted, affected, changes=change_set.files)
    analysis = ChangeAnalysis(
        project_id=project_id,
        base_sha=change_set.base_sha,
        head_sha=change_set.head_sha,
        risk_level=assessment.level,
        risk_score=assessment.score,
        files=list(change_set.files),
        affected_routes=list(affected),
        flows=impacted,
        created_at=clock(),
        production_traffic=bool(metrics),
    )
    if graph is not None:
        analysis = graph.record_analysis(analysis)
    if bus is not None:
        _publish(bus, analysis)
    return analysis


def flows_to_match(graph: FlowGraph, project_id: str, affected: Sequence[AffectedRoute]) -> list[FlowView]:
    """The flows `impacted_flows` can find for these routes, without reading every flow: the project's routes (page
    routes and entry points, a few hundred strings) are matched by pattern here, then only the active flows at a
    matching route are read, each with all its pages. A flow at no matching route cannot be impacted, so the
    analysis comes out the same as from all the flows."""
    matcher = RouteMatcher(affected)
    routes = [route for route in graph.matchable_routes(project_id) if matcher.match(route)]
    return graph.flows_at_routes(project_id, routes) if routes else []


def _publish(bus: EventBus, analysis: ChangeAnalysis) -> None:
    from perceo.models import EventType, PerceoEvent

    summary = {
        "analysisId": analysis.id,
        "baseSha": analysis.base_sha,
        "headSha": analysis.head_sha,
        "riskLevel": analysis.risk_level,
        "riskScore": analysis.risk_score,
    }
    if analysis.flows:
        flows = [
            {"id": f.id, "name": f.name, "priority": f.priority, "riskScore": f.risk_score, "confidence": f.confidence}
            for f in analysis.flows
        ]
        bus.publish(
            PerceoEvent(
                type=EventType.FLOWS_AFFECTED,
                source="observer",
                project_id=analysis.project_id,
                data={**summary, "flows": flows},
            )
        )
    complete = {
        **summary,
        "changedFiles": len(analysis.files),
        "affectedRoutes": [r.route for r in analysis.affected_routes],
        "flowIds": [f.id for f in analysis.flows],
    }
    bus.publish(
        PerceoEvent(type=EventType.ANALYSIS_COMPLETE, source="observer", project_id=analysis.project_id, data=complete)
    )


def manifest_changes(repo_dir: Path, change_set: ChangeSet) -> dict[str, ManifestChange]:
    """What each changed manifest or lockfile changed, per package (contents read from git, or from disk for the
    working tree)."""
    changed = [c for c in change_set.files if is_dependency_file(c.path)]
    if not changed:
        return {}
    return _manifest_changes(Git.open(repo_dir).repo_dir, change_set)


def _manifest_changes(
    root: Path, change_set: ChangeSet, reader: BlobReader | None = None, timeouts: GitTimeouts | None = None
) -> dict[str, ManifestChange]:
    changed = [c for c in change_set.files if is_dependency_file(c.path)]
    if not changed:
        return {}
    old_paths = [c.old_path or c.path for c in changed]
    specs = [f"{change_set.base_sha}:{path}" for path in old_paths]
    if not change_set.working_tree:
        specs += [f"{change_set.head_sha}:{c.path}" for c in changed]
    # before and after in one git call (or through the analysis' own `git cat-file`)
    contents = (
        [reader.read_object(spec) for spec in specs]
        if reader is not None
        else read_blob_specs(root, specs, timeouts=timeouts)
    )
    before = contents[: len(changed)]
    after = contents[len(changed) :] if not change_set.working_tree else [_read_disk(root / c.path) for c in changed]
    return {c.path: diff_manifest(c.path, old, new) for c, old, new in zip(changed, before, after, strict=True)}


def _read_disk(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def affected_routes_for(
    change_set: ChangeSet,
    repo_dir: Path,
    head: CodeGraph,
    base: CodeGraph | None,
) -> list[AffectedRoute]:
    """`affected_routes` with manifest diffs read from the repository."""
    return affected_routes(change_set, head, base, manifest_changes=manifest_changes(repo_dir, change_set))


def affected_routes_in_checkout(
    repo_dir: Path,
    change_set: ChangeSet,
    *,
    framework: str = "auto",
    cache_dir: Path | None = None,
) -> list[AffectedRoute]:
    """The client half of change analysis: impact graphs, manifest diffs and affected routes for a change set.

    With a `cache_dir`, the affected routes of a commit pair are kept (keyed by both commits, the framework and
    Perceo's code), so re-running the same analysis — a CI retry, a second job — reads them back instead of
    computing them twice; impact graphs and per-file facts are kept there too. A cache folder that git tracks is
    never used: a pull request could plant results there.
    """
    if not change_set.files:
        return []
    git = Git.open(repo_dir)
    cache_dir = _trusted_cache(git, cache_dir)
    entry = _pair_cache_entry(cache_dir, change_set, framework)
    cached = _read_affected(entry)
    if cached is not None:
        return cached
    warned = warning_count()
    affected = _affected_routes(git.repo_dir, change_set, tree_delta_of(git, change_set), framework, cache_dir)
    if entry is not None and warning_count() == warned:
        _write_atomically(entry, _AFFECTED_LIST.dump_json(affected, by_alias=True))
        _prune_pairs(entry.parent)
    return affected


def _affected_routes(
    root: Path,
    change_set: ChangeSet,
    delta: TreeDelta,
    framework: str,
    cache_dir: Path | None,
    timeouts: GitTimeouts | None = None,
) -> list[AffectedRoute]:
    return _affected_and_symbols(root, change_set, delta, framework, cache_dir, timeouts)[0]


def _affected_and_symbols(
    root: Path,
    change_set: ChangeSet,
    delta: TreeDelta,
    framework: str,
    cache_dir: Path | None,
    timeouts: GitTimeouts | None = None,
    memory: ImpactMemory | None = None,
) -> tuple[list[AffectedRoute], ChangeSet]:
    """The affected routes, and the change set with the changed exports of each module that symbol-level impact
    followed (`ChangedFile.symbols`, see `perceo.observer.symbols`)."""
    if not change_set.files:
        return [], change_set
    from perceo.observer.discovery import paused_collector
    from perceo.observer.impactgraph import HeadTree, impact_graphs_at_root
    from perceo.observer.snapshot import BlobReader
    from perceo.observer.symbols import SymbolScope, symbol_scopes

    scopes: dict[str, SymbolScope] = {}
    # graphs of a large repository are millions of small acyclic objects: no cyclic collection meanwhile
    local_s = (timeouts or GitTimeouts()).local_s
    with paused_collector(), BlobReader(root, timeout_s=local_s) as reader:

        def inspect(tree: HeadTree) -> None:
            base_sha = change_set.base_sha
            scopes.update(
                symbol_scopes(change_set, tree, Git(root), lambda path: reader.read_object(f"{base_sha}:{path}"))
            )

        head, base = impact_graphs_at_root(
            root,
            change_set,
            delta,
            framework=framework,
            cache_dir=cache_dir,
            blob_reader=reader,
            inspect=inspect,
            memory=memory,
        )
        affected = affected_routes(
            change_set,
            head,
            base,
            manifest_changes=_manifest_changes(root, change_set, reader, timeouts),
            symbol_scopes=scopes,
        )
    if scopes:
        files = [
            f.model_copy(
                update={
                    "symbols": sorted(scopes[f.path].symbols),
                    "symbol_importers": len({seed.file for seed in scopes[f.path].seeds}),
                }
            )
            if f.path in scopes
            else f
            for f in change_set.files
        ]
        change_set = change_set.model_copy(update={"files": files})
    return affected, change_set


def analyze_checkout(
    repo_dir: Path,
    base: str | None,
    head: str = "HEAD",
    *,
    working_tree: bool = False,
    deepen: bool = False,
    framework: str = "auto",
    cache_dir: Path | None = None,
    git_timeouts: GitTimeouts | None = None,
    notice: Callable[[str], None] | None = None,
    memory: ImpactMemory | None = None,
) -> tuple[ChangeSet, list[AffectedRoute]]:
    """The whole client half for `ci analyze`: the change set and the routes it affects.

    For a commit pair already analysed (same merge base, head, framework and Perceo code) both come from the
    cache: two git calls and two small files, which is what a CI retry or a second job costs. For a new pair (the
    next push of a branch) the head's impact graph is derived from the base's kept one.

    Each git call waits at most `git_timeouts` (a fetch for `deepen` too); `notice` hears what a fetch waits for.
    `memory` (working-tree mode only, kept by `perceo watch` between analyses of this repository) keeps the base's
    graph, recent facts and the last route discovery in memory; the result is the same without it.
    """
    timeouts = git_timeouts or GitTimeouts()
    if working_tree:
        change_set, delta = compute_change_delta(
            repo_dir, base, working_tree=True, deepen=deepen, timeouts=timeouts, notice=notice
        )
        git = Git.open(repo_dir, timeouts=timeouts, notice=notice)
        affected, change_set = _affected_and_symbols(
            git.repo_dir, change_set, delta, framework, _trusted_cache(git, cache_dir), timeouts, memory
        )
        return change_set, affected
    commits = resolve_commits(repo_dir, base, head, deepen=deepen, timeouts=timeouts, notice=notice)
    cache_dir = _trusted_cache(commits.git, cache_dir)
    pending = ChangeSet(base_sha=commits.merge_base, head_sha=commits.head_sha)
    entry = _pair_cache_entry(cache_dir, pending, framework)
    if entry is not None:
        cached_change = _read_entry(entry.with_suffix(".change.json"))
        cached = _read_affected(entry) if cached_change is not None else None
        if cached_change is not None and cached is not None:
            try:
                return ChangeSet.model_validate_json(cached_change), cached
            except ValueError:
                log.warning("ignoring an unreadable cache entry %s", entry)
    warned = warning_count()
    files, delta = commits.git.diff_with_delta(commits.merge_base, commits.head_sha)
    change_set = pending.model_copy(update={"files": files})
    affected, change_set = _affected_and_symbols(
        commits.git.repo_dir, change_set, delta, framework, cache_dir, timeouts
    )
    if entry is not None and warning_count() == warned:  # a result made without some files' content is not kept
        _write_atomically(entry, _AFFECTED_LIST.dump_json(affected, by_alias=True))
        _write_atomically(entry.with_suffix(".change.json"), change_set.model_dump_json(by_alias=True).encode())
        _prune_pairs(entry.parent)
    return change_set, affected


def _read_affected(entry: Path | None) -> list[AffectedRoute] | None:
    raw = _read_entry(entry) if entry is not None else None
    if raw is None:
        return None
    try:
        return _AFFECTED_LIST.validate_json(raw)
    except ValueError:
        log.warning("ignoring an unreadable cache entry %s", entry)
        return None


def _read_entry(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


_AFFECTED_LIST: TypeAdapter[list[AffectedRoute]] = TypeAdapter(list[AffectedRoute])
_PAIR_CACHE_VERSION = "1"
#: Commit pairs whose results are kept (a large change's routes and reasons weigh a few megabytes).
PAIRS_KEPT = 16


def cache_is_trustworthy(repo_dir: Path, cache_dir: Path) -> bool:
    """False when git tracks files in the cache folder (someone committed a cache into the repository)."""
    return _tracks_nothing_in(Git.open(repo_dir), cache_dir)


def _tracks_nothing_in(git: Git, cache_dir: Path) -> bool:
    try:
        relative = cache_dir.resolve().relative_to(git.repo_dir.resolve())
    except ValueError:
        return True  # outside the repository
    listed = git.run("ls-files", "-z", "--", str(relative) or ".")
    return listed.returncode == 0 and not listed.stdout


def _trusted_cache(git: Git, cache_dir: Path | None) -> Path | None:
    if cache_dir is not None and not _tracks_nothing_in(git, cache_dir):
        log.warning("ignoring the cache in %s: it is tracked by git", cache_dir)
        return None
    return cache_dir


def _pair_cache_entry(cache_dir: Path | None, change_set: ChangeSet, framework: str) -> Path | None:
    if cache_dir is None or change_set.working_tree:
        return None  # a working tree has no commit to key on
    key = hashlib.sha256(
        "\0".join(
            (_PAIR_CACHE_VERSION, _code_fingerprint(), framework, change_set.base_sha, change_set.head_sha)
        ).encode()
    ).hexdigest()[:32]
    return cache_dir / "affected" / f"{key}.json"


@functools.cache
def _code_fingerprint() -> str:
    """Changes whenever Perceo's observer code changes, so a cached result never outlives the code that made it."""
    from perceo import __version__

    package = Path(__file__).resolve().parent
    stats = sorted((str(p.relative_to(package)), p.stat().st_size, p.stat().st_mtime_ns) for p in package.rglob("*.py"))
    return hashlib.sha256(repr((__version__, stats)).encode()).hexdigest()


def _prune_pairs(directory: Path) -> None:
    """Keep the results of the `PAIRS_KEPT` newest pairs."""
    try:
        entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        pairs = list(dict.fromkeys(entry.name.split(".", 1)[0] for entry in entries))
        for stale in pairs[PAIRS_KEPT:]:
            for suffix in (".json", ".change.json"):
                (directory / f"{stale}{suffix}").unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not prune the cache entries in %s: %s", directory, error)


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            handle.write(data)
        Path(handle.name).replace(path)
    except OSError as error:  # a read-only cache still gets a result
        log.warning("could not write the cache entry %s: %s", path, error)
