"""Bounded LLM calls, against the real `openai` client and the fake server on loopback: every answer has a
`max_tokens`, every call (retries and the repair retry included) ends by its deadline, retries are told as
progress, and an answer that stays unusable is an LLM output error naming the model, the call and an excerpt."""

from __future__ import annotations

import dataclasses
import time

import pytest
from fakes.openai_server import FakeOpenAI, Reply
from llm_support import GOOD_ANSWER, FlowsAnswer, MakeLLM, flows_request

from perceo.errors import LLMError


def test_every_request_carries_the_answer_bound(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply.text("{nope"), Reply.json(GOOD_ANSWER))
    request = dataclasses.replace(flows_request(), max_tokens=256)

    make_llm().complete(request, FlowsAnswer)

    assert [r.body["max_tokens"] for r in fake_openai.requests] == [256, 256]  # the repair retry too


def test_retries_are_told_with_the_attempt_and_the_wait(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]
) -> None:
    fake_openai.enqueue(Reply.rate_limited(retry_after="4"), Reply.server_error(500), Reply.json(GOOD_ANSWER))
    told: list[str] = []
    request = dataclasses.replace(flows_request(unit="flows"), on_retry=told.append)

    make_llm(max_retries=2).complete(request, FlowsAnswer)

    assert told[0] == "flows: HTTP 429; attempt 2 of 3, waiting 4 s"
    assert told[1].startswith("flows: HTTP 500; attempt 3 of 3, waiting ")
    assert len(told) == 2 and sleeps[0] == 4


def test_a_repair_retry_is_told_too(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply.truncated(GOOD_ANSWER), Reply.json(GOOD_ANSWER))
    told: list[str] = []

    make_llm().complete(dataclasses.replace(flows_request(unit="flows"), on_retry=told.append), FlowsAnswer)

    assert told == [told[0]] and told[0].startswith("flows: unusable answer (not valid JSON (cut off")
    assert told[0].endswith("asking once for a repair")


@pytest.mark.parametrize(
    ("first", "second", "problem"),
    [
        (Reply.truncated(GOOD_ANSWER), Reply.truncated(GOOD_ANSWER, keep=0.3), "not valid JSON (cut off"),
        (Reply.text("I think the flows are checkout and login."), Reply.text("Sorry!"), "not valid JSON"),
        (Reply.json({"flows": [{"name": 1}]}), Reply.json({"pages": []}), "does not match the schema"),
    ],
    ids=["truncated", "garbage", "wrong-schema"],
)
def test_an_answer_still_unusable_after_the_repair_is_an_output_error_naming_model_call_and_excerpt(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, first: Reply, second: Reply, problem: str
) -> None:
    fake_openai.enqueue(first, second)

    with pytest.raises(LLMError) as raised:
        make_llm(model="local-gemma").complete(flows_request(unit="flows"), FlowsAnswer)

    message = raised.value.message
    assert message.startswith("LLM output error: local-gemma's answer for flows is still invalid after a repair")
    assert problem in message
    assert second.content is not None and len(second.content) < 80
    assert message.endswith(f"the answer began {second.content!r}")
    assert raised.value.details["reason"] == "invalid_output" and raised.value.details["requests"] == 2
    assert fake_openai.pending == 0


def test_a_hanging_server_ends_at_the_deadline_not_after_every_retry(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    fake_openai.enqueue(*[Reply.json(GOOD_ANSWER).after(20.0) for _ in range(4)])
    request = dataclasses.replace(flows_request(unit="flows"), deadline=time.monotonic() + 2.0)
    started = time.monotonic()

    with pytest.raises(LLMError) as raised:
        make_llm(max_retries=3, timeout_s=30.0).complete(request, FlowsAnswer)

    # Without the deadline: 4 attempts x 30 s. With it, the first request's timeout is cut to what is left and
    # no retry starts after the deadline.
    assert raised.value.details["reason"] in {"timeout", "deadline"}
    assert raised.value.details["requests"] == 1
    assert time.monotonic() - started < 20.0
    assert "flows" in raised.value.message


def test_a_call_whose_stage_has_no_time_left_sends_nothing(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    request = dataclasses.replace(flows_request(unit="steps:checkout"), deadline=time.monotonic() - 1)

    with pytest.raises(LLMError, match="time limit ran out") as raised:
        make_llm(model="m1").complete(request, FlowsAnswer)

    assert raised.value.details["reason"] == "deadline"
    assert "m1" in raised.value.message and "bootstrap.llmStageTimeoutS" in raised.value.message
    assert fake_openai.requests == []


def test_a_cached_rerun_of_a_model_without_a_price_stays_unknown_not_free(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    from datetime import date

    from llm_support import DAY

    from perceo.llm.cache import InMemoryResponseCache
    from perceo.llm.usage import InMemoryUsageStore, usage_report
    from perceo_cli.commands.usage import _cost

    usage, cache = InMemoryUsageStore(), InMemoryResponseCache(ttl_s=3600)
    fake_openai.enqueue(Reply.json(GOOD_ANSWER))
    request = flows_request()
    llm = make_llm(model="my-local-gemma", usage=usage, cache=cache)
    llm.complete(request, FlowsAnswer)
    llm.complete(request, FlowsAnswer)  # from the cache

    report = usage_report(usage, request.project_id, 1, today=date.fromisoformat(DAY))

    assert (report.totals.calls, report.totals.cached_calls) == (2, 1)
    assert report.totals.cost_usd is None and report.rows[0].cost_usd is None
    assert _cost(report.totals.cost_usd, report.totals.unpriced_calls) == "unknown"
    # A priced model's cache hit is free, and a sum that misses unpriced calls says so.
    assert _cost(0.0125, 0) == "$0.0125" and _cost(0.0125, 1) == "$0.0125 + unknown"
