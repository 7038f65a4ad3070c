"""map_bounded: bounded parallelism, input order kept, every error kept in its outcome."""

from __future__ import annotations

import threading

import pytest

from perceo.errors import LLMError
from perceo.llm.concurrency import map_bounded


def test_results_come_back_in_input_order() -> None:
    outcomes = map_bounded(lambda n: n * n, range(20), max_concurrency=4)

    assert [o.item for o in outcomes] == list(range(20))
    assert [o.unwrap() for o in outcomes] == [n * n for n in range(20)]


def test_a_failing_item_keeps_its_error_and_the_others_finish() -> None:
    def work(n: int) -> int:
        if n == 2:
            raise LLMError("unit 2 failed", details={"unit": "2"})
        return n

    outcomes = map_bounded(work, [1, 2, 3], max_concurrency=2)

    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, LLMError)
    assert outcomes[1].error.details == {"unit": "2"}
    with pytest.raises(LLMError):
        outcomes[1].unwrap()


def test_at_most_max_concurrency_items_run_at_once() -> None:
    lock = threading.Lock()
    active = 0
    peak = 0
    # Each pair of workers must meet: this fails (BrokenBarrierError in the outcome) if fewer than 2 run at once.
    barrier = threading.Barrier(2, timeout=10)

    def work(n: int) -> int:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        barrier.wait()
        with lock:
            active -= 1
        return n

    outcomes = map_bounded(work, range(8), max_concurrency=2)

    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert peak == 2


def test_no_items_means_no_outcomes() -> None:
    assert map_bounded(lambda n: n, [], max_concurrency=3) == []


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        map_bounded(lambda n: n, [1], max_concurrency=0)
