"""One project, found from anywhere, with a store that does not linger: the `perceo` console script run as a user
runs it (a subprocess, in a folder of a real git repository), against the session's FalkorDB or the embedded
store it starts itself.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from bootstrap_kit import graph_name
from falkordb import FalkorDB

from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.context import AppContext, find_project_root
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.exit import ExitStatus
from perceo_cli.local.server import ServerProcess, pid_alive
from perceo_cli.local.store import EmbeddedStore, project_data_dir
from perceo_cli.output import Output

PERCEO = str(Path(sys.executable).with_name("perceo"))


def perceo(cwd: Path, *argv: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")}
    return subprocess.run(  # noqa: S603 - argument list
        [PERCEO, *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


@pytest.fixture
def shop(tmp_path: Path, falkordb_server: ServerProcess) -> Any:
    """The demo shop with its flow graph in the session's FalkorDB (a graph key of its own)."""
    demo = build_demo_app(tmp_path / "shop")
    root = demo.path
    (root / ".git" / "perceo-demo").write_text(f"{demo.base} {demo.head}")  # the refs `ci analyze` compares
    name = graph_name()
    url = f"redis://{falkordb_server.host}:{falkordb_server.port}"
    (root / ".perceo").mkdir()
    config = {"flowGraph": {"type": "falkordb", "uri": url, "database": name}, "eventBus": {"type": "in-memory"}}
    (root / ".perceo" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    try:
        yield root, FalkorFlowGraph(client, name)
    finally:
        client.connection.delete(name)
        client.close()


def test_the_project_is_the_nearest_folder_upwards_with_a_perceo_folder(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".perceo").mkdir(parents=True)
    deep = tmp_path / "repo" / "app" / "login"
    deep.mkdir(parents=True)
    (tmp_path / "repo" / "app" / ".perceo").write_text("not a folder")  # a file of that name is not a project

    assert find_project_root(deep) == tmp_path / "repo"
    assert find_project_root(tmp_path) is None


def test_commands_in_a_subfolder_use_the_project_at_the_root(shop: Any) -> None:
    root, graph = shop
    init = perceo(root, "init", "--yes", "--no-llm", "--json")
    assert init.returncode == 0, init.stderr
    sub = root / "app" / "products"
    assert sub.is_dir()

    at_root = perceo(root, "flows", "list", "--json")
    below = perceo(sub, "flows", "list", "--json")

    assert below.returncode == 0, below.stderr
    assert json.loads(below.stdout) == json.loads(at_root.stdout)
    assert len(json.loads(below.stdout)["flows"]) >= 3
    assert not (sub / ".perceo").exists()  # no second project, no store inside the sources
    # `-C` starts the search from the folder given, as git's does.
    assert json.loads(perceo(root.parent, "-C", str(sub), "flows", "list", "--json").stdout) == json.loads(
        at_root.stdout
    )


def test_ci_analyze_in_a_subfolder_reports_what_it_reports_at_the_root(shop: Any) -> None:
    root, _graph = shop
    assert perceo(root, "init", "--yes", "--no-llm").returncode == 0
    base, head = (root / ".git" / "perceo-demo").read_text().split()
    argv = ["ci", "analyze", "--base", base, "--head", head, "--json", "--fail-on", "low"]

    at_root = perceo(root, *argv)
    below = perceo(root / "app" / "products", *argv)

    assert at_root.returncode == below.returncode == ExitStatus.RISK, (at_root.stderr, below.stderr)
    root_doc, below_doc = json.loads(at_root.stdout), json.loads(below.stdout)
    assert below_doc["riskLevel"] == root_doc["riskLevel"] and below_doc["flows"] == root_doc["flows"]
    assert root_doc["flows"]


def test_two_inits_at_once_make_one_project(shop: Any) -> None:
    root, graph = shop
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")}
    procs = [
        subprocess.Popen(  # noqa: S603 - argument list
            [PERCEO, "init", "--yes", "--no-llm", "--json"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]

    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    ids = {json.loads(out)["projectId"] for out, _ in results}
    assert len(ids) == 1
    assert [p.id for p in graph.list_projects()] == list(ids)


def test_a_config_that_lost_its_id_keeps_the_stored_project(shop: Any) -> None:
    root, graph = shop
    first = json.loads(perceo(root, "init", "--yes", "--no-llm", "--json").stdout)
    config_file = root / ".perceo" / "config.json"
    config = json.loads(config_file.read_text())
    del config["project"]  # emptied by hand, or restored from a copy made before `init`
    config_file.write_text(json.dumps(config))

    again = perceo(root, "init", "--yes", "--no-llm", "--json")

    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["projectId"] == first["projectId"]
    assert "has no project.id: using the project" in again.stderr
    assert [p.id for p in graph.list_projects()] == [first["projectId"]]
    # A truncated config is an error naming the file, never a new project.
    config_file.write_text('{"project": {"id": "ab')
    truncated = perceo(root, "init", "--yes", "--no-llm", "--json")
    assert truncated.returncode == ExitStatus.USAGE
    assert ".perceo/config.json:1" in truncated.stderr
    assert [p.id for p in graph.list_projects()] == [first["projectId"]]


def test_bad_input_exits_2(shop: Any, tmp_path: Path) -> None:
    root, _graph = shop
    assert perceo(root, "init", "--yes", "--no-llm").returncode == 0
    missing = perceo(root, "flows", "show", "Nope")
    assert missing.returncode == ExitStatus.USAGE, missing.stderr
    assert "Nope" in missing.stderr and "Traceback" not in missing.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    demo = perceo(tmp_path, "demo", "--dir", str(busy))
    assert demo.returncode == ExitStatus.USAGE
    assert "is not empty" in demo.stderr
    assert (busy / "notes.txt").read_text() == "mine" and sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


def _store_app(tmp_path: Path, idle_s: int) -> Path:
    root = tmp_path / "app"
    (root / ".perceo").mkdir(parents=True)
    (root / "src").mkdir()
    config = {"project": {"id": "p-idle"}, "flowGraph": {"idleStopS": idle_s}, "eventBus": {"type": "in-memory"}}
    (root / ".perceo" / "config.json").write_text(json.dumps(config))
    return root


def _wait_until_stopped(store: EmbeddedStore, timeout_s: float) -> bool:
    """Watches the server's pid only: asking the server itself would be a client keeping it busy."""
    pid = store.status().pid
    deadline = time.monotonic() + timeout_s
    while pid is not None and pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
    return True


def test_a_store_started_by_a_command_says_so_and_stops_when_idle(tmp_path: Path) -> None:
    root = _store_app(tmp_path, idle_s=2)
    store = EmbeddedStore(project_data_dir(root))

    done = perceo(root / "src", "flows", "list", "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"flows": []}
    assert f"data in {project_data_dir(root)}" in done.stderr
    assert "stops after 2 s without a client (flowGraph.idleStopS)" in done.stderr
    assert "perceo local stop" in done.stderr
    status = store.status()
    watcher = status.watcher_pid
    assert watcher is not None
    assert _wait_until_stopped(store, timeout_s=30)
    deadline = time.monotonic() + 10
    while pid_alive(watcher) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(watcher)


def test_a_killed_command_leaves_no_store_behind(tmp_path: Path) -> None:
    root = _store_app(tmp_path, idle_s=2)
    store = EmbeddedStore(project_data_dir(root))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")}
    # `flows list` holds its lease on the store while it runs; killed mid-way, it cannot release it itself.
    proc = subprocess.Popen(  # noqa: S603 - argument list
        [PERCEO, "flows", "list"], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    deadline = time.monotonic() + 120
    while not (project_data_dir(root) / "store.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)

    assert _wait_until_stopped(store, timeout_s=30)


def test_a_store_in_use_is_not_stopped(tmp_path: Path) -> None:
    """A command that started the store keeps it however slow it is to connect (its lease), and a client
    connected to it keeps it too."""
    root = _store_app(tmp_path, idle_s=1)
    store = EmbeddedStore(project_data_dir(root), idle_stop_s=1)
    lease = store.lease()
    server = store.ensure_running()
    time.sleep(3)
    assert store.status().running
    lease.release()
    client = FalkorDB(host=server.host, port=server.port)
    client.connection.ping()
    time.sleep(3)
    assert store.status().running
    client.close()
    assert _wait_until_stopped(store, timeout_s=30)


def test_local_stop_json_reports_the_pid(tmp_path: Path) -> None:
    root = _store_app(tmp_path, idle_s=0)
    assert perceo(root, "flows", "list").returncode == 0
    pid = EmbeddedStore(project_data_dir(root)).status().pid
    assert pid is not None

    stopped = perceo(root, "local", "stop", "--json")

    assert json.loads(stopped.stdout)["pid"] == pid and json.loads(stopped.stdout)["stopped"] is True
    assert not pid_alive(pid)


def _loading_the_app(pid: int, timeout_s: float = 60) -> None:
    """Wait until the interpreter runs perceo's code: it maps pydantic's extension, which only the app imports,
    after `perceo_cli.main.run` has set its first handler. (A Ctrl-C in the interpreter's own first
    milliseconds, while it reads its site-packages, is Python's to handle.)"""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if "pydantic_core" in Path(f"/proc/{pid}/maps").read_text():
                return
        except OSError:
            return
        time.sleep(0.005)


@pytest.mark.parametrize("delay_s", [0.0, 0.2, 0.6, 1.5, 4.0])
def test_ctrl_c_at_any_moment_exits_130_without_a_traceback(shop: Any, delay_s: float) -> None:
    root, _graph = shop
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")}
    proc = subprocess.Popen(  # noqa: S603 - argument list
        [PERCEO, "init", "--yes", "--no-llm"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _loading_the_app(proc.pid)
    time.sleep(delay_s)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)

    if proc.returncode == 0:  # finished before the signal (a fast machine): nothing to interrupt
        return
    assert proc.returncode == ExitStatus.INTERRUPTED, err
    assert "Traceback" not in err
    assert "interrupted" in err or "aborted" in err, (proc.returncode, _out)


def test_a_read_only_checkout_says_so() -> None:
    if os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists():
        pytest.skip("needs root to run the command as another user (setpriv)")
    base = Path(tempfile.mkdtemp(prefix="perceo-ro-", dir="/tmp"))  # pytest's tmp folders are private to root
    try:
        root = base / "ro"
        (root / "src").mkdir(parents=True)
        for folder in (base, root, root / "src"):
            folder.chmod(0o555)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")} | {"HOME": str(root)}
        argv = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PERCEO]
        done = subprocess.run(  # noqa: S603 - argument list
            [*argv, "init", "--yes", "--no-llm"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        assert done.returncode == ExitStatus.USAGE, done.stderr
        assert "is read-only" in done.stderr and "unexpected" not in done.stderr
        assert not (root / ".perceo").exists()
        # Any other write that fails for want of permission says what and why, not "unexpected PermissionError".
        (base / "ro").chmod(0o755)
        (root / ".perceo").mkdir()
        (root / ".perceo" / "config.json").write_text('{"project": {"id": "p-ro"}}')
        (root / ".perceo").chmod(0o555)
        listed = subprocess.run(  # noqa: S603 - argument list
            [*argv, "flows", "list"],
            cwd=root / "src",
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
        assert listed.returncode == ExitStatus.ERROR, listed.stderr
        assert "Is the folder read-only?" in listed.stderr and "Traceback" not in listed.stderr
    finally:
        for folder in (base, *base.rglob("*")):
            if folder.is_dir():
                folder.chmod(0o755)
        shutil.rmtree(base)


def test_the_default_project_dir_is_found_from_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".perceo").mkdir()
    (tmp_path / "a" / "b").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "a" / "b")

    assert AppContext(output=Output()).project_dir == tmp_path.resolve()
