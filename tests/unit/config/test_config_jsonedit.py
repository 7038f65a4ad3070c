"""In-place edits of JSON5 config text: the edited value changes, comments and layout stay."""

from __future__ import annotations

import json5
import pytest

from perceo.config.jsonedit import line_and_column, scan, set_in_document

DOCUMENT = """{
  // Perceo config for the shop
  "version": "1.0",
  "project": {"name": "shop", /* inline */ "framework": "nextjs"},
  observer: {
    'apiKey': "${PERCEO_KEY}", // from CI
    "ci": {
      "parallelism": 4,
    },
  },
}
"""


def edit(text: str, path: list[str], value: object) -> tuple[str, object]:
    edited = set_in_document(text, path, value)
    return edited, json5.loads(edited)


def test_replacing_an_existing_value_changes_only_that_value() -> None:
    edited, data = edit(DOCUMENT, ["observer", "ci", "parallelism"], 8)

    assert edited == DOCUMENT.replace('"parallelism": 4', '"parallelism": 8')
    assert data["observer"]["ci"]["parallelism"] == 8


def test_adding_a_key_keeps_comments_and_follows_the_trailing_comma_style() -> None:
    edited, data = edit(DOCUMENT, ["observer", "ci", "strategy"], "all")

    assert data["observer"]["ci"] == {"parallelism": 4, "strategy": "all"}
    assert '      "parallelism": 4,\n      "strategy": "all",\n    },' in edited
    assert "// Perceo config for the shop" in edited and "// from CI" in edited and "/* inline */" in edited


def test_adding_a_key_after_a_line_comment_keeps_the_comment_with_its_member() -> None:
    edited, data = edit(DOCUMENT, ["observer", "apiBaseUrl"], "https://api.example.com")

    assert data["observer"]["apiBaseUrl"] == "https://api.example.com"
    assert data["observer"]["apiKey"] == "${PERCEO_KEY}"
    assert "'apiKey': \"${PERCEO_KEY}\", // from CI\n" in edited


def test_adding_to_a_single_line_object_stays_on_that_line() -> None:
    edited, data = edit(DOCUMENT, ["project", "branch"], "main")

    assert '{"name": "shop", /* inline */ "framework": "nextjs", "branch": "main"}' in edited
    assert data["project"]["branch"] == "main"


def test_adding_a_whole_missing_section_nests_it_with_the_file_indentation() -> None:
    edited, data = edit('{\n    "version": "1.0"\n}\n', ["notifications", "slack", "webhook"], "x")

    assert data == {"version": "1.0", "notifications": {"slack": {"webhook": "x"}}}
    assert '    "notifications": {\n        "slack": {\n            "webhook": "x"\n        }\n    }\n}' in edited


def test_adding_to_an_empty_object_and_replacing_a_null_section() -> None:
    assert json5.loads(set_in_document("{}", ["version"], "2")) == {"version": "2"}
    edited = set_in_document('{"notifications": {"slack": null}}', ["notifications", "slack", "webhook"], "x")
    assert json5.loads(edited) == {"notifications": {"slack": {"webhook": "x"}}}


def test_a_short_list_of_scalars_is_written_on_one_line() -> None:
    edited, data = edit(DOCUMENT, ["observer", "allowedGitHosts"], ["github.com", "gitlab.com"])

    assert '    "allowedGitHosts": ["github.com", "gitlab.com"],\n' in edited
    assert data["observer"]["allowedGitHosts"] == ["github.com", "gitlab.com"]


def test_windows_line_endings_are_kept() -> None:
    text = '{\r\n  "version": "1.0"\r\n}\r\n'
    edited = set_in_document(text, ["project"], {"name": "shop"})

    assert "\n" not in edited.replace("\r\n", "")
    assert json5.loads(edited) == {"version": "1.0", "project": {"name": "shop"}}


@pytest.mark.parametrize(
    ("text", "offset", "expected"),
    [("abc", 0, (1, 1)), ("a\nbc", 3, (2, 2)), ("a\n\nb", 3, (3, 1))],
)
def test_line_and_column_are_one_based(text: str, offset: int, expected: tuple[int, int]) -> None:
    assert line_and_column(text, offset) == expected


def test_scanner_records_the_span_of_every_member() -> None:
    root = scan(DOCUMENT)

    keys = [member.key for member in root.members]
    assert keys == ["version", "project", "observer"]
    observer = root.members[2].value
    api_key = observer.members[0]
    assert api_key.key == "apiKey"
    assert DOCUMENT[api_key.value.start : api_key.value.end] == '"${PERCEO_KEY}"'
