"""Step Functions task `List projects` (AnalyticsSync): the projects this run syncs (`perceo.analytics.jobs.plan`)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analytics.jobs import ScheduleInput, plan
from perceo.api.observability import instrument_logger
from perceo.wiring import services

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return plan(services().graph, ScheduleInput.model_validate(event or {}))
