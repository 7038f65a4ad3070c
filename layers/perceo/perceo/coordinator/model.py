"""What the coordinator produces: test results per shard, per flow and per invocation, and synthetic step runs.

`SuiteReport` is the JSON contract of `perceo ci test --json` (and of a report upload): `schemaVersion` 1, keys
only ever added within a version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import Field

from perceo.models.common import EntityId, EpochMs, Model, new_id, now_ms
from perceo.models.runs import MAX_MESSAGE_CHARS, TestCase
from perceo.models.vocab import ActionType, TestOutcome, TestRunStatus

SCHEMA_VERSION = 1

#: How a shard ended. `completed`: the runner exited and its report was read (tests may have failed);
#: `timed_out`: killed at the shard's time limit; `crashed`: the runner ended without a readable report.
ShardStatus = Literal["completed", "timed_out", "crashed"]
#: How the tests of an invocation were chosen.
Selection = Literal["affected", "flows", "all", "observe", "smoke", "report"]


def clip(message: str | None, limit: int = MAX_MESSAGE_CHARS) -> str | None:
    """A message cut to `limit` characters (runners can print megabytes; the head says what broke)."""
    if message is None:
        return None
    text = message.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ShardResult(Model):
    """One runner process (and its retries) over a slice of the selected test files."""

    index: int = Field(ge=0)
    files: list[str] = Field(default_factory=list)
    status: ShardStatus
    exit_code: int | None = None
    duration_ms: int = Field(default=0, ge=0)
    attempts: int = Field(default=1, ge=1)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)


class Totals(Model):
    total: int = Field(default=0, ge=0)
    passed: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    error: int = Field(default=0, ge=0)
    skipped: int = Field(default=0, ge=0)
    flaky: int = Field(default=0, ge=0)

    @classmethod
    def of(cls, tests: Iterable[TestCase]) -> Totals:
        counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        total = flaky = 0
        for test in tests:
            total += 1
            counts[test.status] += 1
            flaky += test.flaky
        return cls(total=total, flaky=flaky, **counts)


class FlowOutcome(Model):
    """The outcome of one flow's tests in an invocation (what becomes its TestRun)."""

    flow_id: EntityId
    name: str
    status: TestRunStatus
    tests: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    flaky: bool = False
    retries: int = Field(default=0, ge=0)
    duration_ms: int = Field(default=0, ge=0)
    failure_message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    test_run_id: EntityId | None = None


class SuiteReport(Model):
    """One invocation: the tests that ran, their shards, and each tested flow's outcome."""

    schema_version: int = SCHEMA_VERSION
    id: EntityId = Field(default_factory=new_id)
    runner: str
    selection: Selection = "affected"
    status: TestRunStatus
    commit_sha: str | None = None
    started_at: EpochMs = Field(default_factory=now_ms)
    duration_ms: int = Field(default=0, ge=0)
    totals: Totals = Field(default_factory=Totals)
    tests: list[TestCase] = Field(default_factory=list)
    shards: list[ShardResult] = Field(default_factory=list)
    flows: list[FlowOutcome] = Field(default_factory=list)
    #: Why nothing ran, when nothing did (e.g. "no affected flow has tests").
    note: str | None = None


def outcome_status(statuses: Sequence[TestOutcome]) -> TestRunStatus:
    """One status for many tests: failed over error over passed over skipped (nothing ran: skipped)."""
    present = set(statuses)
    for status in ("failed", "error", "passed"):
        if status in present:
            return status
    return "skipped"


# Synthetic runs: a flow's steps in a real browser

StepStatus = Literal["passed", "failed", "error", "skipped"]
#: Bounds that keep a step's TestCase name ("<order>. <name>") within a TestCase's 2,048 characters.
MAX_STEP_ORDER = 100_000
MAX_STEP_NAME_CHARS = 1024


class ActionResult(Model):
    type: ActionType
    target: str | None = None
    status: StepStatus
    duration_ms: int = Field(default=0, ge=0)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)


class StepResult(Model):
    step_id: EntityId
    #: The step's place in its flow (its TestCase is named "<order>. <name>").
    order: int = Field(ge=0, le=MAX_STEP_ORDER)
    name: str = Field(max_length=MAX_STEP_NAME_CHARS)
    status: StepStatus
    duration_ms: int = Field(default=0, ge=0)
    message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    actions: list[ActionResult] = Field(default_factory=list)
    #: Screenshots taken by the step (its `screenshot` actions, and one on failure), as paths or object keys.
    artifacts: list[str] = Field(default_factory=list)
    url: str | None = None


class FlowRunResult(Model):
    """One flow executed step by step against a base URL."""

    flow_id: EntityId
    name: str
    status: TestRunStatus
    base_url: str
    duration_ms: int = Field(default=0, ge=0)
    steps: list[StepResult] = Field(default_factory=list)
    failed_step_id: EntityId | None = None
    failure_message: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    artifacts: list[str] = Field(default_factory=list)
    test_run_id: EntityId | None = None


class SyntheticReport(Model):
    """Flows executed in a browser in one invocation (`flows run`, `ci test --synthetic`, a RunTests execution)."""

    schema_version: int = SCHEMA_VERSION
    suite_id: EntityId
    base_url: str
    status: TestRunStatus
    duration_ms: int = Field(default=0, ge=0)
    flows: list[FlowRunResult] = Field(default_factory=list)
