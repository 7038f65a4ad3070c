"""Export a project to JSON Lines and import one back: the one code path for the CLI's embedded store, the API and
the scheduled `export` job.

An import validates the whole file first (`read_export`) and writes nothing when it is invalid. The graph part is
written in one query (`GraphBackup.restore_project`), so it lands whole or not at all. API keys are never restored
(an export holds no secret, so a restored key could never be used): the result lists them for re-issuing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Protocol, runtime_checkable

from pydantic import Field

from perceo.backup.format import (
    ApiKeyMetadata,
    ApiKeyRecord,
    ProjectExport,
    export_lines,
    read_export,
    rehome,
)
from perceo.errors import ConflictError, ProjectNotFoundError
from perceo.models import ApiKey, Project
from perceo.models.common import Model, now_ms


@runtime_checkable
class GraphBackup(Protocol):
    def get_project(self, project_id: str) -> Project | None: ...
    def project_exists(self, project_id: str) -> bool: ...
    def export_project(self, project_id: str) -> ProjectExport: ...
    def restore_project(self, export: ProjectExport, *, replace: bool) -> None: ...


class KeyDirectory(Protocol):
    def list_keys(self, project_id: str, *, include_inactive: bool = False) -> list[ApiKey]: ...


class ImportRequest(Model):
    """`POST /projects/{id}/import`: an export file's text, restored as the path's project."""

    export: str = Field(min_length=1, description="The export file's JSON Lines, as text")
    replace: bool = Field(default=False, description="Overwrite the project when it already exists")


class KeyToReissue(Model):
    name: str
    prefix: str
    scopes: list[str]


class ImportResult(Model):
    """What `perceo import` / `POST /projects/{id}/import` did."""

    project_id: str
    #: The project id the file was exported from (differs from `project_id` after `--into`).
    source_project_id: str
    replaced: bool
    nodes: int
    edges: int
    #: Keys of the exported project, not restored (no secret is ever exported): issue new ones.
    keys_to_reissue: list[KeyToReissue]


class BackupService:
    def __init__(
        self, graph: GraphBackup, keys: KeyDirectory | None = None, *, clock: Callable[[], int] = now_ms
    ) -> None:
        self._graph = graph
        self._keys = keys
        self._clock = clock

    def export(self, project_id: str) -> ProjectExport:
        """The project's records: ProjectNotFoundError when there is no such project."""
        if self._graph.get_project(project_id) is None:
            raise ProjectNotFoundError(f"project {project_id} not found", details={"projectId": project_id})
        export = self._graph.export_project(project_id)
        if self._keys is not None:
            export.api_keys = [_key_record(k) for k in self._keys.list_keys(project_id, include_inactive=True)]
        return export

    def export_lines(self, project_id: str) -> Iterator[str]:
        """The export file's lines (no newlines), header first."""
        return export_lines(self.export(project_id), exported_at=self._clock())

    def import_lines(self, lines: Iterable[str], *, into: str | None = None, replace: bool = False) -> ImportResult:
        """Validate the whole file, then write it as the project `into` (default: the file's own project).

        ExportFileError (nothing written) when the file is invalid; ConflictError when the project exists and
        `replace` is false, or when a node id is taken by another project in this store."""
        header, export = read_export(lines)
        target = rehome(export, into) if into else export
        exists = self._graph.project_exists(target.project_id)
        if exists and not replace:
            raise ConflictError(
                f"project {target.project_id} already exists here: pass --replace to overwrite it with the file",
                details={"projectId": target.project_id},
            )
        self._graph.restore_project(target, replace=replace)
        return ImportResult(
            project_id=target.project_id,
            source_project_id=header.project_id,
            replaced=exists,
            nodes=len(target.nodes),
            edges=len(target.edges),
            keys_to_reissue=[
                KeyToReissue(name=k.properties.name, prefix=k.properties.prefix, scopes=list(k.properties.scopes))
                for k in target.api_keys
                if k.properties.revoked_at is None
            ],
        )


def _key_record(key: ApiKey) -> ApiKeyRecord:
    metadata = ApiKeyMetadata(
        name=key.name,
        prefix=key.prefix,
        scopes=list(key.scopes),
        created_by=key.created_by,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
        revocation_reason=key.revocation_reason,
    )
    return ApiKeyRecord(record="apiKey", type="ApiKey", id=key.id, properties=metadata)
