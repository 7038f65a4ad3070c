"""Project API keys: format and peppered hashing, scopes, storage, authentication, audit and rate limits.

The raw key is returned once by `ApiKeyService.create` and read once per request by `authenticate`; nothing
stores or logs it. Handlers check a `Principal` with `require_scope` / `require_project`.
"""

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
from perceo.auth.ratelimit import InMemoryRateLimiter, RateDecision, RateLimiter, RateLimiterPort, enforce_rate_limit
from perceo.auth.redaction import ApiKeyRedactionFilter, redact_api_keys
from perceo.auth.redis_store import RedisKeyStore
from perceo.auth.scopes import IMPLIED_SCOPES, effective_scopes, grants, parse_scopes
from perceo.auth.service import INVALID_KEY_MESSAGE, ApiKeyService
from perceo.auth.store import InMemoryKeyStore, KeyStore

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
