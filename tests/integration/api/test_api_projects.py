"""Projects over the real graph and Redis: admin-key creation, the first key, `me`, and the cascading delete."""

from __future__ import annotations

import json

import boto3
import pytest
import redis
from api_handlers import body_of, invoke, load_event, with_body
from api_integration_kit import ADMIN_KEY, PEPPER, api_settings, call, create_project, error_code, key_for
from moto import mock_aws

from perceo import wiring
from perceo.api.authorizer import Unauthorized
from perceo.config.secrets import ParametersSecretReader
from perceo.errors import AuthenticationError
from perceo.graph.port import FlowGraph
from perceo.llm.model import LLMCall
from perceo.llm.usage import RedisUsageStore
from perceo.models.common import now_ms
from perceo.models.vocab import SCOPES
from perceo_cli.local.server import ServerProcess


def _create(body: object, authorization: str | None) -> dict[str, object]:
    event = with_body(load_event("api/projects/create-project.json"), body)
    if authorization is None:
        event["headers"].pop("Authorization")
    else:
        event["headers"]["Authorization"] = authorization
    return invoke("api/projects", event)


def test_the_admin_key_creates_a_project_whose_first_key_has_every_scope(api: wiring.Services) -> None:
    response = _create({"name": "Storefront", "framework": "nextjs"}, f"Bearer {ADMIN_KEY}")

    assert response["statusCode"] == 201
    created = body_of(response)
    principal = api.keys.authenticate(created["apiKey"]["key"])
    assert principal.project_id == created["project"]["id"]
    assert list(principal.scopes) == list(SCOPES)
    assert api.graph.get_project(principal.project_id) is not None


def test_the_first_key_can_have_chosen_scopes(api: wiring.Services) -> None:
    caller = create_project("CI only", scopes=["ci:analyze", "flows:read"])

    assert caller.context["scopes"] == "ci:analyze flows:read"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-admin-key", f"Basic {ADMIN_KEY}", f"Bearer {ADMIN_KEY}x"]
)
def test_without_the_admin_key_no_project_is_created(api: wiring.Services, authorization: str | None) -> None:
    before = len(api.graph.list_projects())

    response = _create({"name": "Sneaky"}, authorization)

    assert response["statusCode"] == 401
    assert error_code(response) == "unauthenticated"
    assert len(api.graph.list_projects()) == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["flows:read", "root"]},
        {"name": "x", "owner": "me"},
        {"name": ""},
        {"name": "x", "expiresInDays": 0},
    ],
)
def test_an_invalid_request_creates_nothing(api: wiring.Services, body: dict[str, object]) -> None:
    before = len(api.graph.list_projects())

    response = _create(body, f"Bearer {ADMIN_KEY}")

    assert response["statusCode"] == 422
    assert len(api.graph.list_projects()) == before


def test_me_is_the_callers_project(api: wiring.Services) -> None:
    caller = create_project("Mine")

    response = call("projects/get-my-project", caller)

    assert response["statusCode"] == 200
    assert body_of(response)["id"] == caller.project_id
    assert body_of(response)["name"] == "Mine"


def test_deleting_a_project_removes_its_graph_data_and_every_key(api: wiring.Services, graph: FlowGraph) -> None:
    caller = create_project("Doomed")
    persona = call("flows/create-persona", caller, body={"name": "Shopper"})
    flow = call("flows/create-flow", caller, body={"name": "Checkout", "personas": ["Shopper"], "pages": ["/cart"]})
    assert persona["statusCode"] == flow["statusCode"] == 201

    response = call("projects/delete-project", caller, id=caller.project_id)

    assert response["statusCode"] == 200
    assert body_of(response) == {"projectId": caller.project_id, "deleted": True, "keysDeleted": 1}
    assert graph.get_project(caller.project_id) is None
    assert graph.list_flows(caller.project_id) == [] and graph.list_personas(caller.project_id) == []
    with pytest.raises(AuthenticationError):
        api.keys.authenticate(caller.key)
    event = load_event("authorizer/bearer-key.json")
    event["headers"]["Authorization"] = f"Bearer {caller.key}"
    with pytest.raises(Unauthorized):
        invoke("authorizer", event)


def test_a_project_is_deleted_only_by_its_own_admin_key(api: wiring.Services) -> None:
    owner = create_project("Owner")
    other = create_project("Other")
    reader = create_project("Reader", scopes=["flows:read"])

    foreign = call("projects/delete-project", other, id=owner.project_id)
    unscoped = call("projects/delete-project", reader, id=reader.project_id)

    assert foreign["statusCode"] == 403 and unscoped["statusCode"] == 403
    assert api.graph.get_project(owner.project_id) is not None
    assert api.graph.get_project(reader.project_id) is not None


def test_secrets_come_from_secrets_manager_when_not_injected(
    falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph, redis_client: redis.Redis
) -> None:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        pepper_arn = client.create_secret(Name="perceo/test/pepper", SecretString=PEPPER.decode())["ARN"]
        admin_arn = client.create_secret(Name="perceo/test/admin", SecretString=ADMIN_KEY)["ARN"]
        settings = api_settings(
            falkordb_server, graph_name, API_KEY_PEPPER_SECRET_ARN=pepper_arn, ADMIN_KEY_SECRET_ARN=admin_arn
        )
        deps = wiring.build_services(
            settings, secrets=ParametersSecretReader(secrets_client=client), graph=graph, redis=redis_client
        )
        wiring.install(deps)
        try:
            refused = _create({"name": "Nope"}, "Bearer not-the-admin-key")
            created = _create({"name": "From secrets"}, f"Bearer {ADMIN_KEY}")
        finally:
            wiring.reset()

    assert refused["statusCode"] == 401
    assert created["statusCode"] == 201
    assert ADMIN_KEY not in json.dumps(created) and PEPPER.decode() not in json.dumps(created)


# ---------------------------------------------------------------------------------------------------- usage


def _llm_call(project_id: str, model: str, **counts: object) -> LLMCall:
    return LLMCall.model_validate(
        {
            "project_id": project_id,
            "model": model,
            "unit": "flows",
            "schema_name": "flows",
            "outcome": "ok",
            "at": now_ms(),
            **counts,
        }
    )


def test_usage_is_the_calling_keys_projects_llm_usage_only(api: wiring.Services) -> None:
    a, b = create_project("Uses the LLM"), create_project("Does not")
    store = RedisUsageStore(api.redis)
    store.record(_llm_call(a.project_id, "gpt-4.1-mini", tokens_in=1200, tokens_out=300, cost_usd=0.0012, requests=1))
    store.record(_llm_call(a.project_id, "gpt-4.1-mini", cached=True, cost_usd=0.0))
    store.record(_llm_call(a.project_id, "gpt-4.1", tokens_in=10, outcome="failed", requests=3))

    mine, theirs = call("projects/get-usage", a, query={"days": "3"}), call("projects/get-usage", b)

    assert mine["statusCode"] == 200 and theirs["statusCode"] == 200
    report, empty = body_of(mine), body_of(theirs)
    assert (report["projectId"], report["days"]) == (a.project_id, 3)
    assert [(row["model"], row["calls"], row["cachedCalls"], row["failedCalls"]) for row in report["rows"]] == [
        ("gpt-4.1", 1, 0, 1),
        ("gpt-4.1-mini", 2, 1, 0),
    ]
    assert report["totals"]["tokensIn"] == 1210 and report["totals"]["costUsd"] == pytest.approx(0.0012)
    assert (empty["projectId"], empty["days"], empty["rows"], empty["totals"]["calls"]) == (b.project_id, 7, [], 0)
    assert a.project_id not in theirs["body"]


def test_usage_needs_insights_read_and_a_sane_number_of_days(api: wiring.Services) -> None:
    owner = create_project("Usage scopes")
    ci_only = key_for(owner, ["ci:analyze"], "ci")

    denied = call("projects/get-usage", ci_only)
    too_many, none = (call("projects/get-usage", owner, query={"days": d}) for d in ("91", "0"))

    assert denied["statusCode"] == 403 and "insights:read" in body_of(denied)["error"]["message"]
    assert too_many["statusCode"] == 422 and none["statusCode"] == 422
    assert "days" in too_many["body"]
