"""Dump a config for people to read, with secrets masked.

A value is secret when its field is a pydantic `SecretStr`/`SecretBytes`, or when its key is named like a
secret (apiKey, password, token, secret, webhook, credentials, ...). Everything under a secret key is
masked too (e.g. every value inside `analytics.credentials`). Secrets are masked fully as "****", never
partly shown: even the last characters of a short key help a guess, and "is it set?" is answered by
null (unset) versus "****" (set).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "****"

#: Any of these words anywhere in a key makes it secret.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "secrets", "webhook", "credential", "credentials", "pepper"}
)
#: `…Token` is secret, `codeTokenBudget` is not: the word must end the key.
_SECRET_LAST_WORDS = frozenset({"token", "apikey"})
#: `apiKey`, `privateKey`, ...; a plain `key` is not.
_SECRET_KEY_QUALIFIERS = frozenset({"api", "private", "access", "secret", "signing", "encryption", "admin"})

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z]|[^A-Za-z]|$)|[A-Z]?[a-z]+|\d+")


def _words(key: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(key)]


def is_secret_key(key: str) -> bool:
    """Whether a key's name says its value is a secret (`apiKey`, `slack_webhook`, `authToken`...)."""
    words = _words(key)
    if not words:
        return False
    if _SECRET_WORDS.intersection(words) or words[-1] in _SECRET_LAST_WORDS:
        return True
    return len(words) >= 2 and words[-1] == "key" and words[-2] in _SECRET_KEY_QUALIFIERS


def mask_value(value: Any) -> Any:
    """Mask every leaf of `value`, keeping its shape (null stays null: "not set" is not a secret)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return MASK


def _masked(value: Any, secret: bool) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return MASK
    if secret:
        return mask_value(value)
    if isinstance(value, dict):
        return {key: _masked(item, is_secret_key(str(key))) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item, False) for item in value]
    return value


def _revealed(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, SecretBytes):
        return value.get_secret_value().decode("utf-8", "replace")
    if isinstance(value, dict):
        return {key: _revealed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_revealed(item) for item in value]
    return value


def masked_dump(config: BaseModel) -> dict[str, Any]:
    """The config as camelCase JSON-ready data with every secret replaced by "****"."""
    masked: dict[str, Any] = _masked(config.model_dump(mode="python", by_alias=True), False)
    return masked


def revealed_dump(config: BaseModel) -> dict[str, Any]:
    """The config as camelCase JSON-ready data with secrets in clear. Only for an explicit `--reveal`."""
    revealed: dict[str, Any] = _revealed(config.model_dump(mode="python", by_alias=True))
    return revealed
