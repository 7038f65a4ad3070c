"""Typed domain errors.

Domain code raises these; the CLI and the API each map them in one place (exit codes, HTTP statuses).
Nothing matches errors by their message text.
"""

from __future__ import annotations

from typing import Any


class PerceoError(Exception):
    """Base of every error Perceo reports to a user."""

    code = "internal_error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ConfigError(PerceoError):
    """A configuration file or setting is invalid. `where` names the file and the key path."""

    code = "invalid_config"


class ValidationFailed(PerceoError):
    code = "validation_failed"


class NotFoundError(PerceoError):
    code = "not_found"


class ProjectNotFoundError(NotFoundError):
    code = "project_not_found"


class FlowNotFoundError(NotFoundError):
    code = "flow_not_found"


class AnalysisNotFoundError(NotFoundError):
    code = "analysis_not_found"


class PersonaNotFoundError(NotFoundError):
    code = "persona_not_found"


class InsightNotFoundError(NotFoundError):
    code = "insight_not_found"


class ConflictError(PerceoError):
    code = "conflict"


class InvalidRefError(PerceoError):
    """A git ref does not exist or cannot be resolved."""

    code = "invalid_ref"


class ShallowCloneError(InvalidRefError):
    """The merge base is missing because the clone is shallow."""

    code = "shallow_clone"


class GitTimeoutError(PerceoError):
    """A git call did not finish within its timeout (`observer.git.localTimeoutSeconds`, or
    `observer.git.fetchTimeoutSeconds` for a fetch); the message says what to do."""

    code = "git_timeout"


class NotAGitRepositoryError(PerceoError):
    code = "not_a_git_repository"


class AuthenticationError(PerceoError):
    """No credentials, or credentials that are not valid (HTTP 401)."""

    code = "unauthenticated"


class PermissionDeniedError(PerceoError):
    """Valid credentials without the right scope or for another project (HTTP 403)."""

    code = "forbidden"


class RateLimitedError(PerceoError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, details=details)
        self.retry_after_s = retry_after_s


class PayloadTooLargeError(PerceoError):
    code = "payload_too_large"


class BadRequestError(PerceoError):
    """A request that cannot be read at all: a body that is not UTF-8, JSON nested too deeply, a NUL character
    (HTTP 400). A readable request with wrong values is ValidationFailed (422)."""

    code = "bad_request"


class UnsupportedMediaTypeError(PerceoError):
    """A request body that is not JSON by its Content-Type (HTTP 415)."""

    code = "unsupported_media_type"


class BackendUnavailableError(PerceoError):
    """A store (graph, Redis) or a remote API cannot be reached.

    `dependency` names it for clients ("the flow graph", "Redis"): the API's 503 says which dependency failed but
    never where it lives, so the message (which may hold an address) stays in the log.
    """

    code = "backend_unavailable"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, dependency: str | None = None) -> None:
        super().__init__(message, details=details)
        self.dependency = dependency


class LLMError(PerceoError):
    code = "llm_error"


# Coordinator: running tests and flows


class RunnerNotInstalledError(PerceoError):
    """The test runner (Playwright, Cypress, pytest, a configured command) or the browser is not installed."""

    code = "runner_not_installed"


class TestMappingError(ValidationFailed):
    """The flow -> test mapping in the config names files, globs or flows that do not exist."""

    __test__ = False  # not a pytest test class
    code = "invalid_test_mapping"


class InvalidReportError(ValidationFailed):
    """A JUnit XML or Playwright JSON report that cannot be read."""

    code = "invalid_report"


class BaseUrlUnreachableError(PerceoError):
    """The app under test refuses connections (or does not answer) at the base URL."""

    code = "base_url_unreachable"
