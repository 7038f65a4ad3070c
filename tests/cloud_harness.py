"""A running local cloud for tests: `perceo_cli.local.cloud.up()` in a temporary project dir, `down()` afterwards.

The cloud runs in its own process, exactly as `perceo local up` starts it (the real template, the real handlers,
its own FalkorDB/Redis and moto), so tests see it only over HTTP and nothing leaks into the test process's
environment. Tests keep to their own projects (random ids) and keys, so one cloud per test session (per xdist
worker) is shared.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from perceo.auth.redis_store import RedisKeyStore
from perceo.auth.service import ApiKeyService
from perceo_cli.local.cloud import CloudState, default_template, down, load_or_create_secrets, up

#: Per-key limits high enough for tests that call the API in quick succession (the default is 10/s, burst 40).
#: Git on loopback only: a bootstrap started by a test fails fast (connection refused) instead of going online.
TEST_PARAMETERS = {
    "KeyRateLimitPerSecond": "1000",
    "KeyRateLimitBurst": "1000",
    "ApiThrottleRate": "10000",
    "ApiThrottleBurst": "5000",
    "AllowedGitHosts": "127.0.0.1",
}


@dataclass
class RunningCloud:
    project_dir: Path
    state: CloudState
    admin_key: str
    pepper: bytes

    @property
    def api_url(self) -> str:
        return self.state.api_url

    def http(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.api_url + "/", headers=headers, timeout=30)

    def create_project(self, name: str | None = None) -> tuple[dict, str]:
        """A new project through `POST /projects` with the admin key: (the project, its first key: all scopes)."""
        with self.http(self.admin_key) as client:
            response = client.post("projects", json={"name": name or f"project-{secrets.token_hex(4)}"})
        assert response.status_code == 201, response.text
        body = response.json()
        return body["project"], body["apiKey"]["key"]

    def seed_insight(self, project_id: str, flow_id: str) -> str:
        """An open insight of the project, stored straight in the cloud's graph (the analyzer's rules need weeks of
        production metrics to find one); its id."""
        from perceo.graph.falkor import FalkorFlowGraph
        from perceo.models import Insight
        from perceo_cli.local.cloud import GRAPH_NAME

        graph = FalkorFlowGraph(self.state.store_url, GRAPH_NAME)
        try:
            insight = Insight(project_id=project_id, flow_id=flow_id, type="coverage-gap", severity="high",
                              title="A flow has no test", message="No test.", subject=f"coverage-gap:{flow_id}",
                              day="2026-04-09")  # fmt: skip
            return graph.store_insights(project_id, [insight])[0].insight.id
        finally:
            graph.close()

    def key_service(self) -> ApiKeyService:
        """The cloud's key service, straight on its Redis (to seed keys without the API)."""
        client = redis.Redis.from_url(self.state.store_url, decode_responses=True)
        return ApiKeyService(RedisKeyStore(client), self.pepper)


def start_cloud(project_dir: Path, parameters: dict[str, str] | None = None) -> RunningCloud:
    template = default_template()
    assert template is not None, "tests run from a Perceo checkout"
    result = up(project_dir, template=template, parameters={**TEST_PARAMETERS, **(parameters or {})})
    local_secrets, _ = load_or_create_secrets(project_dir)
    return RunningCloud(
        project_dir=project_dir,
        state=result.state,
        admin_key=local_secrets.admin_key,
        pepper=local_secrets.api_key_pepper.encode("utf-8"),
    )


def running_cloud(project_dir: Path) -> Iterator[RunningCloud]:
    """Body of a fixture: a cloud for the duration, stopped (with its store) afterwards."""
    cloud = start_cloud(project_dir)
    try:
        yield cloud
    finally:
        down(project_dir)
