"""Project API keys: format and peppered hashing, scopes, storage, authentication, audit and rate limits.

The raw key is returned once by `ApiKeyService.create` and read once per request by `authenticate`; nothing
stores or logs it. Handlers check a `Principal` with `require_scope` / `require_project`.

The names below load on first use (PEP 562), so importing one submodule — `perceo.auth.redaction` at every
Lambda's cold start, `perceo.auth.model` in each request — does not import the Redis client with the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from perceo.lazy import lazy_exports

if TYPE_CHECKING:
    from perceo.auth.keyformat import (
        KEY_LENGTH,
        PREFIX_LENGTH,
        display_prefix,
        generate_key,
        hash_key,
        is_prefix,
        is_well_formed,
        verify_admin_key,
    )
    from perceo.auth.model import Principal, StoredKey, require_project, require_scope
    from perceo.auth.ratelimit import (
        InMemoryRateLimiter,
        RateDecision,
        RateLimiter,
        RateLimiterPort,
        TokenBucket,
        enforce_rate_limit,
    )
    from perceo.auth.redaction import ApiKeyRedactionFilter, redact_api_keys
    from perceo.auth.redis_store import RedisKeyStore
    from perceo.auth.scopes import IMPLIED_SCOPES, effective_scopes, grants, parse_scopes
    from perceo.auth.service import INVALID_KEY_MESSAGE, ApiKeyService
    from perceo.auth.store import InMemoryKeyStore, KeyStore

#: Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(
        [
            "KEY_LENGTH",
            "PREFIX_LENGTH",
            "display_prefix",
            "generate_key",
            "hash_key",
            "is_prefix",
            "is_well_formed",
            "verify_admin_key",
        ],
        "keyformat",
    ),
    **dict.fromkeys(["Principal", "StoredKey", "require_project", "require_scope"], "model"),
    **dict.fromkeys(
        ["InMemoryRateLimiter", "RateDecision", "RateLimiter", "RateLimiterPort", "TokenBucket", "enforce_rate_limit"],
        "ratelimit",
    ),
    **dict.fromkeys(["ApiKeyRedactionFilter", "redact_api_keys"], "redaction"),
    "RedisKeyStore": "redis_store",
    **dict.fromkeys(["IMPLIED_SCOPES", "effective_scopes", "grants", "parse_scopes"], "scopes"),
    **dict.fromkeys(["INVALID_KEY_MESSAGE", "ApiKeyService"], "service"),
    **dict.fromkeys(["InMemoryKeyStore", "KeyStore"], "store"),
}

__all__ = [
    "ApiKeyRedactionFilter",
    "ApiKeyService",
    "IMPLIED_SCOPES",
    "INVALID_KEY_MESSAGE",
    "InMemoryKeyStore",
    "InMemoryRateLimiter",
    "KEY_LENGTH",
    "KeyStore",
    "PREFIX_LENGTH",
    "Principal",
    "RateDecision",
    "RateLimiter",
    "RateLimiterPort",
    "TokenBucket",
    "RedisKeyStore",
    "StoredKey",
    "display_prefix",
    "effective_scopes",
    "enforce_rate_limit",
    "generate_key",
    "grants",
    "hash_key",
    "is_prefix",
    "is_well_formed",
    "parse_scopes",
    "redact_api_keys",
    "require_project",
    "require_scope",
    "verify_admin_key",
]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
