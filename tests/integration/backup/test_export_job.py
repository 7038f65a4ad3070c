"""The scheduled `export` job on the real graph and Redis, writing to S3 (moto, in process), and `perceo import
s3://…` restoring its object into an empty store; plus the template's bucket, lifecycle rule and schedule."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import redis
import yaml
from api_handlers import load_event, load_handler
from bootstrap_kit import graph_name
from cli_kit import run_cli, use_session_store
from moto import mock_aws

from perceo import wiring
from perceo.analyzer.jobs import RedisJobLog
from perceo.backup.jobs import export_key
from perceo.backup.service import BackupService
from perceo.config.settings import Settings
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Flow, Persona, Project
from perceo_cli.local.server import ServerProcess

BUCKET = "perceo-test-backups"
REPO = Path(__file__).resolve().parents[3]


@dataclass
class _Context:
    remaining: int = 800_000
    function_name: str = "perceo-test-job-export"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:perceo-test-job-export"
    aws_request_id: str = "export-request"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def _project(graph: FalkorFlowGraph, name: str) -> str:
    import uuid

    pid = f"p-{uuid.uuid4().hex[:12]}"
    graph.create_project(Project(id=pid, name=name))
    graph.upsert_personas(pid, [Persona(project_id=pid, name="Buyer")])
    (flow,) = graph.upsert_flows(pid, [Flow(project_id=pid, name="Checkout")])
    graph.set_flow_personas(pid, flow.id, ["Buyer"])
    return pid


def test_the_export_job_writes_each_project_s_daily_export_and_import_restores_it(
    graph: FalkorFlowGraph, redis_client: redis.Redis, falkordb_server: ServerProcess, s3: object, tmp_path: Path
) -> None:
    graph.ensure_schema()
    mine, other = _project(graph, "Shop"), _project(graph, "Blog")
    redis_client.delete(RedisJobLog.key("export"))
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    env = {"STAGE": "test", "POWERTOOLS_SERVICE_NAME": "perceo", "GRAPH_URI": url, "REDIS_URL": url,
           "BACKUP_BUCKET": BUCKET}  # fmt: skip
    wiring.install(wiring.build_services(Settings.from_env(env), graph=graph, redis=redis_client))
    try:
        answer = load_handler("jobs/export").lambda_handler(load_event("jobs/export/scheduled.json"), _Context())
    finally:
        wiring.reset()

    assert answer["outcome"] == "succeeded" and answer["created"] == answer["projects"] >= 2
    key = export_key(mine, answer["startedAt"])
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/")["Contents"]]  # type: ignore[attr-defined]
    assert key in listed and export_key(other, answer["startedAt"]) in listed
    stored = gzip.decompress(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode()  # type: ignore[attr-defined]
    assert json.loads(stored.splitlines()[0])["projectId"] == mine
    assert other not in stored
    original = list(BackupService(graph).export_lines(mine))
    assert stored.splitlines()[1:] == original[1:]

    empty = tmp_path / "restore"
    empty.mkdir()
    name = graph_name()
    use_session_store(empty, falkordb_server.host, falkordb_server.port, name)
    try:
        code, out, err = run_cli(["import", f"s3://{BUCKET}/{key}", "--json"], empty)
        assert code == 0, err
        assert json.loads(out)["projectId"] == mine
        restored = FalkorFlowGraph(url, name)
        assert list(BackupService(restored).export_lines(mine))[1:] == original[1:]
        restored.close()

        code, _, err = run_cli(["import", f"s3://{BUCKET}/exports/{mine}/1999-01-01.jsonl.gz"], empty)
        assert code == 2 and "NoSuchKey" in err
    finally:
        redis_client.delete(name)


def test_the_template_keeps_exports_for_a_parameter_s_days_and_schedules_the_job() -> None:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)}
                                 if isinstance(node, yaml.ScalarNode) else {suffix: None})  # fmt: skip
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    resources, parameters = template["Resources"], template["Parameters"]

    (rule,) = resources["BackupBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert (rule["Prefix"], rule["ExpirationInDays"]) == ("exports/", {"Ref": "BackupRetentionDays"})
    job = resources["ExportJobFunction"]["Properties"]
    assert job["Environment"]["Variables"]["BACKUP_BUCKET"] == {"Ref": "BackupBucket"}
    assert job["Events"]["ExportSchedule"]["Properties"]["Schedule"] == {"Sub": "rate(${ExportRateMinutes} minutes)"}
    assert {"ExportRateMinutes", "BackupRetentionDays", "AnalysesRetentionDays", "WorkflowRecordsRetentionDays"} <= set(
        parameters
    )
    samconfig = (REPO / "samconfig.toml").read_text()
    assert samconfig.count("ExportRateMinutes=") == samconfig.count("CleanupRateMinutes=") == 3
