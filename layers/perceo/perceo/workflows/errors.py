"""Errors raised by workflow steps.

Step Functions matches `Retry`/`Catch` `ErrorEquals` against the exception's class *name* (Lambda's
`errorType`), not its ancestry, so these names are part of the ASL contract: renaming one means editing
`statemachines/*.asl.json` (a test checks that every name the ASL retries exists here or in `perceo.errors`).
"""

from __future__ import annotations

from perceo.errors import BackendUnavailableError, LLMError, NotFoundError, PerceoError, ValidationFailed


class GitUrlRejectedError(ValidationFailed):
    """The repository URL is not one the cloud may clone (scheme, host, credentials, shape)."""

    code = "git_url_rejected"


class CloneFailedError(PerceoError):
    """git could not clone the repository (not found, no access, bad branch, network)."""

    code = "clone_failed"


class CloneLimitError(PerceoError):
    """The clone went over its size, file-count or time limit and was stopped."""

    code = "clone_limit_exceeded"


class LLMUnavailableError(LLMError):
    """The LLM could not be reached or kept failing (timeouts, 429, 5xx): worth retrying later."""

    code = "llm_unavailable"


class LLMOutputError(LLMError):
    """The LLM answered, but unusably (invalid JSON or schema even after a repair retry, refusal, 4xx)."""

    code = "llm_invalid_output"


class WorkflowNotFoundError(NotFoundError):
    code = "workflow_not_found"


class WorkflowStateMissingError(PerceoError):
    """A step's input state is not in the bundle store (expired, deleted, or an earlier step never wrote it)."""

    code = "workflow_state_missing"


class WorkflowBackendError(BackendUnavailableError):
    """Step Functions or the bundle store (S3) could not be reached or refused the call."""

    code = "workflow_backend_unavailable"


#: Errors a workflow step may raise that are worth retrying (by class name, as Step Functions sees them).
RETRYABLE_STEP_ERRORS: tuple[str, ...] = (
    "BackendUnavailableError",
    "WorkflowBackendError",
    "LLMUnavailableError",
)
