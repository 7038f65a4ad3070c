"""The API key format, its display prefix and its peppered hash.

A key is `prc_` followed by 32 random bytes in unpadded base64url (47 characters in all). Only two things
about a key are ever stored: its first 12 characters (the display prefix, also the lookup key) and an
HMAC-SHA256 of the whole key under a server-side pepper. Without the pepper a leaked store cannot be used
to check guesses offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable

from perceo.errors import ConfigError

KEY_SCHEME = "prc_"
SECRET_BYTES = 32
PREFIX_LENGTH = 12
KEY_LENGTH = len(KEY_SCHEME) + 43  # base64url of 32 bytes without padding is 43 characters
MIN_PEPPER_BYTES = 32

RandomBytes = Callable[[int], bytes]

_KEY_SHAPE = re.compile(r"^prc_[A-Za-z0-9_-]{43}$")
_PREFIX_SHAPE = re.compile(r"^prc_[A-Za-z0-9_-]{8}$")


def generate_key(random_bytes: RandomBytes = secrets.token_bytes) -> str:
    """A new raw API key. Show it to its owner once; store only `display_prefix` and `hash_key`."""
    raw = random_bytes(SECRET_BYTES)
    if len(raw) != SECRET_BYTES:
        raise ValueError(f"the random source returned {len(raw)} bytes, expected {SECRET_BYTES}")
    return KEY_SCHEME + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def is_well_formed(raw_key: str) -> bool:
    """True when `raw_key` has exactly the shape `generate_key` produces (canonical base64url of 32 bytes)."""
    if not isinstance(raw_key, str) or not _KEY_SHAPE.match(raw_key):
        return False
    encoded = raw_key[len(KEY_SCHEME) :]
    try:
        decoded = base64.urlsafe_b64decode(encoded + "=")
    except (binascii.Error, ValueError):
        return False
    # 43 characters carry 258 bits; a canonical encoding leaves the last 2 bits zero.
    return len(decoded) == SECRET_BYTES and base64.urlsafe_b64encode(decoded).rstrip(b"=").decode() == encoded


def display_prefix(raw_key: str) -> str:
    """The 12-character prefix that identifies a key in listings, logs and the store."""
    return raw_key[:PREFIX_LENGTH]


def is_prefix(value: str) -> bool:
    """True when `value` is a complete display prefix (exactly 12 characters, `prc_` + 8)."""
    return isinstance(value, str) and bool(_PREFIX_SHAPE.match(value))


def check_pepper(pepper: bytes) -> bytes:
    """The pepper, if it is usable as an HMAC key; a ConfigError that names the problem otherwise."""
    if not isinstance(pepper, bytes | bytearray):
        raise ConfigError("the API key pepper must be bytes (decode the secret before passing it)")
    if len(pepper) < MIN_PEPPER_BYTES:
        raise ConfigError(f"the API key pepper must be at least {MIN_PEPPER_BYTES} bytes long")
    return bytes(pepper)


def hash_key(raw_key: str, pepper: bytes) -> str:
    """HMAC-SHA256 of the whole key under the pepper, as 64 hex characters."""
    return hmac.new(pepper, raw_key.encode("utf-8"), hashlib.sha256).hexdigest()


def hashes_match(presented_hash: str, stored_hash: str) -> bool:
    """Constant-time comparison of two key hashes (hmac.compare_digest, never `==`)."""
    return hmac.compare_digest(presented_hash.encode("ascii"), stored_hash.encode("ascii"))


def key_matches(raw_key: str, pepper: bytes, stored_hash: str) -> bool:
    """Constant-time check of a presented key against a stored hash."""
    return hashes_match(hash_key(raw_key, pepper), stored_hash)


def verify_admin_key(raw: str | None, expected: str, *, pepper: bytes | None = None) -> bool:
    """Constant-time check of the bootstrap/admin secret that guards `POST /projects`.

    `expected` is the admin secret itself, or, when `pepper` is given, the hex HMAC-SHA256 of the secret
    under that pepper (so the deployed configuration need not hold the secret). Both sides are reduced to
    fixed-length digests before comparing, so neither the length nor a common prefix leaks through timing.
    An empty configured secret never matches: a missing setting must not open the door.
    """
    if not raw or not expected:
        return False
    if pepper is None:
        presented = hashlib.sha256(raw.encode("utf-8")).digest()
        wanted = hashlib.sha256(expected.encode("utf-8")).digest()
    else:
        presented = hashlib.sha256(hash_key(raw, check_pepper(pepper)).encode("ascii")).digest()
        wanted = hashlib.sha256(expected.strip().lower().encode("utf-8")).digest()
    return hmac.compare_digest(presented, wanted)
