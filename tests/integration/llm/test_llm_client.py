"""StructuredLLM drives the real openai client against the fake OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest
from fakes.openai_server import FakeOpenAI, RecordedRequest, Reply
from llm_support import API_KEY, DAY, GOOD_ANSWER, FlowsAnswer, MakeLLM, flows_request, new_project_id

from perceo.errors import LLMError
from perceo.llm.concurrency import map_bounded
from perceo.llm.model import LLMCall, LLMRequest
from perceo.llm.pricing import estimate_cost
from perceo.llm.usage import InMemoryUsageStore
from perceo_cli.local.server import free_port


def only_call(usage: InMemoryUsageStore, project_id: str) -> LLMCall:
    calls = usage.recent(project_id, DAY)
    assert len(calls) == 1, calls
    return calls[0]


# --- success


def test_complete_returns_the_validated_model_and_asks_for_a_strict_schema(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    usage = InMemoryUsageStore()
    llm = make_llm(usage=usage)
    fake_openai.enqueue(Reply.json(GOOD_ANSWER, prompt_tokens=1000, completion_tokens=200))
    request = flows_request()

    answer = llm.complete(request, FlowsAnswer)

    assert answer == FlowsAnswer.model_validate(GOOD_ANSWER)
    [sent] = fake_openai.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    assert sent.body["model"] == "gpt-4.1-mini"
    assert sent.messages == [
        {"role": "system", "content": request.system_prompt},
        {"role": "user", "content": request.user_prompt},
    ]
    json_schema = sent.body["response_format"]["json_schema"]
    assert sent.body["response_format"]["type"] == "json_schema"
    assert (json_schema["name"], json_schema["strict"]) == ("flows", True)
    assert json_schema["schema"]["additionalProperties"] is False
    assert json_schema["schema"]["$defs"]["FlowItem"]["required"] == ["name", "pages", "priority"]

    call = only_call(usage, request.project_id)
    assert (call.outcome, call.cached, call.requests, call.unit) == ("ok", False, 1, "flows")
    assert (call.tokens_in, call.tokens_out) == (1000, 200)
    assert call.cost_usd == pytest.approx(estimate_cost("gpt-4.1-mini", 1000, 200))


def test_a_base_url_without_v1_works_too(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    llm = make_llm(base_url=f"http://127.0.0.1:{fake_openai.port}")
    fake_openai.enqueue(Reply.json(GOOD_ANSWER))

    llm.complete(flows_request(), FlowsAnswer)

    assert [r.path for r in fake_openai.requests] == ["/chat/completions"]


# --- transport retries


def test_a_rate_limited_call_waits_retry_after_then_succeeds(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]
) -> None:
    usage = InMemoryUsageStore()
    llm = make_llm(usage=usage)
    fake_openai.enqueue(Reply.rate_limited(retry_after="2"), Reply.json(GOOD_ANSWER))
    request = flows_request()

    answer = llm.complete(request, FlowsAnswer)

    assert answer.flows[0].name == "Checkout"
    assert len(fake_openai.requests) == 2
    assert sleeps == [2.0]
    assert only_call(usage, request.project_id).requests == 2


def test_retry_after_is_capped(fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]) -> None:
    fake_openai.enqueue(Reply.rate_limited(retry_after="86400"), Reply.json(GOOD_ANSWER))

    make_llm().complete(flows_request(), FlowsAnswer)

    assert sleeps == [60.0]


def test_without_retry_after_the_backoff_grows_exponentially(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]
) -> None:
    fake_openai.enqueue(Reply.rate_limited(), Reply.server_error(503), Reply.json(GOOD_ANSWER))

    make_llm(max_retries=3, random=lambda: 0.5).complete(flows_request(), FlowsAnswer)

    # base 0.5s doubling; half fixed, half jittered (random 0.5 → three quarters of the ceiling)
    assert sleeps == [0.375, 0.75]


def test_server_errors_until_the_retries_run_out_fail_with_details(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]
) -> None:
    usage = InMemoryUsageStore()
    llm = make_llm(usage=usage, max_retries=2, random=lambda: 0.0)
    fake_openai.enqueue(Reply.server_error(), Reply.server_error(502), Reply.server_error(), Reply.json(GOOD_ANSWER))
    request = flows_request(unit="steps:checkout")

    with pytest.raises(LLMError) as raised:
        llm.complete(request, FlowsAnswer)

    error = raised.value
    assert "HTTP 500" in error.message and "steps:checkout" in error.message
    assert error.details["status"] == 500
    assert error.details["requests"] == 3
    assert error.details["reason"] == "http_error"
    assert error.details["unit"] == "steps:checkout"
    assert len(fake_openai.requests) == 3
    assert fake_openai.pending == 1
    assert sleeps == [0.25, 0.5]
    assert only_call(usage, request.project_id).outcome == "failed"


def test_client_errors_are_not_retried(fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]) -> None:
    fake_openai.enqueue(Reply.error(400, "response_format json_schema is not supported by this model"))

    with pytest.raises(LLMError, match="HTTP 400.*not supported") as raised:
        make_llm().complete(flows_request(), FlowsAnswer)

    assert raised.value.details["requests"] == 1
    assert sleeps == []


def test_a_timed_out_request_is_retried(fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]) -> None:
    fake_openai.enqueue(Reply.json(GOOD_ANSWER).after(30), Reply.json(GOOD_ANSWER))

    answer = make_llm(timeout_s=0.5).complete(flows_request(), FlowsAnswer)

    assert answer.flows[0].pages == ["/cart", "/pay"]
    assert len(fake_openai.requests) == 2
    assert len(sleeps) == 1


def test_timeouts_until_the_retries_run_out_say_so(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply.json(GOOD_ANSWER).after(30), Reply.json(GOOD_ANSWER).after(30))

    with pytest.raises(LLMError, match="timeout") as raised:
        make_llm(timeout_s=0.3, max_retries=1).complete(flows_request(), FlowsAnswer)

    assert raised.value.details["reason"] == "timeout"
    assert raised.value.details["requests"] == 2


def test_a_refused_connection_is_retried_then_fails(make_llm: MakeLLM, sleeps: list[float]) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1"

    with pytest.raises(LLMError, match="connection error") as raised:
        make_llm(base_url=closed, max_retries=2).complete(flows_request(), FlowsAnswer)

    assert raised.value.details["reason"] == "connection_error"
    assert raised.value.details["requests"] == 3
    assert len(sleeps) == 2


# --- unusable answers: one repair retry


def assert_repair_request(request: RecordedRequest, bad_content: str, *problem_words: str) -> None:
    roles = [m["role"] for m in request.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert request.messages[2]["content"] == bad_content
    repair = request.messages[3]["content"]
    assert "corrected JSON" in repair
    for word in problem_words:
        assert word in repair
    assert request.schema_name == "flows"


def test_malformed_json_gets_one_repair_retry_that_succeeds(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    usage = InMemoryUsageStore()
    bad = '{"flows": [{"name": "Checkout", "pages": ["/cart"],}'
    fake_openai.enqueue(
        Reply(content=bad, prompt_tokens=100, completion_tokens=10),
        Reply.json(GOOD_ANSWER, prompt_tokens=150, completion_tokens=20),
    )
    request = flows_request()

    answer = make_llm(usage=usage).complete(request, FlowsAnswer)

    assert answer == FlowsAnswer.model_validate(GOOD_ANSWER)
    first, repair = fake_openai.requests
    assert_repair_request(repair, bad, "not valid JSON")
    assert repair.messages[:2] == first.messages
    call = only_call(usage, request.project_id)
    assert (call.outcome, call.requests, call.tokens_in, call.tokens_out) == ("repaired", 2, 250, 30)


def test_malformed_json_twice_fails_the_unit_with_details(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    usage = InMemoryUsageStore()
    fake_openai.enqueue(Reply.text("Sure! Here are the flows:"), Reply.text("{nope"), Reply.json(GOOD_ANSWER))
    request = flows_request(unit="flows-from-graph")

    with pytest.raises(LLMError, match="still invalid after a repair retry") as raised:
        make_llm(usage=usage).complete(request, FlowsAnswer)

    details = raised.value.details
    assert details["reason"] == "invalid_output"
    assert details["unit"] == "flows-from-graph"
    assert details["requests"] == 2
    assert len(details["errors"]) == 2 and all("not valid JSON" in e for e in details["errors"])
    assert details["preview"] == ["Sure! Here are the flows:", "{nope"]
    assert fake_openai.pending == 1  # exactly one repair retry, no third attempt
    assert only_call(usage, request.project_id).outcome == "invalid_output"


def test_truncated_json_is_repaired_and_the_repair_says_it_was_cut_off(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    truncated = Reply.truncated(GOOD_ANSWER, keep=0.5)
    fake_openai.enqueue(truncated, Reply.json(GOOD_ANSWER))

    answer = make_llm().complete(flows_request(), FlowsAnswer)

    assert answer.flows[0].name == "Checkout"
    assert truncated.content is not None
    assert_repair_request(fake_openai.requests[1], truncated.content, "cut off at the token limit")


def test_json_that_does_not_match_the_schema_is_repaired_with_the_validation_errors(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    wrong = {"flows": [{"name": 42, "pages": [], "priority": "urgent"}]}
    fake_openai.enqueue(Reply.json(wrong), Reply.json(GOOD_ANSWER))

    make_llm().complete(flows_request(), FlowsAnswer)

    assert_repair_request(
        fake_openai.requests[1],
        json.dumps(wrong),
        "does not match the schema",
        "flows.0.name",
        "flows.0.pages",
        "flows.0.priority",
    )


def test_schema_invalid_twice_fails_naming_the_fields(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply.json({"flows": [{"name": "x"}]}), Reply.json({"items": []}))

    with pytest.raises(LLMError) as raised:
        make_llm().complete(flows_request(), FlowsAnswer)

    first, second = raised.value.details["errors"]
    assert "flows.0.pages" in first
    assert "flows: Field required" in second and "items: Extra inputs are not permitted" in second


def test_json_wrapped_in_markdown_fences_needs_no_repair(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply.text(f"```json\n{json.dumps(GOOD_ANSWER)}\n```"))

    make_llm().complete(flows_request(), FlowsAnswer)

    assert len(fake_openai.requests) == 1


def test_a_refusal_is_never_taken_as_an_answer(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply(content=None, refusal="I can't help with that."), Reply.text(""))

    with pytest.raises(LLMError) as raised:
        make_llm().complete(flows_request(), FlowsAnswer)

    assert raised.value.details["errors"] == ["the model refused: I can't help with that.", "the answer was empty"]


# --- servers without strict structured output


def test_the_answer_is_parsed_by_the_openai_helper_into_the_model(fake_openai: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake_openai.enqueue(Reply.json(GOOD_ANSWER))

    make_llm().complete(flows_request(), FlowsAnswer)

    [sent] = fake_openai.requests
    assert sent.headers["x-stainless-helper-method"] == "chat.completions.parse"
    assert (sent.response_format_type, sent.schema_name) == ("json_schema", "flows")


def test_a_server_refusing_json_schema_is_asked_in_json_mode_with_the_schema_in_the_prompt(
    fake_openai: FakeOpenAI, make_llm: MakeLLM, sleeps: list[float]
) -> None:
    usage = InMemoryUsageStore()
    fake_openai.enqueue(Reply.unsupported_format("json_schema"), Reply.json(GOOD_ANSWER))
    request = flows_request()

    answer = make_llm(usage=usage).complete(request, FlowsAnswer)

    assert answer == FlowsAnswer.model_validate(GOOD_ANSWER)
    refused, asked = fake_openai.requests
    assert refused.response_format_type == "json_schema"
    assert asked.response_format_type == "json_object"
    assert asked.system_prompt.startswith(request.system_prompt)
    assert "`flows`" in asked.system_prompt and '"FlowItem"' in asked.system_prompt
    assert asked.messages[1:] == refused.messages[1:]
    assert sleeps == []  # not a transient failure: no backoff
    assert only_call(usage, request.project_id).requests == 2


def test_a_server_refusing_every_format_gets_the_schema_in_the_prompt_only_and_is_remembered(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    fake_openai.enqueue(
        Reply.unsupported_format("json_schema"),
        Reply.unsupported_format("json_object"),
        Reply.text(f"Here you go:\n```json\n{json.dumps(GOOD_ANSWER)}\n```"),
        Reply.json(GOOD_ANSWER),
    )
    llm = make_llm()

    llm.complete(flows_request(), FlowsAnswer)
    llm.complete(flows_request(), FlowsAnswer)

    formats = [r.response_format_type for r in fake_openai.requests]
    assert formats == ["json_schema", "json_object", None, None]


def test_a_bad_request_about_another_parameter_is_not_a_format_fallback(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    fake_openai.enqueue(Reply.error(400, "Unknown model", param="model"))

    with pytest.raises(LLMError, match="HTTP 400.*Unknown model") as raised:
        make_llm().complete(flows_request(), FlowsAnswer)

    assert raised.value.details["requests"] == 1
    assert [r.response_format_type for r in fake_openai.requests] == ["json_schema"]


# --- many units in parallel, answered by a responder


def test_parallel_units_get_their_own_answers_and_one_failure_stays_its_own(
    fake_openai: FakeOpenAI, make_llm: MakeLLM
) -> None:
    def responder(request: RecordedRequest) -> Reply:
        original_prompt = request.messages[1]["content"]  # the repair retry appends messages after it
        if "unit=broken" in original_prompt:
            return Reply.text("not json")
        page = original_prompt.split("page=", 1)[1].split()[0]
        return Reply.json({"flows": [{"name": f"Flow of {page}", "pages": [page], "priority": None}]})

    fake_openai.respond_with(responder)
    llm = make_llm()
    project_id = new_project_id()
    pages = ["/a", "/b", "/c", "/d", "/e"]
    requests = [
        LLMRequest(
            system_prompt="Find flows.",
            user_prompt=f"page={page} unit={'broken' if page == '/c' else 'fine'}",
            schema_name="flows",
            project_id=project_id,
            unit=f"steps:{page}",
        )
        for page in pages
    ]

    outcomes = map_bounded(lambda r: llm.complete(r, FlowsAnswer), requests, max_concurrency=llm.max_concurrency)

    assert [o.ok for o in outcomes] == [True, True, False, True, True]
    assert [o.unwrap().flows[0].pages for o in outcomes if o.ok] == [["/a"], ["/b"], ["/d"], ["/e"]]
    assert isinstance(outcomes[2].error, LLMError)
    assert outcomes[2].error.details["unit"] == "steps:/c"
    assert len(fake_openai.requests) == 6  # five units plus one repair retry
