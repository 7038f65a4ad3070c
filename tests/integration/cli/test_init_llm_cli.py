"""`perceo init` in LLM mode, end to end through `main()`: the project's config points the LLM at the fake
OpenAI server (the real `openai` client talks HTTP to it), the flow graph at the real FalkorDB and the event
bus (which also holds the LLM answer cache and the usage telemetry) at the same server's Redis. Then
`perceo usage --json` reads the telemetry back.

The answer cache lives in the session's Redis and is keyed by the prompts, so each test's app gets a page of
its own and the fake's answers carry a token of the test: no test can be served another test's cached answer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from bootstrap_kit import snapshot, updated_at
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply

from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import new_id
from perceo_cli.context import AppContext
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.server import ServerProcess
from perceo_cli.main import main
from perceo_cli.output import Output

LLM_KEY = "sk-test-key-for-the-fake-server-0123456789"
MODEL = "gpt-4.1-mini"


def answers(token: str) -> dict[str, Any]:
    flows = [
        {
            "name": "Buy a product",
            "description": f"Pick a product, add it to the cart and pay. [{token}]",
            "priority": "critical",
            "pages": ["/products", "/products/7", "/cart", "/checkout", "/checkout/success"],
            "connectedFlowIds": ["Sign in"],
        },
        {
            "name": "Sign in",
            "description": f"Sign in and reach the dashboard. [{token}]",
            "priority": "high",
            "pages": ["/login", "/dashboard"],
            "connectedFlowIds": None,
        },
    ]
    personas = [
        {
            "name": "Shopper",
            "description": "Buys things.",
            "behaviors": ["browses", "pays"],
            "flowNames": ["Buy a product"],
        },
        {"name": "Member", "description": "Has an account.", "behaviors": ["signs in"], "flowNames": ["Sign in"]},
    ]
    steps = [
        {
            "stepNumber": 1,
            "action": "Open the first page",
            "expectedState": "It shows",
            "selectors": ["main"],
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
            "stepNumber": 3,
            "action": "Continue",
            "expectedState": "The next page shows",
            "selectors": ["h1"],
            "actions": [{"type": "click", "target": "button[type=submit]"}],
        },
    ]
    return {
        "flows_from_graph": {"flows": flows},
        "personas_assign": {"personas": personas},
        "personas_refine": {"flows": flows, "personas": personas},
        "steps_extraction": {"steps": steps},
    }


@pytest.fixture(autouse=True)
def no_llm_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PERCEO_LLM_API_KEY", "PERCEO_LLM_BASE_URL", "PERCEO_LLM_MODEL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def token() -> str:
    return new_id()[:12]


def make_repo(
    root: Path, server: ServerProcess, graph: FalkorFlowGraph, fake: FakeOpenAI, token: str, **llm: Any
) -> Path:
    repo = build_demo_app(root).path
    (repo / "app" / f"t{token}").mkdir()
    (repo / "app" / f"t{token}" / "page.tsx").write_text("export default function Marker() { return <main/> }\n")
    url = f"redis://{server.host}:{server.port}"
    config = {
        "flowGraph": {"type": "falkordb", "uri": url, "database": graph.graph_name},
        "eventBus": {"type": "redis", "redisUrl": url},
        "llm": {"baseUrl": fake.base_url, "apiKey": LLM_KEY, "model": MODEL, "maxConcurrency": 2, **llm},
    }
    (repo / ".perceo").mkdir()
    (repo / ".perceo" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return repo


@pytest.fixture
def repo(
    tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph, fake_openai: FakeOpenAI, token: str
) -> Path:
    return make_repo(tmp_path / "shop", falkordb_server, graph, fake_openai, token)


def cli(argv: list[str], repo: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, context=AppContext(output=Output(stdout, stderr), project_dir=repo))
    return code, stdout.getvalue(), stderr.getvalue()


def cli_json(argv: list[str], repo: Path) -> dict[str, Any]:
    code, out, err = cli([*argv, "--json"], repo)
    assert code == 0, err
    return dict(json.loads(out))


def scripted(token: str) -> Any:
    table = answers(token)

    def respond(request: RecordedRequest) -> Reply:
        return Reply.json(table[request.schema_name or ""])

    return respond


def test_llm_init_stores_the_llm_map_records_usage_and_an_unchanged_rerun_makes_no_http_call(
    repo: Path, graph: FalkorFlowGraph, fake_openai: FakeOpenAI, token: str
) -> None:
    fake_openai.respond_with(scripted(token))

    first = cli_json(["init", "--yes"], repo)

    assert first["mode"] == "llm" and first["llm"]["failedUnits"] == 0
    flows = {f.name: f for f in graph.list_flows(first["projectId"], include_steps=True)}
    assert [r.schema_name for r in fake_openai.requests].count("steps_extraction") == len(flows)
    assert len(fake_openai.requests) == 3 + len(flows)  # flows, personas, refine, then one per flow
    assert all(r.headers.get("authorization") == f"Bearer {LLM_KEY}" for r in fake_openai.requests)
    # The model's two flows, and the offline heuristic's flows its answer does not cover.
    assert {"Buy a product", "Sign in"} <= set(flows)
    assert first["llm"]["heuristicFlowsKept"] == len(flows) - 2
    assert len(first["warnings"]) == len(set(first["warnings"]))  # refine keeps them again: said once
    assert flows["Buy a product"].pages == ["/products", "/products/:id", "/cart", "/checkout", "/checkout/success"]
    assert flows["Buy a product"].personas == ["Shopper"] and flows["Sign in"].personas == ["Member"]
    assert flows["Buy a product"].connected_flows == [flows["Sign in"].id]
    assert [[a.type for a in s.actions] for s in flows["Sign in"].steps] == [["navigate"], ["fill"], ["click"]]
    assert {p.name: p.source for p in graph.list_personas(first["projectId"])} == {
        "Member": "auto_generated",
        "Shopper": "auto_generated",
    }
    usage = cli_json(["usage"], repo)
    assert usage["projectId"] == first["projectId"]
    calls = 3 + len(flows)
    assert [(r["model"], r["calls"], r["cachedCalls"], r["failedCalls"]) for r in usage["rows"]] == [
        (MODEL, calls, 0, 0)
    ]
    assert usage["totals"]["tokensIn"] == calls * 120 and usage["totals"]["costUsd"] > 0
    before, stamps = snapshot(graph), updated_at(graph, first["projectId"])

    second = cli_json(["init", "--yes"], repo)

    assert len(fake_openai.requests) == calls  # every answer came from the cache: zero HTTP calls
    assert second["mode"] == "llm" and second["counts"]["flows"]["unchanged"] == len(flows)
    assert snapshot(graph) == before and updated_at(graph, first["projectId"]) == stamps
    usage = cli_json(["usage"], repo)
    assert [(r["calls"], r["cachedCalls"]) for r in usage["rows"]] == [(2 * calls, calls)]


def test_rate_limits_are_retried_broken_json_repaired_and_a_truncated_unit_is_a_warning(
    repo: Path, graph: FalkorFlowGraph, fake_openai: FakeOpenAI, token: str
) -> None:
    table = answers(token)
    fake_openai.enqueue(
        Reply.rate_limited(retry_after="0.01"),
        Reply.json(table["flows_from_graph"]),
        Reply.text('{"personas": [ {"name": "Shopper",'),
        Reply.json(table["personas_assign"]),
    )

    def respond(request: RecordedRequest) -> Reply:
        asked = " ".join(str(m.get("content", "")) for m in request.messages)
        if request.schema_name == "steps_extraction" and "Flow: Buy a product" in asked:
            return Reply.truncated(table["steps_extraction"])
        return Reply.json(table[request.schema_name or ""])

    fake_openai.respond_with(respond)

    summary = cli_json(["init", "--yes"], repo)

    names = [r.schema_name for r in fake_openai.requests]
    assert names[:4] == ["flows_from_graph", "flows_from_graph", "personas_assign", "personas_assign"]
    assert summary["mode"] == "llm" and summary["llm"]["failedUnits"] == 1
    assert any(w.startswith("steps:Buy a product: the LLM failed") for w in summary["warnings"])
    buy = graph.get_flow_by_name(summary["projectId"], "Buy a product")
    assert buy is not None and buy.steps[0].actions[0].type == "navigate"  # from the page code instead
    assert buy.steps[0].actions[0].target == "/products"
    usage = cli_json(["usage"], repo)
    flows_stored = len(graph.list_flows(summary["projectId"]))
    assert usage["totals"]["failedCalls"] == 1 and usage["totals"]["calls"] == 3 + flows_stored


def test_an_llm_that_times_out_leaves_the_offline_map_and_says_so(
    tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph, fake_openai: FakeOpenAI, token: str
) -> None:
    repo = make_repo(tmp_path / "shop", falkordb_server, graph, fake_openai, token, timeoutS=0.3, maxRetries=1)
    slow = Reply.json(answers(token)["flows_from_graph"]).after(2.0)
    fake_openai.enqueue(slow, slow)

    code, out, err = cli(["init", "--yes"], repo)

    assert code == 0, err
    assert "mode: offline heuristic" in out and "warning: flows: the LLM failed" in err
    assert len(fake_openai.requests) == 2  # the call and its one retry, then no persona/refine/step call
    summary = cli_json(["init", "--yes", "--no-llm"], repo)
    assert {f["name"] for f in summary["flows"]} >= {"Checkout", "Sign in"}
    assert summary["counts"]["flows"]["unchanged"] == len(summary["flows"])
