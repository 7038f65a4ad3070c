"""The API backend: the Backend port over the Perceo HTTP API (httpx), with a project API key.

Errors come back as the same `perceo.errors` types the local backend raises, so a command prints the same
message and exits with the same code on both backends. The API answers `{"error": {code, message, details}}`;
`code` picks the error type (`flow_not_found` → FlowNotFoundError), and the status decides when the code is
unknown. API Gateway's own answers (`{"message": ...}`) are mapped by status.

Retries (tenacity, with `perceo.retry.Backoff`): up to `max_attempts` on 429 and 5xx and on network errors,
with exponential backoff and jitter, waiting what `Retry-After` asks when the server says (a wait longer than
`MAX_RETRY_AFTER_S` is reported instead). Only requests that are safe to repeat are retried on 5xx, timeouts
and dropped connections (GET, PUT, DELETE); POST and PATCH are retried only when the server cannot have acted
on them (429, 503, or no connection was made). httpx's own transport retries cover refused connections only,
without statuses, backoff or `Retry-After`, so they stay off.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_result, stop_after_attempt

from perceo import __version__
from perceo.errors import (
    AnalysisNotFoundError,
    AuthenticationError,
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    FlowNotFoundError,
    NotFoundError,
    PayloadTooLargeError,
    PerceoError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationFailed,
)
from perceo.llm.model import UsageReport
from perceo.models import AffectedRoute, ApiKey, ChangeAnalysis, ChangeSet, Flow, FlowUpdate, FlowView, Persona, Project
from perceo.models.api import (
    ID_PATTERN,
    AnalysisList,
    AnalysisReview,
    AnalyzeRequest,
    AnalyzeResponse,
    ChangeSetInput,
    CreatedKey,
    CreateKeyRequest,
    DeleteProjectResponse,
    FlowList,
    KeyList,
    PersonaList,
    UpdateFlowRequest,
)
from perceo.retry import Backoff, retry_after_seconds
from perceo.workflows.model import BootstrapRequest, ReviewRequest, WorkflowStarted, WorkflowView
from perceo_cli.backend.port import (
    LOCAL_BOOTSTRAP_ONLY,
    PREDICT_ONLY_EMBEDDED,
    NotOnThisBackendError,
    Progress,
    SyncProgress,
)

if TYPE_CHECKING:
    from perceo.analytics.model import (
        AnalyticsStatus,
        ConnectionCheck,
        CorrelationReport,
        FlowTraffic,
        GapsReport,
        IngestResult,
        ProviderName,
        SyncRun,
    )
    from perceo.analyzer.alertrules import AlertRule
    from perceo.analyzer.alerts import AlertRuleView, Channel, Delivery
    from perceo.analyzer.insights import AnalyzerRun, CoverageReport, PredictionReport
    from perceo.backup.service import ImportResult
    from perceo.bootstrap.pipeline import BootstrapInput
    from perceo.bus.port import EventBus
    from perceo.coordinator.api_models import CoordinatorRunView, StartRunRequest
    from perceo.coordinator.model import Selection, SuiteReport, SyntheticReport
    from perceo.coordinator.outcomes import FlakyReport, RunContext
    from perceo.coordinator.predictions import PredictionQuality
    from perceo.coordinator.service import ReportFormat
    from perceo.models import Insight, TestRun
    from perceo.models.jobs import JobRecord
    from perceo.models.runs import FlowMetrics
    from perceo.models.vocab import InsightStatus, InsightType, Severity

ModelT = TypeVar("ModelT", bound=BaseModel)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=5.0)
DEFAULT_MAX_ATTEMPTS = 4
#: The longest `Retry-After` the client waits out; a longer one is reported to the user instead.
MAX_RETRY_AFTER_S = 60.0
#: The API's page size cap for `GET /analyses`.
MAX_ANALYSES = 100
#: Flows per `GET /flows` page when the CLI reads them all (the API's largest page).
FLOW_PAGE_SIZE = 500

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Statuses after which a POST/PATCH certainly did nothing.
NOT_PROCESSED_STATUSES = frozenset({429, 503})

_ID = re.compile(ID_PATTERN)


def _error_types() -> dict[str, type[PerceoError]]:
    found: dict[str, type[PerceoError]] = {}
    pending: list[type[PerceoError]] = [PerceoError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


_STATUS_ERRORS: tuple[tuple[int, type[PerceoError]], ...] = (
    (401, AuthenticationError),
    (403, PermissionDeniedError),
    (404, NotFoundError),
    (409, ConflictError),
    (413, PayloadTooLargeError),
    (400, ValidationFailed),
    (422, ValidationFailed),
)


def error_from_response(response: httpx.Response, *, api_url: str) -> PerceoError:
    """The perceo error an API answer stands for (the server's message, never a stack trace)."""
    status = response.status_code
    code, message, details = _error_document(response)
    if status == 403 and message == "Missing Authentication Token":
        method, path = response.request.method, response.request.url.path
        return ConfigError(
            f"the API at {api_url} has no route {method} {path}; check the API URL (it ends with the stage, e.g. …/dev)"
        )
    if status == 429:
        retry_after = retry_after_seconds(response.headers) or 1.0
        return RateLimitedError(message or "too many requests", retry_after_s=retry_after, details=details)
    error_type = _error_types().get(code or "")
    if error_type in (None, PerceoError, RateLimitedError):
        if status >= 500:
            error_type = BackendUnavailableError
            message = f"the Perceo API at {api_url} failed ({status}): {message or response.reason_phrase}"
        else:
            error_type = next((cls for s, cls in _STATUS_ERRORS if s == status), PerceoError)
    assert error_type is not None
    text = message or f"the API answered {status} {response.reason_phrase}"
    if issubclass(error_type, AuthenticationError):
        text += f" (API {api_url}: check the key, or run `perceo login`)"
    return error_type(text, details=details)


def _error_document(response: httpx.Response) -> tuple[str | None, str | None, dict[str, Any]]:
    try:
        document = response.json()
    except ValueError:
        text = response.text.strip()
        return None, text[:300] or None, {}
    if isinstance(document, dict) and isinstance(document.get("error"), dict):
        error = document["error"]
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
        message = error.get("message")
        return (
            str(error["code"]) if error.get("code") else None,
            str(message) if message is not None else None,
            details,
        )
    if isinstance(document, dict):  # API Gateway's own answers: {"message": ...} or {"Message": ...}
        message = document.get("message", document.get("Message"))
        return None, str(message) if message is not None else None, {}
    return None, None, {}


class ApiClient:
    """JSON over HTTP to one Perceo API, with the key, timeouts, retries and error mapping."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base_s: float = 0.5,
        max_backoff_s: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self._retrying = Retrying(
            stop=stop_after_attempt(self.max_attempts),
            retry=retry_if_exception(self._should_retry_error) | retry_if_result(self._should_retry_response),
            wait=Backoff(base_s=backoff_base_s, cap_s=max_backoff_s, retry_after_cap_s=MAX_RETRY_AFTER_S).wait(
                _retry_after, random=jitter
            ),
            sleep=sleep,
            reraise=True,
            retry_error_callback=lambda state: state.outcome.result() if state.outcome is not None else None,
        )
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            timeout=timeout,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": f"perceo-cli/{__version__}",
            },
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int | bool] | None = None,
    ) -> Any:
        """The decoded JSON answer (None for an empty one). Raises the mapped PerceoError on failure."""
        return self._decode(self._send(method, path, json=json, params=params))

    def request_text(self, method: str, path: str) -> str:
        """The answer's body as text (an export's JSON Lines). Raises the mapped PerceoError on failure."""
        return self._send(method, path, json=None, params=None).text

    def _send(
        self, method: str, path: str, *, json: Any, params: Mapping[str, str | int | bool] | None
    ) -> httpx.Response:
        method = method.upper()
        url = path.lstrip("/")
        query = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in (params or {}).items()}
        try:
            response: httpx.Response = self._retrying(self._http.request, method, url, json=json, params=query or None)
        except httpx.TransportError as error:
            raise self._transport_error(error) from None
        if response.status_code < 400:
            return response
        raise error_from_response(response, api_url=self.base_url)

    @staticmethod
    def _should_retry_error(error: BaseException) -> bool:
        """A network error: safe to repeat for idempotent methods, and for any when nothing was sent."""
        if not isinstance(error, httpx.TransportError):
            return False
        never_sent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)
        return never_sent or error.request.method in IDEMPOTENT_METHODS

    @staticmethod
    def _should_retry_response(response: httpx.Response) -> bool:
        if response.status_code not in RETRY_STATUSES:
            return False
        if response.request.method not in IDEMPOTENT_METHODS and response.status_code not in NOT_PROCESSED_STATUSES:
            return False
        wait = retry_after_seconds(response.headers)
        return wait is None or wait <= MAX_RETRY_AFTER_S

    def _transport_error(self, error: httpx.TransportError) -> BackendUnavailableError:
        if isinstance(error, httpx.TimeoutException):
            return BackendUnavailableError(f"the Perceo API at {self.base_url} did not answer in time ({error})")
        return BackendUnavailableError(f"cannot reach the Perceo API at {self.base_url}: {error}")

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BackendUnavailableError(
                f"the Perceo API at {self.base_url} answered {response.request.method} {response.request.url.path} "
                "with something that is not JSON; is the API URL right?"
            ) from None

    def get_model(self, model: type[ModelT], path: str, **kwargs: Any) -> ModelT:
        return self.parse(model, self.request("GET", path, **kwargs))

    def send_model(self, model: type[ModelT], method: str, path: str, body: BaseModel | None = None) -> ModelT:
        payload = None if body is None else body.model_dump(mode="json", by_alias=True, exclude_none=True)
        return self.parse(model, self.request(method, path, json=payload))

    def parse(self, model: type[ModelT], data: Any) -> ModelT:
        """`data` as `model`. Fields this CLI does not know (a newer API added them) are ignored at every level:
        the models forbid unknown fields for what the CLI sends and the server receives, not for what it reads."""
        try:
            return model.model_validate(data, extra="ignore")
        except ValidationError as error:
            raise BackendUnavailableError(
                f"the Perceo API at {self.base_url} answered in an unexpected shape ({error.error_count()} problem(s) "
                f"reading {model.__name__}); is the CLI ({__version__}) too old or too new for it?"
            ) from None


def _retry_after(state: RetryCallState) -> float | None:
    if state.outcome is None or state.outcome.failed:
        return None
    response: httpx.Response = state.outcome.result()
    return retry_after_seconds(response.headers)


def _segment(value: str) -> str:
    return quote(value, safe="")


class HttpBackend:
    """The Backend port over the Perceo API."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._project: Project | None = None

    @property
    def api_url(self) -> str:
        return self.client.base_url

    # -- projects ----------------------------------------------------------------------------------------------

    def project(self) -> Project:
        if self._project is None:
            self._project = self.client.get_model(Project, "/projects/me")
        return self._project

    def key_project(self) -> Project:
        return self.project()

    def export_project(self, project_id: str | None = None) -> list[str]:
        """`GET /projects/{id}/export` (the key's own project by default): JSON Lines, keys' metadata included."""
        target = project_id or self.project().id
        return self.client.request_text("GET", f"/projects/{_segment(target)}/export").splitlines()

    def import_project(self, lines: list[str], *, into: str | None = None, replace: bool = False) -> ImportResult:
        """`POST /projects/{id}/import`: the project is `into`, else the file's own (either must be the key's)."""
        from perceo.backup.format import read_export
        from perceo.backup.service import ImportRequest, ImportResult

        header, _ = read_export(lines)
        target = into or header.project_id
        body = ImportRequest(export="".join(f"{line}\n" for line in lines), replace=replace)
        return self.client.send_model(ImportResult, "POST", f"/projects/{_segment(target)}/import", body)

    def delete_project(self, project_id: str) -> DeleteProjectResponse:
        return self.client.send_model(DeleteProjectResponse, "DELETE", f"/projects/{_segment(project_id)}")

    def usage(self, days: int) -> UsageReport:
        """The project's LLM usage over the last `days` UTC days (`GET /usage`)."""
        return self.client.get_model(UsageReport, "/usage", params={"days": days})

    def bootstrap(
        self,
        request: BootstrapInput,
        *,
        project: Project,
        config_path: str,
        progress: Progress | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        raise NotOnThisBackendError(LOCAL_BOOTSTRAP_ONLY)

    # -- flows ---------------------------------------------------------------------------------------------------

    def list_flows(self) -> list[FlowView]:
        """Every flow of the project: `GET /flows` page after page (by name), as the local backend lists them."""
        flows: list[FlowView] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int | bool] = {"includeSteps": True, "limit": FLOW_PAGE_SIZE}
            if cursor is not None:
                params["cursor"] = cursor
            page = self.client.get_model(FlowList, "/flows", params=params)
            flows.extend(page.flows)
            if page.next_cursor is None:
                return flows
            if page.next_cursor == cursor:
                raise BackendUnavailableError(
                    f"the Perceo API at {self.api_url} gave the same page of flows twice; is the API URL right?"
                )
            cursor = page.next_cursor

    def get_flow(self, ref: str) -> FlowView:
        """By id, else by name (exact, then case-insensitive when unambiguous), as the local backend finds it.

        The API resolves both in `GET /flows/{ref}`; a name that cannot be a path segment (spaces) is looked up
        in the list instead.
        """
        if _ID.fullmatch(ref):
            return self.client.get_model(FlowView, f"/flows/{_segment(ref)}")
        flows = self.list_flows()
        exact = [f for f in flows if f.name == ref]
        folded = [f for f in flows if f.name.casefold() == ref.casefold()]
        matches = exact or (folded if len(folded) == 1 else [])
        if not matches:
            raise FlowNotFoundError(f"no flow '{ref}' in this project", details={"flow": ref})
        return matches[0]

    def _flow_segment(self, ref: str) -> str:
        return _segment(ref if _ID.fullmatch(ref) else self.get_flow(ref).id)

    def update_flow(self, ref: str, update: FlowUpdate) -> Flow:
        fixed = {"risk_score", "coverage_score", "user_edited"} & update.model_fields_set
        if any(getattr(update, name) is not None for name in fixed):
            raise ValidationFailed(
                "riskScore, coverageScore and userEdited are computed by Perceo and cannot be set through the API",
                details={"fields": sorted(fixed)},
            )
        request = UpdateFlowRequest(
            description=update.description,
            priority=update.priority,
            entry_point=update.entry_point,
            is_active=update.is_active,
            trigger_conditions=update.trigger_conditions,
        )
        view = self.client.send_model(FlowView, "PATCH", f"/flows/{self._flow_segment(ref)}", request)
        # The port returns the flow itself, as the local backend does (without personas, pages and steps).
        return Flow.model_validate(view.model_dump(include=set(Flow.model_fields)))

    def delete_flow(self, ref: str) -> None:
        self.client.request("DELETE", f"/flows/{self._flow_segment(ref)}")

    def list_personas(self) -> list[Persona]:
        return self.client.get_model(PersonaList, "/personas").personas

    # -- change analysis -----------------------------------------------------------------------------------------

    def analyze(
        self,
        change_set: ChangeSet,
        affected_routes: Sequence[AffectedRoute],
        *,
        use_llm: bool = False,
        llm_threshold: float = 0.7,
    ) -> AnalyzeResponse:
        """With `use_llm` the API also starts the LLM review of the flows below `llm_threshold` (`.review`)."""
        request = AnalyzeRequest(
            change_set=ChangeSetInput(
                base_sha=change_set.base_sha,
                head_sha=change_set.head_sha,
                files=change_set.files,
                working_tree=change_set.working_tree,
            ),
            affected_routes=list(affected_routes),
            use_llm=use_llm,
            llm_threshold=llm_threshold,
        )
        return self.client.send_model(AnalyzeResponse, "POST", "/observer/analyze", request)

    def analyze_with_review(
        self, change_set: ChangeSet, affected_routes: Sequence[AffectedRoute], *, llm_threshold: float
    ) -> tuple[AnalyzeResponse, AnalysisReview | None]:
        """The API starts the review (the slow path) itself, after the fast answer."""
        response = self.analyze(change_set, affected_routes, use_llm=True, llm_threshold=llm_threshold)
        return response, response.review

    def get_analysis(self, analysis_id: str) -> ChangeAnalysis:
        if not _ID.fullmatch(analysis_id):
            raise AnalysisNotFoundError(f"analysis {analysis_id} not found")
        return self.client.get_model(ChangeAnalysis, f"/analyses/{_segment(analysis_id)}")

    def list_analyses(self, limit: int = 20) -> list[ChangeAnalysis]:
        if limit <= 0:
            return []
        capped = min(limit, MAX_ANALYSES)
        return self.client.get_model(AnalysisList, "/analyses", params={"limit": capped}).analyses

    # -- API keys (the API only) ---------------------------------------------------------------------------------

    def list_keys(self, *, include_inactive: bool = False) -> list[ApiKey]:
        return self.client.get_model(KeyList, "/keys", params={"includeInactive": include_inactive}).keys

    def create_key(self, name: str, scopes: Iterable[str], *, expires_in_days: int | None = None) -> CreatedKey:
        try:
            request = CreateKeyRequest.model_validate(
                {"name": name, "scopes": list(scopes), "expiresInDays": expires_in_days}
            )
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'key'}: {e['msg']}" for e in error.errors(include_url=False)
            )
            raise ValidationFailed(f"invalid key request: {problems}") from None
        return self.client.send_model(CreatedKey, "POST", "/keys", request)

    def revoke_key(self, prefix: str, *, reason: str | None = None, allow_self: bool = False) -> ApiKey:
        params = {"reason": reason} if reason else {}
        if allow_self:
            params["allowSelf"] = "true"
        data = self.client.request("DELETE", f"/keys/{_segment(prefix)}", params=params or None)
        return self.client.parse(ApiKey, data)

    # -- workflows -----------------------------------------------------------------------------------------------

    def start_bootstrap(self, request: BootstrapRequest) -> WorkflowStarted:
        return self.client.send_model(WorkflowStarted, "POST", "/observer/bootstrap", request)

    def start_review(self, analysis_id: str, request: ReviewRequest) -> WorkflowStarted:
        return self.client.send_model(WorkflowStarted, "POST", f"/analyses/{_segment(analysis_id)}/review", request)

    def workflow_status(self, workflow_id: str) -> WorkflowView:
        return self.client.get_model(WorkflowView, f"/workflows/{_segment(workflow_id)}")

    # -- the analyzer ---------------------------------------------------------------------------------------------
    def run_analyzer(self) -> AnalyzerRun:
        from perceo.analyzer.insights import AnalyzerRun

        return self.client.send_model(AnalyzerRun, "POST", "/analyzer/run")

    def list_insights(
        self,
        *,
        types: Sequence[InsightType] = (),
        statuses: Sequence[InsightStatus] = (),
        min_severity: Severity | None = None,
        since_day: str = "",
        limit: int = 200,
    ) -> list[Insight]:
        from perceo.analyzer.insights import InsightList

        params: dict[str, str | int] = {"limit": max(1, min(limit, 1000))}
        if types:
            params["type"] = ",".join(types)
        if statuses:
            params["status"] = ",".join(statuses)
        if min_severity:
            params["severity"] = min_severity
        if since_day:
            params["since"] = since_day
        return self.client.get_model(InsightList, "/analyzer/insights", params=params).insights

    def set_insight_status(self, ref: str, status: InsightStatus) -> Insight:
        from perceo.models import Insight

        action = {"acknowledged": "ack", "resolved": "resolve"}.get(status)
        if action is None:
            raise ValidationFailed(f"an insight can be acknowledged or resolved here, not set to {status!r}")
        return self.client.send_model(Insight, "POST", f"/analyzer/insights/{_segment(ref)}/{action}")

    def coverage(self) -> CoverageReport:
        from perceo.analyzer.insights import CoverageReport

        return self.client.get_model(CoverageReport, "/analyzer/coverage")

    def predict(self, analysis_id: str) -> PredictionReport:
        raise NotOnThisBackendError(PREDICT_ONLY_EMBEDDED)

    # -- alerts (`/analyzer/alerts…`) -----------------------------------------------------------------------------
    def add_alert(self, rule: AlertRule, channel: Channel) -> AlertRule:
        from perceo.analyzer.alerts import AlertRuleView

        body: dict[str, Any] = {
            "name": rule.name,
            "types": list(rule.types),
            "minSeverity": rule.min_severity,
            "flows": list(rule.flows),
            "anomalies": rule.anomalies,
            "riskLevels": list(rule.risk_levels),
            "channel": {
                "kind": channel.kind,
                "url": channel.url or None,
                "secret": channel.secret,
                "recipients": list(channel.recipients),
                "sender": channel.sender,
            },  # fmt: skip
        }
        body["channel"] = {k: v for k, v in body["channel"].items() if v is not None}
        return self.client.parse(AlertRuleView, self.client.request("POST", "/analyzer/alerts", json=body)).rule

    def list_alerts(self) -> list[AlertRuleView]:
        from perceo.analyzer.alerts import AlertRuleList

        return self.client.get_model(AlertRuleList, "/analyzer/alerts").rules

    def remove_alert(self, name: str) -> None:
        self.client.request("DELETE", f"/analyzer/alerts/{_segment(name)}")

    def test_alert(self, name: str) -> Delivery:
        from perceo.analyzer.alerts import Delivery

        return self.client.send_model(Delivery, "POST", f"/analyzer/alerts/{_segment(name)}/test")

    def alert_deliveries(self, limit: int = 100) -> list[Delivery]:
        from perceo.analyzer.alerts import DELIVERY_LOG_SIZE, DeliveryList

        params = {"limit": max(1, min(limit, DELIVERY_LOG_SIZE))}
        return self.client.get_model(DeliveryList, "/analyzer/alerts/deliveries", params=params).deliveries

    # -- scheduled jobs (`GET /health`) -------------------------------------------------------------------------
    def job_status(self) -> list[JobRecord]:
        from perceo.models.api import HealthResponse

        return self.client.get_model(HealthResponse, "/health").jobs

    # -- the coordinator (`/coordinator/…`) ----------------------------------------------------------------------

    def tests_started(
        self, suite_id: str, *, runner: str, selection: Selection, flow_ids: Sequence[str], files: int
    ) -> None:
        from perceo.coordinator.api_models import TestsStartedRequest

        request = TestsStartedRequest(
            suite_id=suite_id, runner=runner, selection=selection, flow_ids=list(flow_ids)[:500], files=files
        )
        self.client.request("POST", "/coordinator/suites/started", json=request.model_dump(mode="json"))

    def record_test_suite(
        self, report: SuiteReport, context: RunContext, *, coverage: Mapping[str, float] | None = None
    ) -> SuiteReport:
        from perceo.coordinator.api_models import RecordSuiteRequest, RunContextInput
        from perceo.coordinator.model import SuiteReport

        request = RecordSuiteRequest(report=report, context=RunContextInput.of(context), coverage=dict(coverage or {}))
        return self.client.send_model(SuiteReport, "POST", "/coordinator/suites", request)

    def upload_test_report(
        self, data: bytes, fmt: ReportFormat, context: RunContext, *, flows_of: Mapping[str, Sequence[str]]
    ) -> SuiteReport:
        from perceo.coordinator.api_models import MAX_REPORT_CHARS, RunContextInput, UploadReportRequest
        from perceo.coordinator.model import SuiteReport

        content = data.decode("utf-8", errors="replace")
        if len(content) > MAX_REPORT_CHARS:
            raise PayloadTooLargeError(
                f"the report is {len(content):,} characters; the API reads at most {MAX_REPORT_CHARS:,} per upload"
            )
        request = UploadReportRequest(
            format=fmt,
            content=content,
            context=RunContextInput.of(context),
            flows_of={file: list(ids) for file, ids in flows_of.items()},
        )
        return self.client.send_model(SuiteReport, "POST", "/coordinator/reports", request)

    def record_synthetic(self, report: SyntheticReport, context: RunContext) -> SyntheticReport:
        from perceo.coordinator.api_models import RecordSyntheticRequest, RunContextInput
        from perceo.coordinator.model import SyntheticReport

        request = RecordSyntheticRequest(report=report, context=RunContextInput.of(context))
        return self.client.send_model(SyntheticReport, "POST", "/coordinator/synthetic", request)

    def list_test_runs(
        self,
        *,
        flow_id: str | None = None,
        commit_sha: str | None = None,
        suite_id: str | None = None,
        limit: int = 100,
    ) -> list[TestRun]:
        from perceo.coordinator.api_models import TestRunList

        params: dict[str, str | int | bool] = {"limit": max(1, min(limit, 500))}
        for name, value in (("flowId", flow_id), ("commitSha", commit_sha), ("suiteId", suite_id)):
            if value is not None:
                params[name] = value
        return self.client.get_model(TestRunList, "/coordinator/results", params=params).runs

    def flaky_tests(self) -> FlakyReport:
        from perceo.coordinator.outcomes import FlakyReport

        return self.client.get_model(FlakyReport, "/coordinator/flaky")

    def prediction_quality(self) -> PredictionQuality:
        from perceo.coordinator.predictions import PredictionQuality

        return self.client.get_model(PredictionQuality, "/coordinator/predictions")

    def list_flow_metrics(self, *, since: str, until: str) -> list[FlowMetrics]:
        """`GET /analytics/flow-metrics` (the API answers at most 92 days at a time)."""
        from perceo.models.runs import FlowMetrics

        data = self.client.request("GET", "/analytics/flow-metrics", params={"since": since, "until": until})
        items = data.get("metrics") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise BackendUnavailableError(
                f"the Perceo API at {self.api_url} answered GET /analytics/flow-metrics oddly"
            )
        return [self.client.parse(FlowMetrics, item) for item in items]

    def event_bus(self) -> EventBus | None:
        return None  # the API publishes its own events (EventBridge); a laptop has no access to that bus

    def start_run_tests(self, request: StartRunRequest) -> WorkflowStarted:
        return self.client.send_model(WorkflowStarted, "POST", "/coordinator/runs", request)

    def run_tests_status(self, run_id: str) -> CoordinatorRunView:
        from perceo.coordinator.api_models import CoordinatorRunView

        return self.client.get_model(CoordinatorRunView, f"/coordinator/runs/{_segment(run_id)}")

    # -- production analytics ----------------------------------------------------------------------------------

    def analytics_connect(self, provider: ProviderName, credentials: dict[str, Any]) -> ConnectionCheck:
        from perceo.analytics.model import ConnectionCheck

        body = {"provider": provider, "credentials": credentials}
        return self.client.parse(ConnectionCheck, self.client.request("POST", "/analytics/connect", json=body))

    def analytics_ingest(self, batch: dict[str, Any]) -> IngestResult:
        from perceo.analytics.model import IngestResult

        return self.client.parse(IngestResult, self.client.request("POST", "/analytics/events", json=batch))

    def analytics_sync(
        self,
        provider: ProviderName | None = None,
        *,
        since: int | None = None,
        until: int | None = None,
        progress: SyncProgress | None = None,
    ) -> SyncRun:
        """One request: the API syncs and correlates within it (the progress is the request itself)."""
        from perceo.analytics.model import SyncRequest, SyncRun

        if progress is not None:
            progress("syncing on the API", 0, 1)
        run = self.client.send_model(
            SyncRun, "POST", "/analytics/sync", SyncRequest(provider=provider, since=since, until=until)
        )
        if progress is not None:
            progress("synced", 1, 1)
        return run

    def analytics_status(self, days: int, *, flow: str | None = None) -> AnalyticsStatus:
        from perceo.analytics.model import AnalyticsStatus

        params: dict[str, str | int | bool] = {"days": days}
        if flow is not None:
            params["flow"] = flow
        return self.client.get_model(AnalyticsStatus, "/analytics/metrics", params=params)

    def analytics_traffic(self, days: int) -> dict[str, FlowTraffic]:
        from perceo.analytics.model import FlowTraffic

        data = self.client.request("GET", "/analytics/traffic", params={"days": days})
        flows = data.get("flows") if isinstance(data, dict) else None
        if not isinstance(flows, list):
            raise BackendUnavailableError(f"the Perceo API at {self.api_url} answered GET /analytics/traffic oddly")
        parsed = [self.client.parse(FlowTraffic, item) for item in flows]
        return {t.flow_id: t for t in parsed}

    def analytics_correlate(self, *, since: str | None = None, until: str | None = None) -> CorrelationReport:
        from perceo.analytics.model import CorrelateRequest, CorrelationReport

        return self.client.send_model(
            CorrelationReport, "POST", "/analytics/correlate", CorrelateRequest(since=since, until=until)
        )

    def analytics_gaps(self, days: int, *, limit: int = 20) -> GapsReport:
        from perceo.analytics.model import GapsReport

        return self.client.get_model(GapsReport, "/analytics/gaps", params={"days": days, "limit": limit})

    def analytics_snippet(self) -> str:
        from perceo.analytics.service import AnalyticsService

        return AnalyticsService.snippet()

    def close(self) -> None:
        self.client.close()
