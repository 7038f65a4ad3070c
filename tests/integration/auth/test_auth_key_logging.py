from __future__ import annotations

import logging

import pytest
from auth_redis_testkit import SteppedClock, unique_project

from perceo.auth import ApiKeyService
from perceo.errors import AuthenticationError, ValidationFailed


def test_the_raw_key_never_reaches_the_logs(
    service: ApiKeyService, clock: SteppedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    project = unique_project()

    raw, key = service.create(project, "ci", ["flows:read"], created_by="user-1")
    service.authenticate(raw, ip="203.0.113.1", user_agent="perceo-cli/1.0")
    forged = raw[:12] + ("A" if raw[12] != "A" else "B") + raw[13:]
    errors: list[Exception] = []
    for attempt in (forged, raw[:-1], raw + "x"):
        with pytest.raises(AuthenticationError) as caught:
            service.authenticate(attempt)
        errors.append(caught.value)
    with pytest.raises(ValidationFailed) as pasted:
        service.revoke(project, raw, reason=None, actor="user-1")  # someone pastes the whole key
    errors.append(pasted.value)
    service.revoke(project, key.prefix, reason="done", actor="user-1")
    with pytest.raises(AuthenticationError) as revoked:
        service.authenticate(raw)
    errors.append(revoked.value)

    secret_part = raw[12:]
    assert key.prefix in caplog.text  # the logs name the key by its prefix, so this test sees real records
    assert secret_part not in caplog.text and forged[12:] not in caplog.text
    assert all(secret_part not in str(vars(record)) for record in caplog.records)
    assert all(secret_part not in f"{error} {error.details}" for error in errors)  # type: ignore[attr-defined]
    assert all(secret_part not in entry.model_dump_json() for entry in service.audit(project))
