"""OpenAPI `responses=` for routes: the success answer (schema from the return type) and the error answers."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from perceo.models.api import ErrorResponse

_DESCRIPTIONS: dict[int, str] = {
    400: "The request cannot be read: a body that is not UTF-8, JSON nested too deeply, a huge number, a NUL character",
    401: "No API key, or one that is not valid (unknown, revoked, expired)",
    403: "A valid key without the scope the route needs, or for another project",
    404: "No such resource in the caller's project",
    409: "Conflicts with what exists (a name already taken, a key already revoked, the calling key itself)",
    413: "Request body over 5 MB",
    414: "The request line is over API Gateway's 10,240 bytes",
    415: "A request body that is not JSON (Content-Type must be application/json)",
    422: "The request does not match the schema; the message names each field",
    429: "Too many requests for this key; see Retry-After",
    431: "The request line and headers together are over API Gateway's 10,240 bytes",
    503: "A backing store cannot be reached",
}

#: What API Gateway answers itself to any request, before a route runs.
GATEWAY = (414, 431)

#: Every authenticated route can answer these.
AUTHENTICATED = (400, 401, 403, 413, 415, 422, 429, 503, *GATEWAY)


def responses(*error_statuses: int, ok: int = 200, ok_description: str = "Success") -> dict[int, OpenAPIResponse]:
    """The success status (its schema comes from the route's return type) and these errors, each with the shared
    `ErrorResponse` body. A 204 has no body."""
    answers: dict[int, OpenAPIResponse] = {ok: {"description": ok_description}}
    if ok == 204:
        answers[ok]["content"] = {}
    for status in sorted(set(error_statuses)):
        answers[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return answers
