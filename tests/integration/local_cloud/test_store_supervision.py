"""The local cloud's store is supervised: a killed store comes back on its own (same data, same port), `up` never
reports a dead store as running, and a frozen store makes the API answer 503 with Retry-After, never 500."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cloud_harness import RunningCloud, start_cloud

from perceo_cli.local.cloud import CloudState, _revive_store, cloud_data_dir, down, read_state, up
from perceo_cli.local.server import pid_alive, ping, wait_for_exit
from perceo_cli.local.store import EmbeddedStore
from perceo_cli.local.supervisor import StoreSupervisor

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """A cloud of this module's own: its store gets killed and frozen."""
    project_dir = tmp_path_factory.mktemp("supervised")
    cloud = start_cloud(project_dir)
    try:
        yield cloud
    finally:
        down(project_dir)


def _store_pid(project_dir: Path) -> int:
    return int(json.loads((cloud_data_dir(project_dir) / "store.json").read_text())["pid"])


def _wait(predicate, timeout_s: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_a_killed_store_is_restarted_with_its_data_and_up_reports_it_alive(own_cloud: RunningCloud) -> None:
    project, key = own_cloud.create_project()
    with own_cloud.http(key) as client:
        assert client.post("flows", json={"name": "Survives"}).status_code == 201
    killed = _store_pid(own_cloud.project_dir)

    os.kill(killed, signal.SIGKILL)
    assert wait_for_exit(killed, 10)
    came_back = _wait(lambda: httpx.get(f"{own_cloud.api_url}/health", timeout=10).status_code == 200)
    again = up(own_cloud.project_dir, template=own_cloud.state.template)
    with own_cloud.http(key) as client:
        flows = client.get("flows").json()["flows"]
    log = own_cloud.state.log_file.read_text()

    assert came_back
    restarted = _store_pid(own_cloud.project_dir)
    assert restarted != killed and pid_alive(restarted)
    assert again.already_running and again.state.store_url == own_cloud.state.store_url
    assert [f["name"] for f in flows] == ["Survives"]
    assert "restarting it (attempt 1 of 5" in log and "the store is back" in log
    assert read_state(own_cloud.project_dir).store_pid == restarted  # type: ignore[union-attr]
    assert project["id"]


def test_a_frozen_store_makes_a_new_key_a_503_with_retry_after_not_a_500(own_cloud: RunningCloud) -> None:
    _, key = own_cloud.create_project()  # never used yet: not in the gateway's authorizer cache
    frozen = _store_pid(own_cloud.project_dir)
    os.kill(frozen, signal.SIGSTOP)
    try:
        with own_cloud.http(key) as client:
            response = client.get("flows")
    finally:
        os.kill(frozen, signal.SIGCONT)
    with own_cloud.http(key) as client:
        after = client.get("flows")

    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "backend_unavailable"
    assert after.status_code == 200
    assert _store_pid(own_cloud.project_dir) == frozen  # frozen is alive: never restarted behind its back


def test_up_starts_a_dead_store_again_rather_than_report_it_running(tmp_path: Path) -> None:
    """`up`'s own check, without a supervisor: the store of a cloud state whose store died."""
    store = EmbeddedStore(cloud_data_dir(tmp_path))
    server = store.ensure_running()
    try:
        state = CloudState.model_construct(store_url=server.url, store_pid=server.pid)
        os.kill(server.pid, signal.SIGKILL)
        assert wait_for_exit(server.pid, 10)

        revived, restarted = _revive_store(tmp_path, state)

        assert restarted and revived is not None
        assert revived.store_pid != server.pid and pid_alive(revived.store_pid)  # type: ignore[arg-type]
        assert ping(server.host, server.port)
    finally:
        store.stop()


def test_the_supervisor_gives_up_after_its_bounded_restarts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = EmbeddedStore(cloud_data_dir(tmp_path))
    first = store.ensure_running()
    supervisor = StoreSupervisor(store, first.host, first.port, max_restarts=1, window_s=600)
    try:
        assert supervisor.check_once()  # alive: nothing to do
        os.kill(first.pid, signal.SIGKILL)
        assert wait_for_exit(first.pid, 10)
        assert supervisor.check_once()  # restarted, same port
        second = _store_pid(tmp_path)
        os.kill(second, signal.SIGKILL)
        assert wait_for_exit(second, 10)

        assert not supervisor.check_once()  # the bound is reached: not restarted
        assert not supervisor.check_once()

        assert (supervisor.report.restarts, supervisor.report.gave_up) == (1, True)
        assert not ping(first.host, first.port)
        assert sum("not restarting it again" in r.getMessage() for r in caplog.records) == 1
    finally:
        store.stop()
