"""Requests no route can read get a 400 / 415 of the documented shape from `serve`, before any parser, driver or
store sees them (each kind was a 500 before: the fuzzing suite in tests/reliability found them)."""

from __future__ import annotations

import base64

import pytest
from api_handlers import as_caller, body_of, invoke, load_event, with_body, with_query
from api_unit_kit import MakeKey

from perceo import wiring
from perceo.api.body import MAX_INT_DIGITS, MAX_JSON_DEPTH, check_request
from perceo.errors import BadRequestError, UnsupportedMediaTypeError

KEYS = "api/keys"


def _create_key_event(body: str, *, content_type: str | None = "application/json") -> dict:
    event = with_body(load_event(f"{KEYS}/create-key.json"), body, raw=True)
    for headers in (event["headers"], event["multiValueHeaders"]):
        for name in [n for n in headers if n.lower() == "content-type"]:
            del headers[name]
    if content_type is not None:
        event["headers"]["Content-Type"] = content_type
        event["multiValueHeaders"]["Content-Type"] = [content_type]
    return event


def _answer(event: dict, make_key: MakeKey) -> tuple[int, dict]:
    _, admin = make_key(["keys:manage", "flows:read"])
    response = invoke(KEYS, as_caller(event, admin.to_authorizer_context()))
    body = body_of(response)
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert "Traceback" not in response["body"]
    return response["statusCode"], body["error"]


DEEP = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
VERY_DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"name": "a\\u0000b", "scopes": ["flows:read"]}', "NUL"),
        ('{"name": "ok", "scopes": ["flows:read"], "x\\u0000": 1}', "NUL"),
        ('{"name": "\\ud800", "scopes": ["flows:read"]}', "lone surrogate"),
        # U+0001 in a uniquely constrained graph property crashed the graph engine (found by the fuzzing suite)
        ('{"name": "a\\u0001b", "scopes": ["flows:read"]}', "control character (\\u0001)"),
        ('{"name": "ok", "scopes": ["flows:read"], "x": ["\\u001f"]}', "control character (\\u001f)"),
        ('{"name": "n", "scopes": ["flows:read"], "expiresInDays": ' + "9" * 5001 + "}", "digits"),
        ('{"name": "n", "scopes": ["flows:read"], "expiresInDays": -' + "1" * (MAX_INT_DIGITS + 1) + "}", "digits"),
        ('{"name": "n", "scopes": ["flows:read"], "expiresInDays": NaN}', "NaN"),
        ('{"name": "n", "scopes": ["flows:read"], "expiresInDays": -Infinity}', "Infinity"),
        ('{"name": "n", "scopes": ' + DEEP + "}", "nested"),
        ('{"name": "n", "scopes": ' + VERY_DEEP + "}", "nested"),
    ],
    ids=["nul-value", "nul-field-name", "lone-surrogate", "control-u0001", "control-u001f", "5001-digits",
         "negative-21-digits", "nan", "infinity",
         "depth-33", "depth-100000"],
)  # fmt: skip
def test_json_no_store_can_hold_is_400(deps: wiring.Services, make_key: MakeKey, body: str, says: str) -> None:
    status, error = _answer(_create_key_event(body), make_key)

    assert (status, error["code"]) == (400, "bad_request")
    assert says in error["message"]


def test_a_body_that_is_not_utf8_is_400_naming_the_offset(deps: wiring.Services, make_key: MakeKey) -> None:
    event = _create_key_event("")
    event["body"] = base64.b64encode(b'{"name": "\xff\xfe"}').decode()
    event["isBase64Encoded"] = True

    status, error = _answer(event, make_key)

    assert (status, error["code"]) == (400, "bad_request")
    assert "not UTF-8" in error["message"] and error["details"] == {"offset": 10}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json", "", None]
)
def test_a_body_that_is_not_json_by_its_content_type_is_415(
    deps: wiring.Services, make_key: MakeKey, content_type: str | None
) -> None:
    event = _create_key_event('{"name": "ok", "scopes": ["flows:read"]}', content_type=content_type)

    status, error = _answer(event, make_key)

    assert (status, error["code"]) == (415, "unsupported_media_type")
    assert "application/json" in error["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "Application/JSON"])
def test_json_with_parameters_or_in_any_case_is_read(
    deps: wiring.Services, make_key: MakeKey, content_type: str
) -> None:
    _, admin = make_key(["keys:manage", "flows:read"])
    event = _create_key_event('{"name": "ok", "scopes": ["flows:read"]}', content_type=content_type)

    assert invoke(KEYS, as_caller(event, admin.to_authorizer_context()))["statusCode"] == 201


def test_a_nul_in_the_query_string_is_400(deps: wiring.Services, make_key: MakeKey) -> None:
    event = with_query(load_event(f"{KEYS}/list-keys.json"), includeInactive="true\x00")

    status, error = _answer(event, make_key)

    assert (status, error["code"]) == (400, "bad_request")
    assert "includeInactive" in error["message"]


def test_tab_newline_and_carriage_return_are_text_not_control_characters() -> None:
    event = _text_event("POST", "/analytics/beacon", '{"events": ["a\\tb\\nc\\rd"]}', "text/plain")

    check_request(event, text_routes=BEACON)  # nothing raised


def test_text_that_is_not_json_at_all_stays_a_422_naming_the_body(deps: wiring.Services, make_key: MakeKey) -> None:
    status, error = _answer(_create_key_event("{nope"), make_key)

    assert (status, error["code"]) == (422, "validation_failed")
    assert "not valid JSON" in error["message"]


BEACON = frozenset({("POST", "/analytics/beacon")})


def _text_event(method: str, path: str, body: str, content_type: str) -> dict:
    return {"httpMethod": method, "path": path, "headers": {"Content-Type": content_type}, "body": body}


@pytest.mark.parametrize("content_type", ["text/plain;charset=UTF-8", "Text/Plain", "application/json"])
def test_a_text_route_takes_its_json_as_text_plain_too(content_type: str) -> None:
    check_request(_text_event("POST", "/analytics/beacon", '{"events": []}', content_type), text_routes=BEACON)


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/analytics/events", "text/plain"),  # only the routes named take text
        ("PUT", "/analytics/beacon", "text/plain"),  # the route is its method and path
        ("POST", "/analytics/beacon", "application/x-www-form-urlencoded"),  # text/plain, not any type
        ("POST", "/analytics/beacon", ""),
    ],
)
def test_anything_else_stays_a_415_on_every_route(method: str, path: str, content_type: str) -> None:
    with pytest.raises(UnsupportedMediaTypeError):
        check_request(_text_event(method, path, '{"events": []}', content_type), text_routes=BEACON)


def test_text_on_a_text_route_gets_the_json_checks_all_the_same() -> None:
    event = _text_event("POST", "/analytics/beacon", '{"events": ["a\\u0000b"]}', "text/plain")

    with pytest.raises(BadRequestError, match="NUL"):
        check_request(event, text_routes=BEACON)
