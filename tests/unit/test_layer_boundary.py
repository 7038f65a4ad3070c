"""The Lambda layer ships only what Lambdas run: nothing in it (or in a handler) imports the CLI side, and every
package it imports is one the layer installs (or the Lambda runtime provides)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYER = REPO / "layers" / "perceo"
#: The python3.12 Lambda runtime provides these; the layer does not ship them.
RUNTIME_PROVIDED = {"boto3", "botocore"}
#: Imported only inside a function, by code that runs where these are installed on purpose: the synthetic browser
#: runner runs in the RunTests container image (Chromium + playwright) and in the CLI, never in a layer-only Lambda.
OPTIONAL_OUTSIDE_LAYER = {"playwright"}


def _runtime_modules() -> list[Path]:
    return sorted([*(LAYER / "perceo").rglob("*.py"), *(REPO / "functions").rglob("*.py")])


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in a module, nested and TYPE_CHECKING ones too."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported when the module loads (not inside a function)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _layer_distributions() -> set[str]:
    lines = (LAYER / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = {_normalise(line.split("==")[0]) for line in lines if line and not line.startswith(("#", " "))}
    return pinned | RUNTIME_PROVIDED


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text(
        "import a.b\nfrom c import d\nfrom . import e\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import f\ndef g():\n    from h.i import j\n"
    )

    assert [name for _, name in _imported(module)] == ["a.b", "c", "typing", "f", "h.i"]


@pytest.mark.parametrize("path", _runtime_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_layer_module_or_handler_imports_the_cli_side(path: Path) -> None:
    offending = [f"{line}: {name}" for line, name in _imported(path) if name.split(".")[0] == "perceo_cli"]

    assert offending == [], f"{path.relative_to(REPO)} imports the CLI side"


def test_every_package_the_layer_imports_is_installed_in_the_layer() -> None:
    shipped = _layer_distributions()
    by_module = importlib.metadata.packages_distributions()
    outside: dict[str, set[str]] = {}
    for path in _runtime_modules():
        for _, name in _imported(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in {"perceo", "functions", "__future__"}:
                continue
            distributions = {_normalise(d) for d in by_module.get(top, [top])}
            if top in OPTIONAL_OUTSIDE_LAYER and top not in _module_level_imports(path):
                continue
            if not distributions & shipped:
                outside.setdefault(top, set()).add(str(path.relative_to(REPO)))

    assert outside == {}
