"""Scopes: parsing what a caller asks for, and what a granted set of scopes allows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from perceo.errors import ValidationFailed
from perceo.models.vocab import SCOPES, Scope

#: Scopes that grant others. `project:admin` grants every scope; the table is the only place this is decided.
IMPLIED_SCOPES: Mapping[Scope, frozenset[Scope]] = {
    "project:admin": frozenset(SCOPES),
}


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Known scopes, deduplicated, in vocabulary order. Unknown or missing scopes are a ValidationFailed."""
    requested = {value.strip() for value in values if value.strip()}
    unknown = sorted(requested.difference(SCOPES))
    if unknown:
        raise ValidationFailed(
            f"unknown scope(s): {', '.join(unknown)}; allowed scopes are {', '.join(SCOPES)}",
            details={"field": "scopes", "unknown": ", ".join(unknown)},
        )
    if not requested:
        raise ValidationFailed(
            f"an API key needs at least one scope; allowed scopes are {', '.join(SCOPES)}",
            details={"field": "scopes"},
        )
    return [scope for scope in SCOPES if scope in requested]


def effective_scopes(granted: Iterable[Scope]) -> frozenset[Scope]:
    """Everything the granted scopes allow, implications included."""
    result: set[Scope] = set()
    for scope in granted:
        result.add(scope)
        result.update(IMPLIED_SCOPES.get(scope, frozenset()))
    return frozenset(result)


def grants(granted: Iterable[Scope], required: Scope) -> bool:
    """True when a key holding `granted` may do what needs `required`."""
    return required in effective_scopes(granted)
