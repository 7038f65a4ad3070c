"""Opaque page cursors for keyset pages of the flow graph (`list_flows_page`).

A cursor is the sort key of a page's last item, (name, id), as base64url of a JSON array. Clients pass back what
they were given; anything else is a ValidationFailed that names the `cursor` field, never a server error.
"""

from __future__ import annotations

import base64
import binascii
import json

from perceo.errors import ValidationFailed

#: Longer than any cursor this module writes for names and ids within their limits.
MAX_CURSOR_LENGTH = 2048


def encode_cursor(key: tuple[str, str]) -> str:
    """The cursor for the page that follows the item with this (name, id)."""
    raw = json.dumps(list(key), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """The (name, id) a cursor of `encode_cursor` holds. ValidationFailed for anything else."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, binascii.Error):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        key = None
    if not (isinstance(key, list) and len(key) == 2 and all(isinstance(part, str) and part for part in key)):
        raise ValidationFailed(
            "cursor is not one this API gave out: pass the nextCursor of the previous page, or no cursor for the "
            "first page",
            details={"field": "cursor"},
        )
    return key[0], key[1]
