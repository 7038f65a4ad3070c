"""`perceo analyze predict` on a real git repository (the demo shop) after `perceo init`, on the embedded default's
code path over the real graph."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import redis

from perceo.bus.memory import InMemoryBus
from perceo.config.loader import load_config
from perceo.graph.falkor import FalkorFlowGraph
from perceo.wiring import build_local_services
from perceo_cli.backend.local import LocalBackend
from perceo_cli.context import AppContext
from perceo_cli.demo.shop import DemoApp, build_demo_app
from perceo_cli.main import main
from perceo_cli.output import Output


@pytest.fixture
def demo(tmp_path: Path) -> DemoApp:
    return build_demo_app(tmp_path / "shop")


def _run(demo: DemoApp, graph: FalkorFlowGraph, redis_client: redis.Redis, *argv: str) -> tuple[int, str, str]:
    config = load_config(demo.path).config
    services = build_local_services(config, graph=graph, bus=InMemoryBus(), redis=redis_client)
    out, err = io.StringIO(), io.StringIO()
    context = AppContext(output=Output(out, err), project_dir=demo.path)
    context.use_backend(LocalBackend(demo.path, config, services=services))
    return main(list(argv), context=context), out.getvalue(), err.getvalue()


def test_predict_gives_each_reached_flow_a_probability_and_names_the_model(
    demo: DemoApp, graph: FalkorFlowGraph, redis_client: redis.Redis
) -> None:
    code, _, err = _run(demo, graph, redis_client, "init", "--yes", "--no-llm", "--json")
    assert code == 0, err

    code, out, err = _run(demo, graph, redis_client, "analyze", "predict", "--base", demo.base, "--head", demo.head,
                          "--json")  # fmt: skip

    assert code == 0, err
    report = json.loads(out)
    assert report["version"] == 1 and (report["baseSha"], report["headSha"]) == (demo.base, demo.head)
    assert report["model"] == {"model": "heuristic", "outcomes": 0, "brier": None, "heuristicBrier": None}
    [checkout] = report["flows"]
    assert checkout["name"] == "Checkout" and 0 < checkout["probability"] < 1
    assert checkout["probability"] == pytest.approx(1 - (1 - 0.6 * checkout["riskScore"]) * (1 - 0.1), abs=1e-3)
    assert checkout["reasons"]


def test_a_bad_ref_exits_2(demo: DemoApp, graph: FalkorFlowGraph, redis_client: redis.Redis) -> None:
    code, _, err = _run(demo, graph, redis_client, "init", "--yes", "--no-llm", "--json")
    assert code == 0, err

    code, out, err = _run(demo, graph, redis_client, "analyze", "predict", "--base", "no-such-ref", "--json")

    assert code == 2 and out == "" and "no-such-ref" in err
