"""One mapping from errors to HTTP answers."""

from __future__ import annotations

import json

import pytest

from perceo.api.errors import domain_error_response, validation_error_response
from perceo.errors import (
    AnalysisNotFoundError,
    AuthenticationError,
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    InvalidRefError,
    PayloadTooLargeError,
    PerceoError,
    PermissionDeniedError,
    PersonaNotFoundError,
    RateLimitedError,
    ValidationFailed,
)


def _body(error: PerceoError) -> tuple[int, dict[str, object], dict[str, object]]:
    response = domain_error_response(error, request_id="req-1")
    return response.status_code, json.loads(str(response.body))["error"], dict(response.headers)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (AuthenticationError("invalid API key"), 401, "unauthenticated"),
        (PermissionDeniedError("no"), 403, "forbidden"),
        (PersonaNotFoundError("gone"), 404, "persona_not_found"),
        (AnalysisNotFoundError("gone"), 404, "analysis_not_found"),
        (ConflictError("taken"), 409, "conflict"),
        (PayloadTooLargeError("big"), 413, "payload_too_large"),
        (ValidationFailed("bad"), 422, "validation_failed"),
        (InvalidRefError("bad ref"), 422, "invalid_ref"),
        (RateLimitedError("slow down", retry_after_s=0.2), 429, "rate_limited"),
        (BackendUnavailableError("redis at 10.0.0.1:6379 refused"), 503, "backend_unavailable"),
    ],
)
def test_each_domain_error_has_its_status_and_code(error: PerceoError, status: int, code: str) -> None:
    got_status, body, _ = _body(error)

    assert (got_status, body["code"]) == (status, code)


def test_a_rejected_keys_reason_is_not_told_to_the_client() -> None:
    status, body, headers = _body(AuthenticationError("invalid API key", details={"reason": "revoked"}))

    assert status == 401 and body["details"] == {}
    assert headers["WWW-Authenticate"] == 'Bearer realm="perceo"'


def test_rate_limited_answers_carry_retry_after_in_whole_seconds() -> None:
    _, body, headers = _body(RateLimitedError("slow down", retry_after_s=2.1))

    assert headers["Retry-After"] == "3"
    assert body["details"] == {"retryAfterSeconds": 3}


@pytest.mark.parametrize(
    "error", [ConfigError("environment variable NEO4J_URI is not set"), PerceoError("something internal at /var/task")]
)
def test_internal_errors_say_nothing_but_the_request_id(error: PerceoError) -> None:
    status, body, _ = _body(error)

    assert status == 500
    assert body == {
        "code": "internal_error",
        "message": "internal error; quote request id req-1 when reporting it",
        "details": {"requestId": "req-1"},
    }


def test_unavailable_backends_are_named_by_kind_not_address() -> None:
    status, body, headers = _body(BackendUnavailableError("redis at 10.0.0.1:6379 refused"))

    assert "10.0.0.1" not in json.dumps(body)
    assert (status, headers["Retry-After"], body["details"]["retryAfterSeconds"]) == (503, "2", 2)


def test_validation_errors_name_each_field_without_echoing_input() -> None:
    errors = [
        {"type": "missing", "loc": ("body", "name"), "msg": "Field required", "input": {}},
        {"type": "extra_forbidden", "loc": ("body", "apiKey"), "msg": "Extra", "input": "prc_secretsecret"},
    ]

    response = validation_error_response(errors)

    body = json.loads(str(response.body))["error"]
    assert response.status_code == 422
    assert body["message"] == "invalid request: body.name: Field required; body.apiKey: unknown field (not allowed)"
    assert "prc_secretsecret" not in str(response.body)
