"""EventBridge-scheduled job `export`: a door onto `perceo.backup.jobs.run_exports` (every project's daily export,
gzipped JSON Lines, to the backup bucket; resumable, its last run recorded in Redis)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analyzer.jobs import RedisJobLog
from perceo.api.observability import instrument_logger, lambda_tracer
from perceo.backup.jobs import run_exports
from perceo.wiring import services

logger = instrument_logger(Logger())
tracer = lambda_tracer(os.environ)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ready = services()
    record = run_exports(
        ready.backups(with_keys=True),
        [project.id for project in ready.graph.list_projects()],
        ready.backup_store,
        RedisJobLog(ready.redis),
        remaining_ms=context.get_remaining_time_in_millis,
    )
    return record.model_dump(mode="json")
