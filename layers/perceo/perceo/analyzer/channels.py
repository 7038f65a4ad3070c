"""Where alert channels (a Slack webhook URL, a webhook URL and its signing secret) are kept: never in the config,
the graph or a log.

`FileChannelStore` is the embedded default's: one JSON file in the project's data folder (`.perceo/data/`, mode
0700), itself mode 0600, written atomically. The cloud's Secrets Manager store is not built yet.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol

from perceo.analyzer.alerts import Channel, ChannelKind


class ChannelStore(Protocol):
    def get(self, project_id: str, name: str) -> Channel | None: ...
    def put(self, project_id: str, channel: Channel) -> None: ...
    def delete(self, project_id: str, name: str) -> bool: ...


class FileChannelStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _load(self) -> dict[str, dict[str, dict[str, str | None]]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, dict[str, str | None]]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".channels-")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(data, file)
            Path(temporary).replace(self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, project_id: str, name: str) -> Channel | None:
        entry = self._load().get(project_id, {}).get(name)
        if not entry or entry.get("kind") not in ("slack", "webhook") or not entry.get("url"):
            return None
        kind: ChannelKind = "slack" if entry["kind"] == "slack" else "webhook"
        return Channel(name=name, kind=kind, url=str(entry["url"]), secret=entry.get("secret"))

    def put(self, project_id: str, channel: Channel) -> None:
        data = self._load()
        data.setdefault(project_id, {})[channel.name] = {"kind": channel.kind, "url": channel.url,
                                                         "secret": channel.secret}  # fmt: skip
        self._save(data)

    def delete(self, project_id: str, name: str) -> bool:
        data = self._load()
        if name not in data.get(project_id, {}):
            return False
        del data[project_id][name]
        self._save(data)
        return True
