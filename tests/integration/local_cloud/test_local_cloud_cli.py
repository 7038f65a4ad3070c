"""`perceo local up|down` as the installed program, and `perceo keys` against the local cloud through `main()`."""

from __future__ import annotations

import io
import json
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cloud_harness import RunningCloud

from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.local.server import pid_alive
from perceo_cli.main import main
from perceo_cli.output import Output


def perceo(project_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("perceo")), "-C", str(project_dir), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def run(project_dir: Path, *argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.slow
def test_up_serves_the_api_and_down_stops_everything_it_started(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    try:
        first = perceo(project, "local", "up", "--json")
        assert first.returncode == 0, first.stderr
        started = json.loads(first.stdout)
        again = json.loads(perceo(project, "local", "up", "--json").stdout)
        answer = httpx.get(f"{started['apiUrl']}/keys")
        store = json.loads((project / ".perceo" / "data" / "cloud" / "store.json").read_text())
        secrets_file = project / ".perceo" / "secrets" / "local-cloud.json"
    finally:
        stopped = perceo(project, "local", "down", "--json")

    assert started["apiUrl"].startswith("http://127.0.0.1:") and started["apiUrl"].endswith("/dev")
    assert started["adminKey"] == json.loads(secrets_file.read_text())["adminKey"]
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert (project / ".perceo" / "secrets" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (again["alreadyRunning"], again["pid"], again["adminKey"]) == (True, started["pid"], None)
    assert answer.status_code == 401  # the gateway and the authorizer answer
    assert stopped.returncode == 0, stopped.stderr
    assert json.loads(stopped.stdout) == {"stopped": True, "pid": started["pid"], "storeStopped": True}
    assert not pid_alive(started["pid"])
    assert not pid_alive(store["pid"])
    assert not (project / ".perceo" / "data" / "cloud.json").exists()


@pytest.mark.slow
def test_up_again_reuses_the_secrets_and_prints_no_admin_key(tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    try:
        first = json.loads(perceo(project, "local", "up", "--json").stdout)
        perceo(project, "local", "down")
        second = perceo(project, "local", "up")
    finally:
        perceo(project, "local", "down")

    assert first["adminKey"]
    assert second.returncode == 0, second.stderr
    assert first["adminKey"] not in second.stdout + second.stderr
    assert "admin key: in" in second.stderr


def test_down_when_nothing_runs_says_so(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, "local", "down")

    assert code == ExitStatus.OK
    assert out.strip() == "local cloud: was not running"


def test_up_with_a_missing_template_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "local", "up", "--template", str(tmp_path / "nope.yaml"))

    assert code == ExitStatus.USAGE
    assert "nope.yaml does not exist" in err


# ---------------------------------------------------------------------------------------------------- perceo keys


@pytest.fixture
def api_project(cloud: RunningCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project dir whose config points at the local cloud, with an admin-scoped key in PERCEO_API_KEY."""
    project_id = f"proj-{secrets.token_hex(4)}"
    raw, _ = cloud.key_service().create(project_id, "admin", ["keys:manage", "flows:read"], created_by="test")
    monkeypatch.setenv("PERCEO_API_KEY", raw)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    (tmp_path / ".perceo").mkdir()
    config = {"project": {"id": project_id, "name": "demo"}, "observer": {"apiBaseUrl": cloud.api_url}}
    (tmp_path / ".perceo" / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_keys_create_prints_the_key_once_on_stdout_and_list_shows_prefixes(api_project: Path) -> None:
    code, out, err = run(api_project, "keys", "create", "ci-bot", "--scope", "flows:read")
    key = out.strip()
    list_code, listed, _ = run(api_project, "keys", "list")

    assert code == ExitStatus.OK, err
    assert key.startswith("prc_") and len(key) == 47
    assert key not in err and "only time the key is shown" in err
    assert list_code == ExitStatus.OK
    assert key[:12] in listed and key not in listed
    assert "ci-bot" in listed and "active" in listed


def test_keys_json_round_trip_create_list_revoke(api_project: Path) -> None:
    _, created_out, _ = run(api_project, "keys", "create", "deploy", "-s", "flows:read", "--json")
    created = json.loads(created_out)
    prefix = created["apiKey"]["prefix"]
    _, revoked_out, _ = run(api_project, "keys", "revoke", prefix, "--reason", "leaked", "--json")
    _, active_out, _ = run(api_project, "keys", "list", "--json")
    _, all_out, _ = run(api_project, "keys", "list", "--all", "--json")

    assert created["key"].startswith(prefix)
    assert json.loads(revoked_out)["revocationReason"] == "leaked"
    assert prefix not in [k["prefix"] for k in json.loads(active_out)["keys"]]
    assert prefix in [k["prefix"] for k in json.loads(all_out)["keys"]]


def test_keys_create_with_a_scope_the_caller_lacks_is_refused_with_the_servers_message(api_project: Path) -> None:
    code, out, err = run(api_project, "keys", "create", "too-much", "--scope", "workflows:start")

    assert code == ExitStatus.ERROR
    assert out == ""
    assert "cannot grant scopes it does not have: workflows:start" in err


def test_keys_revoke_of_an_unknown_prefix_is_not_found(api_project: Path) -> None:
    code, _, err = run(api_project, "keys", "revoke", "prc_AAAAAAAA")

    assert code == ExitStatus.USAGE  # a name or prefix that is not there is bad input, like `flows show Nope`
    assert "no API key with prefix prc_AAAAAAAA in project" in err


def test_keys_without_an_api_explain_how_to_get_one(tmp_path: Path) -> None:
    code, _, err = run(tmp_path, "keys", "list")

    assert code == ExitStatus.USAGE
    assert "observer.apiBaseUrl" in err and "perceo login" in err
