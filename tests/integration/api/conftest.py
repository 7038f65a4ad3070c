"""The real API Lambdas over a real FalkorDB graph and Redis (the session's FalkorDB server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from api_integration_kit import api_services
from fakes.analytics_providers import FakeProviders

from perceo import wiring
from perceo.analytics.providers import HttpProviderClients
from perceo.graph.falkor import FalkorFlowGraph
from perceo.graph.port import FlowGraph
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def graph_name() -> str:
    return f"perceo-api-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def graph(falkordb_server: ServerProcess, graph_name: str, redis_client: redis.Redis) -> Iterator[FlowGraph]:
    opened = FalkorFlowGraph(f"redis://{falkordb_server.host}:{falkordb_server.port}", graph_name)
    opened.ensure_schema()
    try:
        yield opened
    finally:
        opened.close()
        redis_client.delete(graph_name)


@pytest.fixture
def analytics_clients(fake_providers: FakeProviders) -> Iterator[HttpProviderClients]:
    """Analytics provider clients whose hosts are the fake providers on loopback (real HTTP)."""
    base = fake_providers.base_url
    clients = HttpProviderClients(base_urls={"mixpanel": base, "amplitude": base, "ga4": base})
    try:
        yield clients
    finally:
        clients.close()


@pytest.fixture
def api(
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    analytics_clients: HttpProviderClients,
) -> Iterator[wiring.Services]:
    """Every handler in this process uses the test's graph and Redis; keys and limits are real (Redis)."""
    services = api_services(falkordb_server, graph_name, graph, redis_client, analytics_providers=analytics_clients)
    wiring.install(services)
    try:
        yield services
    finally:
        wiring.reset()


@pytest.fixture
def workflows(
    api: wiring.Services,
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    analytics_clients: HttpProviderClients,
) -> Iterator[None]:
    """Workflow routes over moto Step Functions (executions recorded, not run), Redis progress, in-memory bundles;
    the bootstrap state machine only (the review one is not configured)."""
    yield from _workflows(api, falkordb_server, graph_name, graph, redis_client, analytics_clients, review=False)


@pytest.fixture
def all_workflows(
    api: wiring.Services,
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    analytics_clients: HttpProviderClients,
) -> Iterator[None]:
    """As `workflows`, with the analysis review state machine too."""
    yield from _workflows(api, falkordb_server, graph_name, graph, redis_client, analytics_clients, review=True)


def _workflows(
    api: wiring.Services,
    falkordb_server: ServerProcess,
    graph_name: str,
    graph: FlowGraph,
    redis_client: redis.Redis,
    analytics_clients: HttpProviderClients,
    *,
    review: bool,
) -> Iterator[None]:
    import boto3
    from moto import mock_aws

    from perceo.workflows.bundle import InMemoryBundleStore
    from perceo.workflows.progress import RedisProgressStore
    from perceo.workflows.service import WorkflowService

    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = '{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}'
        role = "arn:aws:iam::123456789012:role/perceo-test"
        arn = sfn.create_state_machine(name="bootstrap", definition=definition, roleArn=role)["stateMachineArn"]
        tests_arn = sfn.create_state_machine(name="run-tests", definition=definition, roleArn=role)["stateMachineArn"]
        review_arn = (
            sfn.create_state_machine(name="analyze", definition=definition, roleArn=role)["stateMachineArn"]
            if review
            else None
        )
        bundles = InMemoryBundleStore()
        service = WorkflowService(
            sfn,
            RedisProgressStore(redis_client),
            bundles,
            bootstrap_state_machine_arn=arn,
            run_tests_state_machine_arn=tests_arn,
            analyze_state_machine_arn=review_arn,
            allowed_git_hosts=("github.com",),
        )
        wiring.install(
            api_services(
                falkordb_server,
                graph_name,
                graph,
                redis_client,
                workflows=service,
                bundles=bundles,
                analytics_providers=analytics_clients,
            )
        )
        try:
            yield
        finally:
            wiring.install(api)
