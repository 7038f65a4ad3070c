"""Step Functions task `Merge metrics` (AnalyticsSync): the chunks' partial results into daily flow metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.analytics.jobs import MergeTask, merge_parts
from perceo.api.observability import instrument_logger
from perceo.wiring import services

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return merge_parts(services().analytics, MergeTask.model_validate(event))
