"""Alerts and jobs in the cloud mode, end to end on the local cloud (its own process: the template's API Gateway, the
real handlers, FalkorDB/Redis, moto's Secrets Manager): `perceo alerts add|list|test|deliveries|remove` through the
HTTP backend, `perceo local run-schedule CheckAlertsSchedule` delivering to a loopback receiver that checks the
HMAC (once), `AggregateSchedule` run the same way, and `perceo status` reading the job records from GET /health."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from analyzer_kit import SECRET, Receiver
from cloud_harness import RunningCloud, running_cloud

from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.main import main

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("alerts-cloud"))


def cli(project_dir: Path, *argv: str) -> tuple[int, str, str]:
    from perceo_cli.output import Output

    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


def test_alert_rules_and_the_jobs_through_the_local_cloud(
    cloud: RunningCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receivers: dict[str, Receiver]
) -> None:
    project, key = cloud.create_project("alerted-shop")
    with cloud.http(key) as client:
        flow = client.post("flows", json={"name": "Checkout", "pages": ["/cart", "/checkout"]}).json()
    insight_id = cloud.seed_insight(project["id"], flow["id"])
    work = tmp_path / "app"
    (work / ".perceo").mkdir(parents=True)
    (work / ".perceo" / "config.json").write_text(json.dumps({"observer": {"apiBaseUrl": cloud.api_url}}))
    monkeypatch.setenv("PERCEO_API_KEY", key)
    monkeypatch.setenv("OPS_URL", receivers["webhook"].url)
    monkeypatch.setenv("OPS_SECRET", SECRET)

    code, _, err = cli(work, "alerts", "add", "typo", "--url-env", "OPS_URL", "--secret-env", "OPS_SECRET",
                       "--flow", "Chekout")  # fmt: skip
    assert code == ExitStatus.USAGE and "Chekout" in err
    code, out, err = cli(work, "alerts", "add", "ops", "--url-env", "OPS_URL", "--secret-env", "OPS_SECRET",
                         "--type", "coverage-gap", "--min-severity", "high", "--flow", "Checkout",
                         "--json")  # fmt: skip
    assert code == ExitStatus.OK, err
    assert json.loads(out)["rule"]["flows"] == [flow["id"]]
    code, out, err = cli(work, "alerts", "list", "--json")
    assert code == ExitStatus.OK, err
    listed = json.loads(out)
    assert [r["name"] for r in listed["rules"]] == ["ops"] and listed["channels"]["ops"]["signed"] is True
    assert SECRET not in out and receivers["webhook"].url not in out

    code, out, err = cli(cloud.project_dir, "local", "run-schedule", "CheckAlertsSchedule", "--json")
    assert code == ExitStatus.OK, err
    result = json.loads(out)
    assert (result["status"], result["target"]) == ("SUCCEEDED", "CheckAlertsJobFunction")
    assert result["output"]["job"] == "check-alerts" and result["output"]["delivered"] >= 1
    [hook] = receivers["webhook"].received
    assert hook["insight"]["id"] == insight_id and receivers["webhook"].refused == 0  # type: ignore[index]

    code, out, err = cli(cloud.project_dir, "local", "run-schedule", "CheckAlertsSchedule", "--json")
    assert code == ExitStatus.OK and len(receivers["webhook"].received) == 1, err  # not sent twice
    code, out, err = cli(cloud.project_dir, "local", "run-schedule", "AggregateSchedule", "--json")
    assert code == ExitStatus.OK and json.loads(out)["output"]["outcome"] == "succeeded", err

    # the control path that runs a job now takes the local admin key, and function schedules only
    import httpx

    control = f"http://{cloud.state.host}:{cloud.state.port}/_local/schedules/CheckAlertsSchedule"
    assert httpx.post(control, headers={"X-Perceo-Admin-Key": key}, timeout=30).status_code == 403
    assert httpx.post(control, timeout=30).status_code == 403
    state_machine = control.replace("CheckAlertsSchedule", "AnalyticsSyncSchedule")
    assert httpx.post(state_machine, headers={"X-Perceo-Admin-Key": cloud.admin_key}, timeout=30).status_code == 404
    assert len(receivers["webhook"].received) == 1

    code, out, err = cli(work, "status", "--json")
    assert code == ExitStatus.OK, err
    jobs = {j["job"]: j for j in json.loads(out)["jobs"]}
    assert jobs["check-alerts"]["outcome"] == "succeeded" and jobs["aggregate"]["projects"] >= 1

    code, out, err = cli(work, "alerts", "test", "ops", "--json")
    assert code == ExitStatus.OK and json.loads(out)["status"] == "delivered", err
    code, out, err = cli(work, "alerts", "deliveries", "--json")
    assert code == ExitStatus.OK, err
    assert [d["status"] for d in json.loads(out)["deliveries"]] == ["delivered", "delivered"]
    code, _, err = cli(work, "alerts", "remove", "ops")
    assert code == ExitStatus.OK, err
    code, _, err = cli(work, "alerts", "remove", "ops")
    assert code == ExitStatus.USAGE and "no alert rule 'ops'" in err
