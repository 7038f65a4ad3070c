"""The shapes the LLM layer speaks: a request, one call's telemetry, and the usage report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import Field

from perceo.models.common import EpochMs, Model

#: How a `complete()` call ended.
#: ok: valid on the first answer · repaired: valid after the one repair retry · cached: served from the cache ·
#: invalid_output: still invalid after the repair retry · failed: transport or API error after the retries.
CallOutcome = Literal["ok", "repaired", "cached", "invalid_output", "failed"]


@dataclass(frozen=True)
class LLMRequest:
    """One structured-output question.

    `schema_name` names the JSON schema sent to the API (letters, digits, `_` and `-`); `project_id` and
    `unit` label the call in telemetry (`unit` says which piece of work it is, e.g. `steps:checkout`).
    """

    system_prompt: str
    user_prompt: str
    schema_name: str
    project_id: str
    unit: str
    #: The most tokens the answer may have (`max_tokens`): a model that never closes its JSON stops there.
    max_tokens: int | None = None
    #: `time.monotonic()` by which the call must be over, retries and the repair retry included (the stage's
    #: time limit); each request's timeout is cut to what is left.
    deadline: float | None = None
    #: Told about each retry, e.g. "attempt 2 of 4, waiting 4 s (HTTP 429)" (progress displays).
    on_retry: Callable[[str], None] | None = field(default=None, compare=False, repr=False)


#: The longest usage report: usage is kept 90 days after its last write.
MAX_REPORT_DAYS = 90


class LLMCall(Model):
    """Telemetry of one `complete()` call. Never carries prompts, outputs or credentials."""

    project_id: str
    model: str
    unit: str
    schema_name: str
    outcome: CallOutcome
    cached: bool = False
    tokens_in: int = Field(default=0, ge=0)
    tokens_out: int = Field(default=0, ge=0)
    latency_ms: int = Field(default=0, ge=0)
    #: Estimated from `perceo.llm.pricing`; null when the model's price is unknown (cache hits too); 0 for cache
    #: hits of a priced model.
    cost_usd: float | None = None
    #: HTTP requests made (retries and the repair retry included); 0 for cache hits.
    requests: int = Field(default=0, ge=0)
    at: EpochMs


class ModelUsage(Model):
    """One model's usage in one project on one day (UTC)."""

    day: str
    model: str
    calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    #: Sum of the priced calls; null when no call of this model had a known price.
    cost_usd: float | None = None
    #: Calls whose cost could not be estimated (unknown model price).
    unpriced_calls: int = 0
    latency_ms: int = 0


class UsageTotals(Model):
    calls: int = 0
    cached_calls: int = 0
    failed_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    unpriced_calls: int = 0


class UsageReport(Model):
    """`perceo usage --json`: per day (newest first) and per model, with totals."""

    project_id: str
    days: int
    since: str
    until: str
    rows: list[ModelUsage]
    totals: UsageTotals
