"""Key paths: parsed, formatted, and checked against the config schema with helpful suggestions."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from perceo.config.keypaths import (
    format_key_path,
    is_secret_type,
    parse_key_path,
    path_exists,
    schema_at,
    value_at,
)
from perceo.config.model import CISection
from perceo.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("observer.ci.parallelism", ["observer", "ci", "parallelism"]),
        ("observer.watch.paths[1]", ["observer", "watch", "paths", 1]),
        ("observer.watch.paths.1", ["observer", "watch", "paths", 1]),
        ("version", ["version"]),
    ],
)
def test_key_paths_parse_dots_and_indexes(text: str, segments: list[str | int]) -> None:
    assert parse_key_path(text) == segments


@pytest.mark.parametrize("text", ["", "observer..ci", ".observer", "observer.[x]"])
def test_malformed_key_paths_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="invalid key path"):
        parse_key_path(text)


def test_formatting_renders_indexes_in_brackets() -> None:
    assert format_key_path(["observer", "watch", "paths", 2]) == "observer.watch.paths[2]"


def test_schema_lookup_follows_sections_to_their_types() -> None:
    assert schema_at(["observer", "ci"]) is CISection
    assert schema_at(["observer", "ci", "parallelism"]) is int
    assert schema_at(["llm", "apiKey"]) is SecretStr
    assert schema_at(["observer", "watch", "paths", 0]) is str


def test_a_misspelt_key_suggests_the_close_match() -> None:
    with pytest.raises(ConfigError) as raised:
        schema_at(parse_key_path("observer.ci.paralelism"))

    assert raised.value.message == (
        "unknown config key 'observer.ci.paralelism' (did you mean 'observer.ci.parallelism'?)"
    )


def test_a_snake_case_key_suggests_its_camel_case_name() -> None:
    with pytest.raises(ConfigError, match=r"did you mean 'flowGraph'\?"):
        schema_at(["flow_graph", "uri"])


def test_an_unguessable_key_lists_the_keys_that_exist_there() -> None:
    with pytest.raises(ConfigError, match=r"keys under 'observer.ci': strategy, parallelism"):
        schema_at(["observer", "ci", "zzz"])


def test_a_key_under_a_single_value_is_unknown() -> None:
    with pytest.raises(ConfigError, match=r"'observer.ci.parallelism' is a single value"):
        schema_at(["observer", "ci", "parallelism", "x"])


def test_free_form_objects_accept_any_key() -> None:
    schema_at(["analytics", "credentials", "serviceAccount", "privateKey"])


def test_secret_fields_are_known_from_the_schema() -> None:
    assert is_secret_type(["notifications", "slack", "webhook"])
    assert not is_secret_type(["observer", "apiBaseUrl"])


def test_values_under_a_null_section_read_as_null() -> None:
    data = {"notifications": {"slack": None}, "observer": {"watch": {"paths": ["src/"]}}}

    assert value_at(data, ["notifications", "slack", "webhook"]) is None
    assert value_at(data, ["observer", "watch", "paths", 0]) == "src/"
    assert path_exists(data, ["observer", "watch", "paths", 0])
    assert not path_exists(data, ["observer", "ci"])


def test_a_missing_free_form_key_or_index_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'analytics.credentials.token' is not set"):
        value_at({"analytics": {"credentials": {}}}, ["analytics", "credentials", "token"])
    with pytest.raises(ConfigError, match=r"has 1 item\(s\); there is no \[3\]"):
        value_at({"paths": ["a"]}, ["paths", 3])
