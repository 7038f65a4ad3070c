"""Step Functions task `Store the review` (AnalyzeChanges): a door onto `perceo.workflows.analyze_steps`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.observability import instrument_logger
from perceo.wiring import services
from perceo.workflows import analyze_steps
from perceo.workflows.model import StepInput

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return analyze_steps.store_review(StepInput.model_validate(event), services().step_runtime)
