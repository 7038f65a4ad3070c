"""What a handler module imports at cold start, and the settings that pick the graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from api_handlers import FUNCTION_ENV, FUNCTIONS, REPO

from perceo.config.settings import Settings
from perceo.errors import ConfigError

#: Clients only some requests need: built, and imported, inside the dependency builders.
LAZY = ("neo4j", "boto3", "openai", "falkordb", "httpx", "git", "tree_sitter")

BASE = {"STAGE": "dev", "POWERTOOLS_SERVICE_NAME": "perceo", "REDIS_URL": "rediss://cache.example.com:6379"}


@pytest.mark.parametrize(
    "code_dir", ["api/health", "api/projects", "api/keys", "api/flows", "api/observer", "authorizer"]
)
def test_importing_a_handler_builds_no_client_and_imports_no_driver_it_may_not_need(code_dir: str) -> None:
    probe = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {str(FUNCTIONS / code_dir / 'app.py')!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        f"print(json.dumps([m for m in {LAZY!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, **FUNCTION_ENV, "PYTHONPATH": str(REPO / "layers" / "perceo")}

    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)

    assert json.loads(done.stdout) == []


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
