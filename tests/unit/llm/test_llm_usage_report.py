"""Usage aggregation per project, day and model, and the report `perceo usage` prints."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from perceo.llm.model import CallOutcome, LLMCall
from perceo.llm.usage import InMemoryUsageStore, day_of, usage_report


def at(day: str, hour: int = 12) -> int:
    parsed = datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)
    return int(parsed.timestamp() * 1000)


def call(
    day: str,
    *,
    model: str = "gpt-4.1-mini",
    project_id: str = "proj-a",
    outcome: CallOutcome = "ok",
    tokens: tuple[int, int] = (100, 20),
    cost: float | None = 0.001,
) -> LLMCall:
    return LLMCall(
        project_id=project_id,
        model=model,
        unit="flows",
        schema_name="flows",
        outcome=outcome,
        cached=outcome == "cached",
        tokens_in=tokens[0],
        tokens_out=tokens[1],
        latency_ms=40,
        cost_usd=cost,
        requests=0 if outcome == "cached" else 1,
        at=at(day),
    )


def test_day_is_the_utc_date_of_the_call() -> None:
    assert day_of(at("2026-03-01", hour=0)) == "2026-03-01"
    assert day_of(at("2026-03-01", hour=23)) == "2026-03-01"


def test_calls_aggregate_per_day_and_model() -> None:
    store = InMemoryUsageStore()
    store.record(call("2026-03-02", tokens=(100, 20), cost=0.001))
    store.record(call("2026-03-02", tokens=(50, 5), cost=0.002, outcome="repaired"))
    store.record(call("2026-03-02", tokens=(0, 0), cost=0.0, outcome="cached"))
    store.record(call("2026-03-02", outcome="failed", tokens=(0, 0), cost=0.0))
    store.record(call("2026-03-02", model="gpt-4o"))
    store.record(call("2026-03-01"))

    rows = store.daily("proj-a", "2026-03-02")

    assert [r.model for r in rows] == ["gpt-4.1-mini", "gpt-4o"]
    mini = rows[0]
    assert (mini.calls, mini.cached_calls, mini.failed_calls) == (4, 1, 1)
    assert (mini.tokens_in, mini.tokens_out) == (150, 25)
    assert mini.cost_usd == pytest.approx(0.003)


def test_projects_do_not_see_each_others_usage() -> None:
    store = InMemoryUsageStore()
    store.record(call("2026-03-02", project_id="proj-a"))

    assert store.daily("proj-b", "2026-03-02") == []


def test_a_model_without_a_price_has_a_null_cost() -> None:
    store = InMemoryUsageStore()
    store.record(call("2026-03-02", model="local-llama", cost=None))

    [row] = store.daily("proj-a", "2026-03-02")

    assert row.cost_usd is None
    assert row.unpriced_calls == 1


def test_report_covers_the_last_n_days_newest_first_with_totals() -> None:
    store = InMemoryUsageStore()
    store.record(call("2026-03-05", cost=0.01))
    store.record(call("2026-03-04", model="local-llama", cost=None))
    store.record(call("2026-03-03", cost=0.02))  # outside a 2-day window
    store.record(call("2026-03-05", project_id="proj-b"))

    report = usage_report(store, "proj-a", 2, today=date(2026, 3, 5))

    assert (report.since, report.until) == ("2026-03-04", "2026-03-05")
    assert [(r.day, r.model) for r in report.rows] == [("2026-03-05", "gpt-4.1-mini"), ("2026-03-04", "local-llama")]
    assert report.totals.calls == 2
    assert report.totals.cost_usd == pytest.approx(0.01)
    assert report.totals.unpriced_calls == 1
    dumped = report.model_dump()
    assert set(dumped) == {"projectId", "days", "since", "until", "rows", "totals"}
    assert "costUsd" in dumped["rows"][0]


def test_an_empty_report_has_zero_totals_and_no_cost() -> None:
    report = usage_report(InMemoryUsageStore(), "proj-a", 7, today=date(2026, 3, 5))

    assert report.rows == []
    assert report.totals.calls == 0
    assert report.totals.cost_usd is None


def test_recent_calls_are_newest_first_and_capped() -> None:
    store = InMemoryUsageStore(recent_limit=3)
    for n in range(5):
        store.record(call("2026-03-02", tokens=(n, 0)))

    recent = store.recent("proj-a", "2026-03-02")

    assert [c.tokens_in for c in recent] == [4, 3, 2]
