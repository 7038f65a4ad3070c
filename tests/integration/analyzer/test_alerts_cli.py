"""`perceo alerts add|list|remove|test` and alerts sent after `perceo analyze insights`, on the embedded default's
code path (LocalBackend over the real graph and Redis), to loopback receivers that verify the HMAC signature."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
import redis
from analyzer_kit import SECRET, Clock, Receiver, Shop, build_shop

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
def cli(graph: FalkorFlowGraph, shop: Shop, clock: Clock, tmp_path: Path, redis_client: redis.Redis):  # type: ignore[no-untyped-def]
    config = PerceoConfig(project=ProjectSection(id=shop.project.id, name="Shop"))
    services = build_local_services(
        config, graph=graph, bus=InMemoryBus(), redis=redis_client, clock=clock, project_dir=tmp_path
    )
    backend = LocalBackend(tmp_path, config, services=services)

    def run(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        context = AppContext(output=Output(out, err), project_dir=tmp_path, _config=config)
        context.use_backend(backend)
        return main(list(argv), context=context), out.getvalue(), err.getvalue()

    yield run
    backend.close()


def test_rules_alert_on_the_insights_of_a_run_once(
    cli, receivers: dict[str, Receiver], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPS_URL", receivers["webhook"].url)
    monkeypatch.setenv("OPS_SECRET", SECRET)
    monkeypatch.setenv("TEAM_URL", receivers["slack"].url)

    code, out, err = cli("alerts", "add", "ops", "--url-env", "OPS_URL", "--secret-env", "OPS_SECRET",
                         "--type", "regression", "--min-severity", "high", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["rule"]["types"] == ["regression"]
    code, _, err = cli("alerts", "add", "team", "--channel", "slack", "--url-env", "TEAM_URL", "--min-severity",
                       "critical")  # fmt: skip
    assert code == 0, err

    code, out, _ = cli("alerts", "list", "--json")
    assert [r["name"] for r in json.loads(out)["rules"]] == ["ops", "team"]
    assert receivers["webhook"].url not in out and SECRET not in out
    channels = tmp_path / ".perceo" / "secrets" / "alert-channels.json"
    assert stat.S_IMODE(channels.stat().st_mode) == 0o600

    code, out, err = cli("analyze", "insights", "--json")
    assert code == 0, err
    sent = json.loads(out)["run"]
    regressions = [
        i for i in json.loads(out)["insights"] if i["type"] == "regression" and i["severity"] in ("critical", "high")
    ]
    assert code == 0
    assert len(receivers["webhook"].received) == len(regressions) >= 1 and receivers["webhook"].refused == 0
    assert {h["insight"]["type"] for h in receivers["webhook"].received} == {"regression"}  # type: ignore[index]
    criticals = [i for i in json.loads(out)["insights"] if i["severity"] == "critical"]
    assert len(receivers["slack"].received) == len(criticals) >= 1
    assert sorted(d["status"] for d in sent["alerts"]) == ["delivered"] * (len(regressions) + len(criticals))

    cli("analyze", "insights", "--json")
    assert len(receivers["webhook"].received) == len(regressions)  # not sent twice

    code, out, _ = cli("alerts", "test", "team", "--json")
    assert code == 0 and json.loads(out)["status"] == "delivered"
    code, _, _ = cli("alerts", "remove", "team")
    assert code == 0 and [r["name"] for r in json.loads(cli("alerts", "list", "--json")[1])["rules"]] == ["ops"]


def test_bad_alert_input_exits_2_and_stores_nothing(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PLAIN_URL", "http://hooks.example.com/x")
    monkeypatch.delenv("MISSING", raising=False)

    assert cli("alerts", "add", "a", "--type", "regresion", "--url-env", "PLAIN_URL")[0] == 2
    code, _, err = cli("alerts", "add", "a", "--channel", "slack", "--url-env", "PLAIN_URL")
    assert code == 2 and "https://" in err and "hooks.example.com" not in err
    code, _, err = cli("alerts", "add", "a", "--channel", "slack", "--url-env", "MISSING")
    assert code == 2 and "MISSING" in err
    assert json.loads(cli("alerts", "list", "--json")[1])["rules"] == []
    code, _, err = cli("alerts", "remove", "nope")
    assert code == 2 and "no alert rule 'nope'" in err
    code, _, err = cli("alerts", "test", "nope")
    assert code == 2 and "no alert rule 'nope'" in err


def test_email_and_flow_rules_are_checked_and_kept_masked(cli, shop: Shop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("alerts", "add", "m", "--channel", "email", "--to", "not-an-address", "--from", "a@shop.example")
    assert code == 2 and "not-an-address" in err
    code, _, err = cli("alerts", "add", "m", "--channel", "email", "--to", "ops@shop.example", "--flow", "Chekout",
                       "--from", "alerts@shop.example")  # fmt: skip
    assert code == 2 and "unknown flow 'Chekout'" in err
    code, _, err = cli("alerts", "add", "m", "--channel", "email", "--to", "ops@shop.example", "--risk-level", "huge",
                       "--from", "alerts@shop.example")  # fmt: skip
    assert code == 2 and "huge" in err
    assert json.loads(cli("alerts", "list", "--json")[1])["rules"] == []

    code, out, err = cli("alerts", "add", "m", "--channel", "email", "--to", "ops@shop.example", "--flow", "Checkout",
                         "--anomalies", "--risk-level", "critical", "--from", "alerts@shop.example",
                         "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["rule"]["flows"] == [shop.flows["Checkout"].id]
    code, out, _ = cli("alerts", "list", "--json")
    assert json.loads(out)["channels"]["m"]["recipients"] == ["o***@shop.example"] and "ops@shop.example" not in out
    kept = json.loads((tmp_path / ".perceo" / "secrets" / "alert-channels.json").read_text())
    assert kept[shop.project.id]["m"]["recipients"] == ["ops@shop.example"]


def test_status_prints_the_jobs_last_runs_and_exits_1_when_one_failed(cli, redis_client: redis.Redis) -> None:  # type: ignore[no-untyped-def]
    from perceo.analyzer.jobs import Done, RedisJobLog, run_over_projects

    for job in ("aggregate", "detect-anomalies", "check-alerts", "cleanup"):
        redis_client.delete(RedisJobLog.key(job))
    assert cli("status")[0] == 0 and "No scheduled job has run yet." in cli("status")[1]
    run_over_projects("check-alerts", ["p1"], lambda _: Done(delivered=3), RedisJobLog(redis_client))

    code, out, _ = cli("status", "--json")
    assert code == 0 and [(j["job"], j["delivered"]) for j in json.loads(out)["jobs"]] == [("check-alerts", 3)]

    def broken(_: str) -> Done:
        raise TimeoutError

    run_over_projects("cleanup", ["p1", "p2"], broken, RedisJobLog(redis_client))
    code, out, _ = cli("status")
    assert code == 1 and "Outcome" in out  # the table (the JSON below says what is in it)
    code, out, _ = cli("status", "--json")
    cleanup = next(j for j in json.loads(out)["jobs"] if j["job"] == "cleanup")
    assert code == 1 and cleanup["outcome"] == "failed"
    assert cleanup["failures"] == [{"projectId": p, "error": "TimeoutError"} for p in ("p1", "p2")]
