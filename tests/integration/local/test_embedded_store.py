"""The embedded store with real redis-server processes: start on demand, reuse, stale records, restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from falkordb import FalkorDB
from local_store_support import StoreTracker, servers_started_for

from perceo.errors import BackendUnavailableError
from perceo_cli.local.server import LOOPBACK, ServerProcess, free_port, is_server_for, pid_alive, wait_for_exit
from perceo_cli.local.store import SERVER_PIDFILE, STATE_FILE, EmbeddedStore, StoreState

START_SCRIPT = Path(__file__).with_name("start_store_process.py")


def write_state(store: EmbeddedStore, *, pid: int, port: int) -> None:
    store.data_dir.mkdir(parents=True, exist_ok=True)
    state = StoreState(pid=pid, port=port, data_dir=store.data_dir, started_at=1)
    (store.data_dir / STATE_FILE).write_text(state.model_dump_json())


def recorded_state(store: EmbeddedStore) -> dict[str, object]:
    return dict(json.loads((store.data_dir / STATE_FILE).read_text()))


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def client_for(server: ServerProcess) -> redis.Redis:
    return redis.Redis(host=server.host, port=server.port, decode_responses=True)


def test_ensure_running_starts_a_server_for_the_data_dir_and_records_it(
    store: EmbeddedStore, tracker: StoreTracker
) -> None:
    server = store.ensure_running()
    tracker.pids.add(server.pid)

    client = client_for(server)
    assert client.ping() is True
    assert client.config_get("dir")["dir"] == str(store.data_dir)
    assert client.config_get("appendonly")["appendonly"] == "yes"
    assert server.host == LOOPBACK
    assert recorded_state(store)["pid"] == server.pid
    assert recorded_state(store)["port"] == server.port
    client.close()


def test_a_second_call_and_a_second_store_object_reuse_the_running_server(
    store: EmbeddedStore, tracker: StoreTracker, project_dir: Path
) -> None:
    first = store.ensure_running()
    tracker.pids.add(first.pid)

    assert store.ensure_running() == first
    assert tracker.store(project_dir).ensure_running() == first


def test_status_reports_the_running_server_and_the_size_on_disk(store: EmbeddedStore, tracker: StoreTracker) -> None:
    server = store.ensure_running()
    tracker.pids.add(server.pid)

    status = store.status()

    assert status.running is True
    assert (status.pid, status.port, status.url) == (server.pid, server.port, server.url)
    assert status.data_dir == store.data_dir
    assert status.size_bytes > 0
    assert status.model_dump(mode="json")["dataDir"] == str(store.data_dir)


def test_status_of_a_project_that_never_started_a_store_creates_nothing(store: EmbeddedStore) -> None:
    status = store.status()

    assert (status.running, status.pid, status.size_bytes) == (False, None, 0)
    assert not store.data_dir.exists()
    assert store.stop() is False


def test_graph_data_and_keys_survive_stop_and_start(store: EmbeddedStore, tracker: StoreTracker) -> None:
    first = store.ensure_running()
    tracker.pids.add(first.pid)
    graph = FalkorDB(host=first.host, port=first.port).select_graph("flows")
    graph.query("CREATE (:Flow {id: 'checkout', riskScore: 0.8})-[:HAS_STEP]->(:Step {order: 1})")
    client = client_for(first)
    client.set("perceo:cache:answer", "42")
    client.close()

    assert store.stop() is True
    assert wait_for_exit(first.pid, timeout_s=0)  # gone already: stop() waited for it
    assert store.status().running is False

    second = store.ensure_running()
    tracker.pids.add(second.pid)
    assert second.pid != first.pid
    rows = (
        FalkorDB(host=second.host, port=second.port)
        .select_graph("flows")
        .query("MATCH (f:Flow)-[:HAS_STEP]->(s:Step) RETURN f.id, f.riskScore, s.order")
        .result_set
    )
    assert rows == [["checkout", 0.8, 1]]
    client = client_for(second)
    assert client.get("perceo:cache:answer") == "42"
    client.close()


def test_a_restart_reuses_the_previous_port_when_it_is_free(store: EmbeddedStore, tracker: StoreTracker) -> None:
    first = store.ensure_running()
    tracker.pids.add(first.pid)
    store.stop()

    second = store.ensure_running()
    tracker.pids.add(second.pid)

    assert second.port == first.port


def test_concurrent_cli_processes_share_one_server(store: EmbeddedStore, tracker: StoreTracker) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, str(START_SCRIPT), str(store.data_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
    for proc in procs:  # release them together
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [proc.communicate(timeout=60)[0] for proc in procs]
    outputs = [json.loads(out) for out in results if out.strip()]
    tracker.pids.update(o["pid"] for o in outputs)

    assert [proc.returncode for proc in procs] == [0] * len(procs)
    assert len({(o["pid"], o["port"]) for o in outputs}) == 1
    assert servers_started_for(store.data_dir) == {outputs[0]["pid"]}
    assert int((store.data_dir / SERVER_PIDFILE).read_text()) == outputs[0]["pid"]
    assert store.status().pid == outputs[0]["pid"]


def test_a_record_with_a_dead_pid_is_replaced_by_a_new_server(store: EmbeddedStore, tracker: StoreTracker) -> None:
    gone = dead_pid()
    write_state(store, pid=gone, port=free_port())
    (store.data_dir / SERVER_PIDFILE).write_text(f"{gone}\n")

    server = store.ensure_running()
    tracker.pids.add(server.pid)

    assert server.pid != gone
    assert pid_alive(server.pid)
    assert recorded_state(store)["pid"] == server.pid
    assert client_for(server).ping() is True


def test_a_record_whose_pid_now_belongs_to_another_process_leaves_that_process_alone(
    store: EmbeddedStore, tracker: StoreTracker
) -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        write_state(store, pid=bystander.pid, port=free_port())
        (store.data_dir / SERVER_PIDFILE).write_text(f"{bystander.pid}\n")

        server = store.ensure_running()
        tracker.pids.add(server.pid)

        assert server.pid != bystander.pid
        assert bystander.poll() is None  # not signalled
        assert store.stop() is True
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_recorded_port_taken_by_another_listener_gives_a_new_port(
    store: EmbeddedStore, tracker: StoreTracker
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind((LOOPBACK, 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        write_state(store, pid=dead_pid(), port=taken)

        server = store.ensure_running()
        tracker.pids.add(server.pid)

        assert server.port != taken
        assert recorded_state(store)["port"] == server.port
        assert client_for(server).ping() is True


def test_another_projects_server_on_the_recorded_port_is_neither_adopted_nor_stopped(
    store: EmbeddedStore, tracker: StoreTracker, falkordb_server: ServerProcess
) -> None:
    # The record names a live FalkorDB server, pid and port both right, but it serves another data dir.
    write_state(store, pid=falkordb_server.pid, port=falkordb_server.port)

    server = store.ensure_running()
    tracker.pids.add(server.pid)

    assert (server.pid, server.port) != (falkordb_server.pid, falkordb_server.port)
    assert store.stop() is True
    assert client_for(falkordb_server).ping() is True


def test_an_unreadable_record_is_ignored(store: EmbeddedStore, tracker: StoreTracker) -> None:
    store.data_dir.mkdir(parents=True)
    (store.data_dir / STATE_FILE).write_text("{not json")

    server = store.ensure_running()
    tracker.pids.add(server.pid)

    assert recorded_state(store)["pid"] == server.pid


def test_a_server_running_without_a_record_is_stopped_before_a_new_one_starts(
    store: EmbeddedStore, tracker: StoreTracker
) -> None:
    orphan = store.ensure_running()
    tracker.pids.add(orphan.pid)
    (store.data_dir / STATE_FILE).unlink()

    server = store.ensure_running()
    tracker.pids.add(server.pid)

    assert server.pid != orphan.pid
    assert wait_for_exit(orphan.pid, timeout_s=0)  # two servers never write the same files
    assert is_server_for(server.pid, store.data_dir)


def test_a_silent_server_of_ours_is_reported_not_duplicated(tracker: StoreTracker, project_dir: Path) -> None:
    store = tracker.store(project_dir, unresponsive_grace_s=0.2)
    server = store.ensure_running()
    tracker.pids.add(server.pid)
    os.kill(server.pid, signal.SIGSTOP)
    try:
        with pytest.raises(BackendUnavailableError, match="perceo local stop"):
            store.ensure_running()
    finally:
        os.kill(server.pid, signal.SIGCONT)

    assert store.ensure_running() == server


def test_stop_shuts_the_server_down_and_a_second_stop_finds_nothing(
    store: EmbeddedStore, tracker: StoreTracker
) -> None:
    server = store.ensure_running()
    tracker.pids.add(server.pid)

    assert store.stop() is True
    assert not pid_alive(server.pid)
    assert store.stop() is False
    assert "Redis is now ready to exit" in (store.data_dir / "falkordb.log").read_text()
