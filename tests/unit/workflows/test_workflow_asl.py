"""The state machine definitions: Retry and Catch everywhere, failures always recorded and cleaned up, only what
runs the same on moto and AWS, and statelint-clean once the template's DefinitionSubstitutions are applied. (Their
task order is held to the stage list in tests/unit/bootstrap/test_bootstrap_stages.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import perceo.errors
import perceo.workflows.errors
from perceo.workflows.model import ExecutionInput
from perceo_cli.local.asl import (
    all_states,
    load_definition,
    main_path,
    placeholders,
    substitute,
)
from perceo_cli.local.template import Intrinsics, load_template

REPO = Path(__file__).resolve().parents[3]
MACHINES = {
    "BootstrapStateMachine": REPO / "statemachines" / "bootstrap_project.asl.json",
    "AnalyzeStateMachine": REPO / "statemachines" / "analyze_changes.asl.json",
    "RunTestsStateMachine": REPO / "statemachines" / "run_tests.asl.json",
}
STATELINT = Path(sys.executable).parent / "statelint"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(REPO / "template.yaml")


def _substitutions(template: dict[str, Any], logical_id: str) -> dict[str, str]:
    """The template's DefinitionSubstitutions, resolved as the local cloud resolves them."""
    intrinsics = Intrinsics(
        template=template,
        source=REPO / "template.yaml",
        parameters={
            "Neo4jUri": "bolt://127.0.0.1:7687",
            "Neo4jSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:neo4j",
        },
    )
    raw = template["Resources"][logical_id]["Properties"]["DefinitionSubstitutions"]
    return {name: str(intrinsics.resolve(value, name)) for name, value in raw.items()}


def _identity(path: Path) -> dict[str, Any]:
    """The definition with each placeholder replaced by its own name (to read which function a task calls)."""
    return load_definition(path, {name: name for name in placeholders(path.read_text())})


@pytest.mark.parametrize("path", MACHINES.values(), ids=MACHINES.keys())
def test_every_task_retries_transient_errors_and_catches_everything(path: Path) -> None:
    definition = _identity(path)

    for name, state in all_states(definition):
        if state["Type"] not in ("Task", "Map"):
            continue
        catches = state.get("Catch") or []
        assert any("States.ALL" in c["ErrorEquals"] for c in catches), f"{name} has no Catch of States.ALL"
        if state["Type"] == "Task":
            retried = {error for rule in state["Retry"] for error in rule["ErrorEquals"]}
            assert {
                "Lambda.ServiceException",
                "Lambda.TooManyRequestsException",
                "BackendUnavailableError",
                "LLMUnavailableError",
            } <= retried, name
            assert all(rule["MaxAttempts"] <= 3 and rule["IntervalSeconds"] >= 1 for rule in state["Retry"]), name
            assert 0 < state["TimeoutSeconds"] <= 900, f"{name}: a task needs a time limit under Lambda's 15 minutes"


@pytest.mark.parametrize("path", MACHINES.values(), ids=MACHINES.keys())
def test_every_caught_failure_is_recorded_cleaned_up_and_ends_failed(path: Path) -> None:
    definition = _identity(path)
    states = definition["States"]
    for name, state in states.items():
        for catch in state.get("Catch") or []:
            visited = []
            current: str | None = catch["Next"]
            while current is not None and current not in visited:
                visited.append(current)
                follower = states[current]
                if follower["Type"] == "Fail":
                    break
                current = follower.get("Next")
            resources = [states[v].get("Resource") for v in visited]
            assert states[visited[-1]]["Type"] == "Fail", f"a failure caught at {name} does not end FAILED"
            if name != "Clean up after failure":  # the clean-up's own failure: nothing left to clean
                assert "CleanupFunctionArn" in resources, f"a failure caught at {name} skips the clean-up"
            if name not in ("Record failure", "Clean up after failure"):
                assert resources[0] == "RecordFailureFunctionArn", f"a failure caught at {name} is not recorded"
    fail = next(s for s in states.values() if s["Type"] == "Fail")
    assert (fail["ErrorPath"], fail["CausePath"]) == ("$.error.Error", "$.error.Cause")  # the real error, not "failed"


@pytest.mark.parametrize("path", MACHINES.values(), ids=MACHINES.keys())
def test_definitions_use_only_what_runs_the_same_on_moto_and_aws(path: Path) -> None:
    text = path.read_text()
    definition = _identity(path)

    assert "JSONata" not in text and '"Assign"' not in text and "QueryLanguage" not in text
    assert "states:startExecution" not in text and "arn:aws:states:::states" not in text
    for name, state in all_states(definition):
        if state["Type"] == "Task":
            assert state["Resource"].endswith("FunctionArn"), f"{name}: tasks call the template's functions only"
        if state["Type"] == "Map":
            assert state["MaxConcurrencyPath"] == "$.maxConcurrency", name
            assert state["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE", name


def test_the_map_concurrency_comes_from_the_execution_input() -> None:
    assert "maxConcurrency" in ExecutionInput.model_json_schema(by_alias=True)["properties"]


@pytest.mark.parametrize("path", MACHINES.values(), ids=MACHINES.keys())
def test_every_retried_or_caught_error_name_is_an_error_the_code_raises(path: Path) -> None:
    definition = _identity(path)
    known = {name for module in (perceo.errors, perceo.workflows.errors) for name in dir(module)}

    for _, state in all_states(definition):
        for rule in [*(state.get("Retry") or []), *(state.get("Catch") or [])]:
            for error in rule["ErrorEquals"]:
                assert error.startswith(("States.", "Lambda.")) or error in known, error


@pytest.mark.parametrize("logical_id", MACHINES.keys())
def test_the_template_substitutes_every_placeholder_and_no_other(template: dict[str, Any], logical_id: str) -> None:
    properties = template["Resources"][logical_id]["Properties"]
    path = REPO / properties["DefinitionUri"]

    assert path == MACHINES[logical_id]
    assert placeholders(path.read_text()) == set(properties["DefinitionSubstitutions"])


@pytest.mark.parametrize("logical_id", MACHINES.keys())
def test_statelint_accepts_each_substituted_definition(
    template: dict[str, Any], logical_id: str, tmp_path: Path
) -> None:
    text = substitute(MACHINES[logical_id].read_text(), _substitutions(template, logical_id))
    target = tmp_path / MACHINES[logical_id].name
    target.write_text(text)

    result = subprocess.run([str(STATELINT), str(target)], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(text)["StartAt"] in json.loads(text)["States"]


def test_statelint_catches_a_broken_definition(tmp_path: Path) -> None:
    """The linter the test above relies on does fail on a dangling Next (moto would accept it at create time)."""
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}}}))

    result = subprocess.run([str(STATELINT), str(broken)], capture_output=True, text=True, check=False)

    assert result.returncode != 0 and "Nowhere" in result.stdout


def test_the_main_path_of_the_bootstrap_ends_in_success() -> None:
    path = main_path(_identity(MACHINES["BootstrapStateMachine"]))
    assert path[-1][1]["Type"] == "Succeed"
