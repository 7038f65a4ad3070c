"""EventBridge-scheduled job `detect-anomalies`: a door onto `perceo.analyzer.jobs.run_detect_anomalies` (anomaly
detection and the insight rules over every project, resumable, its last run recorded in Redis)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analyzer.jobs import run_detect_anomalies
from perceo.api.observability import instrument_logger, lambda_tracer
from perceo.wiring import services

logger = instrument_logger(Logger())
tracer = lambda_tracer(os.environ)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ready = services()
    record = run_detect_anomalies(ready.analyzer, ready.job_log, remaining_ms=context.get_remaining_time_in_millis)
    return record.model_dump(mode="json")
