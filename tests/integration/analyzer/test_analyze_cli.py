"""`perceo analyze insights|coverage` and `perceo insights ack|resolve`, in-process on the embedded default's code
path (LocalBackend with the services of the composition root, on the real FalkorDB graph)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from analyzer_kit import Clock, Shop, build_shop

from perceo.bus.memory import InMemoryBus
from perceo.config.model import PerceoConfig, ProjectSection
from perceo.graph.falkor import FalkorFlowGraph
from perceo.wiring import build_local_services
from perceo_cli.backend.local import LocalBackend
from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output


@pytest.fixture
def shop(graph: FalkorFlowGraph) -> Shop:
    return build_shop(graph)


@pytest.fixture
def cli(graph: FalkorFlowGraph, shop: Shop, clock: Clock, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = PerceoConfig(project=ProjectSection(id=shop.project.id, name="Shop"))
    services = build_local_services(config, graph=graph, bus=InMemoryBus(), clock=clock)
    backend = LocalBackend(tmp_path, config, services=services)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        context = AppContext(output=Output(out, err), project_dir=tmp_path, _config=config)
        context.use_backend(backend)
        return main(list(argv), context=context), out.getvalue(), err.getvalue()

    return run


def test_analyze_insights_json_runs_the_rules_and_lists_every_kind(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("analyze", "insights", "--json")

    assert code == 0, err
    document = json.loads(out)
    assert document["version"] == 1 and document["since"] == "2026-02-18"
    assert document["run"]["created"] == len(document["insights"]) > 0
    assert {i["type"] for i in document["insights"]} == {
        "discrepancy", "coverage-gap", "ux-issue", "performance", "regression", "prediction",
    }  # fmt: skip
    first = document["insights"][0]
    assert first["severity"] == "critical" and first["status"] == "open"
    assert {"id", "title", "message", "suggestedAction", "evidence", "subject", "day", "flowId"} <= set(first)

    code, out, _ = cli("analyze", "insights", "--json")
    again = json.loads(out)
    assert again["run"]["created"] == 0 and again["run"]["updated"] == document["run"]["created"]
    assert [i["id"] for i in again["insights"]] == [i["id"] for i in document["insights"]]


def test_filters_text_and_markdown(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("analyze", "insights", "--type", "ux-issue", "--json")
    assert code == 0 and {i["type"] for i in json.loads(out)["insights"]} == {"ux-issue"}

    code, out, err = cli("analyze", "insights", "--no-run", "--since", "2026-02-20", "--severity", "critical")
    assert code == 0 and "CRITICAL" in out and "MEDIUM" not in out and "Analyzed" not in err

    code, out, _ = cli("analyze", "insights", "--no-run", "--since", "2026-02-20", "--format", "md")
    assert code == 0 and out.startswith("<!-- perceo:analyze-insights -->") and "| severity |" in out


def test_bad_options_exit_2_naming_the_value_and_write_nothing(cli, graph: FalkorFlowGraph, shop: Shop) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("analyze", "insights", "--type", "regresion")
    assert code == 2 and "'regresion'" in err and "regression" in err

    code, _, err = cli("analyze", "insights", "--since", "last tuesday")
    assert code == 2 and "--since" in err

    assert graph.list_insights(shop.project.id) == []


def test_ack_and_resolve_by_id_prefix(cli, graph: FalkorFlowGraph, shop: Shop) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = cli("analyze", "insights", "--json")
    target = json.loads(out)["insights"][0]["id"]

    code, out, _ = cli("insights", "ack", target[:8], "--json")
    assert code == 0 and json.loads(out)["status"] == "acknowledged"
    code, out, _ = cli("insights", "resolve", target)
    assert code == 0 and f"{target[:8]} resolved" in out
    code, _, err = cli("insights", "ack", target)
    assert code == 1 and "resolved" in err
    code, _, err = cli("insights", "resolve", "ffffffffff")
    assert code == 2 and "no insight ffffffffff" in err

    _, out, _ = cli("analyze", "insights", "--no-run", "--since", "2026-02-20", "--json")
    assert target not in [i["id"] for i in json.loads(out)["insights"]]  # resolved: not listed by default


def test_coverage_ranks_untested_flows_first(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("analyze", "coverage", "--json")

    report = json.loads(out)
    assert code == 0 and report["version"] == 1
    assert [f["name"] for f in report["flows"]][:2] == ["Search", "Signup"]
    assert report["uncovered"] == 2 and report["flows"][0]["usersAtRisk"] > 0

    code, out, _ = cli("analyze", "coverage")
    assert code == 0 and "Search" in out and "users a day walk untested flows" in out
