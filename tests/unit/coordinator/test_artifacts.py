"""Screenshots of a cloud run copied to the artifact store before the run is recorded (the in-memory bundle store
stands in for S3 here; the RunTests workflow test stores real ones in moto's S3)."""

from __future__ import annotations

from pathlib import Path

from perceo.coordinator.artifacts import MAX_ARTIFACT_BYTES, is_project_artifact, upload_artifacts
from perceo.coordinator.model import FlowRunResult, StepResult
from perceo.workflows.bundle import InMemoryBundleStore


def _result(*paths: str) -> FlowRunResult:
    step = StepResult(step_id="s2", order=2, name="Pay", status="failed", artifacts=list(paths))
    return FlowRunResult(
        flow_id="f-1", name="Checkout", status="failed", base_url="http://shop", steps=[step], artifacts=list(paths)
    )


def test_screenshots_are_stored_under_the_project_and_suite_and_named_by_key(tmp_path: Path) -> None:
    shot = tmp_path / "step-2 failure.png"
    shot.write_bytes(b"\x89PNG")
    store = InMemoryBundleStore()

    result = upload_artifacts(store, "p-1", "wf-9", _result(str(shot)))

    key = "artifacts/p-1/wf-9/f-1/step-2_failure.png"
    assert result.artifacts == [key] and result.steps[0].artifacts == [key]
    assert store.get_bytes(key) == b"\x89PNG" and not shot.exists()  # /tmp is freed once stored
    assert is_project_artifact("p-1", key) and not is_project_artifact("p-2", key)


def test_a_missing_or_oversized_file_keeps_its_path_and_the_others_are_stored(tmp_path: Path) -> None:
    kept, huge = tmp_path / "step-1-1.png", tmp_path / "big.png"
    kept.write_bytes(b"png")
    with huge.open("wb") as f:
        f.truncate(MAX_ARTIFACT_BYTES + 1)
    gone = str(tmp_path / "gone.png")
    store = InMemoryBundleStore()

    result = upload_artifacts(store, "p-1", "wf-9", _result(gone, str(kept), str(huge)))

    assert result.artifacts == [gone, "artifacts/p-1/wf-9/f-1/step-1-1.png", str(huge)]
    assert list(store.objects) == ["artifacts/p-1/wf-9/f-1/step-1-1.png"]


def test_only_well_formed_keys_of_the_project_are_its_artifacts() -> None:
    assert not is_project_artifact("p-1", "artifacts/p-1/../p-2/f/x.png")
    assert not is_project_artifact("p-1", "artifacts/p-1/wf/f/../x.png")
    assert not is_project_artifact("p-1", "workflows/p-1/wf/request.json")
    assert not is_project_artifact("p-1", "artifacts/p-12/wf/f/x.png")
