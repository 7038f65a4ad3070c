"""From a mapping and the flows to test to a `TestPlan`: which files, which flows to report, how to balance."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from perceo.coordinator.model import Selection
from perceo.models import FlowView, TestRun
from perceo_cli.coordinator.engine import TestPlan
from perceo_cli.coordinator.mapping import TestMapping


def plan_tests(
    mapping: TestMapping,
    flows: Sequence[FlowView],
    flow_ids: Iterable[str] | None,
    *,
    selection: Selection,
    commit_sha: str | None = None,
    base_url: str | None = None,
    history: Sequence[TestRun] = (),
) -> TestPlan:
    """The plan for `flow_ids` (every flow when None: `--all` / `--observe`): their tests' files, each file's
    flows, the flows to report, tags when every link is a tag, and past durations per file from `history`."""
    wanted = [f.id for f in flows] if flow_ids is None else list(dict.fromkeys(flow_ids))
    chosen = set(wanted)
    files = (
        mapping.files_for(chosen) if flow_ids is not None else sorted({*mapping.flows_of(), *mapping.unmapped_files})
    )
    return TestPlan(
        files=files,
        flows_of=mapping.flows_of(),
        flow_names={f.id: f.name for f in flows if f.id in chosen},
        greps=mapping.greps_for(chosen) if flow_ids is not None else [],
        selection=selection,
        commit_sha=commit_sha,
        base_url=base_url,
        durations=durations_by_file(history),
    )


def durations_by_file(runs: Sequence[TestRun]) -> dict[str, int]:
    """The latest known duration of each test file (the sum of its tests in the newest run that has it)."""
    durations: dict[str, int] = {}
    for run in sorted(runs, key=lambda r: r.created_at):
        per_file: dict[str, int] = defaultdict(int)
        for test in run.tests:
            if test.file:
                per_file[test.file] += test.duration_ms
        durations.update(per_file)
    return durations
