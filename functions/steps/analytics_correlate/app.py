"""Step Functions task `Correlate part` (AnalyticsSync, in the Map over chunks): one chunk of users' sessions aligned
to the flows, its partial result kept for the merge."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analytics.jobs import PartTask, correlate_part
from perceo.api.observability import instrument_logger
from perceo.wiring import services

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return correlate_part(services().analytics, PartTask.model_validate(event))
