"""`perceo init`, `perceo flows` and `perceo demo` through `main()`, on a real git repository (the demo app).

The backend is the domain service over an in-memory flow graph injected into the AppContext, so these tests
exercise the commands, the config writing and the pipeline without a graph server.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from fakes.memory_graph import MemoryFlowGraph

from perceo.demo import build_demo_app
from perceo.models import ChangeAnalysis, Flow, FlowUpdate, FlowView, Persona, Project
from perceo.service import ProjectService
from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output


class MemoryBackend:
    """The Backend port over ProjectService and an in-memory graph (what LocalBackend does over FalkorDB)."""

    def __init__(self, graph: MemoryFlowGraph, project_dir: Path) -> None:
        self.graph = graph
        self.bus = None
        self.service = ProjectService(graph)
        self.project_dir = project_dir

    @property
    def project_id(self) -> str:
        from perceo.config.loader import load_config

        project_id = load_config(self.project_dir).config.project.id
        assert project_id
        return project_id

    def project(self) -> Project:
        return self.service.get_project(self.project_id)

    def list_flows(self) -> list[FlowView]:
        return self.service.list_flows(self.project_id, include_steps=True)

    def get_flow(self, ref: str) -> FlowView:
        return self.service.get_flow(self.project_id, ref)

    def update_flow(self, ref: str, update: FlowUpdate) -> Flow:
        return self.service.update_flow(self.project_id, ref, update)

    def delete_flow(self, ref: str) -> None:
        self.service.delete_flow(self.project_id, ref)

    def list_personas(self) -> list[Persona]:
        return self.service.list_personas(self.project_id)

    def get_analysis(self, analysis_id: str) -> ChangeAnalysis:
        return self.service.get_analysis(self.project_id, analysis_id)

    def list_analyses(self, limit: int = 20) -> list[ChangeAnalysis]:
        return self.service.list_analyses(self.project_id, limit=limit)

    def close(self) -> None: ...


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return build_demo_app(tmp_path / "shop").path


@pytest.fixture
def graph() -> MemoryFlowGraph:
    return MemoryFlowGraph()


def run_cli(argv: list[str], repo: Path, graph: MemoryFlowGraph) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    ctx = AppContext(output=Output(stdout, stderr), project_dir=repo)
    ctx.use_backend(MemoryBackend(graph, repo))  # type: ignore[arg-type]
    code = main(argv, context=ctx)
    return code, stdout.getvalue(), stderr.getvalue()


def init_json(repo: Path, graph: MemoryFlowGraph, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli(["init", "--yes", "--no-llm", "--json", *extra], repo, graph)
    assert code == 0, err
    return dict(json.loads(out))


def test_init_writes_config_and_gitignore_and_prints_the_json_summary(repo: Path, graph: MemoryFlowGraph) -> None:
    summary = init_json(repo, graph)

    config = json.loads((repo / ".perceo" / "config.json").read_text())
    assert config["project"] == {"id": summary["projectId"], "name": "perceo-demo-shop", "framework": "nextjs"}
    ignored = (repo / ".perceo" / ".gitignore").read_text().splitlines()
    assert {"config.local.json", "data/", "cache/", "secrets/"} <= set(ignored)
    assert summary["version"] == 1 and summary["mode"] == "heuristic" and summary["framework"] == "nextjs"
    assert summary["counts"]["routes"] == 14
    assert summary["counts"]["flows"] == {"created": 5, "updated": 0, "removed": 0, "unchanged": 0, "skipped": 0}
    tree = {p["name"]: p["flows"] for p in summary["personas"]}
    assert tree == {
        "Signed-in user": ["Create and edit project", "Update settings"],
        "Visitor": ["Checkout", "Sign in", "Sign up"],
    }
    checkout = next(f for f in summary["flows"] if f["name"] == "Checkout")
    assert checkout["pages"][0] == "/products" and checkout["steps"] >= 5 and checkout["status"] == "created"


def test_a_second_init_keeps_the_project_id_and_config_and_changes_nothing(repo: Path, graph: MemoryFlowGraph) -> None:
    first = init_json(repo, graph)
    config_before = (repo / ".perceo" / "config.json").read_bytes()
    graph.writes.clear()

    second = init_json(repo, graph)

    assert second["projectId"] == first["projectId"]
    assert (repo / ".perceo" / "config.json").read_bytes() == config_before
    assert second["counts"]["flows"]["unchanged"] == 5 and second["counts"]["personas"]["unchanged"] == 2
    assert graph.writes == []


def test_init_prints_a_persona_flow_page_tree_for_people(repo: Path, graph: MemoryFlowGraph) -> None:
    code, out, _ = run_cli(["init", "--yes", "--no-llm"], repo, graph)

    assert code == 0
    assert "▸ Visitor" in out and "Flows: 5 created, 0 updated, 0 removed, 0 unchanged, 0 skipped" in out
    assert "/products → /products/:id → /cart → /checkout → /checkout/success" in out


def test_configured_personas_from_a_file_are_kept(repo: Path, graph: MemoryFlowGraph, tmp_path: Path) -> None:
    personas = tmp_path / "personas.json"
    personas.write_text(json.dumps([{"name": "Store admin", "description": "Runs the shop", "behaviors": ["edits"]}]))

    summary = init_json(repo, graph, "--personas", str(personas))

    admin = next(p for p in summary["personas"] if p["name"] == "Store admin")
    assert admin["source"] == "user_configured"


def test_a_broken_personas_file_is_a_clear_usage_error(repo: Path, graph: MemoryFlowGraph, tmp_path: Path) -> None:
    personas = tmp_path / "personas.json"
    personas.write_text('[{"description": "no name"}]')

    code, out, err = run_cli(["init", "--yes", "--no-llm", "--personas", str(personas)], repo, graph)

    assert code == 2 and out == ""
    assert "persona [0] name: Field required" in err and "Traceback" not in err


def test_flows_list_show_edit_delete_and_init_leaves_the_edited_flow_alone(repo: Path, graph: MemoryFlowGraph) -> None:
    init_json(repo, graph)

    code, out, _ = run_cli(["flows", "list", "--json"], repo, graph)
    assert code == 0
    listed = json.loads(out)["flows"]
    assert [f["name"] for f in listed][0] == "Checkout"  # critical first
    code, out, _ = run_cli(["flows", "show", "Sign in", "--json"], repo, graph)
    assert code == 0 and [s["order"] for s in json.loads(out)["steps"]] == [1, 2, 3, 4]
    code, out, _ = run_cli(["flows", "edit", "Sign in", "--priority", "critical", "--json"], repo, graph)
    assert code == 0 and json.loads(out)["userEdited"] is True
    code, out, _ = run_cli(["flows", "delete", "Sign up", "--json"], repo, graph)
    assert code == 0 and json.loads(out)["deleted"]["name"] == "Sign up"

    summary = init_json(repo, graph)

    assert summary["counts"]["flows"]["skipped"] == 1 and summary["counts"]["flows"]["created"] == 1
    sign_in = next(f for f in summary["flows"] if f["name"] == "Sign in")
    assert sign_in["priority"] == "critical" and sign_in["status"] == "skipped"


def test_flows_show_of_an_unknown_flow_is_an_error_without_traceback(repo: Path, graph: MemoryFlowGraph) -> None:
    init_json(repo, graph)

    code, out, err = run_cli(["flows", "show", "Nope"], repo, graph)

    assert code == 1 and out == "" and "no flow 'Nope'" in err
