"""`perceo export` / `perceo import` through the HTTP backend, against the local cloud (the real template, gateway,
authorizer and projects Lambda): JSON Lines with the keys' metadata, a replace that round-trips, and another
project's key refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_kit import run_cli
from cloud_harness import RunningCloud, running_cloud


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("backup-cloud"))


def _project_dir(root: Path, cloud: RunningCloud, project_id: str, key: str) -> Path:
    (root / ".perceo").mkdir(parents=True)
    config = {
        "project": {"id": project_id, "name": "shop", "framework": "nextjs"},
        "observer": {"apiBaseUrl": cloud.api_url, "apiKey": key},
    }
    (root / ".perceo" / "config.json").write_text(json.dumps(config))
    return root


def test_export_and_replace_through_the_api_round_trip(cloud: RunningCloud, tmp_path: Path) -> None:
    project, key = cloud.create_project("backed-up")
    with cloud.http(key) as client:
        assert client.post("personas", json={"name": "Buyer"}).status_code == 201
        flow = {"name": "Checkout", "personas": ["Buyer"], "pages": ["/cart", "/pay"], "steps": [{"name": "Open"}]}
        assert client.post("flows", json=flow).status_code == 201
    here = _project_dir(tmp_path / "shop", cloud, project["id"], key)

    code, _, err = run_cli(["export", "--output", str(tmp_path / "a.jsonl")], here)
    assert code == 0, err
    first = (tmp_path / "a.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in first]
    assert records[0]["projectId"] == project["id"]
    assert [r["properties"]["prefix"] for r in records if r.get("type") == "ApiKey"] == [key[:12]]
    assert key[12:] not in "\n".join(first)

    code, _, err = run_cli(["import", str(tmp_path / "a.jsonl")], here)
    assert code == 2 and "--replace" in err
    code, out, err = run_cli(["import", str(tmp_path / "a.jsonl"), "--replace", "--json"], here)
    assert code == 0, err
    assert [k["prefix"] for k in json.loads(out)["keysToReissue"]] == [key[:12]]

    code, out, err = run_cli(["export"], here)
    assert code == 0, err
    assert out.splitlines()[1:] == first[1:]


def test_another_projects_key_cannot_export_or_import_a_project(cloud: RunningCloud, tmp_path: Path) -> None:
    victim, victim_key = cloud.create_project("victim")
    _, intruder_key = cloud.create_project("intruder")
    mine = _project_dir(tmp_path / "victim", cloud, victim["id"], victim_key)
    code, _, err = run_cli(["export", "--output", str(tmp_path / "victim.jsonl")], mine)
    assert code == 0, err
    theirs = _project_dir(tmp_path / "intruder", cloud, victim["id"], intruder_key)

    code, out, err = run_cli(["export", "--project", victim["id"]], theirs)
    assert code != 0 and out == "" and "does not belong" in err
    code, _, err = run_cli(["import", str(tmp_path / "victim.jsonl"), "--replace"], theirs)
    assert code != 0 and "does not belong" in err

    code, out, _ = run_cli(["export"], mine)
    assert out.splitlines()[1:] == (tmp_path / "victim.jsonl").read_text().splitlines()[1:]
