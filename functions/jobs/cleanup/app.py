"""EventBridge-scheduled job `cleanup`: a door onto `perceo.analyzer.jobs.run_cleanup` (each project's records and
workflow records past their retention, `ANALYSES_RETENTION_DAYS` / `WORKFLOW_RECORDS_RETENTION_DAYS`; resumable,
its last run recorded in Redis)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analyzer.jobs import Retention, run_cleanup
from perceo.api.observability import instrument_logger, lambda_tracer
from perceo.errors import ConfigError
from perceo.graph.cypher import CypherFlowGraph
from perceo.wiring import services

logger = instrument_logger(Logger())
tracer = lambda_tracer(os.environ)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ready = services()
    graph = ready.graph
    if not isinstance(graph, CypherFlowGraph):
        raise ConfigError("the cleanup job needs a Cypher flow graph")
    settings = ready.settings
    retention = Retention.from_settings(settings.analyses_retention_days, settings.workflow_records_retention_days)
    record = run_cleanup(
        graph,
        ready.job_log,
        retention=retention,
        workflows=ready.progress,
        remaining_ms=context.get_remaining_time_in_millis,
    )
    return record.model_dump(mode="json")
