"""Step Functions task `Sync providers` (AnalyticsSync): one project's connected providers, from their cursors."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analytics.jobs import ProjectTask, sync_project
from perceo.api.observability import instrument_logger
from perceo.wiring import services

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return sync_project(services().analytics, ProjectTask.model_validate(event))
