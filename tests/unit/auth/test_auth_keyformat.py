from __future__ import annotations

import base64
import hmac

import pytest

from perceo.auth import KEY_LENGTH, PREFIX_LENGTH, display_prefix, generate_key, hash_key, is_well_formed
from perceo.auth.keyformat import check_pepper, is_prefix, key_matches, verify_admin_key
from perceo.errors import ConfigError

PEPPER = b"p" * 32


def test_generated_key_is_prc_and_unpadded_base64url_of_32_random_bytes() -> None:
    raw = bytes(range(224, 256))  # includes bytes that encode to '-' and '_'
    key = generate_key(lambda n: raw[:n])

    assert key.startswith("prc_")
    assert len(key) == KEY_LENGTH == 47
    assert "=" not in key
    assert base64.urlsafe_b64decode(key[4:] + "=") == raw
    assert "-" in key or "_" in key


def test_display_prefix_is_the_first_12_characters() -> None:
    key = generate_key()

    assert PREFIX_LENGTH == 12
    assert display_prefix(key) == key[:12]
    assert is_prefix(display_prefix(key))


def test_two_generated_keys_differ() -> None:
    assert generate_key() != generate_key()


@pytest.mark.parametrize(
    "candidate",
    [
        "",
        "prc_",
        "prk_" + "A" * 43,
        "prc_" + "A" * 42,
        "prc_" + "A" * 44,
        "prc_" + "A" * 42 + "=",
        "prc_" + "A" * 42 + "+",
        "prc_" + "A" * 42 + "B",  # not canonical: the last character carries two non-zero padding bits
        " prc_" + "A" * 43,
    ],
)
def test_malformed_keys_are_recognised(candidate: str) -> None:
    assert not is_well_formed(candidate)


def test_a_generated_key_is_well_formed() -> None:
    assert is_well_formed(generate_key())


@pytest.mark.parametrize("value", ["prc_abc", "prc_abcdefghi", "prc_abcdefg", "xyz_abcdefgh", "prc_abcd=fgh"])
def test_only_exact_12_character_prefixes_are_prefixes(value: str) -> None:
    assert not is_prefix(value)


def test_hash_is_hmac_sha256_and_depends_on_the_pepper() -> None:
    key = generate_key()

    first = hash_key(key, PEPPER)
    second = hash_key(key, b"q" * 32)

    assert len(first) == 64 and int(first, 16) >= 0
    assert first != second
    assert first == hash_key(key, PEPPER)
    assert key not in first


def test_stored_hash_comparison_goes_through_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    key = generate_key()

    assert key_matches(key, PEPPER, hash_key(key, PEPPER))
    assert not key_matches(key, PEPPER, hash_key(key, b"q" * 32))
    assert len(calls) == 2


@pytest.mark.parametrize("pepper", [b"", b"short", "a-str-pepper-that-is-long-enough-0123456789"])
def test_unusable_peppers_are_a_config_error(pepper: bytes) -> None:
    with pytest.raises(ConfigError, match="pepper"):
        check_pepper(pepper)


def test_admin_key_matches_the_configured_secret_only() -> None:
    assert verify_admin_key("s3cret-admin", "s3cret-admin")
    assert not verify_admin_key("s3cret-admi", "s3cret-admin")
    assert not verify_admin_key("s3cret-admin ", "s3cret-admin")
    assert not verify_admin_key(None, "s3cret-admin")


def test_an_empty_admin_secret_never_matches() -> None:
    assert not verify_admin_key("", "")
    assert not verify_admin_key("anything", "")


def test_admin_key_can_be_checked_against_its_peppered_hash() -> None:
    expected = hash_key("s3cret-admin", PEPPER)

    assert verify_admin_key("s3cret-admin", expected, pepper=PEPPER)
    assert verify_admin_key("s3cret-admin", expected.upper(), pepper=PEPPER)
    assert not verify_admin_key("s3cret-admin", expected, pepper=b"q" * 32)
    assert not verify_admin_key(expected, expected, pepper=PEPPER)


def test_admin_key_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append(len(a))
        assert len(a) == len(b)  # fixed-length digests: the secret's length does not leak
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    assert not verify_admin_key("short", "a-much-longer-admin-secret")
    assert calls == [32]
