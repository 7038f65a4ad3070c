"""`perceo usage`: the per-day, per-model table and its JSON, read from the project's Redis."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from llm_support import new_project_id

from perceo.config.model import EventBusSection, ObserverSection, PerceoConfig, ProjectSection
from perceo.llm.model import LLMCall
from perceo.llm.usage import RedisUsageStore
from perceo.models.common import now_ms
from perceo_cli.context import AppContext
from perceo_cli.local.server import ServerProcess
from perceo_cli.local.store import EmbeddedStore, project_data_dir
from perceo_cli.main import main
from perceo_cli.output import Output

DAY_MS = 86_400_000


def run(config: PerceoConfig, *args: str, project_dir: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["usage", *args], context=AppContext(output=Output(out, err), project_dir=project_dir, _config=config))
    return code, out.getvalue(), err.getvalue()


def redis_config(project_id: str | None, server: ServerProcess) -> PerceoConfig:
    return PerceoConfig(
        project=ProjectSection(id=project_id), event_bus=EventBusSection(type="redis", redis_url=server.url)
    )


def a_call(project_id: str, model: str, *, days_ago: int = 0, cost: float | None = 0.0125) -> LLMCall:
    return LLMCall(
        project_id=project_id,
        model=model,
        unit="flows",
        schema_name="flows",
        outcome="ok",
        tokens_in=1200,
        tokens_out=340,
        latency_ms=900,
        cost_usd=cost,
        requests=1,
        at=now_ms() - days_ago * DAY_MS,
    )


def table_rows(out: str) -> list[list[str]]:
    """The body cells of the printed table, row by row."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in out.splitlines()
        if line.startswith("│")
    ]


def today(days_ago: int = 0) -> str:
    return (datetime.now(tz=UTC).date() - timedelta(days=days_ago)).isoformat()


def test_usage_prints_one_row_per_day_and_model_with_totals(
    redis_client: redis.Redis, falkordb_server: ServerProcess, tmp_path: Path
) -> None:
    project_id = new_project_id()
    store = RedisUsageStore(redis_client)
    store.record(a_call(project_id, "gpt-4.1-mini"))
    store.record(a_call(project_id, "gpt-4.1-mini"))
    store.record(a_call(project_id, "my-local-llama", cost=None))
    store.record(a_call(project_id, "gpt-4.1-mini", days_ago=1))
    store.record(a_call(project_id, "gpt-4.1-mini", days_ago=5))  # outside --days 2
    store.record(a_call(new_project_id(), "gpt-4o"))  # another project

    code, out, err = run(redis_config(project_id, falkordb_server), "--days", "2", project_dir=tmp_path)

    assert code == 0, err
    rows = table_rows(out)
    assert rows == [
        [today(), "gpt-4.1-mini", "2", "0", "0", "2,400", "680", "$0.0250"],
        [today(), "my-local-llama", "1", "0", "0", "1,200", "340", "unknown"],
        [today(1), "gpt-4.1-mini", "1", "0", "0", "1,200", "340", "$0.0125"],
        ["Total", "", "4", "0", "0", "4,800", "1,360", "$0.0375 + unknown"],
    ]
    assert "gpt-4o" not in out
    assert "1 call of a model without a known price" in err


def test_usage_json_is_the_report_and_nothing_else(
    redis_client: redis.Redis, falkordb_server: ServerProcess, tmp_path: Path
) -> None:
    project_id = new_project_id()
    RedisUsageStore(redis_client).record(a_call(project_id, "gpt-4.1-mini"))

    code, out, _ = run(redis_config(project_id, falkordb_server), "--json", project_dir=tmp_path)

    assert code == 0
    report = json.loads(out)
    assert set(report) == {"projectId", "days", "since", "until", "rows", "totals"}
    assert (report["projectId"], report["days"], report["until"]) == (project_id, 7, today())
    [row] = report["rows"]
    assert row == {
        "day": today(),
        "model": "gpt-4.1-mini",
        "calls": 1,
        "cachedCalls": 0,
        "failedCalls": 0,
        "tokensIn": 1200,
        "tokensOut": 340,
        "costUsd": 0.0125,
        "unpricedCalls": 0,
        "latencyMs": 900,
    }
    assert report["totals"]["calls"] == 1


def test_usage_with_no_calls_says_so(falkordb_server: ServerProcess, tmp_path: Path) -> None:
    project_id = new_project_id()

    code, out, _ = run(redis_config(project_id, falkordb_server), "--days", "3", project_dir=tmp_path)

    assert code == 0
    assert f"No LLM calls for project {project_id}" in out


def test_usage_without_a_project_id_is_a_usage_error(falkordb_server: ServerProcess, tmp_path: Path) -> None:
    code, out, err = run(redis_config(None, falkordb_server), project_dir=tmp_path)

    assert code == 2
    assert out == ""
    assert "project.id" in err and "Traceback" not in err


def test_usage_of_a_cloud_project_asks_the_api_and_says_how_to_log_in_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no saved key
    monkeypatch.delenv("PERCEO_API_KEY", raising=False)
    config = PerceoConfig(
        project=ProjectSection(id=new_project_id()), observer=ObserverSection(api_base_url="https://api.example.com")
    )

    code, out, err = run(config, project_dir=tmp_path)

    assert code == 1 and out == ""
    assert "no API key for https://api.example.com" in err and "perceo login" in err and "Traceback" not in err


def test_usage_reads_the_embedded_store_of_the_project(tmp_path: Path) -> None:
    project_id = new_project_id()
    store = EmbeddedStore(project_data_dir(tmp_path))
    server = store.ensure_running()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        RedisUsageStore(client).record(a_call(project_id, "gpt-4.1-nano"))
        client.close()

        code, out, err = run(PerceoConfig(project=ProjectSection(id=project_id)), "--json", project_dir=tmp_path)
    finally:
        store.stop()

    assert code == 0, err
    assert [row["model"] for row in json.loads(out)["rows"]] == ["gpt-4.1-nano"]
