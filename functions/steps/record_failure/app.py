"""Step Functions task `Record failure` (both workflows): writes the caught error's type and message where
`GET /workflows/{id}` reads them, so a failure is never just "Workflow failed"."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.observability import instrument_logger
from perceo.wiring import services
from perceo.workflows import failures
from perceo.workflows.model import StepInput

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return failures.record_failure(StepInput.model_validate(event), services().step_runtime)
