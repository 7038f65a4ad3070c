"""What a handler module imports at cold start, and the settings that pick the graph."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from api_handlers import FUNCTION_ENV, FUNCTIONS, REPO

from perceo.api.observability import lambda_tracer, tracing_enabled
from perceo.config.settings import Settings
from perceo.errors import ConfigError

#: Clients and drivers only some requests need: built, and imported, inside the dependency builders. The X-Ray SDK
#: (and botocore's client machinery with it) only when tracing is on.
LAZY = (
    "neo4j",
    "boto3",
    "botocore.client",
    "openai",
    "falkordb",
    "httpx",
    "git",
    "tree_sitter",
    "redis",
    "aws_xray_sdk",
)
HANDLERS = sorted(str(path.parent.relative_to(FUNCTIONS)) for path in FUNCTIONS.glob("**/app.py"))
#: What a deployed function starts with besides the template's variables.
LAMBDA_RUNTIME_ENV = {
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_LAMBDA_FUNCTION_NAME": "perceo-test",
    "AWS_REGION": "us-east-1",
}

BASE = {"STAGE": "dev", "POWERTOOLS_SERVICE_NAME": "perceo", "REDIS_URL": "rediss://cache.example.com:6379"}

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"loaded": [m for m in json.loads(sys.argv[2]) if m in sys.modules],
                  "tracer": type(getattr(module, "tracer", None)).__name__}))
"""


def _import_in_fresh_process(code_dir: str, env: dict[str, str]) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(FUNCTIONS / code_dir / "app.py"), json.dumps(LAZY)],
        env={**clean, **env, "PYTHONPATH": str(REPO / "layers" / "perceo")},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _template_globals() -> dict[str, str]:
    """The literal variables template.yaml gives every function (Globals)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=Loader)  # noqa: S506
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    return {k: v for k, v in variables.items() if isinstance(v, str)}


@pytest.mark.parametrize("code_dir", HANDLERS)
def test_importing_a_handler_builds_no_client_and_imports_no_driver_it_may_not_need(code_dir: str) -> None:
    probed = _import_in_fresh_process(code_dir, FUNCTION_ENV)

    assert probed["loaded"] == []


@pytest.mark.parametrize("code_dir", [h for h in HANDLERS if not h.startswith("steps/")])
def test_a_deployed_api_function_does_not_load_the_xray_sdk_unless_tracing_is_turned_on(code_dir: str) -> None:
    deployed = {**_template_globals(), **FUNCTION_ENV, **LAMBDA_RUNTIME_ENV}
    traced = {**deployed, "POWERTOOLS_TRACE_DISABLED": "false"}

    as_deployed = _import_in_fresh_process(code_dir, deployed)
    tracing_on = _import_in_fresh_process(code_dir, traced)

    assert deployed["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert as_deployed == {"loaded": [], "tracer": "_Untraced"}
    assert tracing_on["tracer"] == "Tracer" and "aws_xray_sdk" in tracing_on["loaded"]


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({}, False),  # outside Lambda (tests, the local cloud)
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_tracing_follows_powertools_rules(environ: dict[str, str], enabled: bool) -> None:
    assert tracing_enabled(environ) is enabled


def test_with_tracing_off_the_handler_runs_undecorated() -> None:
    def handler(event: dict[str, object], context: object) -> dict[str, object]:
        return event

    assert lambda_tracer({}).capture_lambda_handler(handler) is handler


@pytest.mark.parametrize("package", ["perceo.auth", "perceo.models", "perceo.llm"])
def test_lazy_packages_export_every_name_of_their_submodules(package: str) -> None:
    module = importlib.import_module(package)
    exports: dict[str, str] = module._EXPORTS

    assert set(module.__all__) == set(exports)
    for name, submodule in exports.items():
        assert getattr(module, name) is getattr(importlib.import_module(f"{package}.{submodule}"), name), name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError):
        module.NoSuchName  # noqa: B018


def test_importing_one_auth_submodule_does_not_import_redis() -> None:
    probe = "import sys, perceo.auth.redaction, perceo.auth.model; print('redis' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "PYTHONPATH": str(REPO / "layers" / "perceo")},
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.strip() == "False"


def test_graph_uri_picks_falkordb_and_needs_no_neo4j_settings() -> None:
    settings = Settings.from_env({**BASE, "GRAPH_URI": "redis://127.0.0.1:6390", "GRAPH_NAME": "local"})

    assert (settings.graph_uri, settings.graph_name, settings.neo4j_uri) == ("redis://127.0.0.1:6390", "local", None)


def test_without_graph_uri_neo4j_uri_and_secret_are_required_and_named() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(BASE)

    assert sorted(raised.value.details["missing"]) == ["NEO4J_SECRET_ARN", "NEO4J_URI"]


def test_rate_limit_and_cors_come_from_the_template_variables() -> None:
    settings = Settings.from_env(
        {
            **BASE,
            "GRAPH_URI": "redis://127.0.0.1:6390",
            "KEY_RATE_LIMIT_PER_SECOND": "2.5",
            "KEY_RATE_LIMIT_BURST": "7",
            "ALLOWED_CORS_ORIGIN": "https://app.perceo.dev",
        }
    )

    assert (settings.key_rate_limit_per_second, settings.key_rate_limit_burst) == (2.5, 7)
    assert settings.allowed_cors_origin == "https://app.perceo.dev"


FIRST_REQUEST = """
import base64, gc, importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
event = json.load(open(sys.argv[2]))
event["body"], event["isBase64Encoded"] = base64.b64encode(b"x" * (6 * 1024 * 1024)).decode(), True
before = gc.get_freeze_count()
class Context:
    function_name, memory_limit_in_mb, aws_request_id = "perceo-test", 512, "req-1"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:perceo-test"
status = module.lambda_handler(event, Context())["statusCode"]
print(json.dumps({"status": status, "before": before, "after": gc.get_freeze_count()}))
"""


@pytest.mark.parametrize(("lambda_env", "frozen"), [(True, True), (False, False)])
def test_an_api_function_freezes_its_start_up_heap_after_its_first_request_in_lambda_only(
    lambda_env: bool, frozen: bool
) -> None:
    # A body over the size limit is answered before any client is built, so no store is needed here.
    env = {**FUNCTION_ENV, **(LAMBDA_RUNTIME_ENV if lambda_env else {}), "POWERTOOLS_TRACE_DISABLED": "true"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_", "LAMBDA_"))}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            FIRST_REQUEST,
            str(FUNCTIONS / "api" / "flows" / "app.py"),
            str(REPO / "events" / "api" / "flows" / "create-flow.json"),
        ],
        env={**clean, **env, "PYTHONPATH": str(REPO / "layers" / "perceo")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["status"] == 413
    assert (result["after"] - result["before"] > 10_000) is frozen, result
