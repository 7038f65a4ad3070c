"""`perceo init` and `perceo flows` through `main()`, on a real git repository (the demo app), against the
real FalkorDB: the project's `.perceo/config.json` points `flowGraph` at the session's server (a graph key of
its own per test) and `eventBus` at the same Redis, so the commands build their real LocalBackend from the
config, as a user's would. The test reads the same graph key to see what a run changed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from bootstrap_kit import snapshot, updated_at
from cli_kit import init_json, run_cli

from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.exit import ExitStatus


def test_init_writes_config_and_gitignore_and_stores_the_map_it_prints(repo: Path, graph: FalkorFlowGraph) -> None:
    summary = init_json(repo)

    config = json.loads((repo / ".perceo" / "config.json").read_text())
    assert config["project"] == {"id": summary["projectId"], "name": "perceo-demo-shop", "framework": "nextjs"}
    assert config["flowGraph"]["database"] == graph.graph_name  # the user's keys are kept
    ignored = (repo / ".perceo" / ".gitignore").read_text().splitlines()
    assert {"config.local.json", "data/", "cache/", "secrets/"} <= set(ignored)
    assert summary["version"] == 1 and summary["mode"] == "heuristic" and summary["framework"] == "nextjs"
    assert summary["counts"]["routes"] == 14
    assert summary["counts"]["flows"] == {"created": 6, "updated": 0, "removed": 0, "unchanged": 0, "skipped": 0}
    tree = {p["name"]: p["flows"] for p in summary["personas"]}
    assert tree == {
        "Signed-in user": ["Create project", "Edit project", "Update settings"],
        "Visitor": ["Checkout", "Sign in", "Sign up"],
    }
    stored = {f.name: f for f in graph.list_flows(summary["projectId"], include_steps=True)}
    assert {f["name"]: (f["id"], f["pages"], f["steps"]) for f in summary["flows"]} == {
        name: (f.id, f.pages, len(f.steps)) for name, f in stored.items()
    }
    assert stored["Checkout"].pages[0] == "/products" and len(stored["Checkout"].steps) >= 5
    project = graph.get_project(summary["projectId"])
    assert project is not None and project.name == "perceo-demo-shop"


def test_a_second_init_on_unchanged_code_keeps_the_config_and_changes_nothing_in_the_graph(
    repo: Path, graph: FalkorFlowGraph
) -> None:
    first = init_json(repo)
    config_before = (repo / ".perceo" / "config.json").read_bytes()
    before, stamps = snapshot(graph), updated_at(graph, first["projectId"])

    second = init_json(repo)

    assert second["projectId"] == first["projectId"]
    assert (repo / ".perceo" / "config.json").read_bytes() == config_before
    assert second["counts"]["flows"] == {"created": 0, "updated": 0, "removed": 0, "unchanged": 6, "skipped": 0}
    assert second["counts"]["personas"]["unchanged"] == 2 and second["counts"]["pagesWritten"] == 0
    assert second["counts"]["steps"] == {"flowsReplaced": 0, "flowsUnchanged": 6, "stepsWritten": 0}
    after = snapshot(graph)
    assert (after.nodes, after.edges) == (before.nodes, before.edges)
    assert after.rows == before.rows
    assert updated_at(graph, first["projectId"]) == stamps


def test_a_new_page_makes_the_next_init_update_only_the_flows_that_visit_it(repo: Path, graph: FalkorFlowGraph) -> None:
    first = init_json(repo)
    stamps = updated_at(graph, first["projectId"])
    settings = repo / "app" / "(app)" / "settings"
    (settings / "notifications").mkdir()
    (settings / "notifications" / "page.tsx").write_text(
        "export default function Notifications() { return <main><h1>Notifications</h1>"
        '<form><input name="digest" type="checkbox" /><button type="submit">Save</button></form></main> }\n'
    )

    second = init_json(repo)

    status = {f["name"]: f["status"] for f in second["flows"]}
    assert status == {
        "Checkout": "unchanged",
        "Create project": "unchanged",
        "Edit project": "unchanged",
        "Sign in": "unchanged",
        "Sign up": "unchanged",
        "Update settings": "updated",
    }
    assert second["counts"]["flows"]["updated"] == 1 and second["counts"]["pagesWritten"] == 1
    updated = next(f for f in second["flows"] if f["name"] == "Update settings")
    assert updated["pages"] == ["/dashboard", "/settings", "/settings/notifications"]
    now = updated_at(graph, first["projectId"])
    assert {n: t for n, t in now.items() if n != "Update settings"} == {
        n: t for n, t in stamps.items() if n != "Update settings"
    }
    assert {f["name"]: f["id"] for f in second["flows"]} == {f["name"]: f["id"] for f in first["flows"]}


def test_an_edited_flow_survives_init_and_a_vanished_auto_flow_is_removed_and_reported(
    repo: Path, graph: FalkorFlowGraph
) -> None:
    first = init_json(repo)
    code, out, err = run_cli(["flows", "edit", "Update settings", "--priority", "critical", "--json"], repo)
    assert code == 0, err
    assert json.loads(out)["userEdited"] is True
    edited = graph.get_flow_by_name(first["projectId"], "Update settings")
    for page in (repo / "app" / "(app)").rglob("page.tsx"):
        if "projects" in page.parts or "settings" in page.parts:
            page.unlink()

    code, out, err = run_cli(["init", "--yes", "--no-llm"], repo)

    assert code == 0, err
    assert "Removed flows (no longer found): Create project, Edit project" in out
    summary = init_json(repo)  # and the JSON of a run that has nothing left to remove
    assert summary["removed"] == {"flows": [], "personas": [], "pages": []}
    names = {f["name"]: f for f in summary["flows"]}
    assert "Create project" not in names and "Edit project" not in names
    assert names["Update settings"]["status"] == "skipped" and names["Update settings"]["priority"] == "critical"
    assert graph.get_flow_by_name(first["projectId"], "Update settings") == edited
    assert "/projects" not in {p.route for p in graph.list_pages(first["projectId"])}


def test_flows_list_show_edit_delete_and_a_deleted_auto_flow_comes_back(repo: Path) -> None:
    init_json(repo)

    code, out, _ = run_cli(["flows", "list", "--json"], repo)
    assert code == 0
    listed = json.loads(out)["flows"]
    assert [f["name"] for f in listed][0] == "Checkout"  # critical first
    assert all(f["stepCount"] > 0 and "steps" not in f for f in listed)
    code, out, _ = run_cli(["flows", "show", "Sign in", "--json"], repo)
    assert code == 0 and [s["order"] for s in json.loads(out)["steps"]] == [1, 2, 3, 4]
    code, out, _ = run_cli(["flows", "edit", "Sign in", "--priority", "critical", "--json"], repo)
    assert code == 0 and json.loads(out)["userEdited"] is True
    code, out, _ = run_cli(["flows", "delete", "Sign up", "--json"], repo)
    assert code == 0 and json.loads(out)["deleted"]["name"] == "Sign up"

    summary = init_json(repo)

    assert summary["counts"]["flows"]["skipped"] == 1 and summary["counts"]["flows"]["created"] == 1
    sign_in = next(f for f in summary["flows"] if f["name"] == "Sign in")
    assert sign_in["priority"] == "critical" and sign_in["status"] == "skipped" and sign_in["userEdited"]
    assert next(f for f in summary["flows"] if f["name"] == "Sign up")["status"] == "created"


def test_init_prints_a_persona_flow_page_tree_for_people(repo: Path) -> None:
    code, out, _ = run_cli(["init", "--yes", "--no-llm"], repo)

    assert code == 0
    assert "▸ Visitor" in out and "Flows: 6 created, 0 updated, 0 removed, 0 unchanged, 0 skipped" in out
    assert "/products → /products/:id → /cart → /checkout → /checkout/success" in out


def test_configured_personas_from_a_file_stay_user_configured(
    repo: Path, graph: FalkorFlowGraph, tmp_path: Path
) -> None:
    personas = tmp_path / "personas.json"
    personas.write_text(json.dumps([{"name": "Store admin", "description": "Runs the shop", "behaviors": ["edits"]}]))

    first = init_json(repo, "--personas", str(personas))
    second = init_json(repo, "--personas", str(personas))
    third = init_json(repo)

    for summary in (first, second, third):
        admin = next(p for p in summary["personas"] if p["name"] == "Store admin")
        assert admin["source"] == "user_configured"
    assert second["counts"]["personas"]["created"] == second["counts"]["personas"]["updated"] == 0
    stored = {p.name: p for p in graph.list_personas(first["projectId"])}
    assert stored["Store admin"].source == "user_configured" and stored["Store admin"].behaviors == ["edits"]


def test_a_broken_personas_file_is_a_clear_usage_error(repo: Path, tmp_path: Path) -> None:
    personas = tmp_path / "personas.json"
    personas.write_text('[{"description": "no name"}]')

    code, out, err = run_cli(["init", "--yes", "--no-llm", "--personas", str(personas)], repo)

    assert code == ExitStatus.USAGE and out == ""
    assert "persona [0] name: Field required" in err and "Traceback" not in err


def test_flows_show_of_an_unknown_flow_is_an_error_without_traceback(repo: Path) -> None:
    init_json(repo)

    code, out, err = run_cli(["flows", "show", "Nope"], repo)

    assert code == 1 and out == "" and "no flow 'Nope'" in err


def test_init_shows_its_stages_as_progress_on_a_terminal_and_nothing_otherwise(repo: Path) -> None:
    code, out, err = run_cli(["init", "--yes", "--no-llm", "--json"], repo, tty=True)

    assert code == 0, err
    assert json.loads(out)["counts"]["flows"]["created"] == 6  # stdout stays pure JSON
    shown = [
        stage
        for stage in ("validate", "discover", "identify flows", "persist flows", "extract steps", "persist steps")
        if stage in err
    ]
    assert len(shown) >= 5, err

    code, out, err = run_cli(["init", "--yes", "--no-llm", "--json"], repo)

    assert code == 0 and "extract steps" not in err and "\x1b[" not in err


def test_on_a_terminal_init_asks_before_setting_up_and_no_means_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app = build_demo_app(tmp_path / "fresh").path
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))

    code, out, err = run_cli(["init", "--no-llm"], app, tty=True)

    assert code == ExitStatus.INTERRUPTED and out == "" and "aborted" in err
    assert f"Set up Perceo in {app}?" in capsys.readouterr().err
    assert not (app / ".perceo").exists()


def test_init_of_a_project_on_the_api_points_at_remote_and_writes_nothing(repo: Path, graph: FalkorFlowGraph) -> None:
    config_file = repo / ".perceo" / "config.json"
    config = json.loads(config_file.read_text())
    config["observer"] = {"apiBaseUrl": "https://api.example.test/dev"}
    config_file.write_text(json.dumps(config, indent=2) + "\n")
    before = config_file.read_text()

    code, out, err = run_cli(["init", "--yes", "--no-llm"], repo)

    assert code == ExitStatus.USAGE
    assert "perceo init --remote" in err and "Traceback" not in err
    assert config_file.read_text() == before
    assert sorted(p.name for p in (repo / ".perceo").iterdir()) == ["config.json"]
    assert graph.list_projects() == []
