"""The reliability suite runs against one local cloud (the real template, gateway, authorizer and handlers)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud_harness import RunningCloud, running_cloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("reliability-cloud"))


# The workflow harness (moto running the template's state machines, the task Lambdas' handlers in this process) lives
# beside the workflow tests in tests/integration/workflows; the task-crash faults (test_task_crash.py) use it too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration" / "workflows"))
