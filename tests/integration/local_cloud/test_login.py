"""`perceo login` / `logout` against the local cloud, and commands that then use the saved key."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from cloud_harness import RunningCloud

from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.main import main
from perceo_cli.output import Output


def run(
    project_dir: Path, *argv: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PERCEO_API_KEY", raising=False)
    return tmp_path / "xdg"


@pytest.fixture
def project_dir(tmp_path: Path, cloud: RunningCloud) -> Path:
    project = tmp_path / "web-app"
    (project / ".perceo").mkdir(parents=True)
    (project / ".perceo" / "config.json").write_text(
        json.dumps({"project": {"name": "web-app"}, "observer": {"apiBaseUrl": cloud.api_url}})
    )
    return project


def test_login_checks_the_key_and_saves_it_0600_without_printing_it(
    cloud: RunningCloud, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, key = cloud.create_project("login-demo")

    code, out, err = run(
        tmp_path,
        "login",
        "--api-url",
        cloud.api_url + "/",
        "--api-key-stdin",
        stdin=key + "\n",
        monkeypatch=monkeypatch,
    )

    saved_file = home / "perceo" / "credentials.json"
    saved = json.loads(saved_file.read_text())["credentials"][cloud.api_url]
    assert code == ExitStatus.OK, err
    assert f"as project login-demo ({project['id']})" in out
    assert key not in out + err and key[:12] in out
    assert stat.S_IMODE(saved_file.stat().st_mode) == 0o600
    assert (saved["apiKey"], saved["projectId"]) == (key, project["id"])
    assert "perceo config set observer.apiBaseUrl" in err  # this dir has no config pointing at the API


def test_commands_use_the_saved_key_until_logout(
    cloud: RunningCloud, home: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = cloud.create_project("saved-key")
    with cloud.http(key) as client:
        client.post("flows", json={"name": "Checkout", "priority": "high", "pages": ["/cart"]})
    run(project_dir, "login", "--api-key-stdin", stdin=key, monkeypatch=monkeypatch)

    listed_code, listed, _ = run(project_dir, "flows", "list", "--json", monkeypatch=monkeypatch)
    logout_code, logout_out, _ = run(project_dir, "logout", monkeypatch=monkeypatch)
    after_code, _, after_err = run(project_dir, "flows", "list", monkeypatch=monkeypatch)

    assert listed_code == ExitStatus.OK
    assert [f["name"] for f in json.loads(listed)["flows"]] == ["Checkout"]
    assert logout_code == ExitStatus.OK and "Logged out of" in logout_out
    assert after_code == ExitStatus.ERROR
    assert f"no API key for {cloud.api_url}: run `perceo login --api-url {cloud.api_url}`" in after_err


def test_environment_key_wins_over_the_saved_one(
    cloud: RunningCloud, home: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, saved_key = cloud.create_project("saved")
    _, env_key = cloud.create_project("from-env")
    with cloud.http(env_key) as client:
        client.post("flows", json={"name": "Only in the env project"})
    run(project_dir, "login", "--api-key-stdin", stdin=saved_key, monkeypatch=monkeypatch)
    monkeypatch.setenv("PERCEO_API_KEY", env_key)

    flows_code, flows, _ = run(project_dir, "flows", "list", "--json", monkeypatch=monkeypatch)
    login_code, _, login_err = run(project_dir, "login", "--api-key-stdin", stdin=saved_key, monkeypatch=monkeypatch)

    assert flows_code == ExitStatus.OK
    assert [f["name"] for f in json.loads(flows)["flows"]] == ["Only in the env project"]
    assert login_code == ExitStatus.OK
    assert "PERCEO_API_KEY is set: it wins over the saved key" in login_err


def test_login_with_a_rejected_key_saves_nothing(
    cloud: RunningCloud, home: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "prc_" + "Q" * 43

    code, out, err = run(project_dir, "login", "--api-key-stdin", stdin=bad, monkeypatch=monkeypatch)

    assert code == ExitStatus.ERROR
    assert "rejected this API key (prc_QQQQQQQQ…); nothing was saved" in err
    assert bad not in out + err
    assert not (home / "perceo" / "credentials.json").exists()


def test_login_without_a_terminal_or_stdin_flag_asks_for_stdin(
    home: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(project_dir, "login", stdin="", monkeypatch=monkeypatch)

    assert code == ExitStatus.USAGE
    assert "--api-key-stdin" in err


def test_login_without_any_api_url_is_a_usage_error(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(tmp_path, "login", "--api-key-stdin", stdin="prc_x", monkeypatch=monkeypatch)

    assert code == ExitStatus.USAGE
    assert "no API URL: pass --api-url" in err
