"""Step Functions task `Clean up` / `Clean up after failure` (both workflows, stage `cleanup`): deletes the
workflow's bundle, gives the project's claim back and, after a successful bootstrap, publishes its result."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.observability import instrument_logger
from perceo.wiring import services
from perceo.workflows import analyze_steps, bootstrap_steps
from perceo.workflows.model import CleanupInput

logger = instrument_logger(Logger())


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = CleanupInput.model_validate(event)
    step, succeeded = task.step(), task.outcome == "succeeded"
    if task.kind == "tests":
        from perceo.coordinator import run_tests_steps

        return run_tests_steps.cleanup(step, services().step_runtime, succeeded=succeeded)
    if task.kind == "analyze":
        return analyze_steps.cleanup(step, services().step_runtime, succeeded=succeeded)
    return bootstrap_steps.cleanup(step, services().step_runtime, succeeded=succeeded)
