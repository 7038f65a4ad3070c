"""The coordinator: test results recorded from CI (suites, uploaded reports, flows run in a browser), the RunTests
workflow (flows run in the cloud's browser), and what the history says (results, flaky tests, predictions)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.coordinator.api_models import (
    ArtifactLink,
    CoordinatorRunView,
    FlakyReport,
    PredictionQuality,
    RecordSuiteRequest,
    RecordSyntheticRequest,
    RunTestsRequest,
    StartRunRequest,
    TestRunList,
    TestsStartedRequest,
    UploadReportRequest,
)
from perceo.coordinator.artifacts import LINK_SECONDS
from perceo.coordinator.model import SuiteReport, SyntheticReport
from perceo.coordinator.service import artifact_link
from perceo.errors import NotFoundError
from perceo.models.api import ID_PATTERN
from perceo.wiring import services
from perceo.workflows.model import WORKFLOW_ID_PATTERN, WorkflowStarted

router = Router()

RunIdParam = Annotated[str, Path(pattern=WORKFLOW_ID_PATTERN, description="The RunTests workflow id (wf-…)")]
EntityIdQuery = Annotated[str | None, Query(pattern=ID_PATTERN, description="Only runs of this flow")]


@router.post(
    "/coordinator/suites/started",
    status_code=202,
    summary="Announce a test invocation about to run: publishes coordinator.tests.started (scope ci:test)",
    tags=["coordinator"],
    security=requires("ci:test"),
    responses=responses(*AUTHENTICATED, 404, ok=202, ok_description="Published"),
)
def suite_started(body: TestsStartedRequest) -> TestsStartedRequest:
    principal = authorize("ci:test")
    services().projects.get_project(principal.project_id)
    services().coordinator.tests_started(
        principal.project_id,
        body.suite_id,
        runner=body.runner,
        selection=body.selection,
        flow_ids=body.flow_ids,
        files=body.files,
    )
    return body


@router.post(
    "/coordinator/suites",
    status_code=201,
    summary="Record the results of a test invocation (`perceo ci test`): one TestRun per tested flow (scope ci:test)",
    description=(
        "The body is the `ci test --json` report, the run's context (commit, branch, PR) and each flow's coverage "
        "score. Tests of flows the project does not have are kept without a flow. Predictions made for the tested "
        "flows at the commit are validated; coordinator.test.failed and coordinator.tests.completed are published."
    ),
    tags=["coordinator"],
    security=requires("ci:test"),
    responses=responses(*AUTHENTICATED, 404, 409, ok=201, ok_description="Recorded"),
)
def record_suite(body: RecordSuiteRequest) -> SuiteReport:
    principal = authorize("ci:test")
    services().projects.get_project(principal.project_id)
    return services().coordinator.record_suite(
        principal.project_id, body.report, body.context.to_context(), coverage=body.coverage
    )


@router.post(
    "/coordinator/reports",
    status_code=201,
    summary="Upload results produced elsewhere: JUnit XML or Playwright JSON, mapped to flows by file (scope ci:test)",
    tags=["coordinator"],
    security=requires("ci:test"),
    responses=responses(*AUTHENTICATED, 404, 409, ok=201, ok_description="Recorded"),
)
def upload_report(body: UploadReportRequest) -> SuiteReport:
    principal = authorize("ci:test")
    services().projects.get_project(principal.project_id)
    return services().coordinator.ingest_report(
        principal.project_id,
        body.content.encode("utf-8"),
        body.format,
        body.context.to_context(),
        flows_of=body.flows_of,
    )


@router.post(
    "/coordinator/synthetic",
    status_code=201,
    summary="Record flows run in a browser by the CLI (`perceo flows run`): one TestRun per flow (scope ci:test)",
    tags=["coordinator"],
    security=requires("ci:test"),
    responses=responses(*AUTHENTICATED, 404, 409, ok=201, ok_description="Recorded"),
)
def record_synthetic(body: RecordSyntheticRequest) -> SyntheticReport:
    principal = authorize("ci:test")
    services().projects.get_project(principal.project_id)
    return services().coordinator.record_synthetic(principal.project_id, body.report, body.context.to_context())


@router.post(
    "/coordinator/runs",
    status_code=202,
    summary="Start RunTests: the flows' steps in the cloud's browser against baseUrl (scope ci:test)",
    description=(
        "A Map over the flows (all active flows with steps when flowIds is absent), `parallelism` at a time. "
        "Answers at once with the workflow id; follow it with GET /coordinator/runs/{id}. baseUrl must be a public "
        "address unless the deployment allows private ones (RunTestsAllowPrivateUrls)."
    ),
    tags=["coordinator"],
    security=requires("ci:test", "workflows:start"),
    responses=responses(*AUTHENTICATED, 404, ok=202, ok_description="Started"),
)
def start_run(body: StartRunRequest) -> WorkflowStarted:
    from perceo.coordinator.urls import check_browsable

    principal = authorize("ci:test", "workflows:start")
    services().projects.get_project(principal.project_id)
    check_browsable(body.base_url, allow_private=services().settings.run_tests_allow_private_urls)
    request = RunTestsRequest.model_validate(body.model_dump())
    started: WorkflowStarted = services().workflows.start_tests(principal.project_id, request)
    return started


@router.get(
    "/coordinator/runs/<id>",
    summary="A RunTests workflow: its status and progress, and the test runs it recorded so far",
    tags=["coordinator"],
    security=requires("ci:test", "flows:read", "workflows:start"),
    responses=responses(*AUTHENTICATED, 404),
)
def get_run(id: RunIdParam) -> CoordinatorRunView:
    principal = authorize("ci:test", "flows:read", "workflows:start")
    view = services().workflows.status(principal.project_id, id)
    runs = services().coordinator.results(principal.project_id, suite_id=id, limit=500)
    return CoordinatorRunView(workflow=view, results=runs)


@router.get(
    "/coordinator/artifacts",
    summary="A link (valid 5 minutes) to a screenshot a RunTests run stored: a TestRun's `artifacts` entry",
    tags=["coordinator"],
    security=requires("ci:test", "flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def artifact(
    key: Annotated[
        str,
        Query(
            pattern=r"^artifacts/[A-Za-z0-9_./:-]{1,400}$",
            description="The artifact's key, as a TestRun of a RunTests run lists it (artifacts/{projectId}/…)",
        ),
    ],
) -> ArtifactLink:
    principal = authorize("ci:test", "flows:read")
    url = artifact_link(services().bundles, principal.project_id, key)
    if url is None:
        raise NotFoundError("no such artifact in this project")
    return ArtifactLink(key=key, url=url, expires_in_seconds=LINK_SECONDS)


@router.get(
    "/coordinator/results",
    summary="Recorded test runs, newest first, by flow, commit or invocation (scope flows:read or ci:test)",
    tags=["coordinator"],
    security=requires("flows:read", "ci:test"),
    responses=responses(*AUTHENTICATED),
)
def list_results(
    flow_id: Annotated[str | None, Query(alias="flowId", pattern=ID_PATTERN, description="Only this flow")] = None,
    commit_sha: Annotated[
        str | None, Query(alias="commitSha", pattern=r"^[0-9a-f]{7,64}$", description="Only this commit")
    ] = None,
    suite_id: Annotated[
        str | None, Query(alias="suiteId", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Only this invocation")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="How many")] = 100,
) -> TestRunList:
    principal = authorize("flows:read", "ci:test")
    runs = services().coordinator.results(
        principal.project_id, flow_id=flow_id, commit_sha=commit_sha, suite_id=suite_id, limit=limit
    )
    return TestRunList(runs=runs)


@router.get(
    "/coordinator/flaky",
    summary="Tests that passed and failed on one commit, or passed only on a retry, in the last 90 days",
    tags=["coordinator"],
    security=requires("flows:read", "ci:test", "insights:read"),
    responses=responses(*AUTHENTICATED),
)
def flaky_tests() -> FlakyReport:
    principal = authorize("flows:read", "ci:test", "insights:read")
    return services().coordinator.flaky_tests(principal.project_id)


@router.get(
    "/coordinator/predictions",
    summary="How change analyses' predictions held against test outcomes: precision, recall, Brier score",
    tags=["coordinator"],
    security=requires("insights:read", "ci:analyze", "ci:test"),
    responses=responses(*AUTHENTICATED),
)
def prediction_quality() -> PredictionQuality:
    principal = authorize("insights:read", "ci:analyze", "ci:test")
    return services().coordinator.prediction_quality(principal.project_id)
