from __future__ import annotations

import logging

import pytest

from perceo.auth import ApiKeyRedactionFilter, generate_key, redact_api_keys


def test_redaction_keeps_the_prefix_and_drops_the_secret() -> None:
    key = generate_key()

    text = redact_api_keys(f"Authorization: Bearer {key}; next")

    assert key not in text and key[12:] not in text
    assert f"{key[:12]}[redacted]; next" in text


def test_the_filter_redacts_messages_arguments_extras_and_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    key = generate_key()
    logger = logging.getLogger("tests.auth.redaction")
    caplog.handler.addFilter(ApiKeyRedactionFilter())
    caplog.set_level(logging.DEBUG, logger=logger.name)

    logger.info("header was %s", key)
    logger.warning("payload", extra={"api_key": key})
    try:
        raise ValueError(f"bad key {key}")
    except ValueError:
        logger.exception("failed")

    assert key not in caplog.text
    assert key[:12] + "[redacted]" in caplog.text
    assert all(key not in str(vars(record)) for record in caplog.records)
