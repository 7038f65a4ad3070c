"""`perceo --version` and `perceo --help` load no command, no domain and no heavy library; the root help that the
lazy table (`perceo_cli.app.COMMANDS`) renders is the one the loaded commands render.

Start-up time itself is measured by `bench/analyze_bench.py` (median of runs, ratio to `git diff`); these tests
check its deterministic cause: which modules a start imports.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from perceo_cli.app import COMMANDS, LazyGroup
from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output

#: Never loaded by a start that runs no command: the UI and model libraries, the clients, the domain, the commands.
HEAVY_PACKAGES = (
    "rich",
    "pydantic",
    "pydantic_core",
    "httpx",
    "boto3",
    "botocore",
    "openai",
    "redis",
    "falkordb",
    "neo4j",
    "tree_sitter",
    "yaml",
    "jinja2",
    "starlette",
    "uvicorn",
    "watchfiles",
    "numpy",
    "dulwich",
)
HEAVY_MODULES = (
    "perceo.observer",
    "perceo.models",
    "perceo.config",
    "perceo.bootstrap",
    "perceo_cli.commands",
    "perceo_cli.backend",
    "perceo_cli.report",
)

PROBE = """
import json, sys
from perceo_cli.main import main
code = main(sys.argv[1:])
sys.stdout.flush()
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _start(*argv: str) -> tuple[int, list[str], str]:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    *printed, last = done.stdout.rstrip("\n").split("\n")
    result = json.loads(last)
    return result["code"], result["modules"], "\n".join(printed)


def _heavy(modules: list[str]) -> list[str]:
    def under(module: str, package: str) -> bool:
        return module == package or module.startswith(package + ".")

    return [m for m in modules if m.split(".")[0] in HEAVY_PACKAGES or any(under(m, h) for h in HEAVY_MODULES)]


def test_version_imports_no_command_no_domain_and_no_heavy_library() -> None:
    code, modules, printed = _start("--version")

    assert code == 0 and printed.startswith("perceo ")
    assert _heavy(modules) == []


def test_root_help_lists_every_command_without_importing_one() -> None:
    code, modules, printed = _start("--help")

    assert code == 0
    for name, spec in COMMANDS.items():
        assert f" {name} " in printed, f"`perceo --help` does not list {name}"
        assert spec.help.split()[0] in printed
    assert [m for m in modules if m.startswith("perceo_cli.commands")] == []
    assert [m for m in modules if m.startswith(("perceo.observer", "perceo.models", "perceo.config"))] == []


def test_running_a_command_imports_only_its_module() -> None:
    code, modules, _ = _start("config", "--help")

    assert code == 0
    loaded = {m for m in modules if m.startswith("perceo_cli.commands.")}
    assert "perceo_cli.commands.config" in loaded
    assert "perceo_cli.commands.ci" not in loaded and "perceo_cli.commands.dashboard" not in loaded


def _root_help(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(["--help"], context=AppContext(output=Output(stdout, stderr), project_dir=tmp_path))
    assert code == 0
    return capsys.readouterr().out + stdout.getvalue()  # typer prints help on its own console (sys.stdout)


def test_the_lazy_table_renders_the_help_the_commands_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    from_table = _root_help(tmp_path, capsys)
    monkeypatch.setattr(LazyGroup, "help_from_table", False)  # every command loaded, its own help shown

    from_commands = _root_help(tmp_path, capsys)

    assert from_table == from_commands
    assert all(f" {name} " in from_commands for name in COMMANDS)


def test_an_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()

    code = main(["no-such-command"], context=AppContext(output=Output(stdout, stderr), project_dir=tmp_path))

    assert code == 2


WARN_PROBE = """
import io, json, sys
from perceo_cli.output import Output
err = io.StringIO()
output = Output(io.StringIO(), err)
output.info("  app/[id]/page.tsx :warning:")
output.warn("9 changed source file(s) reach no route [see below]")
output.error("bad [ref]")
print(json.dumps({"err": err.getvalue(), "rich": "rich" in sys.modules}))
"""


def test_lines_on_a_stderr_that_is_no_terminal_are_plain_text_without_loading_rich() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    done = subprocess.run(
        [sys.executable, "-c", WARN_PROBE], env=env, capture_output=True, text=True, check=True, timeout=60
    )

    result = json.loads(done.stdout)
    assert result["err"] == (
        "  app/[id]/page.tsx :warning:\n"  # as it is: no markup, no escaping, no emoji
        "warning: 9 changed source file(s) reach no route [see below]\n"
        "error: bad [ref]\n"
    )
    assert result["rich"] is False
