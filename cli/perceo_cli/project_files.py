"""What `perceo init` (local or `--remote`) writes into a project's `.perceo/` folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

GITIGNORE_ENTRIES = ("config.local.json", "data/", "cache/", "secrets/")


def write_gitignore(perceo_dir: Path) -> bool:
    """Make `.perceo/.gitignore` list the local-only entries, keeping lines already there. True if written."""
    path = perceo_dir / ".gitignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    missing = [e for e in GITIGNORE_ENTRIES if e not in {line.strip() for line in lines}]
    if not missing:
        return False
    header = [] if lines else ["# Local to this machine: never commit (written by perceo init)"]
    path.write_text("\n".join([*lines, *header, *missing]) + "\n", encoding="utf-8")
    return True


def set_project_value(project_dir: Path, raw: dict[str, Any], key: str, value: str) -> None:
    """Write `project.<key>` only when it differs, so a re-run leaves the config file byte-identical."""
    from perceo.config.loader import save_config_value

    section = raw.get("project")
    current = section.get(key) if isinstance(section, dict) else None
    if current != value:
        save_config_value(project_dir, f"project.{key}", json.dumps(value))
