"""The credentials file of `perceo login`: where it is, its mode, one key per API URL, and which key wins."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from perceo.errors import ConfigError
from perceo_cli.credentials import (
    CredentialStore,
    SavedCredential,
    credentials_path,
    normalize_api_url,
    resolve_api_key,
)

URL = "https://abc.execute-api.us-east-1.amazonaws.com/dev"
KEY = "prc_" + "k" * 43


def saved(url: str = URL, key: str = KEY) -> SavedCredential:
    return SavedCredential(api_url=url, api_key=key, project_id="p1", project_name="demo", saved_at=1)


def test_file_lives_under_xdg_config_home_else_home_dot_config(tmp_path: Path) -> None:
    assert credentials_path({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "perceo" / "credentials.json"
    assert credentials_path({"HOME": str(tmp_path)}) == tmp_path / ".config" / "perceo" / "credentials.json"


def test_saved_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "cfg" / "perceo" / "credentials.json")

    store.save(saved())

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert list(store.path.parent.iterdir()) == [store.path]  # no scratch file left behind


def test_one_key_per_normalised_api_url(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    other = "http://127.0.0.1:8080/dev"

    store.save(saved(URL + "/"))
    store.save(saved(other, "prc_" + "o" * 43))
    store.save(saved(URL.upper().replace("/DEV", "/dev"), "prc_" + "n" * 43))

    document = json.loads(store.path.read_text())
    assert sorted(document["credentials"]) == [other, URL]
    assert store.get(URL) is not None and store.get(URL).api_key == "prc_" + "n" * 43  # type: ignore[union-attr]


def test_remove_forgets_only_that_url(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    store.save(saved())
    store.save(saved("http://localhost:3000/dev"))

    assert store.remove(URL + "/") is True
    assert store.remove(URL) is False
    assert store.get("http://localhost:3000/dev") is not None


def test_a_file_readable_by_others_is_tightened_on_read(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    store.save(saved())
    store.path.chmod(0o644)

    store.read()

    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    store.path.write_text("{not json")

    with pytest.raises(ConfigError, match="not a valid credentials file; delete it and run `perceo login` again"):
        store.read()


def test_environment_wins_over_config_which_wins_over_the_file(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "credentials.json")
    store.save(saved())

    from_env = resolve_api_key(URL, config_key="prc_config", env={"PERCEO_API_KEY": "prc_env"}, store=store)
    from_config = resolve_api_key(URL, config_key="prc_config", env={}, store=store)
    from_file = resolve_api_key(URL, env={}, store=store)
    nothing = resolve_api_key("https://elsewhere.example/dev", env={}, store=store)

    assert (from_env.api_key, from_env.source) == ("prc_env", "environment")  # type: ignore[union-attr]
    assert (from_config.api_key, from_config.source) == ("prc_config", "config")  # type: ignore[union-attr]
    assert (from_file.api_key, from_file.source) == (KEY, "credentials file")  # type: ignore[union-attr]
    assert nothing is None


def test_the_key_never_shows_in_a_repr() -> None:
    assert KEY not in repr(saved())
    assert KEY not in str(saved())


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://api.example.com/dev", "must use https"),
        ("ftp://api.example.com", "must be an http"),
        ("https://api.example.com/dev?x=1", "query string"),
        ("not a url", "must be an http"),
    ],
)
def test_unsafe_or_malformed_api_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        normalize_api_url(url)


def test_plain_http_is_fine_for_this_machine() -> None:
    assert normalize_api_url("http://127.0.0.1:3000/dev/") == "http://127.0.0.1:3000/dev"
    assert normalize_api_url("http://LOCALHOST:3000/dev") == "http://localhost:3000/dev"
