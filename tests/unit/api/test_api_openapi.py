"""The OpenAPI document: generated from the routers, served by the health Lambda, checked in at the root."""

from __future__ import annotations

import json

from api_handlers import REPO, body_of, invoke, load_event

from perceo import wiring
from perceo.api.openapi import openapi_json

CHECKED_IN = REPO / "openapi.json"


def test_the_checked_in_document_equals_the_generated_one() -> None:
    assert CHECKED_IN.read_text() == openapi_json(), (
        "openapi.json is stale: run `.venv/bin/python -m perceo.api.openapi > openapi.json`"
    )


def test_the_health_lambda_serves_the_same_document_without_a_key(deps: wiring.Services) -> None:
    response = invoke("api/health", load_event("api/health/get-openapi.json"))

    assert response["statusCode"] == 200
    assert body_of(response) == json.loads(CHECKED_IN.read_text())


def test_every_route_declares_its_errors_with_the_shared_body_and_request_models_forbid_extras() -> None:
    document = json.loads(openapi_json())
    schemas = document["components"]["schemas"]

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path == "/health":
                continue
            error_refs = {
                status: answer["content"]["application/json"]["schema"]["$ref"]
                for status, answer in operation["responses"].items()
                if status.startswith(("4", "5"))
            }
            assert error_refs, f"{method} {path}"
            assert set(error_refs.values()) == {"#/components/schemas/ErrorResponse"}, f"{method} {path}"
    for name in ("CreateProjectRequest", "CreateKeyRequest", "CreateFlowRequest", "AnalyzeRequest", "StepInput"):
        assert schemas[name]["additionalProperties"] is False, name
