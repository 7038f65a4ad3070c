"""Logging set-up shared by the Lambda entry points: structured logs for the domain, raw API keys redacted."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

DOMAIN_LOGGER = "perceo"


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
