"""The REQUEST authorizer: a valid key gets a stage-wide Allow with its context; anything else is a 401."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from api_handlers import invoke, load_event, load_handler
from api_unit_kit import MakeKey
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import APIGatewayAuthorizerResponse

from perceo import wiring
from perceo.api.authorizer import Unauthorized, allow_policy, authorize_request
from perceo.auth import ApiKeyService, Principal

STAGE_ARN = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/*/*"


def test_a_bearer_key_gets_an_allow_on_the_whole_stage_with_the_callers_context(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService
) -> None:
    raw, principal = make_key(["flows:read", "ci:analyze"])
    event = load_event("authorizer/bearer-key.json")
    event["headers"]["Authorization"] = f"Bearer {raw}"

    answer = authorize_request(event, keys)

    statement = answer["policyDocument"]["Statement"]
    assert statement == [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [STAGE_ARN]}]
    assert answer["principalId"] == principal.key_id
    assert answer["context"] == {
        "projectId": principal.project_id,
        "keyId": principal.key_id,
        "prefix": principal.prefix,
        "name": principal.name,
        "scopes": "ci:analyze flows:read",
    }
    assert all(isinstance(value, str) for value in answer["context"].values())
    assert Principal.from_authorizer_context(answer["context"]) == principal


def test_a_valid_key_in_x_api_key_is_not_a_credential(
    deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService
) -> None:
    # `Authorization: Bearer` is the one way: API Gateway caches the answer by it and refuses requests without it.
    raw, _ = make_key(["flows:read"])
    event = load_event("authorizer/no-key.json")
    event["headers"] = {**event["headers"], "x-api-key": raw}

    with pytest.raises(Unauthorized):
        authorize_request(event, keys)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer prc_not-a-real-key"},
        {"Authorization": "Bearer prc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        {"x-api-key": "' OR 1=1 --"},
    ],
)
def test_missing_or_invalid_keys_are_unauthorized(
    deps: wiring.Services, keys: ApiKeyService, headers: dict[str, str]
) -> None:
    event = load_event("authorizer/no-key.json")
    event["headers"] = {**event["headers"], **headers}

    with pytest.raises(Unauthorized) as raised:
        authorize_request(event, keys)

    assert str(raised.value) == "Unauthorized"  # API Gateway's contract for a 401


def test_a_revoked_key_is_unauthorized(deps: wiring.Services, make_key: MakeKey, keys: ApiKeyService) -> None:
    raw, principal = make_key(["flows:read"])
    keys.revoke(principal.project_id, principal.prefix, reason="leaked", actor="test")
    event = load_event("authorizer/bearer-key.json")
    event["headers"]["Authorization"] = f"Bearer {raw}"

    with pytest.raises(Unauthorized):
        authorize_request(event, keys)


@pytest.fixture
def lambda_log() -> Iterator[io.StringIO]:
    """What the authorizer Lambda's log handler writes (the JSON lines CloudWatch would get), at INFO.

    Only that handler is captured — never "whatever handlers the perceo logger has now", which in a test process
    can include pytest's own capture handlers — and the fixture first checks the wiring the test relies on: the
    domain's `perceo` logger writes through that handler and propagates as usual (no other module has re-pointed it).
    """
    logger = load_handler("authorizer").logger
    handler = logger.registered_handler
    domain = logging.getLogger("perceo")
    assert logger.name == "perceo" and handler in domain.handlers, (
        f"the authorizer logs as {logger.name!r} through {handler!r}; the perceo logger has {domain.handlers!r}"
    )
    assert domain.propagate, "something in this process turned off the perceo logger's propagation"
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous_stream, previous_level = handler.setStream(stream), domain.level
    domain.setLevel(logging.INFO)  # the level other handler modules loaded in this process were given may differ
    try:
        yield stream
    finally:
        handler.setStream(previous_stream)
        domain.setLevel(previous_level)


def test_the_authorizer_lambda_answers_and_never_logs_the_key(
    deps: wiring.Services, make_key: MakeKey, lambda_log: io.StringIO
) -> None:
    raw, principal = make_key(["flows:read"])
    accepted = load_event("authorizer/bearer-key.json")
    accepted["headers"]["Authorization"] = f"Bearer {raw}"
    rejected = load_event("authorizer/bearer-key.json")
    rejected["headers"]["Authorization"] = f"Bearer {raw[:-4]}AAAA"

    answer = invoke("authorizer", accepted)
    with pytest.raises(Unauthorized):
        invoke("authorizer", rejected)

    assert answer["context"]["projectId"] == principal.project_id
    written = lambda_log.getvalue()
    assert "API key rejected (secret_mismatch)" in written
    assert raw[:-4] not in written


PRINCIPAL = Principal(project_id="proj-a", key_id="k1", prefix="prc_abcd1234", name="ci", scopes=())


@pytest.mark.parametrize(
    ("method_arn", "expected"),
    [
        ("arn:aws:execute-api:eu-west-1:1:api/prod/GET/flows/abc", "arn:aws:execute-api:eu-west-1:1:api/prod/*/*"),
        ("arn:aws:execute-api:eu-west-1:1:api/dev/POST/", "arn:aws:execute-api:eu-west-1:1:api/dev/*/*"),
    ],
)
def test_the_policy_covers_every_route_of_the_stage(method_arn: str, expected: str) -> None:
    [statement] = allow_policy(PRINCIPAL, method_arn)["policyDocument"]["Statement"]

    assert statement["Resource"] == [expected]


@pytest.mark.parametrize(
    "method_arn",
    ["arn:aws:execute-api:eu-west-1:1:api/prod/GET/flows/abc", "arn:aws:execute-api:us-east-1:1:a/dev/POST/"],
)
def test_the_policy_is_the_document_powertools_builds(method_arn: str) -> None:
    # The authorizer builds it itself only to keep powertools' data classes out of its cold start.
    expected = APIGatewayAuthorizerResponse.from_route_arn(
        method_arn, principal_id=PRINCIPAL.key_id, context=PRINCIPAL.to_authorizer_context()
    )
    expected.allow_all_routes()

    assert allow_policy(PRINCIPAL, method_arn) == expected.asdict()


def test_the_policy_keeps_the_partition_of_the_method_arn() -> None:
    # (powertools' from_route_arn writes `arn:aws:` whatever the partition; China and GovCloud need theirs)
    [statement] = allow_policy(PRINCIPAL, "arn:aws-cn:execute-api:cn-north-1:1:api/dev/POST/")["policyDocument"][
        "Statement"
    ]

    assert statement["Resource"] == ["arn:aws-cn:execute-api:cn-north-1:1:api/dev/*/*"]


@pytest.mark.parametrize(
    "method_arn", ["", "not-an-arn/dev/GET", "arn:aws:execute-api:eu-west-1:1:api", "arn:aws:execute-api:r:1:api//GET/"]
)
def test_a_malformed_method_arn_is_an_error_not_a_policy(method_arn: str) -> None:
    with pytest.raises(ValueError):
        allow_policy(PRINCIPAL, method_arn)


def test_a_key_logged_by_mistake_reaches_the_log_redacted(
    deps: wiring.Services, make_key: MakeKey, lambda_log: io.StringIO
) -> None:
    raw, principal = make_key(["flows:read"])

    logging.getLogger("perceo.some.module").warning("got header Authorization: Bearer %s", raw)
    load_handler("authorizer").logger.info("payload %s", {"x-api-key": raw})

    written = lambda_log.getvalue()
    assert raw not in written
    assert f"got header Authorization: Bearer {principal.prefix}[redacted]" in written
    assert f"'x-api-key': '{principal.prefix}[redacted]'" in written
