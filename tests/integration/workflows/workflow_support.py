"""The workflows on moto in this process: the real template's state machines (substituted ASL) executed by moto's
interpreter, their task Lambdas' real handlers run in process by `perceo_cli.local.sfn`, S3 in moto as the bundle
store, Redis (the FalkorDB test server) as the progress store, git over HTTPS on loopback, the fake OpenAI server.

What a test swaps per run (the step runtime of the installed `perceo.wiring` services): the flow graph (a FalkorDB
graph of its own), the LLM, the key lookup.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from api_handlers import FUNCTION_ENV
from fakes.git_https import GitHttpsServer, publish_repository
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply
from pydantic import SecretStr

from perceo import wiring
from perceo.auth.service import ApiKeyService
from perceo.auth.store import InMemoryKeyStore
from perceo.graph.falkor import FalkorFlowGraph
from perceo.graph.port import FlowGraph
from perceo.llm.cache import RedisResponseCache
from perceo.llm.client import StructuredLLM
from perceo.llm.settings import LLMSettings
from perceo.llm.usage import RedisUsageStore
from perceo.models import Project, new_id
from perceo.workflows.bundle import S3BundleStore
from perceo.workflows.credentials import GitCredentialSource, NoGitCredentials
from perceo.workflows.model import TERMINAL_STATUSES, BootstrapRequest, WorkflowView
from perceo.workflows.progress import RedisProgressStore
from perceo.workflows.runtime import StepRuntime
from perceo.workflows.service import WorkflowService
from perceo.workflows.settings import WorkflowSettings
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.aws import LocalAws
from perceo_cli.local.lambdas import LambdaRuntime
from perceo_cli.local.sfn import start_workflows, workflow_physical_ids
from perceo_cli.local.template import Intrinsics, load_template, read_functions

REPO = Path(__file__).resolve().parents[3]
PEPPER = b"w" * 48
GIT_IDENTITY = ["-c", "user.name=Test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"]

FLOWS = {
    "flows": [
        {
            "name": "Buy a product",
            "description": "Browse, add to the cart and pay.",
            "priority": "critical",
            "pages": ["/products", "/products/42", "/cart", "/checkout"],
            "connectedFlowIds": ["Sign in"],
        },
        {
            "name": "Sign in",
            "description": "Sign in and reach the dashboard.",
            "priority": "high",
            "pages": ["/login", "/dashboard"],
            "connectedFlowIds": None,
        },
    ]
}
PERSONAS = {
    "personas": [
        {
            "name": "Shopper",
            "description": "Buys things.",
            "behaviors": ["browses", "pays"],
            "flowNames": ["Buy a product"],
        },
        {"name": "Member", "description": "Has an account.", "behaviors": ["signs in"], "flowNames": ["Sign in"]},
    ]
}
REFINED = {"flows": FLOWS["flows"], "personas": PERSONAS["personas"]}
STEPS = {
    "steps": [
        {
            "stepNumber": 1,
            "action": "Open the page",
            "expectedState": "The page shows",
            "selectors": ["main"],
            "actions": [{"type": "navigate", "target": "/", "value": "/"}],
        },
        {
            "stepNumber": 2,
            "action": "Click the main button",
            "expectedState": "The next page shows",
            "selectors": ["button"],
            "actions": [{"type": "click", "target": "button", "value": None}],
        },
        {
            "stepNumber": 3,
            "action": "Check the result",
            "expectedState": "Done",
            "selectors": ["h1"],
            "actions": [{"type": "assert", "target": "h1", "value": None}],
        },
    ]
}
ANSWERS: dict[str, Any] = {
    "flows_from_graph": FLOWS,
    "personas_assign": PERSONAS,
    "personas_refine": REFINED,
    "steps_extraction": STEPS,
}


def scripted(request: RecordedRequest) -> Reply:
    return Reply.json(ANSWERS[request.schema_name or ""])


@dataclass
class Session:
    """What lives for the whole test session (per xdist worker)."""

    aws: LocalAws
    runtime: LambdaRuntime
    intrinsics: Intrinsics
    git: GitHttpsServer
    git_root: Path
    redis_url: str


@dataclass
class Harness:
    session: Session
    redis: redis.Redis
    graph: FlowGraph
    keys: ApiKeyService
    service: WorkflowService
    step_runtime: StepRuntime
    bucket: str
    bootstrap_arn: str
    analyze_arn: str
    work_dir: Path
    llm_factory: Callable[[], Any] = field(default=lambda: None)

    @property
    def sfn(self) -> Any:
        return self.session.aws.client("stepfunctions")

    def new_project(self) -> tuple[str, str]:
        """A project in the graph and a key for it with workflows:start: (project id, key prefix)."""
        project_id = f"wf-test-{new_id()[:12]}"
        self.graph.create_project(Project(id=project_id, name=f"shop-{project_id[-6:]}", framework="nextjs"))
        _, key = self.keys.create(project_id, "ci", ["workflows:start", "flows:read"], created_by="test")
        return project_id, key.prefix

    def publish_demo_app(self, project_id: str, *, marker: bool = True) -> str:
        """The demo shop as a repository served over HTTPS; its clone URL. A marker page makes the prompts (and so
        the LLM cache keys) unique to the test."""
        work = self.work_dir / f"app-{project_id}"
        build_demo_app(work)
        if marker:
            page = work / "app" / project_id / "page.tsx"
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text("export default function Marker() { return <main/> }\n")
            subprocess.run(["git", *GIT_IDENTITY, "-C", str(work), "add", "-A"], check=True, capture_output=True)
            subprocess.run(["git", *GIT_IDENTITY, "-C", str(work), "commit", "-qm", "about"], check=True)
        name = f"acme/{project_id}.git"
        publish_repository(work, self.session.git_root, name)
        return self.session.git.url(name)

    def start(self, project_id: str, key_prefix: str, request: BootstrapRequest) -> str:
        return self.service.start_bootstrap(project_id, key_prefix, request).workflow_id

    def wait(self, project_id: str, workflow_id: str, timeout_s: float = 120.0) -> WorkflowView:
        deadline = time.monotonic() + timeout_s
        while True:
            view = self.service.status(project_id, workflow_id)
            if view.status in TERMINAL_STATUSES:
                return view
            if time.monotonic() > deadline:
                raise AssertionError(f"workflow {workflow_id} still {view.status} after {timeout_s}s: {view}")
            time.sleep(0.05)

    def history(self, project_id: str, workflow_id: str) -> list[dict[str, Any]]:
        record = self.service._progress.get(project_id, workflow_id)
        assert record is not None
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"executionArn": record.execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = self.sfn.get_execution_history(**kwargs)
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    def execution_input(self, project_id: str, workflow_id: str) -> dict[str, Any]:
        record = self.service._progress.get(project_id, workflow_id)
        assert record is not None
        described = self.sfn.describe_execution(executionArn=record.execution_arn)
        document: dict[str, Any] = json.loads(described["input"])
        return document


def start_session(tmp: Path, redis_url: str) -> Iterator[Session]:
    """moto (ASL execution on), the template's functions, the git server; stopped at the end."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log drowns the test output
    aws = LocalAws().start()
    previous = os.environ.get("MOTO_PORT")
    os.environ["MOTO_PORT"] = str(aws.port)  # moto's interpreter calls Lambda at localhost:$MOTO_PORT
    git_root = tmp / "git"
    git_root.mkdir()
    git = GitHttpsServer(git_root, tmp).start()
    try:
        template = REPO / "template.yaml"
        parameters = {
            "Neo4jUri": "bolt://127.0.0.1:7687",
            "Neo4jSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:perceo/test/neo4j",
            "AllowedGitHosts": "127.0.0.1",
            "GitSslCaInfo": str(git.ca_file),
        }
        document = load_template(template)
        intrinsics = Intrinsics(template=document, source=template, parameters=parameters)
        intrinsics = Intrinsics(
            template=document, source=template, parameters=parameters, physical_ids=workflow_physical_ids(intrinsics)
        )
        runtime = LambdaRuntime(read_functions(intrinsics))
        load_task_lambdas(runtime)
        yield Session(aws=aws, runtime=runtime, intrinsics=intrinsics, git=git, git_root=git_root, redis_url=redis_url)
    finally:
        git.stop()
        aws.stop()
        if previous is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = previous


def load_task_lambdas(runtime: LambdaRuntime) -> None:
    """Import every task Lambda now, in this thread, with what the template gives every function at import time
    (`FUNCTION_ENV`: powertools' service name, namespace, log level), as Lambda and the local cloud do.

    Left to moto's execution threads, the first import happened whenever a workflow first reached a task, possibly
    during a later test, and without the function environment: powertools then made a `service_undefined` Logger,
    and `instrument_logger` re-pointed the process's `perceo` logger to it (its handler, its level, propagation
    off) — so what another test's log capture saw depended on which tests this xdist worker had run before.
    """
    saved = {name: os.environ.get(name) for name in FUNCTION_ENV}
    os.environ.update(FUNCTION_ENV)
    try:
        runtime.load_all()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    services = {module.logger.name for module in map(runtime.module, runtime.functions)}
    assert services == {"perceo"}, f"task Lambdas log as {services}, not through the perceo logger"


def wait_for_in_flight_task(runtime: LambdaRuntime) -> None:
    """Return once no task Lambda is running. The runtime runs one invocation at a time under its lock, which
    `load_all` takes (every handler is loaded already): a task an aborted execution left running finishes here,
    inside its own test, instead of using the next test's step runtime."""
    runtime.load_all()


def make_llm(fake: FakeOpenAI, client: redis.Redis, *, max_retries: int = 1) -> StructuredLLM:
    settings = LLMSettings(
        base_url=fake.base_url,
        api_key=SecretStr("sk-test-key-for-the-fake-server"),
        model="gpt-4.1-mini",
        timeout_s=5.0,
        max_retries=max_retries,
    )
    return StructuredLLM(
        settings, usage=RedisUsageStore(client), cache=RedisResponseCache(client, 600), sleep=lambda _s: None
    )


def make_harness(
    session: Session,
    client: redis.Redis,
    work_dir: Path,
    *,
    llm: Callable[[], Any] = lambda: None,
    credentials: GitCredentialSource | None = None,
    max_concurrency: int = 2,
) -> Harness:
    workflows = start_workflows(session.aws, session.runtime, session.intrinsics)
    bucket = workflows.buckets["BundleBucket"]
    graph = FalkorFlowGraph(session.redis_url, f"workflows_{new_id()[:10]}")  # a graph of its own per test
    graph.ensure_schema()
    keys = ApiKeyService(InMemoryKeyStore(), PEPPER)
    settings = WorkflowSettings(
        stage="test",
        service_name="perceo",
        redis_url=session.redis_url,
        graph_uri=session.redis_url,
        bundle_bucket=bucket,
        allowed_git_hosts=("127.0.0.1",),
        git_ssl_cainfo=str(session.git.ca_file),
        workflow_max_concurrency=max_concurrency,
    )
    bundles = S3BundleStore(session.aws.client("s3"), bucket)
    progress = RedisProgressStore(client)
    step_runtime = StepRuntime(
        settings=settings,
        bundles=bundles,
        progress=progress,
        graph_factory=lambda: graph,
        key_lookup=keys.get,
        credentials=credentials or NoGitCredentials(),
        llm_factory=llm,
        work_dir=work_dir,
    )
    wiring.install(wiring.build_services(settings, step_runtime=step_runtime))
    service = WorkflowService(
        session.aws.client("stepfunctions"),
        progress,
        bundles,
        bootstrap_state_machine_arn=workflows.state_machines["BootstrapStateMachine"].arn,
        analyze_state_machine_arn=workflows.state_machines["AnalyzeStateMachine"].arn,
        allowed_git_hosts=settings.allowed_git_hosts,
        max_concurrency=max_concurrency,
    )
    return Harness(
        session=session,
        redis=client,
        graph=graph,
        keys=keys,
        service=service,
        step_runtime=step_runtime,
        bucket=bucket,
        bootstrap_arn=workflows.state_machines["BootstrapStateMachine"].arn,
        analyze_arn=workflows.state_machines["AnalyzeStateMachine"].arn,
        work_dir=work_dir,
        llm_factory=llm,
    )


def teardown_harness(harness: Harness) -> None:
    wait_for_in_flight_task(harness.session.runtime)
    wiring.reset()
    harness.graph.close()


@contextmanager
def harness_for(session: Session, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Harness]:
    """One test's harness on the session's moto and Redis, torn down after it (the `harness` fixtures' body)."""
    made = make_harness(session, redis_client, tmp_path)
    try:
        yield made
    finally:
        teardown_harness(made)
