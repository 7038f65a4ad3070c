"""`set_config_value`: one key into the base file, validated first, written atomically, comments kept."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import json5
import pytest

from perceo.config.loader import load_config, save_config_value, set_config_value
from perceo.errors import ConfigError

COMMENTED = """{
  // Perceo config for the shop
  "version": "1.0",
  "project": {"name": "shop", "framework": "nextjs"},
  "observer": {
    "apiKey": "${PERCEO_KEY}", // set in CI
    "ci": {
      "parallelism": 4,
    },
  },
}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


def base_file(project: Path) -> Path:
    return project / ".perceo" / "config.json"


def write_base(project: Path, text: str = COMMENTED) -> Path:
    path = base_file(project)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def leftovers(project: Path) -> list[str]:
    return sorted(p.name for p in (project / ".perceo").iterdir() if p.name.endswith(".tmp"))


def test_set_then_load_round_trips_and_keeps_everything_else(project: Path) -> None:
    path = write_base(project)

    written = save_config_value(project, "observer.ci.parallelism", "8", env={})

    assert written == path
    text = path.read_text(encoding="utf-8")
    assert text == COMMENTED.replace('"parallelism": 4', '"parallelism": 8')
    config = load_config(project, env={"PERCEO_KEY": "k"}).config
    assert config.observer.ci.parallelism == 8
    assert config.project.name == "shop"
    assert leftovers(project) == []


def test_set_adds_new_keys_and_sections_as_json_values(project: Path) -> None:
    write_base(project)

    save_config_value(project, "observer.watch.paths", '["lib/", "app/"]', env={})
    save_config_value(project, "analyzer.insights.enabled", "false", env={})
    save_config_value(project, "project.branch", "main", env={})

    data = json5.loads(base_file(project).read_text(encoding="utf-8"))
    assert data["observer"]["watch"] == {"paths": ["lib/", "app/"]}
    assert data["analyzer"] == {"insights": {"enabled": False}}
    assert data["project"]["branch"] == "main"
    assert "// Perceo config for the shop" in base_file(project).read_text(encoding="utf-8")


def test_set_reports_what_changed(project: Path) -> None:
    write_base(project)

    change = set_config_value(project, "observer.ci.parallelism", "8", env={})
    added = set_config_value(project, "llm.model", "gpt-4.1", env={})

    assert (change.key, change.old, change.had_value, change.new) == ("observer.ci.parallelism", 4, True, 8)
    assert (added.old, added.had_value, added.new) == (None, False, "gpt-4.1")
    assert change.comments_kept and change.overridden_by is None


def test_set_creates_the_config_file_when_there_is_none(project: Path) -> None:
    save_config_value(project, "observer.ci.parallelism", "2", env={})

    assert json.loads(base_file(project).read_text(encoding="utf-8")) == {"observer": {"ci": {"parallelism": 2}}}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("observer.ci.parallelism", "0", ".perceo/config.json: observer.ci.parallelism: must be ≥ 1"),
        (
            "observer.ci.strategy",
            "some",
            ".perceo/config.json: observer.ci.strategy: must be 'affected-flows' or 'all'",
        ),
        ("observer.ci.paralelism", "8", "unknown config key 'observer.ci.paralelism' (did you mean"),
        ("observer.watch.paths[0]", "x", "cannot set an item inside a list"),
        ("llm.apiKey", "${not valid}", "llm.apiKey: '${not valid}' is not a valid variable reference"),
    ],
)
def test_an_invalid_set_raises_and_leaves_the_file_byte_identical(
    project: Path, key: str, value: str, message: str
) -> None:
    path = write_base(project)
    before = path.read_bytes()

    with pytest.raises(ConfigError) as raised:
        save_config_value(project, key, value, env={})

    assert message in raised.value.message
    assert path.read_bytes() == before
    assert leftovers(project) == []


def test_set_refuses_to_touch_a_file_with_a_syntax_error(project: Path) -> None:
    path = write_base(project, '{"observer": {"ci": }}')
    before = path.read_bytes()

    with pytest.raises(ConfigError, match=r"^\.perceo/config\.json:1:21: invalid JSON"):
        save_config_value(project, "observer.ci.parallelism", "8", env={})

    assert path.read_bytes() == before


def test_set_can_repair_an_invalid_value(project: Path) -> None:
    write_base(project, '{"observer": {"ci": {"parallelism": 0}}}')

    save_config_value(project, "observer.ci.parallelism", "3", env={})

    assert load_config(project, env={}).config.observer.ci.parallelism == 3


def test_set_writes_the_base_file_only_and_warns_about_a_local_override(project: Path) -> None:
    write_base(project)
    local = project / ".perceo" / "config.local.json"
    local.write_text('{"observer": {"ci": {"parallelism": 16}}}', encoding="utf-8")
    local_before = local.read_bytes()

    change = set_config_value(project, "observer.ci.parallelism", "8", env={"PERCEO_ENV": "local"})

    assert local.read_bytes() == local_before
    assert change.overridden_by == local
    assert json5.loads(base_file(project).read_text(encoding="utf-8"))["observer"]["ci"]["parallelism"] == 8


def test_set_validates_the_result_merged_with_active_local_overrides(project: Path) -> None:
    write_base(project)
    (project / ".perceo" / "config.local.json").write_text('{"llm": {"maxRetries": 99}}', encoding="utf-8")
    before = base_file(project).read_bytes()

    with pytest.raises(ConfigError, match=r"^\.perceo/config\.local\.json: llm\.maxRetries: must be ≤ 10$"):
        save_config_value(project, "observer.ci.parallelism", "8", env={"PERCEO_ENV": "local"})
    assert base_file(project).read_bytes() == before

    save_config_value(project, "observer.ci.parallelism", "8", env={})
    assert base_file(project).read_bytes() != before


def test_set_accepts_a_reference_to_a_variable_that_is_set_only_elsewhere(project: Path) -> None:
    write_base(project)

    save_config_value(project, "llm.apiKey", "${LLM_KEY}", env={})

    assert json5.loads(base_file(project).read_text(encoding="utf-8"))["llm"]["apiKey"] == "${LLM_KEY}"
    with pytest.raises(ConfigError, match="llm.apiKey: environment variable LLM_KEY is not set"):
        load_config(project, env={"PERCEO_KEY": "k"})


def test_set_uses_perceo_config_path(project: Path) -> None:
    target = project / "ci" / "perceo.json"
    target.parent.mkdir()
    target.write_text("{}", encoding="utf-8")

    assert save_config_value(project, "project.name", "shop", env={"PERCEO_CONFIG_PATH": "ci/perceo.json"}) == target
    assert json.loads(target.read_text(encoding="utf-8")) == {"project": {"name": "shop"}}
    assert not base_file(project).exists()
    with pytest.raises(ConfigError, match="config file not found"):
        save_config_value(project, "project.name", "shop", env={"PERCEO_CONFIG_PATH": "ci/missing.json"})


def test_set_keeps_the_file_mode_and_writes_through_a_symlink(project: Path) -> None:
    real = project / "shared" / "perceo.json"
    real.parent.mkdir()
    real.write_text("{}", encoding="utf-8")
    real.chmod(0o600)
    base_file(project).parent.mkdir()
    base_file(project).symlink_to(real)

    save_config_value(project, "project.name", "shop", env={})

    assert base_file(project).is_symlink()
    assert json.loads(real.read_text(encoding="utf-8")) == {"project": {"name": "shop"}}
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_a_layout_the_editor_cannot_follow_falls_back_to_plain_json(project: Path) -> None:
    # An escaped identifier key: json5 reads `project`, the in-place editor sees `\u0070roject`.
    write_base(project, '{\n  // comment\n  \\u0070roject: {"name": "old"},\n}\n')

    change = set_config_value(project, "project.name", "new", env={})

    assert not change.comments_kept
    text = base_file(project).read_text(encoding="utf-8")
    assert json.loads(text) == {"project": {"name": "new"}}
    assert "// comment" not in text
