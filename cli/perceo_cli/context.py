"""What every command gets: where the project is, its config, the output, and a backend — all lazy.

The project is the nearest folder, from the current one upwards, that holds a `.perceo/` folder, as git finds
`.git`: a command run in `app/login` works on the project at the repository's root, never on a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from perceo_cli.output import Output

if TYPE_CHECKING:
    from perceo.config.model import PerceoConfig
    from perceo_cli.backend.port import Backend


PROJECT_MARKER = ".perceo"


def find_project_root(start: Path) -> Path | None:
    """The nearest folder from `start` upwards (itself included) that holds a `.perceo/` folder; None if none."""
    here = start.resolve()
    for folder in (here, *here.parents):
        try:
            if (folder / PROJECT_MARKER).is_dir():
                return folder
        except OSError:  # a folder above that this user may not look into: not a project of theirs
            continue
    return None


def project_dir_from(start: Path) -> Path:
    """Where a command run in `start` works: the project found upwards, else `start` itself (for `perceo init`)."""
    return find_project_root(start) or start.resolve()


def _current_project_dir() -> Path:
    return project_dir_from(Path.cwd())


@dataclass
class AppContext:
    output: Output
    project_dir: Path = field(default_factory=_current_project_dir)
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

            self._backend = make_backend(self.project_dir, self.config, notice=self.output.info)
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
