"""Synthetic runs: a flow's steps executed like a user would, in a real browser, through a runner port.

The port keeps the browser out of the domain: `CoordinatorService` and the `RunTests` task call a
`SyntheticRunner`; the adapter (`perceo.coordinator.browser.PlaywrightSyntheticRunner`) imports playwright only
when it runs, so the layer imports none of it. Finding the browser reads no environment itself: the caller
passes the environment (the composition root passes `os.environ`).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from perceo.coordinator.model import FlowRunResult
from perceo.errors import RunnerNotInstalledError
from perceo.models.entities import FlowView

#: Where Debian and Ubuntu put Chromium, tried after PERCEO_CHROMIUM.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_NAMES = ("chromium", "chromium-browser")


class SyntheticRunner(Protocol):
    def run_flow(self, flow: FlowView, base_url: str, artifacts_dir: Path) -> FlowRunResult:
        """Execute the flow's steps in order against `base_url`; screenshots go under `artifacts_dir`.

        A step that fails stops the flow (the rest are `skipped`); the result says which step and why.
        """


def find_chromium(env: Mapping[str, str]) -> str:
    """The Chromium to drive: `PERCEO_CHROMIUM`, then Debian's paths, then `chromium`/`chromium-browser` on PATH.

    RunnerNotInstalledError says how to install one when none is found.
    """
    configured = env.get("PERCEO_CHROMIUM")
    if configured:
        if Path(configured).is_file():
            return configured
        raise RunnerNotInstalledError(f"PERCEO_CHROMIUM names {configured!r}, which is not a file")
    for candidate in CHROMIUM_PATHS:
        if Path(candidate).is_file():
            return candidate
    for name in CHROMIUM_NAMES:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    raise RunnerNotInstalledError(
        "no Chromium found for synthetic runs: install it (Debian/Ubuntu: apt-get install chromium) "
        "or set PERCEO_CHROMIUM to its path"
    )
