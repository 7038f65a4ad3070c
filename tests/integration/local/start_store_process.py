"""Run as its own process by the concurrency tests: say "ready", wait for a line on stdin, ensure the store
runs, print its pid and port as JSON.

The ready/go handshake lets a test release several processes at the same moment, their imports done.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from perceo_cli.local.store import EmbeddedStore

store = EmbeddedStore(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
server = store.ensure_running()
print(json.dumps({"pid": server.pid, "port": server.port}), flush=True)
