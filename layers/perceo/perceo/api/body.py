"""What every request must be before a route reads it: text, JSON by its Content-Type, and JSON a store can hold.

`check_request(event)` runs in `serve` before the resolver parses anything, so a request that cannot be read gets a
400 or 415 of the documented shape instead of an exception deep in a parser, a driver or the graph engine:

- a body that is not UTF-8 (API Gateway passes such bytes base64-encoded) is a 400;
- a body whose Content-Type is not `application/json` (parameters such as `charset` aside; a missing one included)
  is a 415, except `text/plain` on the routes the Lambda names in `text_routes` (the browser beacon: sendBeacon
  cannot send a JSON Content-Type); their text gets every check below all the same;
- JSON nested deeper than `MAX_JSON_DEPTH`, an integer of more than `MAX_INT_DIGITS` digits, `NaN`/`Infinity`, and
  strings with a NUL character, another control character than tab, newline and carriage return, or a lone
  surrogate (none can be stored: the graph engine rejects a query with NUL and crashes on U+0001 in a uniquely
  constrained property, UTF-8 cannot encode a lone surrogate) are a 400;
- the same characters in the path or the query string are a 400.

Text that is not JSON at all is left to the resolver, which answers 422 naming the body, as for any invalid value.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from perceo.api.request import header
from perceo.errors import BadRequestError, UnsupportedMediaTypeError

#: C0 control characters other than tab, newline and carriage return (NUL has its own message).
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")
#: Deeper than any request model of the API (the deepest, a flow with steps and their actions, is 6).
MAX_JSON_DEPTH = 32
#: Every integer the API takes fits in 64 bits (19 digits); Python refuses to parse more than 4,300 at all.
MAX_INT_DIGITS = 20


#: A route as the resolver matches it: (method in upper case, path).
RouteKey = tuple[str, str]


def check_request(event: Mapping[str, Any], *, text_routes: frozenset[RouteKey] = frozenset()) -> None:
    """BadRequestError (400) or UnsupportedMediaTypeError (415) for a request no route can read. `text_routes` are
    the routes that also take their JSON as `text/plain`."""
    _check_text("the path", event.get("path"))
    for name, value in _query_values(event):
        _check_text(f"query parameter {name}", value)
    text = body_text(event)
    if text is None:
        return
    media_type = (header(event, "Content-Type") or "").split(";")[0].strip().lower()
    if media_type == "application/json":
        _normalise_content_type(event)
    elif media_type != "text/plain" or _route_of(event) not in text_routes:
        raise UnsupportedMediaTypeError(
            "request bodies must be JSON: send Content-Type: application/json",
            details={"contentType": media_type or None},
        )
    try:
        document = json.loads(text, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError:
        return  # not JSON at all: the resolver's 422 names the body
    _check_document(document)


def _route_of(event: Mapping[str, Any]) -> RouteKey:
    """The method and path the resolver routes on (API Gateway's `path`, without the stage)."""
    return str(event.get("httpMethod") or "").upper(), str(event.get("path") or "")


def _normalise_content_type(event: Mapping[str, Any]) -> None:
    """Media types are case-insensitive, the resolver's check is not: hand it `application/json` in lower case."""
    for group in ("headers", "multiValueHeaders"):
        headers = event.get(group)
        if not isinstance(headers, dict):
            continue
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == "content-type":
                values = value if isinstance(value, list) else [value]
                fixed = [_lower_media_type(str(v)) for v in values]
                headers[name] = fixed if isinstance(value, list) else fixed[0]


def _lower_media_type(value: str) -> str:
    media_type, semicolon, parameters = value.partition(";")
    return media_type.strip().lower() + semicolon + parameters


def body_text(event: Mapping[str, Any]) -> str | None:
    """The body as text (base64 bodies decoded), None when there is none; BadRequestError when it is not UTF-8."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return None
    if not event.get("isBase64Encoded"):
        return body
    try:
        raw = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError):
        raise BadRequestError("the request body could not be decoded") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequestError(
            f"the request body is not UTF-8 (invalid byte at offset {error.start})", details={"offset": error.start}
        ) from None


def _query_values(event: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    multi = event.get("multiValueQueryStringParameters")
    single = event.get("queryStringParameters")
    for source in (multi, single):
        if not isinstance(source, Mapping):
            continue
        for name, values in source.items():
            _check_text("a query parameter name", str(name))
            for value in values if isinstance(values, list) else [values]:
                yield str(name), str(value)


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise BadRequestError(
            f"a number in the request body has more than {MAX_INT_DIGITS} digits", details={"limit": MAX_INT_DIGITS}
        )
    return int(digits)


def _no_constant(name: str) -> Any:
    raise BadRequestError(f"{name} is not a JSON number")


def _too_deep() -> BadRequestError:
    return BadRequestError(
        f"the request body is nested more than {MAX_JSON_DEPTH} levels deep", details={"limit": MAX_JSON_DEPTH}
    )


def _check_document(document: Any) -> None:
    """Depth and strings, iteratively (a document at the limit must not cost a recursion per level)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text("a string in the request body", value)
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text("a field name in the request body", key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def _check_text(where: str, value: object) -> None:
    if not isinstance(value, str):
        return
    if "\x00" in value:
        raise BadRequestError(f"{where} contains a NUL character (\\u0000), which cannot be stored")
    control = _CONTROL.search(value)
    if control is not None:
        code = f"\\u{ord(control.group()):04x}"
        raise BadRequestError(f"{where} contains a control character ({code}), which cannot be stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequestError(f"{where} contains a lone surrogate (\\ud800-\\udfff), which is not text") from None
