"""How workflow steps report failures, shared by both workflows and light to import (the record-failure task and
the API's status reads need none of the bootstrap pipeline):

- `StrictLLM`: an LLM failure ends the workflow instead of being absorbed into the pipeline's offline fallback;
  transient failures become `LLMUnavailableError` (retried by Step Functions), unusable answers `LLMOutputError`.
- `workflow_error` / `record_failure`: the error Step Functions caught, as `{type, message}` in the progress record.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from perceo.errors import LLMError
from perceo.workflows.errors import LLMOutputError, LLMUnavailableError
from perceo.workflows.model import StepInput, WorkflowError

if TYPE_CHECKING:
    from perceo.llm.port import LLM
    from perceo.workflows.runtime import StepRuntime

logger = logging.getLogger(__name__)

_TRANSIENT_HTTP = frozenset({408, 409, 425, 429})


class StrictLLM:
    """Passes calls through and remembers LLM failures the pipeline would otherwise absorb into a fallback."""

    def __init__(self, inner: LLM) -> None:
        self._inner = inner
        self.failures: list[LLMError] = []

    def complete(self, request: Any, response_model: type[Any]) -> Any:
        try:
            return self._inner.complete(request, response_model)
        except LLMError as error:
            self.failures.append(error)
            raise

    def raise_if_failed(self) -> None:
        if not self.failures:
            return
        first = self.failures[0]
        reason = first.details.get("reason")
        status = first.details.get("status")
        transient = reason in ("timeout", "connection_error") or (
            reason == "http_error" and isinstance(status, int) and (status >= 500 or status in _TRANSIENT_HTTP)
        )
        kind = LLMUnavailableError if transient else LLMOutputError
        raise kind(first.message, details=dict(first.details))


def record_failure(step: StepInput, runtime: StepRuntime) -> dict[str, Any]:
    """Write the caught error (its type and message) where `GET /workflows/{id}` reads it."""
    error = workflow_error(step.error or {})
    runtime.progress.set_error(step.project_id, step.workflow_id, error)
    logger.warning("workflow %s failed: %s", step.workflow_id, error.type)
    return error.model_dump(mode="json")


def workflow_error(caught: dict[str, Any]) -> WorkflowError:
    """`{Error, Cause}` as Step Functions catches it → {type, message}. Lambda errors carry a JSON cause."""
    error_type = str(caught.get("Error") or "States.Runtime")
    cause = caught.get("Cause")
    message = "" if cause is None else str(cause)
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            document = json.loads(cause)
        except json.JSONDecodeError:
            document = None
        if isinstance(document, dict):
            error_type = str(document.get("errorType") or error_type)
            message = str(document.get("errorMessage") or message)
    return WorkflowError(type=error_type, message=message[:2000] or error_type)
