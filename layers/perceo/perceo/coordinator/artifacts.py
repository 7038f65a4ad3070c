"""Screenshots of flows run in the cloud's browser, kept in the bundle bucket.

A RunTests task writes its screenshots to the Lambda's `/tmp`, which dies with the task. Before the flow's
TestRun is recorded, each screenshot is copied to the artifact store under

    artifacts/{projectId}/{suiteId}/{flowId}/{file name}

and the run records that key instead of the task's path. `GET /coordinator/artifacts?key=…` hands out a short-lived
link to one of them, and only under the caller's own project prefix. The bucket's lifecycle rule expires them
(`ArtifactRetentionDays`). Locally nothing is copied: the paths under `.perceo/data/artifacts/` are the artifacts.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Protocol

from perceo.coordinator.model import FlowRunResult

log = logging.getLogger(__name__)

ARTIFACTS_ROOT = "artifacts/"
#: How long a link to an artifact stays valid.
LINK_SECONDS = 300
#: The largest screenshot copied (a full-page capture of a long page is a few MB).
MAX_ARTIFACT_BYTES = 20 * 1024 * 1024
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_KEY = re.compile(r"^artifacts/[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_.:-]{1,64}/[A-Za-z0-9_.:-]{1,64}/[A-Za-z0-9._-]{1,128}$")


class ArtifactStore(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def presigned_url(self, key: str, expires_in: int) -> str | None:
        """A link that reads the object for `expires_in` seconds, or None when the object does not exist."""


def artifact_prefix(project_id: str, suite_id: str | None = None) -> str:
    prefix = f"{ARTIFACTS_ROOT}{project_id}/"
    return prefix if suite_id is None else f"{prefix}{suite_id}/"


def is_project_artifact(project_id: str, key: str) -> bool:
    """Whether `key` names an artifact of this project (the only ones its keys may read)."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        return False
    return key.startswith(artifact_prefix(project_id))


def upload_artifacts(store: ArtifactStore, project_id: str, suite_id: str, result: FlowRunResult) -> FlowRunResult:
    """Copy the flow's screenshots to the store and return the result naming them by key. A file that is gone
    or too large stays named by its path (logged); the local copy is removed once stored (`/tmp` is small)."""
    stored: dict[str, str] = {}
    prefix = f"{artifact_prefix(project_id, suite_id)}{result.flow_id}/"
    for path in dict.fromkeys([*result.artifacts, *(a for s in result.steps for a in s.artifacts)]):
        local = Path(path)
        try:
            size = local.stat().st_size
            if size > MAX_ARTIFACT_BYTES:
                log.warning("artifact %s is %d bytes, over %d: not stored", local.name, size, MAX_ARTIFACT_BYTES)
                continue
            data = local.read_bytes()
        except OSError as error:
            log.warning("artifact %s cannot be read (%s): not stored", local.name, error.strerror or error)
            continue
        key = prefix + _SAFE_NAME.sub("_", local.name)[:128]
        store.put_bytes(key, data)
        stored[path] = key
        local.unlink(missing_ok=True)
    if not stored:
        return result
    steps = [s.model_copy(update={"artifacts": [stored.get(a, a) for a in s.artifacts]}) for s in result.steps]
    return result.model_copy(update={"artifacts": [stored.get(a, a) for a in result.artifacts], "steps": steps})
