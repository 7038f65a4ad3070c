"""Which base URLs the cloud's browser may open: public addresses only, unless the deployment allows private ones.

The RunTests task runs inside the deployment's network: a URL naming a loopback, private or link-local address (or a
name that resolves to one) could reach what only the deployment should (its cache, metadata endpoints). The name is
resolved once, with the system resolver's own bound, when the run is requested.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from perceo.errors import ValidationFailed


def check_browsable(base_url: str, *, allow_private: bool) -> None:
    """ValidationFailed when `base_url` is not http(s), does not resolve, or (unless `allow_private`) resolves to a
    loopback, private, link-local, reserved or multicast address."""
    parts = urlsplit(base_url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise ValidationFailed(
            f"baseUrl must be an http:// or https:// URL, not {base_url!r}", details={"field": "baseUrl"}
        )
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError, ValueError):
        raise ValidationFailed(f"baseUrl host {host!r} does not resolve", details={"field": "baseUrl"}) from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            raise ValidationFailed(
                f"baseUrl host {host!r} is a private or local address ({address}): this deployment only browses public "
                "ones (RunTestsAllowPrivateUrls)",
                details={"field": "baseUrl"},
            )
