"""`StructuredLLM`: one validated pydantic object per request, through the `openai` client.

Any OpenAI-compatible server works (OpenAI, OpenRouter, a gateway). The answer is requested as strict
JSON-schema structured output and validated with pydantic. Transport failures (429, 5xx, timeouts,
connection errors) are retried here, with backoff and jitter, not by the openai client, so the policy is
ours and testable. An unusable answer (not JSON, cut off, not matching the schema) gets one repair retry;
then the unit fails with `LLMError`. Every call is recorded as usage telemetry, cache hits included.
"""

from __future__ import annotations

import json
import logging
import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar, cast

import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ValidationError

from perceo.errors import BackendUnavailableError, LLMError
from perceo.llm.cache import cache_key
from perceo.llm.model import CallOutcome, LLMCall, LLMRequest
from perceo.llm.port import ResponseCache, UsageStore
from perceo.llm.pricing import estimate_cost
from perceo.llm.retry import Backoff, is_retryable_status, retry_after_seconds
from perceo.llm.schema import response_format
from perceo.llm.settings import LLMSettings
from perceo.models.common import now_ms

T = TypeVar("T", bound=BaseModel)

logger = logging.getLogger(__name__)

_MAX_ERRORS_SHOWN = 8
_PREVIEW_CHARS = 400

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
        # Retries are ours (max_retries=0): one policy, injectable sleep and randomness, counted in telemetry.
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
            value, outcome = self._ask(request, response_model, fmt, tally)
        except LLMError as error:
            failure: CallOutcome = "invalid_output" if error.details.get("reason") == "invalid_output" else "failed"
            self._record(request, failure, tally, started)
            raise
        self._store(key, value)
        self._record(request, outcome, tally, started)
        return value

    def _ask(
        self, request: LLMRequest, response_model: type[T], fmt: dict[str, Any], tally: _Tally
    ) -> tuple[T, CallOutcome]:
        """The first answer if it is usable, else one repair retry with the bad output and what is wrong with it."""
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": request.system_prompt},
            {"role": "user", "content": request.user_prompt},
        ]
        first = self._send(request, messages, fmt, tally)
        value, first_problem = _parse(first, response_model)
        if value is not None:
            return value, "ok"

        logger.warning("LLM answer for %s unusable (%s); asking once for a corrected JSON", request.unit, first_problem)
        repair = REPAIR_INSTRUCTION.format(error=first_problem, schema_name=request.schema_name)
        messages += [{"role": "assistant", "content": first.content or ""}, {"role": "user", "content": repair}]
        second = self._send(request, messages, fmt, tally)
        value, problem = _parse(second, response_model)
        if value is not None:
            return value, "repaired"
        raise self._error(
            f"LLM answer for {request.unit} is still invalid after a repair retry: {problem}",
            request,
            tally,
            reason="invalid_output",
            errors=[first_problem, problem],
            preview=[_preview(first.content), _preview(second.content)],
        )

    def _send(
        self,
        request: LLMRequest,
        messages: list[ChatCompletionMessageParam],
        fmt: dict[str, Any],
        tally: _Tally,
    ) -> _Answer:
        """One chat completion, retried on transient failures. Raises LLMError when the retries run out."""
        max_retries = self._settings.max_retries
        for attempt in range(max_retries + 1):
            tally.requests += 1
            retry_after: float | None = None
            try:
                completion = self._client.chat.completions.create(
                    model=self.model, messages=messages, response_format=cast(Any, fmt)
                )
            except openai.APIStatusError as exc:
                status = exc.status_code
                if not is_retryable_status(status) or attempt == max_retries:
                    raise self._error(
                        f"LLM API error for {request.unit}: HTTP {status} from {self._settings.base_url}"
                        f"{'' if attempt == 0 else f' after {attempt + 1} attempts'}: {self._scrub(exc.message)}",
                        request,
                        tally,
                        reason="http_error",
                        status=status,
                    ) from None
                retry_after = retry_after_seconds(exc.response.headers)
                cause = f"HTTP {status}"
            except openai.APIConnectionError as exc:
                kind = "timeout" if isinstance(exc, openai.APITimeoutError) else "connection error"
                if attempt == max_retries:
                    raise self._error(
                        f"LLM API {kind} for {request.unit} at {self._settings.base_url} after {attempt + 1} attempts",
                        request,
                        tally,
                        reason="timeout" if kind == "timeout" else "connection_error",
                    ) from None
                cause = kind
            except openai.OpenAIError as exc:
                raise self._error(
                    f"LLM API call for {request.unit} failed: {type(exc).__name__}: {self._scrub(str(exc))}",
                    request,
                    tally,
                    reason="api_error",
                ) from None
            else:
                return self._answer(completion, tally)
            delay = self._backoff.delay(attempt, retry_after_s=retry_after, random=self._random)
            logger.warning(
                "LLM request for %s failed (%s); retry %d of %d in %.2fs",
                request.unit,
                cause,
                attempt + 1,
                max_retries,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    @staticmethod
    def _answer(completion: Any, tally: _Tally) -> _Answer:
        if completion.usage is not None:
            tally.tokens_in += completion.usage.prompt_tokens or 0
            tally.tokens_out += completion.usage.completion_tokens or 0
        if not completion.choices:
            return _Answer(content=None, finish_reason=None, refusal=None)
        choice = completion.choices[0]
        message = choice.message
        return _Answer(
            content=message.content, finish_reason=choice.finish_reason, refusal=getattr(message, "refusal", None)
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
        cost = 0.0 if cached else estimate_cost(self.model, tally.tokens_in, tally.tokens_out, self._prices)
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


def _parse(answer: _Answer, response_model: type[T]) -> tuple[T | None, str]:
    """The validated model, or None and what is wrong with the answer."""
    if answer.refusal:
        return None, f"the model refused: {answer.refusal}"
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


def _strip_fences(text: str) -> str:
    """Servers without strict mode sometimes wrap JSON in Markdown fences."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and len(stripped) >= 6:
        stripped = stripped[3:-3]
        if stripped.startswith("json"):
            stripped = stripped[4:]
    return stripped.strip()


def _preview(content: str | None) -> str:
    text = content or ""
    return text if len(text) <= _PREVIEW_CHARS else text[:_PREVIEW_CHARS] + "…"
