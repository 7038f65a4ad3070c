"""An embedded store in a temp project, and a teardown that stops by PID every server it started."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from local_store_support import StoreTracker, kill_servers_of

from perceo_cli.local.store import EmbeddedStore


@pytest.fixture
def tracker() -> Iterator[StoreTracker]:
    tracker = StoreTracker()
    try:
        yield tracker
    finally:
        for data_dir in tracker.data_dirs:
            kill_servers_of(data_dir, tracker.pids)


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    path = tmp_path / "web-app"
    path.mkdir()
    return path


@pytest.fixture
def store(tracker: StoreTracker, project_dir: Path) -> EmbeddedStore:
    return tracker.store(project_dir)
