"""Lambda: the REQUEST authorizer for project API keys (see `perceo.api.authorizer` for the contract)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.authorizer import authorize_request
from perceo.api.observability import instrument_logger, lambda_tracer
from perceo.wiring import services

logger = instrument_logger(Logger())
tracer = lambda_tracer(os.environ)
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize_request(event, services().keys, metrics=metrics)
