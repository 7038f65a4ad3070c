"""The layer's coordinator imports no browser driver and nothing of the CLI: a Lambda pays for neither."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_coordinator_service_loads_without_playwright_or_the_cli() -> None:
    code = (
        "import json, sys\n"
        "import perceo.coordinator.service, perceo.coordinator.synthetic, perceo.coordinator.browser\n"
        "heavy = ('playwright', 'perceo_cli', 'greenlet')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)

    assert json.loads(done.stdout) == []
