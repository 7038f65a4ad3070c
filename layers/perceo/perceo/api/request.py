"""The request being served: its id, caller and client details, and the scope checks routes start with.

`serve()` opens a `RequestScope` around each invocation (a context variable, so nothing leaks between
requests or between resolvers that share a router). Routes call `authorize("flows:read")` first thing: it
returns the caller's `Principal` — rebuilt from what the REQUEST authorizer put in
`requestContext.authorizer` — or raises AuthenticationError (401) / PermissionDeniedError (403).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perceo.errors import AuthenticationError, PermissionDeniedError

if TYPE_CHECKING:
    from perceo.auth.model import Principal
    from perceo.models.vocab import Scope

_MISSING_KEY = "missing or invalid API key: send `Authorization: Bearer prc_…`"


@dataclass
class RequestScope:
    event: Mapping[str, Any]
    _principal: Principal | None = field(default=None, init=False)
    _principal_read: bool = field(default=False, init=False)

    @property
    def request_context(self) -> Mapping[str, Any]:
        context = self.event.get("requestContext")
        return context if isinstance(context, Mapping) else {}

    @property
    def request_id(self) -> str | None:
        value = self.request_context.get("requestId")
        return str(value) if value else None

    @property
    def source_ip(self) -> str | None:
        identity = self.request_context.get("identity")
        value = identity.get("sourceIp") if isinstance(identity, Mapping) else None
        return str(value) if value else None

    @property
    def user_agent(self) -> str | None:
        return header(self.event, "User-Agent")

    @property
    def principal(self) -> Principal | None:
        """The caller the authorizer vouched for, or None when the route was not behind it."""
        if not self._principal_read:
            self._principal = principal_from_event(self.event)
            self._principal_read = True
        return self._principal


_current: ContextVar[RequestScope | None] = ContextVar("perceo_api_request", default=None)


@contextlib.contextmanager
def request_scope(event: Mapping[str, Any]) -> Iterator[RequestScope]:
    scope = RequestScope(event)
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def current_request() -> RequestScope:
    scope = _current.get()
    if scope is None:
        raise RuntimeError("no request is being served (routes run inside perceo.api.serve)")
    return scope


def current_request_id() -> str | None:
    scope = _current.get()
    return scope.request_id if scope is not None else None


def header(event: Mapping[str, Any], name: str) -> str | None:
    """A request header, case-insensitively (API Gateway keeps the client's spelling)."""
    headers = event.get("headers")
    if not isinstance(headers, Mapping):
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    return None


def principal_from_event(event: Mapping[str, Any]) -> Principal | None:
    from perceo.auth.model import Principal

    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    if not isinstance(authorizer, Mapping) or "projectId" not in authorizer:
        return None
    try:
        return Principal.from_authorizer_context(authorizer)
    except AuthenticationError:
        return None
    except ValueError:  # a pydantic ValidationError: a malformed context is no caller at all
        return None


def authorize(*any_of: Scope) -> Principal:
    """The calling key's principal if it grants at least one of `any_of`.

    AuthenticationError (401) when there is no valid key; PermissionDeniedError (403) when the key is valid but
    lacks every one of the scopes.
    """
    principal = current_request().principal
    if principal is None:
        raise AuthenticationError(_MISSING_KEY)
    if any_of and not any(principal.has_scope(scope) for scope in any_of):
        wanted = " or ".join(f"'{scope}'" for scope in any_of)
        raise PermissionDeniedError(
            f"API key {principal.prefix} lacks the scope {wanted}",
            details={"requiredScopes": list(any_of), "keyPrefix": principal.prefix},
        )
    return principal


def require_own_project(principal: Principal, project_id: str) -> None:
    """PermissionDeniedError unless `project_id` is the caller's own project."""
    if principal.project_id != project_id:
        raise PermissionDeniedError(
            f"API key {principal.prefix} does not belong to this project", details={"keyPrefix": principal.prefix}
        )
