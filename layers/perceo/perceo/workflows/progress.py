"""Where workflow steps write progress and `GET /workflows/{id}` reads it: Redis, keyed by project + workflow id.

Layout (hash tag `{projectId:workflowId}` keeps both keys in one slot):

- `perceo:workflow:{p:w}`        hash: `record` (kind, execution ARN, created), `status` (terminal only, cached from
                                 Step Functions), `stage`, `percentage`, `message`, `count:<name>`, `result`, `error`,
                                 `itemsTotal`, `updatedAt`
- `perceo:workflow:{p:w}:items`  set of finished map items (their index), so a retried item is counted once

Progress only moves forward: a retried or late step never lowers the percentage. A key names its project, so a
workflow id read with another project's key is simply not found. Entries expire `ttl_s` after the last write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import redis

from perceo.errors import BackendUnavailableError
from perceo.models.common import now_ms
from perceo.workflows.model import (
    TERMINAL_STATUSES,
    WorkflowError,
    WorkflowProgress,
    WorkflowRecord,
    WorkflowStatus,
)

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

DEFAULT_TTL_S = 30 * 24 * 3600

_REPORT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', KEYS[1], 'percentage') or '-1')
if tonumber(ARGV[1]) >= current then
  redis.call('HSET', KEYS[1], 'percentage', ARGV[1], 'stage', ARGV[2], 'message', ARGV[3])
end
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], 'count:' .. ARGV[i], ARGV[i + 1]) end
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

# ARGV: index, base percentage, span, stage, updatedAt, ttl. Percentage = base + floor(done * span / total).
_ITEM_DONE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])
local done = redis.call('SCARD', KEYS[2])
local total = tonumber(redis.call('HGET', KEYS[1], 'itemsTotal') or '0')
if total < 1 then total = done end
local pct = tonumber(ARGV[2]) + math.floor(done * tonumber(ARGV[3]) / total)
local current = tonumber(redis.call('HGET', KEYS[1], 'percentage') or '-1')
if pct >= current then
  redis.call('HSET', KEYS[1], 'percentage', pct, 'stage', ARGV[4],
             'message', 'steps written for ' .. done .. ' of ' .. total .. ' flows')
end
redis.call('HSET', KEYS[1], 'count:flowsWithSteps', done, 'updatedAt', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return done
"""


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ProgressStore(Protocol):
    def create(self, record: WorkflowRecord) -> None: ...
    def get(self, project_id: str, workflow_id: str) -> WorkflowRecord | None: ...
    def report(
        self,
        project_id: str,
        workflow_id: str,
        *,
        stage: str,
        percentage: int,
        message: str,
        counts: Mapping[str, int] | None = None,
    ) -> None: ...
    def plan_items(self, project_id: str, workflow_id: str, total: int) -> None: ...
    def item_done(self, project_id: str, workflow_id: str, index: int, *, stage: str, base: int, span: int) -> int: ...
    def set_result(self, project_id: str, workflow_id: str, result: Mapping[str, Any]) -> None: ...
    def set_error(self, project_id: str, workflow_id: str, error: WorkflowError) -> None: ...
    def set_status(self, project_id: str, workflow_id: str, status: WorkflowStatus) -> None: ...
    def claim(self, project_id: str, kind: str, workflow_id: str, ttl_s: int) -> str | None:
        """Make `workflow_id` the project's one running workflow of `kind`: None if claimed, else the holder's id."""

    def release(self, project_id: str, kind: str, workflow_id: str) -> None:
        """Give the claim up, if `workflow_id` still holds it."""

    def delete_older(self, project_id: str, *, before: int) -> int:
        """Delete the project's records last changed before `before` (epoch ms): the cleanup job's retention."""


@contextmanager
def _redis_errors() -> Iterator[None]:
    try:
        yield
    except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
        raise BackendUnavailableError(
            f"the workflow progress store (Redis) failed: {type(exc).__name__}",
            dependency="the workflow progress store (Redis)",
        ) from exc


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisProgressStore:
    def __init__(self, client: RedisClient, *, ttl_s: int = DEFAULT_TTL_S, namespace: str = "perceo") -> None:
        self._redis = client
        self._ttl_s = ttl_s
        self._ns = namespace
        self._report = client.register_script(_REPORT)
        self._item_done = client.register_script(_ITEM_DONE)
        self._release = client.register_script(_RELEASE)

    def _key(self, project_id: str, workflow_id: str) -> str:
        return f"{self._ns}:workflow:{{{project_id}:{workflow_id}}}"

    def delete_older(self, project_id: str, *, before: int) -> int:
        """Delete the project's workflow records last changed before `before` (epoch ms), with their item sets;
        how many records went. (Records also expire by themselves `ttl_s` after their last change: this applies a
        retention shorter than the TTL they were written with.)"""
        pattern = f"{self._ns}:workflow:\\{{{project_id}:*"
        deleted = 0
        with _redis_errors():
            for raw in self._redis.scan_iter(match=pattern, count=500):
                key = _text(raw)
                if key.endswith(":items"):
                    continue
                updated = self._redis.hget(key, "updatedAt")
                if updated is not None and int(_text(updated)) < before:
                    deleted += int(self._redis.delete(key, f"{key}:items") > 0)
        return deleted

    def create(self, record: WorkflowRecord) -> None:
        key = self._key(record.project_id, record.workflow_id)
        meta = {"kind": record.kind, "executionArn": record.execution_arn, "createdAt": record.created_at}
        progress = record.progress
        with _redis_errors():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(
                key,
                mapping={
                    "record": json.dumps(meta),
                    "stage": progress.stage,
                    "percentage": progress.percentage,
                    "message": progress.message,
                    "updatedAt": record.updated_at,
                },
            )
            pipe.expire(key, self._ttl_s)
            pipe.execute()

    def get(self, project_id: str, workflow_id: str) -> WorkflowRecord | None:
        with _redis_errors():
            raw = self._redis.hgetall(self._key(project_id, workflow_id))
        if not raw:
            return None
        fields = {_text(k): _text(v) for k, v in raw.items()}
        meta = json.loads(fields["record"])
        counts = {k.removeprefix("count:"): int(v) for k, v in fields.items() if k.startswith("count:")}
        return WorkflowRecord(
            workflow_id=workflow_id,
            project_id=project_id,
            kind=meta["kind"],
            execution_arn=meta["executionArn"],
            status=fields.get("status", "RUNNING"),
            progress=WorkflowProgress(
                stage=fields.get("stage", "queued"),
                percentage=int(fields.get("percentage", "0")),
                message=fields.get("message", ""),
                counts=counts,
            ),
            result=json.loads(fields["result"]) if "result" in fields else None,
            error=WorkflowError.model_validate_json(fields["error"]) if "error" in fields else None,
            created_at=int(meta["createdAt"]),
            updated_at=int(fields.get("updatedAt", meta["createdAt"])),
        )

    def report(
        self,
        project_id: str,
        workflow_id: str,
        *,
        stage: str,
        percentage: int,
        message: str,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        args: list[Any] = [max(0, min(100, percentage)), stage, message, now_ms(), self._ttl_s]
        for name, value in (counts or {}).items():
            args += [name, int(value)]
        with _redis_errors():
            self._report(keys=[self._key(project_id, workflow_id)], args=args)

    def plan_items(self, project_id: str, workflow_id: str, total: int) -> None:
        key = self._key(project_id, workflow_id)
        with _redis_errors():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(key, "itemsTotal", total)
            pipe.delete(f"{key}:items")
            pipe.execute()

    def item_done(self, project_id: str, workflow_id: str, index: int, *, stage: str, base: int, span: int) -> int:
        key = self._key(project_id, workflow_id)
        with _redis_errors():
            done = self._item_done(keys=[key, f"{key}:items"], args=[index, base, span, stage, now_ms(), self._ttl_s])
        return int(done)

    def _set(self, project_id: str, workflow_id: str, mapping: Mapping[str, str]) -> None:
        key = self._key(project_id, workflow_id)
        with _redis_errors():
            pipe = self._redis.pipeline(transaction=True)
            fields: dict[str, str | int] = {**mapping, "updatedAt": now_ms()}
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.expire(key, self._ttl_s)
            pipe.execute()

    def set_result(self, project_id: str, workflow_id: str, result: Mapping[str, Any]) -> None:
        self._set(project_id, workflow_id, {"result": json.dumps(result)})

    def set_error(self, project_id: str, workflow_id: str, error: WorkflowError) -> None:
        self._set(project_id, workflow_id, {"error": error.model_dump_json()})

    def set_status(self, project_id: str, workflow_id: str, status: WorkflowStatus) -> None:
        if status not in TERMINAL_STATUSES:
            return
        self._set(project_id, workflow_id, {"status": status})

    def _claim_key(self, project_id: str, kind: str) -> str:
        return f"{self._ns}:workflow-running:{project_id}:{kind}"

    def claim(self, project_id: str, kind: str, workflow_id: str, ttl_s: int) -> str | None:
        key = self._claim_key(project_id, kind)
        with _redis_errors():
            if self._redis.set(key, workflow_id, nx=True, ex=ttl_s):
                return None
            holder = self._redis.get(key)
        return _text(holder) if holder is not None else None

    def release(self, project_id: str, kind: str, workflow_id: str) -> None:
        with _redis_errors():
            self._release(keys=[self._claim_key(project_id, kind)], args=[workflow_id])


class InMemoryProgressStore:
    """The same contract in process memory (unit tests)."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], WorkflowRecord] = {}
        self._items: dict[tuple[str, str], set[int]] = {}
        self._totals: dict[tuple[str, str], int] = {}
        self.claims: dict[tuple[str, str], str] = {}

    def create(self, record: WorkflowRecord) -> None:
        self.records[(record.project_id, record.workflow_id)] = record.model_copy(deep=True)

    def get(self, project_id: str, workflow_id: str) -> WorkflowRecord | None:
        record = self.records.get((project_id, workflow_id))
        return record.model_copy(deep=True) if record else None

    def delete_older(self, project_id: str, *, before: int) -> int:
        old = [key for key, r in self.records.items() if key[0] == project_id and r.updated_at < before]
        for key in old:
            del self.records[key]
            self._items.pop(key, None)
        return len(old)

    def _update(self, project_id: str, workflow_id: str, **changes: Any) -> None:
        record = self.records.get((project_id, workflow_id))
        if record is not None:
            self.records[(project_id, workflow_id)] = record.model_copy(update={**changes, "updated_at": now_ms()})

    def report(
        self,
        project_id: str,
        workflow_id: str,
        *,
        stage: str,
        percentage: int,
        message: str,
        counts: Mapping[str, int] | None = None,
    ) -> None:
        record = self.records.get((project_id, workflow_id))
        if record is None:
            return
        progress = record.progress.model_copy(deep=True)
        if percentage >= progress.percentage:
            progress = progress.model_copy(update={"stage": stage, "percentage": percentage, "message": message})
        progress.counts.update(counts or {})
        self._update(project_id, workflow_id, progress=progress)

    def plan_items(self, project_id: str, workflow_id: str, total: int) -> None:
        self._totals[(project_id, workflow_id)] = total
        self._items[(project_id, workflow_id)] = set()

    def item_done(self, project_id: str, workflow_id: str, index: int, *, stage: str, base: int, span: int) -> int:
        done_set = self._items.setdefault((project_id, workflow_id), set())
        done_set.add(index)
        done = len(done_set)
        total = self._totals.get((project_id, workflow_id)) or done
        self.report(
            project_id,
            workflow_id,
            stage=stage,
            percentage=base + done * span // total,
            message=f"steps written for {done} of {total} flows",
            counts={"flowsWithSteps": done},
        )
        return done

    def set_result(self, project_id: str, workflow_id: str, result: Mapping[str, Any]) -> None:
        self._update(project_id, workflow_id, result=dict(result))

    def set_error(self, project_id: str, workflow_id: str, error: WorkflowError) -> None:
        self._update(project_id, workflow_id, error=error)

    def set_status(self, project_id: str, workflow_id: str, status: WorkflowStatus) -> None:
        if status in TERMINAL_STATUSES:
            self._update(project_id, workflow_id, status=status)

    def claim(self, project_id: str, kind: str, workflow_id: str, ttl_s: int) -> str | None:
        holder = self.claims.setdefault((project_id, kind), workflow_id)
        return None if holder == workflow_id else holder

    def release(self, project_id: str, kind: str, workflow_id: str) -> None:
        if self.claims.get((project_id, kind)) == workflow_id:
            del self.claims[(project_id, kind)]
