"""Keep raw API keys out of logs, even when someone logs a header or a payload by mistake.

Perceo's own code never passes a raw key to a logger; this filter is the second line of defence. Attach it to
every log handler of an entry point (the authorizer, the API Lambdas, the CLI):

    handler.addFilter(ApiKeyRedactionFilter())
"""

from __future__ import annotations

import logging
import re

# `prc_` + the 8 prefix characters stay (they identify the key, as `keys list` shows them); the rest goes.
_KEY_LIKE = re.compile(r"(prc_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+")
REDACTED = "[redacted]"

_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact_api_keys(text: str) -> str:
    """`text` with every key-like token cut to its 12-character display prefix."""
    return _KEY_LIKE.sub(lambda m: m.group(1) + REDACTED, text)


class ApiKeyRedactionFilter(logging.Filter):
    """Rewrites a record's message, arguments, exception text and string extras so no raw key remains."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_api_keys(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            redacted_exc = redact_api_keys(record.exc_text)
            if redacted_exc != record.exc_text:
                # The exception object still holds the key; formatters that re-format exc_info would print it.
                record.exc_text, record.exc_info = redacted_exc, None
        if record.stack_info:
            record.stack_info = redact_api_keys(record.stack_info)
        for attribute, value in list(vars(record).items()):
            if attribute not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, attribute, redact_api_keys(value))
        return True
