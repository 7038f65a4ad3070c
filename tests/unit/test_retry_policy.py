"""Backoff with jitter and Retry-After parsing: the waiting policy of the LLM client and the CLI API client."""

from __future__ import annotations

import pytest

from perceo.retry import Backoff, is_retryable_status, retry_after_seconds


def test_backoff_doubles_per_attempt_with_half_of_it_jittered() -> None:
    backoff = Backoff(base_s=1.0, cap_s=100.0)

    lowest = [backoff.delay(n, retry_after_s=None, random=lambda: 0.0) for n in range(4)]
    highest = [backoff.delay(n, retry_after_s=None, random=lambda: 1.0) for n in range(4)]

    assert lowest == [0.5, 1.0, 2.0, 4.0]
    assert highest == [1.0, 2.0, 4.0, 8.0]


def test_backoff_is_capped() -> None:
    backoff = Backoff(base_s=1.0, cap_s=5.0)

    assert backoff.delay(10, retry_after_s=None, random=lambda: 1.0) == 5.0


def test_retry_after_wins_over_backoff_up_to_its_cap() -> None:
    backoff = Backoff(retry_after_cap_s=30.0)

    assert backoff.delay(0, retry_after_s=7.0, random=lambda: 1.0) == 7.0
    assert backoff.delay(0, retry_after_s=3600.0, random=lambda: 1.0) == 30.0
    assert backoff.delay(0, retry_after_s=-1.0, random=lambda: 1.0) == 0.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"Retry-After": "Sat, 21 Nov 2026 10:00:30 GMT"}, 30.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_seconds_millis_or_a_date(headers: dict[str, str], expected: float | None) -> None:
    now = 1_795_255_200.0  # 2026-11-21T10:00:00Z

    assert retry_after_seconds(headers, now=lambda: now) == expected


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(429, True), (500, True), (503, True), (408, True), (400, False), (401, False), (404, False), (422, False)],
)
def test_only_transient_statuses_are_retried(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable
