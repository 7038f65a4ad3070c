"""Run as its own process by the concurrency tests: wait for a line on stdin, ensure the store runs, print it.

Waiting for "go" lets the test release several processes at the same moment, after their imports.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from perceo.local.store import EmbeddedStore

store = EmbeddedStore(Path(sys.argv[1]))
sys.stdin.readline()
server = store.ensure_running()
print(json.dumps({"pid": server.pid, "port": server.port}), flush=True)
