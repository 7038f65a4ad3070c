"""What every `perceo` run imports before a command starts: no client or driver a command may not need."""

from __future__ import annotations

import json
import os
import subprocess
import sys

#: Imported by the commands that use them (the API's httpx, the LLM's openai, the stores' drivers, git, parsers).
HEAVY = ("httpx", "openai", "redis", "neo4j", "falkordb", "git", "tree_sitter", "boto3", "moto")

PROBE = "import json, sys, perceo_cli.main; print(json.dumps([m for m in sys.argv[1:] if m in sys.modules]))"


def test_starting_the_cli_imports_no_client_or_driver() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY], env=dict(os.environ), capture_output=True, text=True, check=True
    )

    assert json.loads(done.stdout) == []
