"""Is the app under test there? A bounded TCP connect to the base URL's host and port before any test starts."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from perceo.errors import BaseUrlUnreachableError, ValidationFailed

CONNECT_TIMEOUT_S = 5.0


def check_base_url(base_url: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise BaseUrlUnreachableError when nothing accepts connections at the URL's host and port (waits at most
    `timeout_s` for the connection), ValidationFailed when it is not an http(s) URL."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            f"the base URL must be an http:// or https:// URL, not {base_url!r}", details={"field": "baseUrl"}
        )
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return
    except OSError as error:
        reason = "refused the connection" if isinstance(error, ConnectionRefusedError) else f"did not answer ({error})"
        raise BaseUrlUnreachableError(
            f"the app under test at {base_url} {reason}: start it, or pass the URL it listens on",
            details={"baseUrl": base_url},
        ) from None
