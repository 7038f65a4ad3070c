"""The keys Lambda, called with the sample events: scopes, validation, size limit, rate limit, CORS, errors."""

from __future__ import annotations

import base64
import json

import pytest
from api_handlers import as_caller, body_of, header_of, invoke, load_event, with_body, with_path, with_query
from api_unit_kit import ORIGIN, PEPPER, MakeKey, SteppedClock

from perceo import wiring
from perceo.auth import ApiKeyService, InMemoryKeyStore
from perceo.errors import AuthenticationError
from perceo.models import ApiKey
from perceo.models.api import MAX_BODY_BYTES

KEYS = "api/keys"


def test_listing_keys_shows_only_the_callers_project_and_never_a_secret(
    deps: wiring.Services, make_key: MakeKey
) -> None:
    raw_a, admin_a = make_key(["keys:manage"], "proj-a")
    make_key(["flows:read"], "proj-b")

    response = invoke(KEYS, as_caller(load_event(f"{KEYS}/list-keys.json"), admin_a.to_authorizer_context()))

    assert response["statusCode"] == 200
    listed = body_of(response)["keys"]
    assert [key["projectId"] for key in listed] == ["proj-a"]
    assert listed[0]["prefix"] == admin_a.prefix
    assert raw_a not in response["body"] and "keyHash" not in response["body"]


def test_a_created_key_is_shown_once_and_authenticates(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService
) -> None:
    _, admin = make_key(["project:admin"])
    event = with_body(load_event(f"{KEYS}/create-key.json"), {"name": "ci", "scopes": ["ci:analyze", "flows:read"]})

    response = invoke(KEYS, as_caller(event, admin.to_authorizer_context()))

    assert response["statusCode"] == 201
    created = body_of(response)
    assert created["apiKey"]["scopes"] == ["ci:analyze", "flows:read"]
    assert keys.authenticate(created["key"]).project_id == admin.project_id


def test_a_key_cannot_grant_scopes_it_does_not_hold(deps: wiring.Services, make_key: MakeKey) -> None:
    _, manager = make_key(["keys:manage", "flows:read"])
    event = with_body(load_event(f"{KEYS}/create-key.json"), {"name": "escalate", "scopes": ["project:admin"]})

    response = invoke(KEYS, as_caller(event, manager.to_authorizer_context()))

    assert response["statusCode"] == 403
    assert body_of(response)["error"]["code"] == "forbidden"
    assert "project:admin" in body_of(response)["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ('{"name": "x", "scopes": ["flows:read"], "bogus": 1}', "body.bogus", "unknown field"),
        ('{"name": "x", "scopes": ["flows:delete"]}', "body.scopes.0", "Input should be"),
        ('{"name": "x", "scopes": "flows:read"}', "body.scopes", "valid list"),
        ('{"name": "x", "scopes": ["flows:read"], "expiresInDays": "soon"}', "body.expiresInDays", "integer"),
        ('{"name": "x", "scopes": ["flows:read"]', "body", "not valid JSON"),
        ("[]", "body", "dictionary"),
        ("", "body", "JSON request body is required"),
    ],
)
def test_bad_bodies_are_422_naming_the_field_and_create_nothing(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService, body: str, field: str, words: str
) -> None:
    _, admin = make_key(["project:admin"])
    event = with_body(load_event(f"{KEYS}/create-key.json"), body, raw=True)

    response = invoke(KEYS, as_caller(event, admin.to_authorizer_context()))

    assert response["statusCode"] == 422
    error = body_of(response)["error"]
    assert error["code"] == "validation_failed"
    assert any(p["field"] == field and words in p["message"] for p in error["details"]["errors"]), error
    assert field in error["message"]
    assert len(keys.list_keys(admin.project_id)) == 1


def test_revoking_a_key_stops_it_and_another_projects_prefix_is_not_found(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService
) -> None:
    _, admin = make_key(["keys:manage"], "proj-a")
    raw_victim, victim = make_key(["flows:read"], "proj-a")
    _, outsider = make_key(["flows:read"], "proj-b")

    revoked = invoke(
        KEYS,
        as_caller(
            with_query(with_path(load_event(f"{KEYS}/revoke-key.json"), prefix=victim.prefix), reason="left"),
            admin.to_authorizer_context(),
        ),
    )
    foreign = invoke(
        KEYS,
        as_caller(
            with_path(load_event(f"{KEYS}/revoke-key.json"), prefix=outsider.prefix), admin.to_authorizer_context()
        ),
    )

    assert revoked["statusCode"] == 200 and body_of(revoked)["revocationReason"] == "left"
    with pytest.raises(AuthenticationError):
        keys.authenticate(raw_victim)
    assert foreign["statusCode"] == 404
    assert keys.get("proj-b", outsider.prefix).revoked_at is None


@pytest.mark.parametrize("prefix", ["prc_'; DROP--", "prc_short", "../../etc", "prc_AbCdEfGh%00"])
def test_prefixes_that_are_not_prefixes_are_rejected_before_any_lookup(
    deps: wiring.Services, make_key: MakeKey, prefix: str
) -> None:
    _, admin = make_key(["keys:manage"])
    event = with_path(load_event(f"{KEYS}/revoke-key.json"), prefix=prefix)

    response = invoke(KEYS, as_caller(event, admin.to_authorizer_context()))

    assert response["statusCode"] in (404, 422)
    assert body_of(response)["error"]["code"] in ("validation_failed", "route_not_found")


def test_no_key_is_401_and_a_key_without_the_scope_is_403(deps: wiring.Services, make_key: MakeKey) -> None:
    _, reader = make_key(["flows:read"])

    anonymous = invoke(KEYS, as_caller(load_event(f"{KEYS}/list-keys.json"), None))
    unscoped = invoke(KEYS, as_caller(load_event(f"{KEYS}/list-keys.json"), reader.to_authorizer_context()))

    assert anonymous["statusCode"] == 401
    assert body_of(anonymous)["error"]["code"] == "unauthenticated"
    assert header_of(anonymous, "WWW-Authenticate") == 'Bearer realm="perceo"'
    assert unscoped["statusCode"] == 403
    assert body_of(unscoped)["error"]["details"]["requiredScopes"] == ["keys:manage"]


@pytest.mark.parametrize("encoded", [False, True])
def test_a_body_over_5_mb_is_413_before_parsing(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService, encoded: bool
) -> None:
    _, admin = make_key(["project:admin"])
    huge = json.dumps({"name": "big", "scopes": ["flows:read"], "pad": "x" * MAX_BODY_BYTES})
    event = with_body(load_event(f"{KEYS}/create-key.json"), huge, raw=True)
    if encoded:
        event["body"], event["isBase64Encoded"] = base64.b64encode(huge.encode()).decode(), True

    response = invoke(KEYS, as_caller(event, admin.to_authorizer_context()))

    assert response["statusCode"] == 413
    assert body_of(response)["error"]["code"] == "payload_too_large"
    assert len(keys.list_keys(admin.project_id)) == 1


def test_a_body_just_under_the_limit_is_parsed(deps: wiring.Services, make_key: MakeKey) -> None:
    _, admin = make_key(["project:admin"])
    body = json.dumps({"name": "x" * 10, "scopes": ["flows:read"]})
    event = with_body(load_event(f"{KEYS}/create-key.json"), body + " " * (MAX_BODY_BYTES - len(body)), raw=True)

    response = invoke(KEYS, as_caller(event, admin.to_authorizer_context()))

    assert response["statusCode"] == 201


def test_a_key_over_its_rate_gets_429_with_retry_after_until_tokens_refill(
    deps: wiring.Services, make_key: MakeKey, clock: SteppedClock
) -> None:
    _, admin = make_key(["keys:manage"])
    context = admin.to_authorizer_context()

    statuses = [invoke(KEYS, as_caller(load_event(f"{KEYS}/list-keys.json"), context))["statusCode"] for _ in range(3)]
    limited = invoke(KEYS, as_caller(load_event(f"{KEYS}/list-keys.json"), context))
    clock.advance(1_000)
    again = invoke(KEYS, as_caller(load_event(f"{KEYS}/list-keys.json"), context))

    assert statuses == [200, 200, 200]
    assert limited["statusCode"] == 429
    assert header_of(limited, "Retry-After") == "1"
    assert body_of(limited)["error"]["details"]["retryAfterSeconds"] == 1
    assert again["statusCode"] == 200


def test_cors_headers_only_for_the_allowed_origin(deps: wiring.Services, make_key: MakeKey) -> None:
    _, admin = make_key(["keys:manage"])
    allowed = load_event(f"{KEYS}/list-keys.json")
    allowed["headers"]["Origin"] = ORIGIN
    other = load_event(f"{KEYS}/list-keys.json")
    other["headers"]["Origin"] = "https://evil.example"

    yes = invoke(KEYS, as_caller(allowed, admin.to_authorizer_context()))
    no = invoke(KEYS, as_caller(other, admin.to_authorizer_context()))

    assert header_of(yes, "Access-Control-Allow-Origin") == ORIGIN
    assert header_of(no, "Access-Control-Allow-Origin") is None


def test_every_answer_carries_the_request_id_and_unknown_routes_are_404(
    deps: wiring.Services, make_key: MakeKey
) -> None:
    _, admin = make_key(["keys:manage"])
    event = as_caller(load_event(f"{KEYS}/list-keys.json"), admin.to_authorizer_context())
    event["path"] = event["resource"] = "/keys/extra/segments"

    response = invoke(KEYS, event)

    assert response["statusCode"] == 404
    assert body_of(response)["error"]["code"] == "route_not_found"
    assert header_of(response, "X-Request-Id") == event["requestContext"]["requestId"]


class _BrokenKeys(ApiKeyService):
    """A key service whose listing fails the way a bug would (failure injection, not a mock)."""

    def list_keys(self, project_id: str, *, include_inactive: bool = False) -> list[ApiKey]:
        raise RuntimeError("boom in /var/task/perceo/auth/service.py with prc_leakedleakedleaked")


def test_an_unexpected_error_is_a_generic_500_with_the_request_id_and_is_logged(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService, caplog: pytest.LogCaptureFixture
) -> None:
    broken = _BrokenKeys(InMemoryKeyStore(), PEPPER)
    raw, _ = broken.create("proj-a", "admin", ["keys:manage"], created_by="test")
    admin = broken.authenticate(raw)
    wiring.install(wiring.build_services(deps.settings, keys=broken, limiter=deps.limiter))
    event = as_caller(load_event(f"{KEYS}/list-keys.json"), admin.to_authorizer_context())

    response = invoke(KEYS, event)

    request_id = event["requestContext"]["requestId"]
    assert response["statusCode"] == 500
    assert body_of(response) == {
        "error": {
            "code": "internal_error",
            "message": f"internal error; quote request id {request_id} when reporting it",
            "details": {"requestId": request_id},
        }
    }
    assert "boom" not in response["body"] and "Traceback" not in response["body"]
    logged = [record.exc_text or "" for record in caplog.records if record.levelname == "ERROR"]
    assert any("RuntimeError: boom" in text for text in logged)
    assert not any("prc_leakedleakedleaked" in text for text in logged)  # the traceback is redacted too
