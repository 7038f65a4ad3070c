"""Step Functions task `Summarize the results` (RunTests): a door onto `perceo.coordinator.run_tests_steps`."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.observability import instrument_logger
from perceo.coordinator import run_tests_steps
from perceo.wiring import services
from perceo.workflows.model import StepInput

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_tests_steps.summarize(StepInput.model_validate(event), services().step_runtime)
