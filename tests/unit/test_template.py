"""template.yaml points at code and samples that exist, routes what the handlers serve, and grants narrowly."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Ref X` → {"Ref": "X"}, `!GetAtt A.B` → {"Fn::GetAtt": …})."""


def _tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load((REPO / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    return loaded


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _api_routes(properties: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (event["Properties"]["Method"].upper(), event["Properties"]["Path"])
        for event in (properties.get("Events") or {}).values()
        if event["Type"] == "Api"
    }


def test_every_function_code_uri_and_handler_exist(template: dict[str, Any]) -> None:
    for name, properties in _functions(template).items():
        code = REPO / properties["CodeUri"]
        module, function = properties["Handler"].rsplit(".", 1)
        source = code / f"{module.replace('.', '/')}.py"
        assert source.is_file(), f"{name}: {source} is missing"
        defined = {node.name for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.FunctionDef)}
        assert function in defined, f"{name}: {source} defines no {function}()"


def test_the_layer_holds_the_package_at_the_top_of_its_content_uri(template: dict[str, Any]) -> None:
    layers = [r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert layers
    for layer in layers:
        content = REPO / layer["Properties"]["ContentUri"]
        assert layer["Metadata"]["BuildMethod"] == "python3.12"
        assert (content / "perceo" / "__init__.py").is_file()
        assert (content / "requirements.txt").is_file()
        assert not (content / "python").exists(), "with a BuildMethod, packages go at the top of ContentUri"


def test_every_function_has_sample_events(template: dict[str, Any]) -> None:
    for name, properties in _functions(template).items():
        area = Path(properties["CodeUri"]).relative_to("functions")
        samples = sorted((REPO / "events" / area).glob("*.json"))
        assert samples, f"{name}: no sample events in events/{area}/"
        for sample in samples:
            json.loads(sample.read_text())


def test_every_api_route_has_a_sample_event_for_its_function(template: dict[str, Any]) -> None:
    for name, properties in _functions(template).items():
        area = Path(properties["CodeUri"]).relative_to("functions")
        samples = {
            (event["httpMethod"], event["resource"])
            for event in (json.loads(p.read_text()) for p in (REPO / "events" / area).glob("*.json"))
            if "httpMethod" in event and "resource" in event and "type" not in event
        }
        missing = _api_routes(properties) - samples
        assert not missing, f"{name}: no sample event for {sorted(missing)}"


def test_the_template_routes_exactly_the_documented_api(template: dict[str, Any]) -> None:
    document = json.loads((REPO / "openapi.json").read_text())
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    routed: set[tuple[str, str]] = set()
    for properties in _functions(template).values():
        routed |= _api_routes(properties)

    assert routed - {("GET", "/openapi.json")} == documented


def test_only_health_project_creation_and_the_analytics_beacon_skip_the_authorizer(template: dict[str, Any]) -> None:
    open_routes = set()
    for properties in _functions(template).values():
        for event in (properties.get("Events") or {}).values():
            if event["Type"] == "Api" and event["Properties"].get("Auth", {}).get("Authorizer") == "NONE":
                open_routes.add((event["Properties"]["Method"], event["Properties"]["Path"]))

    # the analytics beacon checks its ?writeKey= itself (browsers' sendBeacon cannot send Authorization)
    assert open_routes == {
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("POST", "/projects"),
        ("POST", "/analytics/beacon"),
    }
    api = template["Resources"]["PerceoApi"]["Properties"]
    assert api["Auth"]["DefaultAuthorizer"] == "ProjectKeyAuthorizer"
    authorizer = api["Auth"]["Authorizers"]["ProjectKeyAuthorizer"]
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    assert authorizer["Identity"]["ReauthorizeEvery"] > 0


def test_policies_are_scoped_templates_never_full_access(template: dict[str, Any]) -> None:
    text = (REPO / "template.yaml").read_text()
    assert not re.search(r"FullAccess", text)
    for name, properties in _functions(template).items():
        for policy in properties.get("Policies", []):
            assert isinstance(policy, dict) and len(policy) == 1, f"{name}: {policy!r} is not a SAM policy template"
            (arguments,) = policy.values()
            # Scoped to one resource of this stack (`!Ref X`, or `!GetAtt X.Name` where the template wants a name).
            assert all(
                isinstance(value, dict) and ("Ref" in value or "Fn::GetAtt" in value) for value in arguments.values()
            ), f"{name}: {policy}"


def test_every_function_has_a_log_group_with_retention_and_an_output(template: dict[str, Any]) -> None:
    resources, outputs = template["Resources"], template["Outputs"]
    log_groups = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    for name in _functions(template):
        assert any(name in json.dumps(group["LogGroupName"]) for group in log_groups), name
        assert f"{name}Arn" in outputs, name
    assert all(group["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in log_groups)
    assert "ApiUrl" in outputs


def test_samconfig_has_one_environment_per_stage() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text())
    for stage in ("dev", "staging", "prod"):
        deploy = config[stage]["deploy"]["parameters"]
        assert f"Stage={stage}" in deploy["parameter_overrides"]
        assert config[stage]["global"]["parameters"]["stack_name"] == f"perceo-{stage}"


#: Variables the API's Lambdas read through Settings (perceo.wiring, serve, the routers).
API_VARIABLES = {
    "STAGE",
    "POWERTOOLS_SERVICE_NAME",
    "NEO4J_URI",
    "NEO4J_DATABASE",
    "NEO4J_SECRET_ARN",
    "REDIS_URL",
    "API_KEY_PEPPER_SECRET_ARN",
    "ADMIN_KEY_SECRET_ARN",
    "ALLOWED_CORS_ORIGIN",
    "KEY_RATE_LIMIT_PER_SECOND",
    "KEY_RATE_LIMIT_BURST",
}


def test_every_function_gets_the_variables_the_api_settings_read(template: dict[str, Any]) -> None:
    from perceo.config.settings import Settings

    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    known = {Settings.env_var(name) for name in Settings.model_fields}

    assert API_VARIABLES <= known, "a variable the API needs is not a Settings field"
    assert API_VARIABLES - set(variables) == set(), "Globals must set every variable the API reads"


def test_the_serverless_cache_is_reached_with_a_cluster_client(template: dict[str, Any]) -> None:
    """ElastiCache Serverless runs in cluster mode: the functions must get a cluster URL for it, one Settings takes."""
    from perceo.config.settings import Settings
    from perceo.redis_client import is_cluster_url

    condition, created, given = template["Globals"]["Function"]["Environment"]["Variables"]["REDIS_URL"]["Fn::If"]
    url = (
        created["Fn::Sub"]
        .replace("${RedisCache.Endpoint.Address}", "cache.example")
        .replace("${RedisCache.Endpoint.Port}", "6379")
    )
    settings = Settings.model_validate(
        {"STAGE": "dev", "POWERTOOLS_SERVICE_NAME": "perceo", "GRAPH_URI": "redis://127.0.0.1:1", "REDIS_URL": url}
    )

    assert (condition, given) == ("CreateCache", {"Ref": "RedisUrl"})
    assert settings.redis_url == "rediss+cluster://cache.example:6379" and is_cluster_url(settings.redis_url)


def test_mypy_checks_every_handler_strictly_under_a_name_of_its_own() -> None:
    """Every handler is an `app.py`; mypy sees them as `functions.<dir>.app` (the repository root is a package base),
    so CI's plain `mypy` type-checks them all, strictly, without clashing module names."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    strict_modules = {m for o in config["overrides"] if o.get("strict") for m in o["module"]}
    handlers = sorted(REPO.glob("functions/**/app.py"))
    names = {".".join(path.relative_to(REPO).with_suffix("").parts) for path in handlers}

    assert config["explicit_package_bases"] is True and "." in config["mypy_path"]
    assert "functions" in config["packages"] and "functions.*" in strict_modules
    assert len(names) == len(handlers) > 0
