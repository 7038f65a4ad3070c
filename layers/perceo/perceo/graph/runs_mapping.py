"""Test runs and predictions to graph properties and back (lists of tests and artifacts as JSON strings)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter

from perceo.models.runs import Prediction, TestCase, TestRun

Row = dict[str, Any]

_TESTS = TypeAdapter(list[TestCase])
_JSON_FIELDS = ("artifacts", "tests")
_RUN_FIELDS = {field.alias or name for name, field in TestRun.model_fields.items()}
_PREDICTION_FIELDS = {field.alias or name for name, field in Prediction.model_fields.items()}


def run_row(run: TestRun) -> Row:
    """{id, flowId, props}: props are every other field (the query sets id, project and flow), lists as JSON."""
    props = run.model_dump(mode="json", exclude={"id", "project_id", "flow_id"})
    for key in _JSON_FIELDS:
        props[key] = json.dumps(props[key], separators=(",", ":"), ensure_ascii=False)
    return {"id": run.id, "flowId": run.flow_id, "props": props}


def run_from(props: Mapping[str, Any]) -> TestRun:
    values = {key: value for key, value in props.items() if key in _RUN_FIELDS and value is not None}
    values["artifacts"] = json.loads(values.get("artifacts") or "[]")
    values["tests"] = _TESTS.validate_json(values.get("tests") or "[]")
    return TestRun.model_validate(values)


def prediction_row(prediction: Prediction) -> Row:
    props = prediction.model_dump(mode="json", exclude={"id", "project_id"})
    return {"id": prediction.id, "flowId": prediction.flow_id, "props": props}


def prediction_from(props: Mapping[str, Any]) -> Prediction:
    return Prediction.model_validate(
        {key: value for key, value in props.items() if key in _PREDICTION_FIELDS and value is not None}
    )
