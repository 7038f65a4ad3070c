"""What every command gets: where the project is, its config, the output, and a backend — all lazy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from perceo_cli.output import Output

if TYPE_CHECKING:
    from perceo.config.model import PerceoConfig
    from perceo_cli.backend.port import Backend


@dataclass
class AppContext:
    output: Output
    project_dir: Path = field(default_factory=Path.cwd)
    _config: PerceoConfig | None = None
    _backend: Backend | None = None

    @property
    def config(self) -> PerceoConfig:
        if self._config is None:
            from perceo.config.loader import load_config

            self._config = load_config(self.project_dir).config
        return self._config

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            from perceo_cli.backend.factory import make_backend

            self._backend = make_backend(self.project_dir, self.config)
        return self._backend

    def use_backend(self, backend: Backend) -> None:
        """Inject a backend (tests, or a command that builds its own)."""
        self._backend = backend

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, AppContext), "the root callback sets the AppContext"
    return obj
