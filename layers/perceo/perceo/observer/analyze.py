"""Change analysis: the pipeline from a checkout to a scored, stored and published `ChangeAnalysis`.

Two halves, so the server never needs the checkout:

- client side (needs the repository): `compute_change_set` → `discover` at head (and at base when files were
  deleted or renamed) → `manifest_changes` → `affected_routes`. `affected_routes_for(repo_dir, change_set)` runs
  it all.
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

from pydantic import TypeAdapter

from perceo.bus.port import EventBus
from perceo.graph.port import FlowGraph
from perceo.models import AffectedRoute, ChangeAnalysis, ChangeSet, EventType, FlowView, PerceoEvent, now_ms
from perceo.observer.changes import EMPTY_TREE, Git, compute_change_set, read_blobs, resolve_commits
from perceo.observer.impact import affected_routes, impacted_flows
from perceo.observer.manifests import ManifestChange, diff_manifest, is_dependency_file
from perceo.observer.model import DiscoveryResult
from perceo.observer.risk import score

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
    clock: Callable[[], int] = now_ms,
) -> ChangeAnalysis:
    """Map affected routes to flows, score the change, record it and publish it.

    Flows come from `flows` when given, else from `graph.list_flows` (all active flows, matched here by route
    pattern), else there are none (before `perceo init`: the analysis then covers routes only). `metrics` maps flow
    id -> production users per day. Nothing is stored without a graph, nothing published without a bus.
    """
    if flows is None:
        flows = graph.list_flows(project_id) if graph is not None and affected else []
    impacted = impacted_flows(affected, flows, metrics, changes=change_set.files)
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
    )
    if graph is not None:
        analysis = graph.record_analysis(analysis)
    if bus is not None:
        _publish(bus, analysis)
    return analysis


def _publish(bus: EventBus, analysis: ChangeAnalysis) -> None:
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
    old_paths = [c.old_path or c.path for c in changed]
    before = read_blobs(repo_dir, change_set.base_sha, old_paths)
    if change_set.working_tree:
        root = Git.open(repo_dir).repo_dir
        after = {c.path: _read_disk(root / c.path) for c in changed}
    else:
        after = read_blobs(repo_dir, change_set.head_sha, [c.path for c in changed])
    return {
        c.path: diff_manifest(c.path, before.get(old), after.get(c.path))
        for c, old in zip(changed, old_paths, strict=True)
    }


def _read_disk(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def needs_base_discovery(change_set: ChangeSet) -> bool:
    """Deleted files and renames are looked up in the base snapshot's import graph."""
    return any(c.status == "deleted" or (c.status == "renamed" and c.old_path) for c in change_set.files)


def affected_routes_for(
    change_set: ChangeSet,
    repo_dir: Path,
    head: DiscoveryResult,
    base: DiscoveryResult | None,
) -> list[AffectedRoute]:
    """`affected_routes` with manifest diffs read from the repository."""
    return affected_routes(change_set, head, base, manifest_changes=manifest_changes(repo_dir, change_set))


def discover_change(
    repo_dir: Path,
    change_set: ChangeSet,
    *,
    framework: str = "auto",
    cache_dir: Path | None = None,
) -> tuple[DiscoveryResult, DiscoveryResult | None]:
    """Discovery at the change's head (the working tree in working-tree mode) and, when files were deleted or
    renamed, at its base."""
    from perceo.observer.discovery import discover
    from perceo.observer.snapshot import RepoSnapshot

    if change_set.working_tree:
        head_snapshot = RepoSnapshot.working_tree(repo_dir)
    else:
        head_snapshot = RepoSnapshot.at_ref(repo_dir, change_set.head_sha)
    with head_snapshot:
        head = discover(head_snapshot, framework=framework, cache_dir=cache_dir)
    base: DiscoveryResult | None = None
    if needs_base_discovery(change_set) and change_set.base_sha != EMPTY_TREE:
        with RepoSnapshot.at_ref(repo_dir, change_set.base_sha) as base_snapshot:
            base = discover(base_snapshot, framework=framework, cache_dir=cache_dir)
    return head, base


def affected_routes_in_checkout(
    repo_dir: Path,
    change_set: ChangeSet,
    *,
    framework: str = "auto",
    cache_dir: Path | None = None,
) -> list[AffectedRoute]:
    """The client half of change analysis: discovery, manifest diffs and affected routes for a change set.

    With a `cache_dir`, the affected routes of a commit pair are kept (keyed by both commits, the framework and
    Perceo's code), so re-running the same analysis — a CI retry, a second job — reads them back instead of
    discovering twice. A cache folder that git tracks is never used: a pull request could plant results there.
    """
    if not change_set.files:
        return []
    if cache_dir is not None and not cache_is_trustworthy(repo_dir, cache_dir):
        log.warning("ignoring the cache in %s: it is tracked by git", cache_dir)
        cache_dir = None
    entry = _pair_cache_entry(cache_dir, change_set, framework)
    if entry is not None and entry.is_file():
        try:
            return _AFFECTED_LIST.validate_json(entry.read_bytes())
        except (OSError, ValueError):
            log.warning("ignoring an unreadable cache entry %s", entry)
    head, base = discover_change(repo_dir, change_set, framework=framework, cache_dir=cache_dir)
    affected = affected_routes_for(change_set, repo_dir, head, base)
    if entry is not None:
        _write_atomically(entry, _AFFECTED_LIST.dump_json(affected, by_alias=True))
    return affected


def analyze_checkout(
    repo_dir: Path,
    base: str | None,
    head: str = "HEAD",
    *,
    working_tree: bool = False,
    deepen: bool = False,
    framework: str = "auto",
    cache_dir: Path | None = None,
) -> tuple[ChangeSet, list[AffectedRoute]]:
    """The whole client half for `ci analyze`: the change set and the routes it affects.

    For a commit pair already analysed (same merge base, head, framework and Perceo code) both come from the
    cache: two git calls and one small file, which is what a CI retry or a second job costs.
    """
    if working_tree:
        change_set = compute_change_set(repo_dir, base, working_tree=True, deepen=deepen)
        return change_set, affected_routes_in_checkout(repo_dir, change_set, framework=framework, cache_dir=cache_dir)
    commits = resolve_commits(repo_dir, base, head, deepen=deepen)
    if cache_dir is not None and not cache_is_trustworthy(repo_dir, cache_dir):
        log.warning("ignoring the cache in %s: it is tracked by git", cache_dir)
        cache_dir = None
    pending = ChangeSet(base_sha=commits.merge_base, head_sha=commits.head_sha)
    entry = _pair_cache_entry(cache_dir, pending, framework)
    cached = _read_entry(entry.with_suffix(".change.json")) if entry is not None else None
    if cached is not None:
        try:
            return ChangeSet.model_validate_json(cached), _AFFECTED_LIST.validate_json(entry.read_bytes())  # type: ignore[union-attr]
        except (OSError, ValueError):
            log.warning("ignoring an unreadable cache entry %s", entry)
    change_set = pending.model_copy(update={"files": commits.git.diff(commits.merge_base, commits.head_sha)})
    affected = affected_routes_in_checkout(repo_dir, change_set, framework=framework, cache_dir=cache_dir)
    if entry is not None:
        _write_atomically(entry.with_suffix(".change.json"), change_set.model_dump_json(by_alias=True).encode())
    return change_set, affected


def _read_entry(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


_AFFECTED_LIST: TypeAdapter[list[AffectedRoute]] = TypeAdapter(list[AffectedRoute])
_PAIR_CACHE_VERSION = "1"


def cache_is_trustworthy(repo_dir: Path, cache_dir: Path) -> bool:
    """False when git tracks files in the cache folder (someone committed a cache into the repository)."""
    git = Git.open(repo_dir)
    try:
        relative = cache_dir.resolve().relative_to(git.repo_dir.resolve())
    except ValueError:
        return True  # outside the repository
    listed = git.run("ls-files", "-z", "--", str(relative) or ".")
    return listed.returncode == 0 and not listed.stdout


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


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as handle:
            handle.write(data)
        Path(handle.name).replace(path)
    except OSError as error:  # a read-only cache still gets a result
        log.warning("could not write the cache entry %s: %s", path, error)
