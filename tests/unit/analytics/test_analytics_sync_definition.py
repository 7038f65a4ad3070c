"""AnalyticsSync's definition and schedule: every task retries transient errors and is caught (a project's failure
is recorded, the run goes on), statelint accepts it once substituted, the template names every placeholder, and the
schedule's rate comes from the stage's parameter, as the local scheduler reads it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

import perceo.errors
from perceo.errors import ConfigError, NotFoundError
from perceo_cli.local.asl import all_states, load_definition, placeholders, substitute
from perceo_cli.local.schedules import pick, rate_seconds, read_schedules
from perceo_cli.local.template import Intrinsics, load_template

REPO = Path(__file__).resolve().parents[3]
ASL = REPO / "statemachines" / "analytics_sync.asl.json"
STATELINT = Path(sys.executable).parent / "statelint"
REQUIRED = {"Neo4jUri": "bolt://127.0.0.1:7687", "Neo4jSecretArn": "arn:aws:secretsmanager:::secret:neo4j"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(REPO / "template.yaml")


def _intrinsics(template: dict[str, Any], **parameters: str) -> Intrinsics:
    return Intrinsics(template=template, source=REPO / "template.yaml", parameters={**REQUIRED, **parameters})


def test_every_task_retries_lambda_and_store_errors_and_is_caught() -> None:
    definition = load_definition(ASL, {name: name for name in placeholders(ASL.read_text())})
    known = set(dir(perceo.errors))
    tasks = [(name, state) for name, state in all_states(definition) if state["Type"] == "Task"]

    assert [name for name, _ in tasks] == ["List projects", "Sync providers", "Correlate part", "Merge metrics"]
    for name, state in tasks:
        retried = {error for rule in state["Retry"] for error in rule["ErrorEquals"]}
        assert "Lambda.TooManyRequestsException" in retried and "BackendUnavailableError" in retried, name
        assert all(e.startswith(("States.", "Lambda.")) or e in known for e in retried), name
        assert [c["ErrorEquals"] for c in state["Catch"]] == [["States.ALL"]], name
        assert state["TimeoutSeconds"] <= 900, name
    inner = definition["States"]["Each project"]["ItemProcessor"]["States"]
    assert inner["Sync providers"]["Catch"][0]["Next"] == "Project failed"
    assert inner["Merge metrics"]["Catch"][0]["Next"] == "Project failed"
    # the fan-out: a chunk that fails fails its Map, and the Map's failure is the project's
    fan_out = inner["Correlate each part"]
    assert (fan_out["Type"], fan_out["ItemsPath"], fan_out["Next"]) == ("Map", "$.sync.parts", "Merge metrics")
    assert fan_out["ItemProcessor"]["States"]["Correlate part"]["Catch"][0]["Next"] == "Part failed"
    assert fan_out["Catch"][0]["Next"] == "Project failed"
    assert definition["States"]["List projects"]["Catch"][0]["Next"] == "Sync failed"


def test_the_template_substitutes_every_placeholder_and_statelint_accepts_it(
    template: dict[str, Any], tmp_path: Path
) -> None:
    properties = template["Resources"]["AnalyticsSyncStateMachine"]["Properties"]
    assert REPO / properties["DefinitionUri"] == ASL
    raw = properties["DefinitionSubstitutions"]
    assert placeholders(ASL.read_text()) == set(raw)
    intrinsics = _intrinsics(template)
    target = tmp_path / ASL.name
    target.write_text(substitute(ASL.read_text(), {k: str(intrinsics.resolve(v, k)) for k, v in raw.items()}))

    result = subprocess.run([str(STATELINT), str(target)], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schedule_rate_is_the_stage_parameter_and_each_stage_sets_one(template: dict[str, Any]) -> None:
    default = pick(read_schedules(_intrinsics(template)), "AnalyticsSyncSchedule")
    prod = pick(read_schedules(_intrinsics(template, AnalyticsSyncRateMinutes="30")), "AnalyticsSyncStateMachine")

    assert (default.expression, default.every_s, default.enabled) == ("rate(60 minutes)", 3600.0, True)
    assert prod.every_s == 1800.0 and prod.arn.endswith(":stateMachine:perceo-dev-analytics-sync")
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for stage in ("dev", "staging", "prod"):
        overrides = config[stage]["deploy"]["parameters"]["parameter_overrides"]
        assert "AnalyticsSyncRateMinutes=" in overrides, stage


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60.0), ("rate(5 minutes)", 300.0), ("rate(2 hours)", 7200.0), ("rate(1 day)", 86400.0)],
)
def test_rate_expressions(expression: str, seconds: float) -> None:
    assert rate_seconds(expression) == seconds


def test_cron_is_listed_but_not_timed_and_nonsense_is_an_error(template: dict[str, Any]) -> None:
    assert rate_seconds("cron(0 12 * * ? *)") is None
    for bad in ("rate(0 minutes)", "rate(5 fortnights)", "every 5 minutes"):
        with pytest.raises(ConfigError):
            rate_seconds(bad)
    with pytest.raises(NotFoundError, match="AnalyticsSyncSchedule"):
        pick(read_schedules(_intrinsics(template)), "NoSuchSchedule")
