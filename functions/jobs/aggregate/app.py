"""EventBridge-scheduled job `aggregate`: a door onto `perceo.analyzer.jobs.run_aggregate` (each project's raw events
of the days since the last run rolled up into its flows' daily metrics; resumable, idempotent, its last run recorded
in Redis)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analyzer.jobs import run_aggregate
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
        raise ConfigError("the aggregate job needs a Cypher flow graph")
    record = run_aggregate(ready.analytics, graph, ready.job_log, remaining_ms=context.get_remaining_time_in_millis)
    return record.model_dump(mode="json")
