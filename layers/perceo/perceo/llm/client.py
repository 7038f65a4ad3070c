"""`StructuredLLM`: one validated pydantic object per request, through the `openai` client.

Any OpenAI-compatible server works (OpenAI, OpenRouter, a gateway, llama.cpp). The answer is asked for with
the client's structured-output helper (`chat.completions.parse` with the pydantic model), which sends a strict
JSON schema and parses the reply into the model. A server that refuses `response_format: json_schema` (HTTP
400 naming the `response_format` parameter) is asked again in JSON mode, then with the schema in the prompt
only, and remembered as such. Replies the helper cannot parse (Markdown fences, prose around the JSON) are
read leniently from the raw answer. Transport failures (429, 5xx, timeouts, connection errors) are retried by
tenacity with `perceo.retry.Backoff` (injectable sleep and randomness, every request counted in telemetry).
An unusable answer (not JSON, cut off, not matching the schema) gets one repair retry; then the unit fails
with `LLMError` naming the model, the call and the start of the answer. Each call's answer is bounded
(`LLMRequest.max_tokens`) and so is its time (`LLMRequest.deadline`: no request, retry or wait goes past it);
retries are told to `LLMRequest.on_retry` ("attempt 2 of 4, waiting 4 s"). Every call is recorded as usage
telemetry, cache hits included.
"""

from __future__ import annotations

import json
import logging
import random as _random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, TypeVar

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from perceo.errors import BackendUnavailableError, LLMError
from perceo.llm.cache import cache_key
from perceo.llm.model import CallOutcome, LLMCall, LLMRequest
from perceo.llm.port import ResponseCache, UsageStore
from perceo.llm.pricing import estimate_cost
from perceo.llm.schema import response_format
from perceo.llm.settings import LLMSettings
from perceo.models.common import now_ms
from perceo.retry import Backoff, is_retryable_status, retry_after_seconds

T = TypeVar("T", bound=BaseModel)

logger = logging.getLogger(__name__)

_MAX_ERRORS_SHOWN = 8
_PREVIEW_CHARS = 400

#: How the answer's shape is asked for, strongest first; a server that refuses one gets the next.
AnswerFormat = Literal["json_schema", "json_object", "prompt"]
_FORMATS: tuple[AnswerFormat, ...] = ("json_schema", "json_object", "prompt")

#: Added to the system prompt when the server does not take the schema as `response_format`.
SCHEMA_INSTRUCTION = (
    "\n\nReply with one JSON object only (no prose, no Markdown fences) that matches this JSON schema, "
    "named `{schema_name}`:\n{schema}"
)

REPAIR_INSTRUCTION = (
    "Your previous reply could not be used: {error}\n"
    "Reply again with only the corrected JSON object that matches the `{schema_name}` schema: "
    "complete, valid JSON, no prose, no Markdown fences."
)


@dataclass
class _Tally:
    requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True)
class _Answer:
    content: str | None
    finish_reason: str | None
    refusal: str | None
    #: The model the client's parse helper already validated, when it could.
    parsed: BaseModel | None = None


@dataclass(frozen=True)
class _Question:
    """What one `complete()` call sends on every attempt: the model to parse into and its strict format."""

    request: LLMRequest
    response_model: type[BaseModel]
    fmt: dict[str, Any]


class StructuredLLM:
    """The LLM port over the `openai` client. Thread-safe: share one instance across `map_bounded` workers."""

    def __init__(
        self,
        settings: LLMSettings,
        *,
        usage: UsageStore | None = None,
        cache: ResponseCache | None = None,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], int] = now_ms,
        prices: dict[str, tuple[float, float]] | None = None,
    ) -> None:
        self._settings = settings
        self._usage = usage
        self._cache = cache
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._random = random
        self._clock = clock
        self._prices = prices
        self._format_index = 0
        self._format_lock = threading.Lock()
        # The client's own retries are off (max_retries=0): tenacity retries, with an injectable sleep and
        # randomness and every request counted in telemetry.
        self._client = openai.OpenAI(
            api_key=settings.api_key.get_secret_value(),
            base_url=settings.base_url,
            timeout=settings.timeout_s,
            max_retries=0,
        )

    @property
    def model(self) -> str:
        return self._settings.model

    @property
    def max_concurrency(self) -> int:
        """How many `complete()` calls callers should run at once (`llm.maxConcurrency`)."""
        return self._settings.max_concurrency

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> StructuredLLM:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def complete(self, request: LLMRequest, response_model: type[T]) -> T:
        """Ask for `response_model` as strict JSON and return it validated.

        Raises LLMError (with `details`: unit, schemaName, model, requests, reason, and the validation errors
        or HTTP status) when the API keeps failing or the answer is still invalid after one repair retry.
        """
        started = time.monotonic()
        fmt = response_format(request.schema_name, response_model)
        schema = fmt["json_schema"]["schema"]
        key = cache_key(
            request.project_id, self.model, request.system_prompt, request.user_prompt, request.schema_name, schema
        )
        hit = self._cached(key, response_model)
        if hit is not None:
            self._record(request, "cached", _Tally(), started)
            return hit

        tally = _Tally()
        try:
            value, outcome = self._ask(_Question(request, response_model, fmt), response_model, tally)
        except LLMError as error:
            failure: CallOutcome = "invalid_output" if error.details.get("reason") == "invalid_output" else "failed"
            self._record(request, failure, tally, started)
            raise
        self._store(key, value)
        self._record(request, outcome, tally, started)
        return value

    def _ask(self, question: _Question, response_model: type[T], tally: _Tally) -> tuple[T, CallOutcome]:
        """The first answer if it is usable, else one repair retry with the bad output and what is wrong with it."""
        request = question.request
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": request.system_prompt},
            {"role": "user", "content": request.user_prompt},
        ]
        first = self._send(question, messages, tally)
        value, first_problem = _parse(first, response_model)
        if value is not None:
            return value, "ok"

        logger.warning("LLM answer for %s unusable (%s); asking once for a corrected JSON", request.unit, first_problem)
        if request.on_retry is not None:
            request.on_retry(f"{request.unit}: unusable answer ({first_problem[:80]}); asking once for a repair")
        repair = REPAIR_INSTRUCTION.format(error=first_problem, schema_name=request.schema_name)
        messages += [{"role": "assistant", "content": first.content or ""}, {"role": "user", "content": repair}]
        second = self._send(question, messages, tally)
        value, problem = _parse(second, response_model)
        if value is not None:
            return value, "repaired"
        raise self._error(
            f"LLM output error: {self.model}'s answer for {request.unit} is still invalid after a repair retry: "
            f"{problem}; the answer began {_excerpt(second.content)!r}",
            request,
            tally,
            reason="invalid_output",
            errors=[first_problem, problem],
            preview=[_preview(first.content), _preview(second.content)],
        )

    def _send(self, question: _Question, messages: list[ChatCompletionMessageParam], tally: _Tally) -> _Answer:
        """One answer, retried on transient failures (tenacity). Raises LLMError when the retries run out.

        A server that refuses the answer format gets the next one (`_FORMATS`) at once: that is not a retry.
        """
        request = question.request
        if request.deadline is not None and time.monotonic() >= request.deadline:
            raise self._error(
                f"LLM ({self.model}) call {request.unit}: the stage's time limit ran out after "
                f"{tally.requests} requests (bootstrap.llmStageTimeoutS)",
                request,
                tally,
                reason="deadline",
            )
        retrying = Retrying(
            stop=stop_after_attempt(self._settings.max_retries + 1) | _DeadlinePassed(request.deadline),
            retry=retry_if_exception(_is_transient),
            wait=self._backoff.wait(_retry_after, random=self._random),
            sleep=lambda seconds: self._sleep(_within(request.deadline, seconds)),
            before_sleep=lambda state: self._log_retry(request, state),
            reraise=True,
        )
        while True:
            answer_format = self._answer_format()
            try:
                return retrying(self._attempt, question, messages, answer_format, tally)
            except openai.BadRequestError as exc:
                if exc.param == "response_format" and self._refused(answer_format):
                    continue
                raise self._api_error(request, tally, exc, retrying) from None
            except openai.APIStatusError as exc:
                raise self._api_error(request, tally, exc, retrying) from None
            except openai.APIConnectionError as exc:
                kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
                raise self._error(
                    f"LLM API {kind} for {request.unit} ({self.model}) at {self._settings.base_url} "
                    f"after {_attempts(retrying)} attempts",
                    request,
                    tally,
                    reason="timeout" if kind == "timeout" else "connection_error",
                ) from None
            except openai.OpenAIError as exc:
                raise self._error(
                    f"LLM API call for {request.unit} ({self.model}) failed: "
                    f"{type(exc).__name__}: {self._scrub(str(exc))}",
                    request,
                    tally,
                    reason="api_error",
                ) from None

    def _attempt(
        self,
        question: _Question,
        messages: list[ChatCompletionMessageParam],
        answer_format: AnswerFormat,
        tally: _Tally,
    ) -> _Answer:
        """One HTTP request in the given answer format."""
        tally.requests += 1
        options = self._call_options(question.request)
        if answer_format == "json_schema":
            # The helper would name the schema after the class; `extra_body` sends the prompt's own schema name
            # (part of the prompt contract) and our strict schema, and the helper still parses into the model.
            raw = self._client.chat.completions.with_raw_response.parse(
                messages=messages,
                response_format=question.response_model,
                extra_body={"response_format": question.fmt},
                **options,
            )
            try:
                return self._answer(raw.parse(), tally)
            except (ValidationError, openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError):
                # Not parseable as it is (fences, prose, cut off): read it leniently, or repair it.
                return self._answer(ChatCompletion.model_validate(raw.http_response.json()), tally)
        schema = json.dumps(question.fmt["json_schema"]["schema"], separators=(",", ":"))
        instruction = SCHEMA_INSTRUCTION.format(schema_name=question.request.schema_name, schema=schema)
        system, *rest = messages
        with_schema: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": f"{system.get('content') or ''}{instruction}"},
            *rest,
        ]
        if answer_format == "json_object":
            completion = self._client.chat.completions.create(
                messages=with_schema, response_format={"type": "json_object"}, **options
            )
        else:
            completion = self._client.chat.completions.create(messages=with_schema, **options)
        return self._answer(completion, tally)

    def _call_options(self, request: LLMRequest) -> dict[str, Any]:
        """The per-call arguments of a chat completion besides messages and format (one place to add more)."""
        options: dict[str, Any] = {"model": self.model}
        if request.max_tokens is not None:
            options["max_tokens"] = request.max_tokens
        if request.deadline is not None:
            left = request.deadline - time.monotonic()
            options["timeout"] = max(_MIN_REQUEST_TIMEOUT_S, min(self._settings.timeout_s, left))
        return options

    def _answer_format(self) -> AnswerFormat:
        with self._format_lock:
            return _FORMATS[self._format_index]

    def _refused(self, answer_format: AnswerFormat) -> bool:
        """The server refused `answer_format`: step down to the next one. False when there is none left."""
        with self._format_lock:
            index = _FORMATS.index(answer_format)
            if index + 1 >= len(_FORMATS):
                return False
            if self._format_index <= index:
                self._format_index = index + 1
                logger.warning(
                    "the LLM server at %s refuses response_format %s; asking in %s mode from now on",
                    self._settings.base_url,
                    answer_format,
                    _FORMATS[self._format_index],
                )
            return True

    def _log_retry(self, request: LLMRequest, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, openai.APIStatusError):
            cause = f"HTTP {error.status_code}"
        elif isinstance(error, openai.APITimeoutError):
            cause = "timeout"
        else:
            cause = "connection error"
        wait_s = _within(request.deadline, state.upcoming_sleep)
        logger.warning(
            "LLM request for %s failed (%s); retry %d of %d in %.2fs",
            request.unit,
            cause,
            state.attempt_number,
            self._settings.max_retries,
            wait_s,
        )
        if request.on_retry is not None:
            request.on_retry(
                f"{request.unit}: {cause}; attempt {state.attempt_number + 1} of {self._settings.max_retries + 1}, "
                f"waiting {wait_s:.0f} s"
            )

    def _api_error(
        self, request: LLMRequest, tally: _Tally, exc: openai.APIStatusError, retrying: Retrying
    ) -> LLMError:
        status = exc.status_code
        attempts = _attempts(retrying)
        return self._error(
            f"LLM API error for {request.unit} ({self.model}): HTTP {status} from {self._settings.base_url}"
            f"{'' if attempts == 1 else f' after {attempts} attempts'}: {self._scrub(exc.message)}",
            request,
            tally,
            reason="http_error",
            status=status,
        )

    @staticmethod
    def _answer(completion: Any, tally: _Tally) -> _Answer:
        if completion.usage is not None:
            tally.tokens_in += completion.usage.prompt_tokens or 0
            tally.tokens_out += completion.usage.completion_tokens or 0
        if not completion.choices:
            return _Answer(content=None, finish_reason=None, refusal=None)
        choice = completion.choices[0]
        message = choice.message
        parsed = getattr(message, "parsed", None)
        return _Answer(
            content=message.content,
            finish_reason=choice.finish_reason,
            refusal=getattr(message, "refusal", None),
            parsed=parsed if isinstance(parsed, BaseModel) else None,
        )

    def _cached(self, key: str, response_model: type[T]) -> T | None:
        if self._cache is None:
            return None
        try:
            raw = self._cache.get(key)
        except BackendUnavailableError as exc:
            logger.warning("LLM cache not read: %s", exc.message)
            return None
        if raw is None:
            return None
        try:
            return response_model.model_validate_json(raw)
        except ValidationError:
            # Written for an older version of the model: ask again and overwrite.
            return None

    def _store(self, key: str, value: BaseModel) -> None:
        if self._cache is None:
            return
        try:
            self._cache.put(key, value.model_dump_json(by_alias=True))
        except BackendUnavailableError as exc:
            logger.warning("LLM answer not cached: %s", exc.message)

    def _record(self, request: LLMRequest, outcome: CallOutcome, tally: _Tally, started: float) -> None:
        cached = outcome == "cached"
        # A cache hit costs nothing, but of a model without a price it stays "unknown": a report of cached re-runs
        # must not show the model's calls as free.
        cost = estimate_cost(
            self.model, 0 if cached else tally.tokens_in, 0 if cached else tally.tokens_out, self._prices
        )
        call = LLMCall(
            project_id=request.project_id,
            model=self.model,
            unit=request.unit,
            schema_name=request.schema_name,
            outcome=outcome,
            cached=cached,
            tokens_in=tally.tokens_in,
            tokens_out=tally.tokens_out,
            latency_ms=int((time.monotonic() - started) * 1000),
            cost_usd=cost,
            requests=tally.requests,
            at=self._clock(),
        )
        logger.info(
            "LLM %s unit=%s model=%s requests=%d tokens=%d/%d latency=%dms",
            outcome,
            call.unit,
            call.model,
            call.requests,
            call.tokens_in,
            call.tokens_out,
            call.latency_ms,
        )
        if self._usage is None:
            return
        try:
            self._usage.record(call)
        except BackendUnavailableError as exc:
            # Telemetry must not cost the user an answer already paid for; the warning says it is missing.
            logger.warning("LLM usage not recorded for %s: %s", request.unit, exc.message)

    def _error(self, message: str, request: LLMRequest, tally: _Tally, *, reason: str, **extra: Any) -> LLMError:
        details: dict[str, Any] = {
            "unit": request.unit,
            "schemaName": request.schema_name,
            "model": self.model,
            "requests": tally.requests,
            "reason": reason,
            **extra,
        }
        return LLMError(self._scrub(message), details=details)

    def _scrub(self, text: str) -> str:
        """Remove the API key from text that came back from the server (some gateways echo it)."""
        secret = self._settings.api_key.get_secret_value()
        return text.replace(secret, "***") if secret else text


def _is_transient(error: BaseException) -> bool:
    """Worth another attempt: a rate limit, a server error, a timeout or a failed connection."""
    if isinstance(error, openai.APIStatusError):
        return is_retryable_status(error.status_code)
    return isinstance(error, openai.APIConnectionError)


def _retry_after(state: RetryCallState) -> float | None:
    error = state.outcome.exception() if state.outcome is not None else None
    return retry_after_seconds(error.response.headers) if isinstance(error, openai.APIStatusError) else None


def _attempts(retrying: Retrying) -> int:
    return int(retrying.statistics.get("attempt_number", 1))


def _parse(answer: _Answer, response_model: type[T]) -> tuple[T | None, str]:
    """The validated model, or None and what is wrong with the answer."""
    if answer.refusal:
        return None, f"the model refused: {answer.refusal}"
    if isinstance(answer.parsed, response_model):
        return answer.parsed, ""
    content = _strip_fences(answer.content or "")
    if not content:
        return None, "the answer was empty"
    try:
        json.loads(content)
    except json.JSONDecodeError as exc:
        cut = " (cut off at the token limit)" if answer.finish_reason == "length" else ""
        return None, f"not valid JSON{cut}: {exc.msg} at line {exc.lineno} column {exc.colno}"
    try:
        return response_model.model_validate_json(content), ""
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        shown = "; ".join(f"{_loc(e['loc'])}: {e['msg']}" for e in errors[:_MAX_ERRORS_SHOWN])
        more = f" (+{len(errors) - _MAX_ERRORS_SHOWN} more)" if len(errors) > _MAX_ERRORS_SHOWN else ""
        return None, f"does not match the schema: {shown}{more}"


def _loc(path: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in path) or "$"


_FENCED = re.compile(r"```(?:json)?\s*\n?(.*?)```", re.DOTALL)


def _strip_fences(text: str) -> str:
    """Servers without strict mode sometimes wrap JSON in Markdown fences, with a sentence before or after."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return stripped
    fenced = _FENCED.search(stripped)
    return fenced.group(1).strip() if fenced is not None else stripped


#: A request never gets less time than this, even right before the deadline (the deadline check comes first).
_MIN_REQUEST_TIMEOUT_S = 1.0
_EXCERPT_CHARS = 80


class _DeadlinePassed(stop_base):
    """Stop retrying once the request's deadline has passed."""

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


def _within(deadline: float | None, seconds: float) -> float:
    """`seconds`, cut to the time left before `deadline`."""
    if deadline is None:
        return seconds
    return max(0.0, min(seconds, deadline - time.monotonic()))


def _excerpt(content: str | None) -> str:
    text = " ".join((content or "").split())
    return text if len(text) <= _EXCERPT_CHARS else text[:_EXCERPT_CHARS] + "…"


def _preview(content: str | None) -> str:
    text = content or ""
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "…"
