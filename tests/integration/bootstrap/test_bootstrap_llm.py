"""The LLM bootstrap with the real `openai` client against the fake OpenAI server on loopback, the response
cache and usage telemetry in the real Redis, and the flow graph on the real FalkorDB (both the session's
server; the graph on a key of its own per test)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from bootstrap_kit import RecordingFalkorGraph, fresh_graph, snapshot, updated_at
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply
from pydantic import SecretStr

from perceo.bootstrap.pipeline import BootstrapDeps, BootstrapInput, BootstrapState, run_bootstrap
from perceo.llm.cache import RedisResponseCache
from perceo.llm.client import StructuredLLM
from perceo.llm.settings import LLMSettings
from perceo.llm.usage import RedisUsageStore, day_of
from perceo.models import Project, new_id
from perceo.observer.snapshot import RepoSnapshot
from perceo_cli.demo.shop import SIGNED_IN_APP, STOREFRONT
from perceo_cli.local.server import ServerProcess

NOW_MS = 1_790_000_000_000
SECRET = "sk-proj-THISMUSTNEVERLEAVETHEMACHINE0123"

FLOWS = {
    "flows": [
        {
            "name": "Buy a product",
            "description": "Pick, add to cart, pay.",
            "priority": "critical",
            "pages": ["/products", "/products/42", "/cart", "/checkout"],
            "connectedFlowIds": ["Sign in"],
        },
        {
            "name": "Sign in",
            "description": "Sign in and reach the dashboard.",
            "priority": None,
            "pages": ["/login", "/dashboard"],
            "connectedFlowIds": None,
        },
        {
            "name": "View homepage",
            "description": "Look at the home page.",
            "priority": "low",
            "pages": ["/"],
            "connectedFlowIds": None,
        },
        {
            "name": "Haunted",
            "description": "Pages that do not exist.",
            "priority": "low",
            "pages": ["/nope", "/zzz"],
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
        {"name": "Member", "description": "Has an account.", "behaviors": ["signs in"], "flowNames": ["sign in"]},
    ]
}
REFINED = {"flows": FLOWS["flows"][:2], "personas": PERSONAS["personas"]}
STEPS = {
    "steps": [
        {
            "stepNumber": 1,
            "action": "Open the login page",
            "expectedState": "The form shows",
            "selectors": ["form"],
            "actions": [{"type": "navigate", "target": "/login", "value": "/login"}],
        },
        {
            "stepNumber": 2,
            "action": "Type the email",
            "expectedState": "",
            "selectors": None,
            "actions": [{"type": "fill", "target": "input[name=email]", "value": "user@example.com"}],
        },
        {
            "stepNumber": 2,
            "action": "Click Sign in",
            "expectedState": "The dashboard shows",
            "selectors": ["h1"],
            "actions": None,
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


@pytest.fixture(autouse=True)
def distinct_answers(project_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers (and so the later prompts) unique to this test: the response cache is shared by the session."""
    for flow in FLOWS["flows"]:
        monkeypatch.setitem(flow, "description", f"{flow['description'].split(' [')[0]} [{project_id}]")


@pytest.fixture
def project_id() -> str:
    return f"boot-{new_id()[:12]}"


@pytest.fixture
def graph(project_id: str, falkordb_server: ServerProcess) -> Iterator[RecordingFalkorGraph]:
    with fresh_graph(falkordb_server) as g:
        assert isinstance(g, RecordingFalkorGraph)
        g.create_project(Project(id=project_id, name="shop"))
        yield g


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_llm(
    fake_openai: FakeOpenAI, redis_client: redis.Redis, sleeps: list[float]
) -> Iterator[Callable[..., StructuredLLM]]:
    made: list[StructuredLLM] = []

    def make(*, timeout_s: float = 10.0, max_retries: int = 2) -> StructuredLLM:
        settings = LLMSettings(
            base_url=fake_openai.base_url,
            api_key=SecretStr("sk-test-key-for-the-fake-server"),
            model="gpt-4.1-mini",
            timeout_s=timeout_s,
            max_retries=max_retries,
        )
        llm = StructuredLLM(
            settings,
            usage=RedisUsageStore(redis_client),
            cache=RedisResponseCache(redis_client, 600),
            sleep=sleeps.append,
            random=lambda: 0.5,
            clock=lambda: NOW_MS,
        )
        made.append(llm)
        return llm

    yield make
    for llm in made:
        llm.close()


def shop_files(project_id: str) -> dict[str, str]:
    files = {**STOREFRONT, **SIGNED_IN_APP}
    files[f"app/{project_id}/page.tsx"] = "export default function Marker() { return <main/> }\n"
    files[".env"] = f"OPENAI_API_KEY={SECRET}\n"
    files["lib/api.ts"] = f'export const key = "{SECRET}";\n'
    files["app/(auth)/login/page.tsx"] = 'import { key } from "@/lib/api";\n' + files["app/(auth)/login/page.tsx"]
    return files


def run(
    graph: RecordingFalkorGraph,
    llm: StructuredLLM,
    project_id: str,
    workspace: Path,
    progress: list[tuple[str, str]] | None = None,
) -> BootstrapState:
    files = shop_files(project_id)
    deps = BootstrapDeps(
        graph=graph,
        llm=llm,
        max_concurrency=2,
        open_snapshot=lambda _ws: RepoSnapshot.from_files(dict(files), root=workspace),
        progress=None if progress is None else lambda stage, _pct, message: progress.append((stage, message)),
    )
    return run_bootstrap(BootstrapInput(project_id=project_id, workspace=str(workspace), use_llm=True), deps)


def test_llm_bootstrap_stores_validated_flows_personas_and_typed_steps(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., StructuredLLM],
    graph: RecordingFalkorGraph,
    project_id: str,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    fake_openai.respond_with(scripted)

    state = run(graph, make_llm(), project_id, tmp_path)

    flows = {f.name: f for f in graph.list_flows(project_id, include_steps=True)}
    # The model's two flows, and the offline heuristic's flows that the model's answer does not cover.
    assert {"Buy a product", "Sign in"} <= set(flows) and "Checkout" in set(flows)
    assert flows["Buy a product"].pages == ["/products", "/products/:id", "/cart", "/checkout"]
    assert flows["Buy a product"].priority == "critical" and flows["Sign in"].priority == "high"
    assert flows["Buy a product"].personas == ["Shopper"] and flows["Sign in"].personas == ["Member"]
    assert flows["Buy a product"].connected_flows == [flows["Sign in"].id]
    steps = flows["Sign in"].steps
    assert [(s.order, s.actions[0].type) for s in steps] == [(1, "navigate"), (2, "fill"), (3, "click")]
    assert steps[2].expected_state.visible == ["h1"]
    assert any("'View homepage' dropped" in w for w in state.warnings)
    assert any("'Haunted' names pages that do not exist" in w for w in state.warnings)
    assert state.flow_source == "llm" and state.llm_units_failed == 0
    assert [r.schema_name for r in fake_openai.requests].count("steps_extraction") == len(flows)  # one per flow
    assert state.heuristic_kept == len(flows) - 2 and state.llm_dropped > 0
    usage = RedisUsageStore(redis_client).daily(project_id, day_of(NOW_MS))
    assert [(u.model, u.calls, u.cached_calls) for u in usage] == [("gpt-4.1-mini", 3 + len(flows), 0)]


def test_a_rerun_on_unchanged_code_makes_no_http_call_and_writes_nothing(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., StructuredLLM],
    graph: RecordingFalkorGraph,
    project_id: str,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    fake_openai.respond_with(scripted)
    run(graph, make_llm(), project_id, tmp_path)
    calls = len(fake_openai.requests)
    before, stamps = snapshot(graph), updated_at(graph, project_id)
    graph.writes.clear()

    state = run(graph, make_llm(), project_id, tmp_path)

    assert len(fake_openai.requests) == calls
    assert graph.writes == []
    assert snapshot(graph) == before and updated_at(graph, project_id) == stamps
    flows_stored = len(graph.list_flows(state.input.project_id))
    assert state.report.flows.unchanged == flows_stored and state.report.steps.flows_unchanged == flows_stored
    usage = RedisUsageStore(redis_client).daily(project_id, day_of(NOW_MS))
    per_run = 3 + flows_stored  # flows, personas, refine, then one per flow
    assert [(u.calls, u.cached_calls) for u in usage] == [(2 * per_run, per_run)]


def test_rate_limits_and_malformed_json_are_retried_and_repaired(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., StructuredLLM],
    graph: RecordingFalkorGraph,
    project_id: str,
    sleeps: list[float],
    tmp_path: Path,
) -> None:
    fake_openai.enqueue(
        Reply.rate_limited(retry_after="0.01"),
        Reply.json(FLOWS),  # flows: one 429, then the answer
        Reply.text('{"personas": [ {"name": "Shopper",'),
        Reply.json(PERSONAS),  # personas: broken, then repaired
    )
    fake_openai.respond_with(scripted)
    progress: list[tuple[str, str]] = []

    state = run(graph, make_llm(), project_id, tmp_path, progress)

    assert sleeps == [0.01]
    # The progress display shows each retry of the stage it belongs to.
    assert ("identify_flows", "flows: HTTP 429; attempt 2 of 3, waiting 0 s") in progress
    assert any(stage == "assign_personas" and "asking once for a repair" in m for stage, m in progress)
    assert state.llm_units_failed == 0
    assert {"Buy a product", "Sign in"} <= {f.name for f in graph.list_flows(project_id)}
    schema_names = [r.schema_name for r in fake_openai.requests]
    assert schema_names[:4] == ["flows_from_graph", "flows_from_graph", "personas_assign", "personas_assign"]


def test_a_step_unit_that_keeps_failing_is_a_warning_and_falls_back_to_the_page_code(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., StructuredLLM],
    graph: RecordingFalkorGraph,
    project_id: str,
    tmp_path: Path,
) -> None:
    def responder(request: RecordedRequest) -> Reply:
        asked = " ".join(str(m.get("content", "")) for m in request.messages)
        if request.schema_name == "steps_extraction" and "Flow: Buy a product" in asked:
            return Reply.truncated(STEPS)
        return scripted(request)

    fake_openai.respond_with(responder)

    state = run(graph, make_llm(), project_id, tmp_path)

    assert state.llm_units_failed == 1
    assert any(w.startswith("steps:Buy a product: the LLM failed") for w in state.warnings)
    buy = graph.get_flow_by_name(project_id, "Buy a product")
    assert buy is not None and buy.steps and buy.steps[0].actions[0].type == "navigate"
    sign_in = graph.get_flow_by_name(project_id, "Sign in")
    assert sign_in is not None and sign_in.steps[0].name == "Open the login page"


def test_timeouts_on_the_flows_call_fall_back_to_the_offline_heuristic_with_a_warning(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., StructuredLLM],
    graph: RecordingFalkorGraph,
    project_id: str,
    tmp_path: Path,
) -> None:
    slow = Reply.json(FLOWS).after(2.0)
    fake_openai.enqueue(slow, slow)

    state = run(graph, make_llm(timeout_s=0.3, max_retries=1), project_id, tmp_path)

    assert state.flow_source == "heuristic" and state.llm_units_failed == 1
    assert any(w.startswith("flows: the LLM failed") for w in state.warnings)
    assert {f.name for f in graph.list_flows(project_id)} >= {"Sign in", "Checkout"}
    assert len(fake_openai.requests) == 2  # no step, persona or refine call in heuristic mode


def test_repository_text_is_fenced_as_data_and_secrets_never_reach_the_server(
    fake_openai: FakeOpenAI,
    make_llm: Callable[..., StructuredLLM],
    graph: RecordingFalkorGraph,
    project_id: str,
    tmp_path: Path,
) -> None:
    fake_openai.respond_with(scripted)

    state = run(graph, make_llm(), project_id, tmp_path)

    bodies = [json.dumps(r.body) for r in fake_openai.requests]
    assert all(SECRET not in body for body in bodies)
    step_prompts = [r.user_prompt for r in fake_openai.requests if r.schema_name == "steps_extraction"]
    sign_in = next(p for p in step_prompts if "Flow: Sign in" in p)
    assert '<repository-file path="app/(auth)/login/page.tsx">' in sign_in
    assert '<repository-file path="lib/api.ts">' in sign_in and "[REDACTED:openai-key]" in sign_in
    assert ".env" not in sign_in
    assert any("secret-looking strings redacted" in w for w in state.warnings)
