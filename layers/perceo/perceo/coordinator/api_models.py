"""What the `/coordinator/…` routes take and give (the CLI's HTTP backend sends the same models).

A run's context (`RunContext`, a dataclass of the domain) travels as `RunContextInput`; reports travel as the
domain's own `SuiteReport` / `SyntheticReport`, which are the `ci test --json` and `flows run --json` contracts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from perceo.coordinator.model import Selection, SuiteReport, SyntheticReport
from perceo.coordinator.outcomes import FlakyReport, RunContext
from perceo.coordinator.predictions import PredictionQuality
from perceo.models.common import EntityId, Model, ProjectId, UnitFloat
from perceo.models.runs import TestRun
from perceo.models.vocab import TestTrigger
from perceo.workflows.model import WorkflowView

#: Largest uploaded report (JUnit XML or Playwright JSON) the API reads, in characters (the API's body cap is 5 MB).
MAX_REPORT_CHARS = 4_500_000
#: Most flows one request names.
MAX_FLOWS = 500

CommitSha = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")]
TestFilePath = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
BaseUrl = Annotated[str, StringConstraints(min_length=8, max_length=2048, pattern=r"^https?://[^\s]+$")]


class RunContextInput(Model):
    """Where a run comes from: recorded on every TestRun of it."""

    triggered_by: TestTrigger = "ci"
    commit_sha: CommitSha | None = None
    branch_name: Annotated[str, StringConstraints(max_length=255)] | None = None
    pr_number: int | None = Field(default=None, ge=1)

    def to_context(self) -> RunContext:
        return RunContext(
            triggered_by=self.triggered_by,
            commit_sha=self.commit_sha,
            branch_name=self.branch_name,
            pr_number=self.pr_number,
        )

    @classmethod
    def of(cls, context: RunContext) -> RunContextInput:
        return cls(
            triggered_by=context.triggered_by,
            commit_sha=context.commit_sha,
            branch_name=context.branch_name,
            pr_number=context.pr_number,
        )


class TestsStartedRequest(Model):
    __test__ = False  # not a pytest test class

    suite_id: EntityId
    runner: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    selection: Selection
    flow_ids: list[EntityId] = Field(default_factory=list, max_length=MAX_FLOWS)
    files: int = Field(default=0, ge=0)


class RecordSuiteRequest(Model):
    report: SuiteReport
    context: RunContextInput = Field(default_factory=RunContextInput)
    #: Flow id -> the share of its pages its tests visit (from the CLI's flow -> test mapping).
    coverage: dict[EntityId, UnitFloat] = Field(default_factory=dict)


class UploadReportRequest(Model):
    format: Literal["junit", "playwright-json"]
    content: str = Field(min_length=1, max_length=MAX_REPORT_CHARS)
    context: RunContextInput = Field(default_factory=RunContextInput)
    #: Test file -> the ids of the flows it guards (the CLI's mapping); tests of other files stay unmapped.
    flows_of: dict[TestFilePath, list[EntityId]] = Field(default_factory=dict)


class RecordSyntheticRequest(Model):
    report: SyntheticReport
    context: RunContextInput = Field(default_factory=RunContextInput)


class StartRunRequest(Model):
    """Start the RunTests workflow: the flows' steps in a browser in the cloud, against `baseUrl`."""

    base_url: BaseUrl
    #: The flows to run (all active flows with steps when absent).
    flow_ids: list[EntityId] | None = Field(default=None, max_length=MAX_FLOWS)
    context: RunContextInput = Field(default_factory=RunContextInput)
    #: Flows run at the same time (the Map's MaxConcurrency; `observer.ci.parallelism`), capped by the deployment.
    parallelism: int = Field(default=4, ge=1, le=40)


class RunTestsRequest(StartRunRequest):
    """What a RunTests execution reads from the bundle store (the execution input carries ids only)."""

    project_id: ProjectId | None = None
    workflow_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class TestRunList(Model):
    __test__ = False  # not a pytest test class

    runs: list[TestRun] = Field(default_factory=list)


class CoordinatorRunView(Model):
    """A RunTests workflow: its status, and the test runs it has recorded so far."""

    workflow: WorkflowView
    results: list[TestRun] = Field(default_factory=list)


class ArtifactLink(Model):
    """A short-lived link to a screenshot a RunTests task stored (a TestRun's `artifacts` entry)."""

    key: str
    url: str
    expires_in_seconds: int


__all__ = [
    "ArtifactLink",
    "CoordinatorRunView",
    "FlakyReport",
    "PredictionQuality",
    "RecordSuiteRequest",
    "RecordSyntheticRequest",
    "RunContextInput",
    "RunTestsRequest",
    "StartRunRequest",
    "TestRunList",
    "TestsStartedRequest",
    "UploadReportRequest",
]
