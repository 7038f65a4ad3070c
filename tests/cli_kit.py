"""Running `perceo` through `main()` with captured output, and pointing a project at the test session's store,
for the CLI's integration tests."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output


def run_cli(argv: list[str], repo: Path, *, tty: bool = False) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    output = Output(stdout, stderr)
    if tty:  # stderr is a terminal: prompts and progress are allowed
        output.err = Console(file=stderr, force_terminal=True, width=120, highlight=False, soft_wrap=True)
    code = main(argv, context=AppContext(output=output, project_dir=repo))
    return code, stdout.getvalue(), stderr.getvalue()


def init_json(repo: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run_cli(["init", "--yes", "--no-llm", "--json", *extra], repo)
    assert code == 0, err
    return dict(json.loads(out))


def use_session_store(root: Path, host: str, port: int, graph_name: str, **extra: Any) -> None:
    """Write `root/.perceo/config.json` so the project's flow graph (this graph key) and event bus are the session's
    FalkorDB, with `extra` top-level config sections beside them."""
    url = f"redis://{host}:{port}"
    (root / ".perceo").mkdir(exist_ok=True)
    config = {
        "flowGraph": {"type": "falkordb", "uri": url, "database": graph_name},
        "eventBus": {"type": "redis", "redisUrl": url},
        **extra,
    }
    (root / ".perceo" / "config.json").write_text(json.dumps(config, indent=2) + "\n")
