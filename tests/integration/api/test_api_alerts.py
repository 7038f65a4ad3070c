"""The alert routes through the real analyzer Lambda over the real graph and Redis, channel secrets in moto's
Secrets Manager and email through moto's SES (this process), deliveries to a loopback receiver that checks the
HMAC: add, list (masked), test, deliveries, remove; scopes; bad input; another project sees none of it; and the
job records in GET /health."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import redis
from api_handlers import body_of, load_event
from api_integration_kit import api_services, call, create_project, error_code, key_for
from moto import mock_aws

from perceo import wiring
from perceo.analytics.stores import SecretsManagerCredentialStore
from perceo.analyzer.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, SesEmailSender, verify_signature
from perceo.analyzer.jobs import Done as JobDone
from perceo.analyzer.jobs import RedisJobLog, run_over_projects
from perceo.graph.port import FlowGraph
from perceo.models import Flow
from perceo_cli.local.server import ServerProcess

SECRET = "whsec-route-test-secret"
REGION = "us-east-1"


class _Receiver(ThreadingHTTPServer):
    received: list[dict[str, Any]]
    refused: int


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        stamp, signature = self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(SIGNATURE_HEADER, "")
        ok = verify_signature(SECRET, stamp, signature, raw)
        if ok:
            self.server.received.append(json.loads(raw))
        else:
            self.server.refused += 1
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    server = _Receiver(("127.0.0.1", 0), _Handler)
    server.received, server.refused = [], 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress="alerts@shop.example")
        yield {"sm": boto3.client("secretsmanager", region_name=REGION),
               "ses": boto3.client("sesv2", region_name=REGION)}  # fmt: skip


@pytest.fixture
def alerts_api(
    falkordb_server: ServerProcess, graph_name: str, graph: FlowGraph, redis_client: redis.Redis, aws: dict[str, Any]
) -> Iterator[wiring.Services]:
    secrets = SecretsManagerCredentialStore(aws["sm"], "perceo/test/alerts/", description="Perceo alert channels")
    services = api_services(falkordb_server, graph_name, graph, redis_client, alert_secrets=secrets,
                            alert_email=SesEmailSender(lambda: aws["ses"]))  # fmt: skip
    wiring.install(services)
    try:
        yield services
    finally:
        wiring.reset()


def _webhook(url: str, **rule: Any) -> dict[str, Any]:
    return {"name": "on-call", "minSeverity": "info", **rule,
            "channel": {"kind": "webhook", "url": url, "secret": SECRET}}  # fmt: skip


def test_add_list_test_deliveries_remove(
    alerts_api: wiring.Services, graph: FlowGraph, receiver: _Receiver, aws: dict[str, Any]
) -> None:
    owner = create_project("Alerted")
    graph.upsert_flows(owner.project_id, [Flow(project_id=owner.project_id, name="Checkout")])
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"

    added = call("analyzer/add-alert", owner, body=_webhook(url, flows=["Checkout"], riskLevels=["critical"]))
    email = call("analyzer/add-alert", owner, body={"name": "mail", "channel": {
        "kind": "email", "recipients": ["ops@shop.example"], "sender": "alerts@shop.example"}})  # fmt: skip

    assert added["statusCode"] == 201, added["body"]
    assert email["statusCode"] == 201, email["body"]
    view = body_of(added)
    assert view["rule"]["riskLevels"] == ["critical"] and len(view["rule"]["flows"]) == 1
    assert view["channel"] == {"name": "on-call", "kind": "webhook", "url": "http://127.0.0.1/***", "signed": True}
    listed = call("analyzer/list-alerts", owner)
    assert listed["statusCode"] == 200 and [v["rule"]["name"] for v in body_of(listed)["rules"]] == ["mail", "on-call"]
    assert SECRET not in listed["body"] and url not in listed["body"] and "ops@shop.example" not in listed["body"]
    assert body_of(listed)["rules"][0]["channel"]["recipients"] == ["o***@shop.example"]
    # the secrets are in Secrets Manager, not in the graph
    stored = json.loads(aws["sm"].get_secret_value(SecretId=f"perceo/test/alerts/{owner.project_id}")["SecretString"])
    assert stored["on-call"]["url"] == url and stored["on-call"]["secret"] == SECRET
    assert SECRET not in json.dumps([r.model_dump() for r in graph.list_alert_rules(owner.project_id)])  # type: ignore[attr-defined]

    tested = call("analyzer/test-alert", owner, name="on-call")
    mailed = call("analyzer/test-alert", owner, name="mail")
    assert body_of(tested)["status"] == "delivered" and len(receiver.received) == 1 and receiver.refused == 0
    assert body_of(mailed)["status"] == "delivered"
    deliveries = body_of(call("analyzer/list-alert-deliveries", owner, query={"limit": "10"}))["deliveries"]
    assert [(d["rule"], d["status"]) for d in deliveries] == [("mail", "delivered"), ("on-call", "delivered")]

    removed = call("analyzer/remove-alert", owner, name="on-call")
    assert removed["statusCode"] == 200 and body_of(removed) == {"removed": "on-call"}
    assert call("analyzer/remove-alert", owner, name="on-call")["statusCode"] == 404
    stored = json.loads(aws["sm"].get_secret_value(SecretId=f"perceo/test/alerts/{owner.project_id}")["SecretString"])
    assert "on-call" not in stored  # the channel went with its last rule


def test_scopes_bad_input_and_isolation(alerts_api: wiring.Services, graph: FlowGraph, receiver: _Receiver) -> None:
    owner, other = create_project("Owner"), create_project("Other")
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    reader = key_for(owner, ["insights:read", "flows:write"], "reader")

    assert call("analyzer/add-alert", reader, body=_webhook(url))["statusCode"] == 403  # project:admin
    unknown = call("analyzer/add-alert", owner, body=_webhook(url, flows=["Chekout"]))
    assert unknown["statusCode"] == 422 and "Chekout" in unknown["body"] and error_code(unknown) == "validation_failed"
    bad_type = call("analyzer/add-alert", owner, body=_webhook(url, types=["regresion"]))
    assert bad_type["statusCode"] == 422 and "regresion" in bad_type["body"]
    unsigned = call("analyzer/add-alert", owner, body={"name": "x", "channel": {"kind": "webhook", "url": url}})
    assert unsigned["statusCode"] == 422 and "signing secret" in unsigned["body"]
    plain = call("analyzer/add-alert", owner, body=_webhook("http://hooks.example.com/x"))
    assert plain["statusCode"] == 422 and "hooks.example.com" not in plain["body"]
    assert body_of(call("analyzer/list-alerts", owner))["rules"] == []  # nothing stored by the refusals

    assert call("analyzer/add-alert", owner, body=_webhook(url))["statusCode"] == 201
    assert body_of(call("analyzer/list-alerts", reader))["rules"]  # insights:read lists
    assert body_of(call("analyzer/list-alerts", other))["rules"] == []
    assert call("analyzer/test-alert", other, name="on-call")["statusCode"] == 404
    assert call("analyzer/remove-alert", other, name="on-call")["statusCode"] == 404
    assert body_of(call("analyzer/list-alert-deliveries", other))["deliveries"] == []
    assert receiver.received == []


def test_health_shows_each_jobs_last_run(alerts_api: wiring.Services, redis_client: redis.Redis) -> None:
    from api_handlers import invoke

    for job in ("aggregate", "check-alerts"):
        redis_client.delete(RedisJobLog.key(job))
    run_over_projects("check-alerts", ["p1", "p2"], lambda pid: JobDone(delivered=2), RedisJobLog(redis_client))

    def broken(pid: str) -> JobDone:
        raise ConnectionError("graph went away")

    run_over_projects("aggregate", ["p1"], broken, RedisJobLog(redis_client))

    health = body_of(invoke("api/health", load_event("api/health/get-health.json")))

    jobs = {j["job"]: j for j in health["jobs"]}
    assert (jobs["check-alerts"]["outcome"], jobs["check-alerts"]["delivered"], jobs["check-alerts"]["projects"]) == (
        "succeeded", 4, 2)  # fmt: skip
    assert jobs["aggregate"]["outcome"] == "failed"
    assert jobs["aggregate"]["failures"] == [{"projectId": "p1", "error": "ConnectionError"}]
    assert jobs["check-alerts"]["finishedAt"] >= jobs["check-alerts"]["startedAt"]
