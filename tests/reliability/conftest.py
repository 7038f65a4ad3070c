"""The reliability suite runs against one local cloud (the real template, gateway, authorizer and handlers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cloud_harness import RunningCloud, running_cloud


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("reliability-cloud"))
