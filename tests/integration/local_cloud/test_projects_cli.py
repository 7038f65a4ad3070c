"""`perceo projects create|show|delete` against the local cloud (a separate process: gateway, handlers, moto)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from cloud_harness import RunningCloud

from perceo.config.model import FlowGraphSection
from perceo.graph.factory import open_flow_graph
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.local.cloud import GRAPH_NAME
from perceo_cli.main import main
from perceo_cli.output import Output


def run(project_dir: Path, *argv: str, stdin: str = "", monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))  # never a terminal: no prompt can hang a test
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("PERCEO_API_KEY", "PERCEO_ADMIN_KEY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "xdg"


def test_create_prints_the_first_key_once_and_login_saves_it(
    cloud: RunningCloud, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        tmp_path,
        "projects",
        "create",
        "storefront",
        "--framework",
        "nextjs",
        "--api-url",
        cloud.api_url,
        "--admin-key-stdin",
        "--login",
        stdin=cloud.admin_key + "\n",
        monkeypatch=monkeypatch,
    )

    assert code == ExitStatus.OK, err
    key = out.strip()
    assert key.startswith("prc_") and out.count(key) == 1 and key not in err
    assert cloud.admin_key not in out + err
    with cloud.http(key) as client:
        me = client.get("projects/me").json()
    assert (me["name"], me["framework"]) == ("storefront", "nextjs")
    saved = json.loads((home / "perceo" / "credentials.json").read_text())["credentials"][cloud.api_url]
    assert (saved["apiKey"], saved["projectId"]) == (key, me["id"])

    shown_code, shown, _ = run(tmp_path, "projects", "show", "--json", monkeypatch=monkeypatch)
    # `show` reads the config's apiBaseUrl: this directory has none, so it says how to set one.
    assert shown_code == ExitStatus.USAGE and shown == ""


def test_against_this_projects_local_cloud_the_admin_key_comes_from_its_secrets(
    cloud: RunningCloud, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        cloud.project_dir,
        "projects",
        "create",
        "from-local",
        "--api-url",
        cloud.api_url,
        "--json",
        monkeypatch=monkeypatch,
    )

    assert code == ExitStatus.OK, err
    created = json.loads(out)
    assert created["project"]["name"] == "from-local" and created["apiKey"]["key"].startswith("prc_")
    assert created["apiKey"]["apiKey"]["prefix"] == created["apiKey"]["key"][:12]


def _project_names(cloud: RunningCloud) -> list[str]:
    """Every project in the cloud's graph, read from its store (the API has no route listing them)."""
    graph = open_flow_graph(
        FlowGraphSection(type="falkordb", uri=cloud.state.store_url, database=GRAPH_NAME), embedded_url=None
    )
    try:
        return [project.name for project in graph.list_projects()]
    finally:
        graph.close()


def test_a_wrong_admin_key_creates_nothing_and_says_which_key(
    cloud: RunningCloud, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERCEO_ADMIN_KEY", "adm_not-the-key")

    code, out, err = run(tmp_path, "projects", "create", "sneaky", "--api-url", cloud.api_url, monkeypatch=monkeypatch)

    assert code == ExitStatus.ERROR and out == ""
    assert "rejected the admin key" in err and "adm_not-the-key" not in err and "Traceback" not in err
    assert "sneaky" not in _project_names(cloud)


def test_without_any_admin_key_and_no_terminal_it_asks_for_one_plainly(
    cloud: RunningCloud, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(tmp_path, "projects", "create", "x", "--api-url", cloud.api_url, monkeypatch=monkeypatch)

    assert code == ExitStatus.USAGE and out == ""
    assert "PERCEO_ADMIN_KEY" in err and "--admin-key-stdin" in err


def test_show_and_delete_the_keys_own_project(
    cloud: RunningCloud, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, key = cloud.create_project("short-lived")
    other, _ = cloud.create_project("bystander")
    config_dir = tmp_path / ".perceo"
    config_dir.mkdir()
    (config_dir / "config.json").write_text(json.dumps({"observer": {"apiBaseUrl": cloud.api_url}}))
    monkeypatch.setenv("PERCEO_API_KEY", key)

    shown_code, shown, _ = run(tmp_path, "projects", "show", "--json", monkeypatch=monkeypatch)
    unconfirmed, _, unconfirmed_err = run(tmp_path, "projects", "delete", project["id"], monkeypatch=monkeypatch)
    foreign, _, foreign_err = run(tmp_path, "projects", "delete", other["id"], "--yes", monkeypatch=monkeypatch)
    deleted_code, deleted, _ = run(
        tmp_path, "projects", "delete", project["id"], "--yes", "--json", monkeypatch=monkeypatch
    )

    assert shown_code == ExitStatus.OK and json.loads(shown)["id"] == project["id"]
    assert unconfirmed == ExitStatus.USAGE and "--yes" in unconfirmed_err
    assert foreign == ExitStatus.ERROR and "Traceback" not in foreign_err
    assert deleted_code == ExitStatus.OK and json.loads(deleted) == {
        "projectId": project["id"],
        "deleted": True,
        "keysDeleted": 1,
    }
    with cloud.http(key) as gone:
        # 404: the project is gone; 401 once the gateway's one-minute authorizer cache has let go of the key.
        assert gone.get("projects/me").status_code in (401, 404)
