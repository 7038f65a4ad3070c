"""The bootstrap's stages are listed once (`perceo.bootstrap.stages`): the cloud's state machine calls its tasks in
that order, and `perceo init`'s in-process run goes through the same stages in the same order, reporting the same
progress."""

from __future__ import annotations

from pathlib import Path

from fakes.memory_graph import MemoryFlowGraph

from perceo.bootstrap.pipeline import STATE_STAGES, BootstrapDeps, BootstrapInput, run_bootstrap
from perceo.bootstrap.stages import BOOTSTRAP_STAGES, STAGE_NAMES, STAGE_PROGRESS
from perceo.models import Project
from perceo.observer.snapshot import RepoSnapshot
from perceo_cli.demo.shop import SIGNED_IN_APP, STOREFRONT
from perceo_cli.local.asl import load_definition, placeholders, task_resources

REPO = Path(__file__).resolve().parents[3]
BOOTSTRAP_ASL = REPO / "statemachines" / "bootstrap_project.asl.json"


def test_the_stages_are_the_documented_ones_in_the_documented_order() -> None:
    assert STAGE_NAMES == (
        "validate",
        "discover",
        "identify_flows",
        "assign_personas",
        "refine",
        "persist_flows",
        "extract_steps",
        "persist_steps",
        "cleanup",
    )
    assert [stage.progress for stage in BOOTSTRAP_STAGES] == sorted(stage.progress for stage in BOOTSTRAP_STAGES)


def test_the_state_machine_calls_the_stage_tasks_in_the_stage_order() -> None:
    text = BOOTSTRAP_ASL.read_text()
    definition = load_definition(BOOTSTRAP_ASL, {name: name for name in placeholders(text)})

    assert task_resources(definition) == [stage.task for stage in BOOTSTRAP_STAGES]


def test_the_in_process_run_goes_through_the_same_stages_in_the_same_order(tmp_path: Path) -> None:
    graph = MemoryFlowGraph()
    graph.create_project(Project(id="proj-stages", name="shop"))
    files = {**STOREFRONT, **SIGNED_IN_APP}
    reported: list[tuple[str, int]] = []

    def progress(stage: str, percentage: int, message: str) -> None:
        if not reported or reported[-1][0] != stage:
            reported.append((stage, percentage))

    deps = BootstrapDeps(
        graph=graph,
        open_snapshot=lambda _workspace: RepoSnapshot.from_files(dict(files), root=tmp_path),
        progress=progress,
    )
    state = run_bootstrap(BootstrapInput(project_id="proj-stages", workspace=str(tmp_path)), deps)

    assert reported == [(stage.name, stage.progress) for stage in BOOTSTRAP_STAGES]
    assert list(state.stage_ms) == list(STAGE_NAMES)
    assert set(STATE_STAGES) | {"validate", "extract_steps"} == set(STAGE_PROGRESS)
