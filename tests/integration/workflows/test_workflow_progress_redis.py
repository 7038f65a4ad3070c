"""The progress store on the real Redis: keyed by project, forward-only, idempotent map items, one claim."""

from __future__ import annotations

from perceo.models import new_id
from perceo.redis_client import RedisClient
from perceo.workflows.model import WorkflowError, WorkflowRecord, new_workflow_id
from perceo.workflows.progress import RedisProgressStore


def _record(project_id: str) -> WorkflowRecord:
    return WorkflowRecord(
        workflow_id=new_workflow_id(),
        project_id=project_id,
        kind="bootstrap",
        execution_arn="arn:aws:states:us-east-1:1:execution:sm:x",
    )


def test_progress_moves_forward_only_and_counts_merge(any_redis: RedisClient) -> None:
    store = RedisProgressStore(any_redis)
    record = _record(f"p-{new_id()[:8]}")
    store.create(record)
    p, w = record.project_id, record.workflow_id

    store.report(p, w, stage="discover", percentage=12, message="found 9 routes", counts={"routes": 9})
    store.report(p, w, stage="validate", percentage=5, message="a retried early task", counts={"files": 30})
    read = store.get(p, w)

    assert read is not None
    assert (read.progress.stage, read.progress.percentage, read.progress.message) == ("discover", 12, "found 9 routes")
    assert read.progress.counts == {"routes": 9, "files": 30}


def test_map_items_count_once_each_and_drive_the_percentage(any_redis: RedisClient) -> None:
    store = RedisProgressStore(any_redis)
    record = _record(f"p-{new_id()[:8]}")
    store.create(record)
    p, w = record.project_id, record.workflow_id
    store.plan_items(p, w, 4)

    done = [store.item_done(p, w, index, stage="extract_steps", base=60, span=35) for index in (0, 1, 1, 3)]
    read = store.get(p, w)

    assert done == [1, 2, 2, 3]  # the retried item 1 counted once
    assert read is not None and read.progress.percentage == 60 + 3 * 35 // 4
    assert read.progress.counts["flowsWithSteps"] == 3


def test_another_project_cannot_read_the_record_and_writes_to_missing_records_are_ignored(
    any_redis: RedisClient,
) -> None:
    store = RedisProgressStore(any_redis)
    record = _record(f"p-{new_id()[:8]}")
    store.create(record)

    store.report("someone-else", record.workflow_id, stage="x", percentage=50, message="")

    assert store.get("someone-else", record.workflow_id) is None
    assert store.get(record.project_id, record.workflow_id) is not None


def test_result_error_and_terminal_status_round_trip(any_redis: RedisClient) -> None:
    store = RedisProgressStore(any_redis)
    record = _record(f"p-{new_id()[:8]}")
    store.create(record)
    p, w = record.project_id, record.workflow_id

    store.set_result(p, w, {"flows": [{"name": "Checkout"}]})
    store.set_error(p, w, WorkflowError(type="CloneFailedError", message="not found"))
    store.set_status(p, w, "RUNNING")  # not terminal: ignored
    store.set_status(p, w, "FAILED")
    read = store.get(p, w)

    assert read is not None and read.status == "FAILED"
    assert read.result == {"flows": [{"name": "Checkout"}]}
    assert read.error == WorkflowError(type="CloneFailedError", message="not found")
    assert 0 < any_redis.ttl(f"perceo:workflow:{{{p}:{w}}}") <= 30 * 24 * 3600


def test_one_claim_per_project_and_kind_released_only_by_its_holder(any_redis: RedisClient) -> None:
    store = RedisProgressStore(any_redis)
    project = f"p-{new_id()[:8]}"
    first, second = new_workflow_id(), new_workflow_id()

    assert store.claim(project, "bootstrap", first, 60) is None
    assert store.claim(project, "bootstrap", second, 60) == first
    assert store.claim(project, "analyze", second, 60) is None
    store.release(project, "bootstrap", second)  # not the holder: no effect
    assert store.claim(project, "bootstrap", second, 60) == first
    store.release(project, "bootstrap", first)
    assert store.claim(project, "bootstrap", second, 60) is None
