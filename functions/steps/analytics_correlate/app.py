"""Step Functions task `Correlate` (AnalyticsSync): sessions -> alignment -> daily flow metrics of one project."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analytics.jobs import CorrelateTask, correlate_project
from perceo.api.observability import instrument_logger
from perceo.wiring import services

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return correlate_project(services().analytics, CorrelateTask.model_validate(event))
