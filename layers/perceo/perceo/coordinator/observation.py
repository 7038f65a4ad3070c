"""Observation mode: run the full suite, and measure what the selection would have caught and saved.

A team turns on gating by selection once it has seen, over its own history, that the selected tests catch the
failures the full suite finds. Given a full run and the files the selection would have run: per flow, selection
recall = failing tests the selection included / all failing tests of the flow; overall the same over every
failing test (unmapped ones included: a selection cannot catch what no flow maps to); and the time saved = the
duration of the tests it would have left out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from pydantic import Field

from perceo.coordinator.model import SuiteReport
from perceo.models.common import EntityId, Model
from perceo.models.runs import TestCase


class FlowObservation(Model):
    flow_id: EntityId
    name: str
    selected: bool
    tests: int = 0
    failures: int = 0
    caught: int = 0
    #: caught / failures; None when the flow had no failure in the full run.
    recall: float | None = None
    #: Failing tests of the flow the selection would have missed.
    missed: list[str] = Field(default_factory=list)


class ObservationReport(Model):
    full_duration_ms: int = 0
    selected_duration_ms: int = 0
    saved_duration_ms: int = 0
    #: saved / full (0..1); None when the full run took no measurable time.
    saved_ratio: float | None = None
    tests: int = 0
    selected_tests: int = 0
    failures: int = 0
    caught: int = 0
    recall: float | None = None
    missed: list[str] = Field(default_factory=list)
    flows: list[FlowObservation] = Field(default_factory=list)


def observe(
    full: SuiteReport, selected_files: Collection[str], selected_flows: Collection[str], names: Mapping[str, str]
) -> ObservationReport:
    """Compare a full run with the selection (`selected_files`, made for `selected_flows`; `names`: flow id -> name)."""
    files = set(selected_files)

    def chosen(test: TestCase) -> bool:
        return test.file is not None and test.file in files

    failing = [t for t in full.tests if t.status in ("failed", "error")]
    caught = [t for t in failing if chosen(t)]
    full_ms = sum(t.duration_ms for t in full.tests)
    selected_ms = sum(t.duration_ms for t in full.tests if chosen(t))
    flows = []
    for flow_id, name in names.items():
        tests = [t for t in full.tests if flow_id in t.flow_ids]
        broken = [t for t in tests if t.status in ("failed", "error")]
        hit = [t for t in broken if chosen(t)]
        flows.append(
            FlowObservation(
                flow_id=flow_id,
                name=name,
                selected=flow_id in selected_flows,
                tests=len(tests),
                failures=len(broken),
                caught=len(hit),
                recall=round(len(hit) / len(broken), 4) if broken else None,
                missed=[t.id for t in broken if not chosen(t)],
            )
        )
    return ObservationReport(
        full_duration_ms=full_ms,
        selected_duration_ms=selected_ms,
        saved_duration_ms=full_ms - selected_ms,
        saved_ratio=round((full_ms - selected_ms) / full_ms, 4) if full_ms else None,
        tests=len(full.tests),
        selected_tests=sum(chosen(t) for t in full.tests),
        failures=len(failing),
        caught=len(caught),
        recall=round(len(caught) / len(failing), 4) if failing else None,
        missed=[t.id for t in failing if not chosen(t)],
        flows=flows,
    )
