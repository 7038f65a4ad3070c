"""The LLM layer: structured output through the `openai` client, retries, a response cache, usage telemetry.

Typical use (bootstrap stages):

    settings = load_llm_settings(config.llm)                 # env + config (+ secret_loader in Lambda)
    with open_llm(settings, redis_client=r) as llm:
        request = LLMRequest(system_prompt=..., user_prompt=..., schema_name="flows",
                             project_id=project.id, unit="flows")
        flows = llm.complete(request, FlowsAnswer)           # validated FlowsAnswer, or LLMError
        outcomes = map_bounded(lambda r: llm.complete(r, StepsAnswer), requests, llm.max_concurrency)

The names load on first use (PEP 562): a workflow step that only needs `perceo.llm.model` does not import the
`openai` client (most of a second) or Redis with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perceo.lazy import lazy_exports

if TYPE_CHECKING:
    from perceo.llm.cache import InMemoryResponseCache, RedisResponseCache, cache_key
    from perceo.llm.client import StructuredLLM
    from perceo.llm.concurrency import Outcome, map_bounded
    from perceo.llm.factory import llm_redis_url, open_llm
    from perceo.llm.model import CallOutcome, LLMCall, LLMRequest, ModelUsage, UsageReport, UsageTotals
    from perceo.llm.port import LLM, ResponseCache, UsageStore
    from perceo.llm.pricing import PRICES_PER_MILLION, estimate_cost
    from perceo.llm.schema import response_format, strict_json_schema
    from perceo.llm.secrets import secrets_manager_loader
    from perceo.llm.settings import LLMSettings, SecretLoader, load_llm_settings
    from perceo.llm.usage import InMemoryUsageStore, RedisUsageStore, day_of, usage_report

#: Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(["InMemoryResponseCache", "RedisResponseCache", "cache_key"], "cache"),
    "StructuredLLM": "client",
    **dict.fromkeys(["Outcome", "map_bounded"], "concurrency"),
    **dict.fromkeys(["llm_redis_url", "open_llm"], "factory"),
    **dict.fromkeys(["CallOutcome", "LLMCall", "LLMRequest", "ModelUsage", "UsageReport", "UsageTotals"], "model"),
    **dict.fromkeys(["LLM", "ResponseCache", "UsageStore"], "port"),
    **dict.fromkeys(["PRICES_PER_MILLION", "estimate_cost"], "pricing"),
    **dict.fromkeys(["response_format", "strict_json_schema"], "schema"),
    "secrets_manager_loader": "secrets",
    **dict.fromkeys(["LLMSettings", "SecretLoader", "load_llm_settings"], "settings"),
    **dict.fromkeys(["InMemoryUsageStore", "RedisUsageStore", "day_of", "usage_report"], "usage"),
}

__all__ = [
    "LLM",
    "PRICES_PER_MILLION",
    "CallOutcome",
    "InMemoryResponseCache",
    "InMemoryUsageStore",
    "LLMCall",
    "LLMRequest",
    "LLMSettings",
    "ModelUsage",
    "Outcome",
    "RedisResponseCache",
    "RedisUsageStore",
    "ResponseCache",
    "SecretLoader",
    "StructuredLLM",
    "UsageReport",
    "UsageStore",
    "UsageTotals",
    "cache_key",
    "day_of",
    "estimate_cost",
    "llm_redis_url",
    "load_llm_settings",
    "map_bounded",
    "open_llm",
    "response_format",
    "secrets_manager_loader",
    "strict_json_schema",
    "usage_report",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
