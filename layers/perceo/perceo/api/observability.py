"""Logging and tracing set-up shared by the Lambda entry points: structured logs for the domain, raw API keys
redacted, and the X-Ray tracer only where tracing is on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

DOMAIN_LOGGER = "perceo"

HandlerT = TypeVar("HandlerT", bound=Callable[..., object])


def instrument_logger(logger: Logger) -> Logger:
    """Route the domain's `logging` records through `logger`'s JSON handler and redact API keys everywhere.

    The redaction filter sits on the handlers (not the loggers), so records propagated from child loggers such
    as `perceo.auth.service` are redacted too. Returns `logger` for `logger = instrument_logger(Logger())`.
    """
    from perceo.auth.redaction import ApiKeyRedactionFilter

    domain = logging.getLogger(DOMAIN_LOGGER)
    # With another service name the domain logger is not this Logger: give it this Logger's handler, unless it
    # already has one (several functions in one process, as in the local cloud, must not take it from each other).
    if logger.name != DOMAIN_LOGGER and not domain.handlers:
        from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

        copy_config_to_registered_loggers(source_logger=logger, include={DOMAIN_LOGGER})
    for handler in [*logger.handlers, *domain.handlers, *logging.getLogger().handlers]:
        if not any(isinstance(existing, ApiKeyRedactionFilter) for existing in handler.filters):
            handler.addFilter(ApiKeyRedactionFilter())
    return logger


class HandlerTracer(Protocol):
    """What an entry point uses of a tracer: `@tracer.capture_lambda_handler` on `lambda_handler`."""

    def capture_lambda_handler(self, handler: HandlerT) -> HandlerT: ...


class _Untraced:
    """Tracing off: the handler runs as it is, and the X-Ray SDK is never imported."""

    def capture_lambda_handler(self, handler: HandlerT) -> HandlerT:
        return handler


def tracing_enabled(environ: Mapping[str, str]) -> bool:
    """powertools' rule: on in Lambda (`LAMBDA_TASK_ROOT`), off under `sam local` / chalice or when
    `POWERTOOLS_TRACE_DISABLED` is true."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in ("1", "true", "yes", "on"):
        return False
    local = environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE")
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not local


def lambda_tracer(environ: Mapping[str, str]) -> HandlerTracer:
    """powertools' X-Ray `Tracer` when tracing is on for the function with this environment, else a stand-in that
    changes nothing (`tracer = lambda_tracer(os.environ)`).

    Building a `Tracer` imports the X-Ray SDK, and botocore with it (about 0.3 s of a cold start), even when it
    then finds tracing off; so it is built only when it will trace. The template sets `POWERTOOLS_TRACE_DISABLED`
    (Lambda's active tracing still records every invocation and the API Gateway / Step Functions hops): the SDK's
    handler subsegment is not worth its cold start on the API's request path; set the variable to "false" on a
    function to get it.
    """
    if not tracing_enabled(environ):
        return _Untraced()
    from aws_lambda_powertools import Tracer

    return cast(HandlerTracer, Tracer())
