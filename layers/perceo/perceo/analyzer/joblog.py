"""Scheduled jobs' records: the last run of each job and how it ended, where `GET /health` and `perceo status`
read them. Light on purpose (pydantic and Redis only): the health route imports it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Protocol

from perceo.models.jobs import JOB_NAMES, JobName, JobRecord, Outcome, ProjectFailure

if TYPE_CHECKING:
    from perceo.redis_client import RedisClient

__all__ = ["JOB_NAMES", "JobLog", "JobName", "JobRecord", "MemoryJobLog", "Outcome", "ProjectFailure",
           "RedisJobLog"]  # fmt: skip


class JobLog(Protocol):
    def last(self, job: JobName) -> JobRecord | None: ...
    def record(self, record: JobRecord) -> None: ...


class RedisJobLog:
    """Job records in Redis (`perceo:jobs:<job>`), where `GET /health` and `perceo status` can read them."""

    def __init__(self, client: RedisClient) -> None:
        self._client = client

    @staticmethod
    def key(job: str) -> str:
        return f"perceo:jobs:{job}"

    def last(self, job: JobName) -> JobRecord | None:
        raw = self._client.get(self.key(job))
        return None if raw is None else JobRecord.model_validate_json(raw)

    def record(self, record: JobRecord) -> None:
        self._client.set(self.key(record.job), record.model_dump_json())


class MemoryJobLog:
    def __init__(self) -> None:
        self.records: dict[str, str] = {}

    def last(self, job: JobName) -> JobRecord | None:
        raw = self.records.get(job)
        return None if raw is None else JobRecord.model_validate(json.loads(raw))

    def record(self, record: JobRecord) -> None:
        self.records[record.job] = record.model_dump_json()
