"""The workflow routes build their service from the installed services' settings (injected ones included), never
from the process environment behind them: tests configure them by injection alone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from api_handlers import body_of
from api_integration_kit import PEPPER, Caller, api_settings, call, create_project

from perceo import wiring
from perceo.config.settings import reset_settings
from perceo.graph.port import FlowGraph
from perceo_cli.local.server import ServerProcess

ROLE = "arn:aws:iam::123456789012:role/perceo-test"
DEFINITION = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'


@pytest.fixture
def moto_sfn(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield boto3.client("stepfunctions"), boto3.client("s3")


def test_the_workflow_service_uses_the_injected_settings_and_not_the_environment(
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    moto_sfn: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sfn, s3 = moto_sfn
    # Given an environment from which no settings can be read (no STAGE, no state machine, no bucket)…
    for variable in ("STAGE", "REDIS_URL", "BOOTSTRAP_STATE_MACHINE_ARN", "BUNDLE_BUCKET", "WORKFLOW_MAX_CONCURRENCY"):
        monkeypatch.delenv(variable, raising=False)
    reset_settings()
    # …and injected settings that name a state machine, a bucket and a Map concurrency of their own
    arn = sfn.create_state_machine(name=f"boot-{graph_name}", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
    s3.create_bucket(Bucket=graph_name)
    settings = api_settings(
        falkordb_server,
        graph_name,
        BOOTSTRAP_STATE_MACHINE_ARN=arn,
        BUNDLE_BUCKET=graph_name,
        ALLOWED_GIT_HOSTS="git.example.com",
        WORKFLOW_MAX_CONCURRENCY="7",
    )
    wiring.install(
        wiring.build_services(
            settings,
            graph=graph,
            redis=redis_client,
            pepper=PEPPER,
            admin_key="integration-admin-key-0123456789-abcdefghij",
        )
    )
    try:
        owner: Caller = create_project("Shop", scopes=["workflows:start", "flows:read"])

        # When the project's bootstrap is started through the API
        started = call(
            "workflows/start-bootstrap",
            owner,
            body={"repoUrl": "https://git.example.com/acme/shop.git", "useLlm": False},
        )

        # Then it ran on the injected state machine, with the injected concurrency, its request in the injected bucket
        assert started["statusCode"] == 202, started
        workflow_id = body_of(started)["workflowId"]
        (execution,) = sfn.list_executions(stateMachineArn=arn)["executions"]
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        assert json.loads(described["input"]) == {
            "projectId": owner.project_id,
            "workflowId": workflow_id,
            "maxConcurrency": 7,
        }
        listed = s3.list_objects_v2(Bucket=graph_name)["Contents"]
        assert [o["Key"].rsplit("/", 1)[-1] for o in listed] == ["request.json"]
    finally:
        wiring.reset()
