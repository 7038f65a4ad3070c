"""Page cursors: what `encode_cursor` writes decodes to the same key; anything else is a clear ValidationFailed."""

from __future__ import annotations

import base64

import pytest

from perceo.errors import ValidationFailed
from perceo.graph.paging import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    "key", [("Checkout", "f1"), ("Ünïcode ✓ flow", "a-b_c.d:e"), ('say "hi" / \\ =+', "x" * 64), ("a" * 200, "i")]
)
def test_a_cursor_round_trips_its_key_and_is_url_safe(key: tuple[str, str]) -> None:
    cursor = encode_cursor(key)

    assert decode_cursor(cursor) == key
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64 !",
        b64("not json"),
        b64('{"name": "a", "id": "b"}'),
        b64('["only one"]'),
        b64('["a", 1]'),
        b64('["", "id"]'),
        b64('["a", "b", "c"]'),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "A" * (MAX_CURSOR_LENGTH + 4),
    ],
)
def test_anything_else_is_a_validation_error_naming_the_cursor(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        decode_cursor(cursor)

    assert raised.value.details == {"field": "cursor"}
    assert "nextCursor" in str(raised.value)
