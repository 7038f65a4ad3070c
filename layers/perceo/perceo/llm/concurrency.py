"""Run independent LLM units in parallel, at most N at a time, and keep every outcome."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Outcome(Generic[ItemT, ResultT]):
    """What became of one item: its result, or the exception it raised (never both)."""

    item: ItemT
    result: ResultT | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def unwrap(self) -> ResultT:
        """The result, or the item's error raised again."""
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # ok: a successful call may return None by design


def map_bounded(
    fn: Callable[[ItemT], ResultT], items: Iterable[ItemT], max_concurrency: int
) -> list[Outcome[ItemT, ResultT]]:
    """Call `fn` on every item with at most `max_concurrency` running at once.

    Returns one `Outcome` per item in input order. An item's exception is kept in its outcome, not raised:
    one failed unit does not stop the others; callers decide what a failure means (usually a warning).
    """
    if max_concurrency < 1:
        raise ValueError("max_concurrency must be at least 1")
    work = list(items)
    if not work:
        return []

    def run(item: ItemT) -> Outcome[ItemT, ResultT]:
        try:
            return Outcome(item=item, result=fn(item))
        except Exception as exc:  # noqa: BLE001 - kept in the outcome, surfaced by the caller
            return Outcome(item=item, error=exc)

    with ThreadPoolExecutor(max_workers=min(max_concurrency, len(work)), thread_name_prefix="perceo-llm") as pool:
        return list(pool.map(run, work))
