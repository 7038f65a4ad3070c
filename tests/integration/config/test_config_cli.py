"""`perceo config show|get|set` run in-process: exit codes, stdout/stderr, masking, files on disk."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import json5
import pytest

from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output

CONFIG = """{
  // shop config
  "project": {"name": "shop"},
  "observer": {
    "apiKey": "${PERCEO_KEY}",
    "ci": {"parallelism": 4},
  },
  "llm": {"apiKey": "sk-live-0123456789abcdef"},
  "analytics": {"provider": "ga4", "credentials": {"propertyId": "987654"}},
}
"""
SECRETS = ("prc_live_secret_value", "sk-live-0123456789abcdef", "987654")


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("PERCEO_ENV", "NODE_ENV", "PERCEO_CONFIG_PATH", "PERCEO_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PERCEO_KEY", "prc_live_secret_value")
    config = tmp_path / ".perceo" / "config.json"
    config.parent.mkdir()
    config.write_text(CONFIG, encoding="utf-8")
    return tmp_path


def perceo(project: Path, *args: str) -> Run:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["config", *args], context=AppContext(output=Output(stdout, stderr), project_dir=project))
    run = Run(code, stdout.getvalue(), stderr.getvalue())
    assert "Traceback" not in run.err
    return run


def test_show_json_is_valid_json_on_stdout_with_secrets_masked(project: Path) -> None:
    run = perceo(project, "show", "--json")

    assert run.code == 0
    data = json.loads(run.out)
    assert data["observer"]["apiKey"] == "****"
    assert data["llm"]["apiKey"] == "****"
    assert data["analytics"]["credentials"] == {"propertyId": "****"}
    assert data["observer"]["ci"]["parallelism"] == 4
    assert data["project"]["name"] == "shop"
    for secret in SECRETS:
        assert secret not in run.out and secret not in run.err
    assert "config: .perceo/config.json" in run.err


def test_show_lists_every_merged_file_on_stderr(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".perceo" / "config.local.json").write_text('{"observer": {"ci": {"parallelism": 9}}}')
    monkeypatch.setenv("PERCEO_ENV", "local")

    run = perceo(project, "show", "--json")

    assert run.code == 0
    assert json.loads(run.out)["observer"]["ci"]["parallelism"] == 9
    assert "config: .perceo/config.json + .perceo/config.local.json" in run.err


def test_show_text_prints_one_dotted_key_per_line(project: Path) -> None:
    run = perceo(project, "show")

    assert run.code == 0
    lines = run.out.splitlines()
    assert "observer.ci.parallelism = 4" in lines
    assert 'observer.apiKey = "****"' in lines
    assert "observer.watch.paths = []" in lines
    assert "notifications.slack = null" in lines
    for secret in SECRETS:
        assert secret not in run.out


def test_show_without_a_config_file_shows_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERCEO_CONFIG_PATH", raising=False)

    run = perceo(tmp_path, "show", "--json")

    assert run.code == 0
    assert json.loads(run.out)["flowGraph"]["type"] == "embedded"
    assert "config: defaults (no .perceo/config.json)" in run.err


def test_get_prints_strings_bare_and_other_values_as_json(project: Path) -> None:
    assert perceo(project, "get", "project.name").out == "shop\n"
    assert perceo(project, "get", "observer.ci.parallelism").out == "4\n"
    assert json.loads(perceo(project, "get", "observer.ci").out) == {"strategy": "affected-flows", "parallelism": 4}
    assert perceo(project, "get", "observer.watch.ignore[1]").out == ".next/\n"
    assert perceo(project, "get", "project.name", "--json").out == '"shop"\n'


def test_get_masks_secrets_unless_revealed(project: Path) -> None:
    masked = perceo(project, "get", "observer.apiKey")
    revealed = perceo(project, "get", "observer.apiKey", "--reveal")

    assert (masked.code, masked.out) == (0, "****\n")
    assert (revealed.code, revealed.out) == (0, "prc_live_secret_value\n")
    assert "sk-live" not in perceo(project, "get", "llm", "--json").out


def test_get_an_unknown_key_exits_2_with_a_suggestion(project: Path) -> None:
    run = perceo(project, "get", "observer.ci.paralelism")

    assert run.code == 2
    assert run.out == ""
    assert "unknown config key 'observer.ci.paralelism' (did you mean 'observer.ci.parallelism'?)" in run.err


def test_set_then_get_round_trips_and_keeps_comments(project: Path) -> None:
    run = perceo(project, "set", "observer.ci.parallelism", "8")

    assert run.code == 0
    assert run.out == "observer.ci.parallelism: 4 → 8\n"
    assert "written to .perceo/config.json" in run.err
    assert perceo(project, "get", "observer.ci.parallelism").out == "8\n"
    assert "// shop config" in (project / ".perceo" / "config.json").read_text(encoding="utf-8")


def test_set_a_new_key_reports_it_was_unset(project: Path) -> None:
    run = perceo(project, "set", "observer.watch.paths", '["lib/"]')

    assert run.code == 0
    assert run.out == 'observer.watch.paths: (unset) → ["lib/"]\n'
    assert json.loads(perceo(project, "get", "observer.watch.paths", "--json").out) == ["lib/"]


def test_set_masks_secrets_in_what_it_prints(project: Path) -> None:
    run = perceo(project, "set", "llm.apiKey", "sk-new-0123456789")

    assert run.code == 0
    assert run.out == 'llm.apiKey: "****" → "****"\n'
    assert "sk-new" not in run.out + run.err
    assert perceo(project, "get", "llm.apiKey", "--reveal").out == "sk-new-0123456789\n"


def test_set_an_invalid_value_exits_2_and_leaves_the_file_byte_identical(project: Path) -> None:
    path = project / ".perceo" / "config.json"
    before = path.read_bytes()

    run = perceo(project, "set", "observer.ci.parallelism", "0")

    assert run.code == 2
    assert run.out == ""
    assert "error: .perceo/config.json: observer.ci.parallelism: must be ≥ 1" in run.err
    assert path.read_bytes() == before


def test_set_an_unknown_key_exits_2_and_leaves_the_file_byte_identical(project: Path) -> None:
    path = project / ".perceo" / "config.json"
    before = path.read_bytes()

    run = perceo(project, "set", "observer.bogus", "1")

    assert run.code == 2
    assert "unknown config key 'observer.bogus'" in run.err
    assert path.read_bytes() == before


def test_set_warns_when_the_config_does_not_load_here(project: Path) -> None:
    run = perceo(project, "set", "llm.baseUrl", "${LLM_URL}")

    assert run.code == 0
    assert "llm.baseUrl: environment variable LLM_URL is not set" in run.err
    assert json5.loads((project / ".perceo" / "config.json").read_text(encoding="utf-8"))["llm"]["baseUrl"] == (
        "${LLM_URL}"
    )


def test_a_malformed_config_exits_2_with_file_line_and_column(project: Path) -> None:
    (project / ".perceo" / "config.json").write_text('{\n  "observer": {,}\n}\n', encoding="utf-8")

    run = perceo(project, "show", "--json")

    assert run.code == 2
    assert run.out == ""
    assert '.perceo/config.json:2:17: invalid JSON: unexpected "}"' in run.err


def test_a_missing_variable_exits_2_naming_it_and_its_key(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERCEO_KEY")

    run = perceo(project, "show")

    assert run.code == 2
    assert "observer.apiKey: environment variable PERCEO_KEY is not set" in run.err


# --- analytics.credentials as a variable, a JSON string or a file (the forms the README promises)


def write_config(project: Path, text: str) -> Path:
    path = project / ".perceo" / "config.json"
    path.write_text(text, encoding="utf-8")
    return path


def test_credentials_from_a_variable_load_and_stay_masked(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GA4_KEY", "ga4-key-0123456789")
    write_config(project, '{"analytics": {"provider": "ga4", "credentials": "${GA4_KEY}"}}')

    shown = perceo(project, "show", "--json")
    got = perceo(project, "get", "analytics.credentials")
    revealed = perceo(project, "get", "analytics.credentials", "--reveal")

    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["analytics"]["credentials"] == "****"
    assert (got.code, got.out) == (0, "****\n")
    assert (revealed.code, revealed.out) == (0, "ga4-key-0123456789\n")
    assert "ga4-key" not in shown.out + shown.err + got.out + got.err


def test_credentials_from_a_json_file_are_an_object_with_every_value_masked(project: Path) -> None:
    (project / ".perceo" / "ga4.json").write_text('{"type": "service_account", "private_key": "pk-0123"}\n')
    write_config(project, '{"analytics": {"provider": "ga4", "credentials": "file:ga4.json"}}')

    run = perceo(project, "show", "--json")

    assert run.code == 0, run.err
    assert json.loads(run.out)["analytics"]["credentials"] == {"type": "****", "private_key": "****"}
    assert "pk-0123" not in run.out + run.err


def test_set_credentials_to_a_variable_reference_writes_it_unresolved(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GA4_KEY", '{"propertyId": "987654"}')

    run = perceo(project, "set", "analytics.credentials", "${GA4_KEY}")

    assert run.code == 0, run.err
    assert run.out == 'analytics.credentials: {"propertyId": "****"} → "****"\n'
    written = json5.loads((project / ".perceo" / "config.json").read_text(encoding="utf-8"))
    assert written["analytics"]["credentials"] == "${GA4_KEY}"
    assert json.loads(perceo(project, "get", "analytics.credentials", "--reveal", "--json").out) == {
        "propertyId": "987654"
    }


def test_set_credentials_of_a_wrong_type_exits_2_naming_the_key_path(project: Path) -> None:
    path = project / ".perceo" / "config.json"
    before = path.read_bytes()

    run = perceo(project, "set", "analytics.credentials", "42")

    assert run.code == 2
    assert run.out == ""
    assert (
        "error: .perceo/config.json: analytics.credentials: must be an object, a JSON object string or a key string"
        in run.err
    )
    assert path.read_bytes() == before


def test_set_inside_credentials_held_as_a_string_exits_2_and_keeps_the_file(project: Path) -> None:
    path = write_config(project, '{"analytics": {"credentials": "${GA4_KEY}"}}')
    before = path.read_bytes()

    run = perceo(project, "set", "analytics.credentials.propertyId", "1")

    assert run.code == 2
    assert "'analytics.credentials' is not an object in the file" in run.err
    assert path.read_bytes() == before


def test_a_command_that_loads_the_config_accepts_credentials_from_a_variable(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GA4_KEY", "ga4-key-0123456789")
    write_config(project, '{"analytics": {"provider": "ga4", "credentials": "${GA4_KEY}"}}')
    stdout, stderr = io.StringIO(), io.StringIO()

    code = main(["routes", "--json"], context=AppContext(output=Output(stdout, stderr), project_dir=project))

    assert code == 0, stderr.getvalue()
    assert json.loads(stdout.getvalue())["routes"] == []
    assert "ga4-key" not in stdout.getvalue() + stderr.getvalue()


def test_a_command_that_loads_the_config_exits_2_on_credentials_of_a_wrong_type(project: Path) -> None:
    write_config(project, '{"analytics": {"credentials": ["ga4"]}}')
    stdout, stderr = io.StringIO(), io.StringIO()

    code = main(["routes", "--json"], context=AppContext(output=Output(stdout, stderr), project_dir=project))

    assert code == 2
    assert stdout.getvalue() == ""
    assert "analytics.credentials: must be an object, a JSON object string or a key string" in stderr.getvalue()
    assert "Traceback" not in stderr.getvalue()


def test_event_bus_set_to_its_type_alone_round_trips(project: Path) -> None:
    run = perceo(project, "set", "eventBus", "in-memory")

    assert run.code == 0, run.err
    assert perceo(project, "get", "eventBus.type").out == "in-memory\n"
