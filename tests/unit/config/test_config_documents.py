"""Parsing config text, merging layers and reading command-line values — no files involved."""

from __future__ import annotations

import pytest

from perceo.config.loader import deep_merge, local_overrides_enabled, parse_cli_value, parse_document
from perceo.errors import ConfigError


def test_comments_trailing_commas_and_json5_syntax_are_accepted() -> None:
    text = """
    // top comment
    {
      version: '1.0', /* unquoted key, single quotes */
      "observer": {"ci": {"parallelism": 8,},},
    }
    """
    assert parse_document(text, "config.json") == {"version": "1.0", "observer": {"ci": {"parallelism": 8}}}


def test_a_syntax_error_names_the_file_line_and_column() -> None:
    text = '{\n  "version": "1.0",\n  "project": }\n'

    with pytest.raises(ConfigError) as raised:
        parse_document(text, ".perceo/config.json")

    assert raised.value.message == '.perceo/config.json:3:14: invalid JSON: unexpected "}"'
    assert raised.value.details == {
        "file": ".perceo/config.json",
        "line": 3,
        "column": 14,
        "reason": 'unexpected "}"',
    }


def test_a_missing_comma_points_at_the_next_member() -> None:
    with pytest.raises(ConfigError, match=r"^cfg.json:3:3: invalid JSON: unexpected"):
        parse_document('{\n  "a": 1\n  "b": 2\n}', "cfg.json")


def test_an_unterminated_document_reports_the_end() -> None:
    with pytest.raises(ConfigError, match=r"^cfg.json:1:12: invalid JSON: unexpected end of input$"):
        parse_document('{"a": [1, 2', "cfg.json")


def test_a_duplicate_key_is_an_error_with_its_position_and_path() -> None:
    text = '{\n  "observer": {\n    "ci": {},\n    "ci": {}\n  }\n}'

    with pytest.raises(ConfigError) as raised:
        parse_document(text, "cfg.json")

    assert raised.value.message == "cfg.json:4:5: duplicate key 'observer.ci'"


def test_the_top_level_must_be_an_object() -> None:
    with pytest.raises(ConfigError, match=r"^cfg.json: the top level must be an object \{\.\.\.\}, not a list$"):
        parse_document("[1, 2]", "cfg.json")


def test_an_empty_document_is_an_empty_object() -> None:
    assert parse_document("  \n", "cfg.json") == {}


def test_merge_recurses_into_objects_and_replaces_everything_else() -> None:
    base = {"observer": {"ci": {"parallelism": 4, "strategy": "all"}, "watch": {"paths": ["src/", "app/"]}}, "x": 1}
    local = {"observer": {"ci": {"parallelism": 8}, "watch": {"paths": ["lib/"]}}, "x": None, "y": {"z": 2}}

    merged = deep_merge(base, local)

    assert merged == {
        "observer": {"ci": {"parallelism": 8, "strategy": "all"}, "watch": {"paths": ["lib/"]}},
        "x": None,
        "y": {"z": 2},
    }
    assert base["observer"]["ci"]["parallelism"] == 4
    local["y"]["z"] = 3
    assert merged["y"]["z"] == 2


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({"PERCEO_ENV": "local"}, True),
        ({"PERCEO_ENV": "LOCAL"}, True),
        ({"NODE_ENV": "development"}, True),
        ({"PERCEO_ENV": "production"}, False),
        ({"NODE_ENV": "production"}, False),
        ({}, False),
    ],
)
def test_local_overrides_follow_perceo_env_or_node_env(env: dict[str, str], enabled: bool) -> None:
    assert local_overrides_enabled(env) is enabled


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("8", 8),
        ("0.5", 0.5),
        ("true", True),
        ("null", None),
        ('["src/", "app/"]', ["src/", "app/"]),
        ('{"a": 1}', {"a": 1}),
        ('"8"', "8"),
        ("main", "main"),
        ("https://api.example.com", "https://api.example.com"),
        ("NaN", "NaN"),
        ("${PERCEO_KEY}", "${PERCEO_KEY}"),
    ],
)
def test_command_line_values_are_json_when_they_parse_else_strings(raw: str, value: object) -> None:
    assert parse_cli_value(raw) == value
