"""`perceo init` against a real model: llama.cpp's `llama-server` with Gemma 3 270M on loopback
(`tests/llama_server.py`; the packages come from `requirements/real-model.txt` in `.venv-llm`).

Marked `real_llm`: deselected by default (pytest's addopts), run by `.ci/run`'s real-model step with
`pytest -m real_llm`. The model is a small base model, so the test asserts properties, not prose: every answer
is bounded by `bootstrap.llmMaxTokens`, `perceo usage` counts the tokens the server counted, and the stored map
is never worse than the offline heuristic's (every heuristic flow is covered, every page is a route).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from bootstrap_kit import graph_name
from falkordb import FalkorDB
from llama_server import MODEL_ALIAS, LlamaServer, LlamaUnavailable, llama_server

from perceo.graph.falkor import FalkorFlowGraph
from perceo.llm.usage import RedisUsageStore
from perceo_cli.context import AppContext
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.local.server import ServerProcess
from perceo_cli.main import main
from perceo_cli.output import Output

pytestmark = pytest.mark.real_llm

MAX_TOKENS = 256


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    try:
        with llama_server(tmp_path_factory.mktemp("llama")) as server:
            yield server
    except LlamaUnavailable as error:
        pytest.fail(str(error))  # selected explicitly (-m real_llm): a missing model is a failure, not a skip


def _app(root: Path, server: ServerProcess, graph: str, **extra: Any) -> Path:
    repo = build_demo_app(root).path
    url = f"redis://{server.host}:{server.port}"
    config = {"flowGraph": {"type": "falkordb", "uri": url, "database": graph}, "eventBus": {"type": "in-memory"}}
    (repo / ".perceo").mkdir()
    (repo / ".perceo" / "config.json").write_text(json.dumps(config | extra, indent=2) + "\n")
    return repo


def _cli_json(argv: list[str], repo: Path) -> dict[str, Any]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main([*argv, "--json"], context=AppContext(output=Output(stdout, stderr), project_dir=repo))
    assert code == 0, stderr.getvalue()
    return dict(json.loads(stdout.getvalue()))


def _served(llama: LlamaServer) -> tuple[float, float]:
    """(prompt tokens, predicted tokens) the server has counted so far (its prompt cache included)."""
    metrics = llama.metrics()
    prompt = metrics.get("llamacpp:prompt_tokens_total", 0.0) + metrics.get("llamacpp:prompt_tokens_cached_total", 0.0)
    return prompt, metrics.get("llamacpp:tokens_predicted_total", 0.0)


def test_init_with_a_real_local_model_is_bounded_counted_and_never_worse_than_the_heuristic(
    llama: LlamaServer, falkordb_server: ServerProcess, tmp_path: Path
) -> None:
    names = [graph_name(), graph_name()]
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    try:
        offline_repo = _app(tmp_path / "offline", falkordb_server, names[0], bootstrap={"maxFlows": 3})
        offline = _cli_json(["init", "--yes", "--no-llm"], offline_repo)
        llm_repo = _app(
            tmp_path / "llm",
            falkordb_server,
            names[1],
            eventBus={"type": "redis", "redisUrl": url},  # where usage is kept
            llm={
                "baseUrl": llama.base_url,
                "apiKey": "local-no-key",
                "model": MODEL_ALIAS,
                "maxConcurrency": 1,
                "maxRetries": 1,
                "timeoutS": 240,  # generous: a loaded 2-core machine decodes under 1 token/s with a grammar
            },
            bootstrap={"maxFlows": 3, "llmMaxTokens": MAX_TOKENS, "llmStageTimeoutS": 480},
        )
        before = _served(llama)

        summary = _cli_json(["init", "--yes"], llm_repo)

        after = _served(llama)
        project_id = summary["projectId"]
        calls = RedisUsageStore(redis.Redis(host=falkordb_server.host, port=falkordb_server.port)).recent(
            project_id, datetime.now(tz=UTC).date().isoformat(), limit=200
        )
        usage = _cli_json(["usage"], llm_repo)
        graph = FalkorFlowGraph(client, names[1])
        stored = graph.list_flows(project_id, include_steps=True)

        print(  # the figures the README quotes, shown with -s
            f"\nreal model: {len(calls)} calls, {usage['totals']['tokensIn']} tokens in, "
            f"{usage['totals']['tokensOut']} out, mode {summary['mode']}, llm {summary['llm']}, "
            f"flows {[f.name for f in stored]}, warnings {len(summary['warnings'])}"
        )
        # The calls were made and bounded: no answer ran past llmMaxTokens (a repair retry is a second request).
        assert calls and all(c.model == MODEL_ALIAS for c in calls)
        assert all(c.tokens_out <= MAX_TOKENS * max(1, c.requests) for c in calls), [
            (c.unit, c.tokens_out, c.requests) for c in calls
        ]
        # `perceo usage` counts what the server counted. A request the client gave up on (its time limit) has no
        # usage in any answer, while the server counted what it did before the cancel: then usage is below.
        if all(c.outcome != "failed" for c in calls):
            assert usage["totals"]["tokensOut"] == after[1] - before[1]
            assert usage["totals"]["tokensIn"] == after[0] - before[0]
        else:
            assert usage["totals"]["tokensOut"] <= after[1] - before[1]
        assert usage["totals"]["costUsd"] is None  # a local model has no price: unknown, never $0
        # Never worse than the offline heuristic: each of its flows is covered by a stored flow.
        stored_pages = [set(f.pages) for f in stored]
        for flow in offline["flows"]:
            assert any(set(flow["pages"]) <= pages for pages in stored_pages), flow["name"]
        routes = {r["route"] for r in _cli_json(["routes"], llm_repo)["routes"]}
        assert all(set(f.pages) <= routes for f in stored)  # the model named no page the code lacks
        assert summary["mode"] in {"llm", "heuristic"}
    finally:
        for name in names:
            client.connection.delete(name)
        client.close()
