"""Loading a project's config from real files: layers, references, paths and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from perceo.config.loader import load_config
from perceo.errors import ConfigError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


def base_file(project: Path) -> Path:
    return project / ".perceo" / "config.json"


def test_no_config_file_means_defaults(project: Path) -> None:
    loaded = load_config(project, env={})

    assert loaded.sources == []
    assert loaded.path == base_file(project)
    assert loaded.raw == {}
    assert loaded.config.observer.ci.parallelism == 4


def test_a_commented_file_with_trailing_commas_loads(project: Path) -> None:
    write(
        base_file(project),
        """{
          // CI runs on 8 cores
          "observer": {"ci": {"parallelism": 8,},},
          /* "llm": {} */
        }""",
    )

    loaded = load_config(project, env={})

    assert loaded.config.observer.ci.parallelism == 8
    assert loaded.sources == [base_file(project)]


def test_a_malformed_file_reports_file_line_and_column(project: Path) -> None:
    write(base_file(project), '{\n  "observer": {\n    "ci": {"parallelism": 8 "strategy": "all"}\n  }\n}\n')

    with pytest.raises(ConfigError) as raised:
        load_config(project, env={})

    assert raised.value.message == '.perceo/config.json:3:29: invalid JSON: unexpected """'
    assert raised.value.details["line"] == 3


def test_environment_variables_are_interpolated_inside_strings(project: Path) -> None:
    write(
        base_file(project),
        json.dumps(
            {
                "observer": {"apiKey": "${PERCEO_KEY}", "apiBaseUrl": "https://${API_HOST}/v1"},
                "coordinator": {"testCommand": ["sh", "-c", "echo $${HOME} ${SUITE}"]},
            }
        ),
    )
    env = {"PERCEO_KEY": "prc_secret", "API_HOST": "api.example.com", "SUITE": "smoke"}

    loaded = load_config(project, env=env)

    assert loaded.config.observer.api_key is not None
    assert loaded.config.observer.api_key.get_secret_value() == "prc_secret"
    assert loaded.config.observer.api_base_url == "https://api.example.com/v1"
    assert loaded.config.coordinator.test_command == ["sh", "-c", "echo ${HOME} smoke"]
    assert loaded.raw["observer"]["apiKey"] == "${PERCEO_KEY}"


def test_a_missing_variable_names_the_variable_and_the_key_path(project: Path) -> None:
    write(base_file(project), '{"observer": {"apiKey": "${PERCEO_KEY}"}, "llm": {"baseUrl": "${LLM_URL}/v1"}}')

    with pytest.raises(ConfigError) as raised:
        load_config(project, env={})

    assert raised.value.message.splitlines() == [
        ".perceo/config.json: observer.apiKey: environment variable PERCEO_KEY is not set",
        ".perceo/config.json: llm.baseUrl: environment variable LLM_URL is not set",
    ]


def test_an_invalid_variable_reference_is_reported(project: Path) -> None:
    write(base_file(project), '{"project": {"name": "${not valid}"}}')

    with pytest.raises(ConfigError, match=r"project.name: '\$\{not valid\}' is not a valid variable reference"):
        load_config(project, env={})


def test_file_values_are_read_relative_to_the_config_folder(project: Path) -> None:
    write(project / ".perceo" / "secrets" / "llm.key", "sk-from-file\n")
    write(project / "webhook.txt", "https://hooks.slack.com/x\r\n")
    write(
        base_file(project),
        json.dumps(
            {
                "llm": {"apiKey": "file:secrets/llm.key"},
                "notifications": {"slack": {"webhook": "file:${ROOT}/webhook.txt"}},
            }
        ),
    )

    config = load_config(project, env={"ROOT": str(project)}).config

    assert config.llm.api_key is not None and config.llm.api_key.get_secret_value() == "sk-from-file"
    assert config.notifications.slack is not None and config.notifications.slack.webhook is not None
    assert config.notifications.slack.webhook.get_secret_value() == "https://hooks.slack.com/x"


def test_a_missing_file_value_names_the_key_path(project: Path) -> None:
    write(base_file(project), '{"llm": {"apiKey": "file:secrets/llm.key"}}')

    with pytest.raises(ConfigError) as raised:
        load_config(project, env={})

    expected = str(project / ".perceo" / "secrets" / "llm.key")
    assert raised.value.message == (
        f".perceo/config.json: llm.apiKey: file secrets/llm.key not found (looked for {expected})"
    )


LOCAL_OVERRIDE = '{"observer": {"ci": {"parallelism": 16}, "watch": {"paths": ["lib/"]}}, "llm": {"baseUrl": null}}'


def write_base_and_local(project: Path) -> None:
    write(
        base_file(project),
        json.dumps(
            {
                "observer": {"ci": {"parallelism": 4, "strategy": "all"}, "watch": {"paths": ["src/", "app/"]}},
                "llm": {"baseUrl": "https://llm.example.com"},
            }
        ),
    )
    write(project / ".perceo" / "config.local.json", LOCAL_OVERRIDE)


@pytest.mark.parametrize("env", [{"PERCEO_ENV": "local"}, {"PERCEO_ENV": "Local"}, {"NODE_ENV": "development"}])
def test_local_overrides_merge_deeply_when_enabled(project: Path, env: dict[str, str]) -> None:
    write_base_and_local(project)

    loaded = load_config(project, env=env)

    assert loaded.sources == [base_file(project), project / ".perceo" / "config.local.json"]
    assert loaded.config.observer.ci.parallelism == 16
    assert loaded.config.observer.ci.strategy == "all"
    assert loaded.config.observer.watch.paths == ["lib/"]
    assert loaded.config.llm.base_url is None


@pytest.mark.parametrize("env", [{}, {"PERCEO_ENV": "production"}, {"NODE_ENV": "production"}])
def test_local_overrides_are_ignored_otherwise(project: Path, env: dict[str, str]) -> None:
    write_base_and_local(project)

    loaded = load_config(project, env=env)

    assert loaded.sources == [base_file(project)]
    assert loaded.config.observer.ci.parallelism == 4
    assert loaded.config.observer.watch.paths == ["src/", "app/"]


def test_local_overrides_apply_without_a_base_file(project: Path) -> None:
    write(project / ".perceo" / "config.local.json", LOCAL_OVERRIDE)

    loaded = load_config(project, env={"PERCEO_ENV": "local"})

    assert loaded.sources == [project / ".perceo" / "config.local.json"]
    assert loaded.config.observer.ci.parallelism == 16


def test_perceo_config_path_may_be_relative_to_the_project(project: Path) -> None:
    write(project / "ci" / "perceo.json", '{"observer": {"ci": {"parallelism": 2}}}')
    write(project / "ci" / "config.local.json", '{"observer": {"ci": {"parallelism": 3}}}')
    write(base_file(project), '{"observer": {"ci": {"parallelism": 9}}}')

    plain = load_config(project, env={"PERCEO_CONFIG_PATH": "ci/perceo.json"})
    local = load_config(project, env={"PERCEO_CONFIG_PATH": "ci/perceo.json", "PERCEO_ENV": "local"})

    assert plain.path == project / "ci" / "perceo.json"
    assert plain.config.observer.ci.parallelism == 2
    assert local.config.observer.ci.parallelism == 3


def test_perceo_config_path_may_be_absolute(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = write(tmp_path_factory.mktemp("shared") / "perceo.json", '{"project": {"name": "shared"}}')

    loaded = load_config(project, env={"PERCEO_CONFIG_PATH": str(elsewhere)})

    assert loaded.path == elsewhere
    assert loaded.config.project.name == "shared"


def test_a_missing_file_named_by_perceo_config_path_is_an_error(project: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(project, env={"PERCEO_CONFIG_PATH": "ci/perceo.json"})

    assert raised.value.message == "ci/perceo.json: config file not found (PERCEO_CONFIG_PATH=ci/perceo.json)"


def test_every_validation_error_is_reported_with_file_and_key_path(project: Path) -> None:
    write(
        base_file(project),
        json.dumps(
            {
                "observer": {"ci": {"parallelism": 0, "strategy": "some"}, "watch": {"paths": ["src/", 3]}},
                "flowGraph": {"type": "mysql"},
                "llm": {"modle": "gpt", "timeoutS": 0},
                "bootstrap": {"maxFlows": "many"},
            }
        ),
    )

    with pytest.raises(ConfigError) as raised:
        load_config(project, env={})

    assert sorted(raised.value.message.splitlines()) == sorted(
        [
            ".perceo/config.json: flowGraph.type: must be 'embedded', 'falkordb' or 'neo4j'",
            ".perceo/config.json: observer.watch.paths[1]: must be a string",
            ".perceo/config.json: observer.ci.strategy: must be 'affected-flows' or 'all'",
            ".perceo/config.json: observer.ci.parallelism: must be ≥ 1",
            ".perceo/config.json: llm.modle: unknown key (did you mean 'model'?)",
            ".perceo/config.json: llm.timeoutS: must be > 0",
            ".perceo/config.json: bootstrap.maxFlows: must be an integer",
        ]
    )
    assert len(raised.value.details["errors"]) == 7


def test_a_validation_error_names_the_file_that_set_the_bad_value(project: Path) -> None:
    write(base_file(project), '{"observer": {"ci": {"parallelism": 4}}, "llm": {"maxRetries": 99}}')
    write(project / ".perceo" / "config.local.json", '{"observer": {"ci": {"parallelism": 0}}}')

    with pytest.raises(ConfigError) as raised:
        load_config(project, env={"PERCEO_ENV": "local"})

    assert sorted(raised.value.message.splitlines()) == [
        ".perceo/config.json: llm.maxRetries: must be ≤ 10",
        ".perceo/config.local.json: observer.ci.parallelism: must be ≥ 1",
    ]


def test_a_config_outside_the_project_is_named_by_its_full_path(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = write(tmp_path_factory.mktemp("shared") / "perceo.json", '{"observer": {"ci": {"parallelism": 0}}}')

    with pytest.raises(ConfigError, match=rf"^{elsewhere}: observer.ci.parallelism: must be ≥ 1$"):
        load_config(project, env={"PERCEO_CONFIG_PATH": str(elsewhere)})


def test_a_file_that_is_not_utf8_is_a_clear_error(project: Path) -> None:
    base_file(project).parent.mkdir(parents=True)
    base_file(project).write_bytes(b'{"project": {"name": "caf\xe9"}}')

    with pytest.raises(ConfigError, match=r"^\.perceo/config\.json: not UTF-8 text \(byte 25\)$"):
        load_config(project, env={})


def test_a_utf8_byte_order_mark_is_accepted(project: Path) -> None:
    base_file(project).parent.mkdir(parents=True)
    base_file(project).write_bytes('\ufeff{"project": {"name": "café"}}'.encode())

    assert load_config(project, env={}).config.project.name == "café"


# --- analytics.credentials: every form the docs promise


@pytest.mark.parametrize(
    ("written", "env", "files", "expected"),
    [
        ('{"propertyId": "987654"}', {}, {}, {"propertyId": "987654"}),
        ('"{\\"propertyId\\": \\"987654\\"}"', {}, {}, {"propertyId": "987654"}),
        ('"${GA4_KEY}"', {"GA4_KEY": '{"type": "service_account", "private_key": "k"}'}, {}, None),
        ('"file:ga4.json"', {}, {"ga4.json": '{"type": "service_account", "private_key": "k"}\n'}, None),
    ],
    ids=["object", "json-string", "variable-holding-json", "file-holding-json"],
)
def test_analytics_credentials_given_as_json_become_an_object(
    project: Path, written: str, env: dict[str, str], files: dict[str, str], expected: dict[str, str] | None
) -> None:
    for name, text in files.items():
        write(project / ".perceo" / name, text)
    write(base_file(project), '{"analytics": {"provider": "ga4", "credentials": ' + written + "}}")

    credentials = load_config(project, env=env).config.analytics.credentials

    assert credentials == (expected or {"type": "service_account", "private_key": "k"})


@pytest.mark.parametrize(
    ("written", "env", "files"),
    [
        ('"${MIXPANEL_SECRET}"', {"MIXPANEL_SECRET": "mp-secret-0123"}, {}),
        ('"mp-secret-0123"', {}, {}),
        ('"file:mixpanel.key"', {}, {"mixpanel.key": "mp-secret-0123\n"}),
    ],
    ids=["variable", "plain", "file"],
)
def test_analytics_credentials_given_as_a_plain_key_stay_a_secret_string(
    project: Path, written: str, env: dict[str, str], files: dict[str, str]
) -> None:
    for name, text in files.items():
        write(project / ".perceo" / name, text)
    write(base_file(project), '{"analytics": {"provider": "mixpanel", "credentials": ' + written + "}}")

    credentials = load_config(project, env=env).config.analytics.credentials

    assert isinstance(credentials, SecretStr)
    assert credentials.get_secret_value() == "mp-secret-0123"
    assert "mp-secret" not in repr(credentials)


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("42", "must be an object, a JSON object string or a key string"),
        ('["a"]', "must be an object, a JSON object string or a key string"),
        ('"{\\"propertyId\\": }"', "starts with '{' but is not a valid JSON object (line 1 column 16"),
    ],
)
def test_analytics_credentials_of_a_wrong_type_name_the_key_path(project: Path, written: str, reason: str) -> None:
    write(base_file(project), '{"analytics": {"credentials": ' + written + "}}")

    with pytest.raises(ConfigError) as raised:
        load_config(project, env={})

    assert raised.value.message.startswith(f".perceo/config.json: analytics.credentials: {reason}")
    assert "propertyId" not in raised.value.message.split(reason)[0]


def test_event_bus_may_be_written_as_its_type_alone(project: Path) -> None:
    write(base_file(project), '{"eventBus": "in-memory"}')

    assert load_config(project, env={}).config.event_bus.type == "in-memory"


def test_event_bus_of_an_unknown_type_still_names_the_key_path(project: Path) -> None:
    write(base_file(project), '{"eventBus": "kafka"}')

    with pytest.raises(ConfigError, match=r"eventBus\.type: must be 'embedded', 'redis' or 'in-memory'"):
        load_config(project, env={})
