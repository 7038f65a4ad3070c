"""What goes in and out of the local API Gateway: an HTTP request and response as plain values."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: API Gateway's payload limit for REST APIs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    #: The request target as sent: path (percent-encoded) and query string.
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body)


def header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """The last value of a header (names are case-insensitive), or None."""
    found = None
    for key, value in headers:
        if key.lower() == name.lower():
            found = value
    return found


def grouped(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Name/value pairs as API Gateway's single-value (last wins) and multi-value maps."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi
