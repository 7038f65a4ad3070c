"""`perceo local status|stop`, run in-process through `main()` and once as the installed `perceo` program."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from local_store_support import StoreTracker

from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.local.server import pid_alive
from perceo_cli.local.store import EmbeddedStore
from perceo_cli.main import main
from perceo_cli.output import Output


def run(project_dir: Path, *argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


def test_status_json_of_a_project_whose_store_never_ran(project_dir: Path) -> None:
    code, out, err = run(project_dir, "local", "status", "--json")

    assert code == ExitStatus.OK
    assert json.loads(out) == {
        "running": False,
        "pid": None,
        "host": None,
        "port": None,
        "url": None,
        "dataDir": str((project_dir / ".perceo" / "data").resolve()),
        "sizeBytes": 0,
        "startedAt": None,
        "watcherPid": None,
    }
    assert err == ""
    assert not (project_dir / ".perceo").exists()


def test_status_json_describes_the_running_store(
    store: EmbeddedStore, tracker: StoreTracker, project_dir: Path
) -> None:
    server = store.ensure_running()
    tracker.pids.add(server.pid)

    code, out, _ = run(project_dir, "local", "status", "--json")

    report = json.loads(out)
    assert code == ExitStatus.OK
    assert report["running"] is True
    assert (report["pid"], report["port"], report["url"]) == (server.pid, server.port, server.url)
    assert report["sizeBytes"] > 0
    assert isinstance(report["startedAt"], int)


def test_status_for_people_says_running_with_pid_and_address(
    store: EmbeddedStore, tracker: StoreTracker, project_dir: Path
) -> None:
    server = store.ensure_running()
    tracker.pids.add(server.pid)

    code, out, _ = run(project_dir, "local", "status")

    assert code == ExitStatus.OK
    assert f"running (pid {server.pid}, {server.url})" in out


def test_stop_json_stops_the_store_and_a_second_stop_reports_nothing_stopped(
    store: EmbeddedStore, tracker: StoreTracker, project_dir: Path
) -> None:
    server = store.ensure_running()
    tracker.pids.add(server.pid)

    code, out, _ = run(project_dir, "local", "stop", "--json")

    assert code == ExitStatus.OK
    assert json.loads(out) == {"stopped": True, "pid": server.pid, "dataDir": str(store.data_dir)}
    assert not pid_alive(server.pid)
    code, out, _ = run(project_dir, "local", "stop", "--json")
    assert code == ExitStatus.OK
    assert json.loads(out)["stopped"] is False
    code, out, _ = run(project_dir, "local", "stop")
    assert (code, out.strip()) == (ExitStatus.OK, "embedded store: was not running")


def test_the_installed_program_stops_a_store_another_process_started(
    store: EmbeddedStore, tracker: StoreTracker, project_dir: Path
) -> None:
    started = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("start_store_process.py")), str(store.data_dir)],
        input="go\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pid = json.loads(started.stdout.splitlines()[-1])["pid"]
    tracker.pids.add(pid)
    perceo = Path(sys.executable).with_name("perceo")

    status = subprocess.run(
        [str(perceo), "-C", str(project_dir), "local", "status", "--json"], capture_output=True, text=True, timeout=60
    )
    stopped = subprocess.run(
        [str(perceo), "-C", str(project_dir), "local", "stop", "--json"], capture_output=True, text=True, timeout=60
    )

    assert (status.returncode, json.loads(status.stdout)["pid"]) == (0, pid)
    assert (stopped.returncode, json.loads(stopped.stdout)["stopped"]) == (0, True)
    assert not pid_alive(pid)
