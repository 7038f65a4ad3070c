"""Projects: create one with the admin key (and get its first API key), read your own, its LLM usage, delete it
with everything."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Response, Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.api.request import authorize, current_request, header, require_own_project
from perceo.api.responses import AUTHENTICATED, GATEWAY, responses
from perceo.api.security import ADMIN_KEY, requires
from perceo.auth.keyformat import verify_admin_key
from perceo.backup.service import ImportRequest, ImportResult
from perceo.errors import AuthenticationError, ProjectNotFoundError
from perceo.llm.model import MAX_REPORT_DAYS, UsageReport
from perceo.models import Project
from perceo.models.api import (
    PROJECT_ID_PATTERN,
    CreatedKey,
    CreateProjectRequest,
    CreateProjectResponse,
    DeleteProjectResponse,
)
from perceo.models.vocab import SCOPES
from perceo.wiring import services
from perceo.workflows.gitremote import parse_git_remote

router = Router()

ProjectIdParam = Annotated[str, Path(pattern=PROJECT_ID_PATTERN, description="The project's id")]


@router.post(
    "/projects",
    status_code=201,
    summary="Create a project and its first API key (admin key)",
    description="The key in the answer is shown once. Scopes default to all of them, project:admin included.",
    tags=["projects"],
    security=ADMIN_KEY,
    responses=responses(400, 401, 409, 413, 415, 422, 503, *GATEWAY, ok=201),
)
def create_project(body: CreateProjectRequest) -> CreateProjectResponse:
    require_admin_key()
    wired, request = services(), current_request()
    if body.git_remote_url is not None:
        # The same policy as a bootstrap's repoUrl: the stored URL is what a later clone would be handed.
        parse_git_remote(body.git_remote_url, wired.settings.allowed_git_hosts, field="gitRemoteUrl")
    project = wired.projects.create_project(body.to_project())
    try:
        raw_key, record = wired.keys.create(
            project.id,
            body.key_name,
            body.scopes or SCOPES,
            expires_in_days=body.expires_in_days,
            created_by="admin",
            ip=request.source_ip,
            user_agent=request.user_agent,
        )
    except BaseException:
        wired.projects.delete_project(project.id)  # no project without a way in
        raise
    return CreateProjectResponse(project=project, api_key=CreatedKey(key=raw_key, api_key=record))


@router.get(
    "/projects/me",
    summary="The project of the calling key",
    tags=["projects"],
    security=requires(),
    responses=responses(*AUTHENTICATED, 404),
)
def get_my_project() -> Project:
    principal = authorize()
    return services().projects.get_project(principal.project_id)


@router.get(
    "/usage",
    summary="LLM usage of the calling key's project per day and model (scope insights:read)",
    description=(
        "Calls, cache hits, failures, tokens and estimated cost (USD) of the workflows' LLM calls over the last "
        "`days` UTC days, today included: newest day first, models by name, with totals. `costUsd` is null when "
        "no call had a known price."
    ),
    tags=["projects"],
    security=requires("insights:read"),
    responses=responses(*AUTHENTICATED),
)
def get_usage(
    days: Annotated[int, Query(ge=1, le=MAX_REPORT_DAYS, description="How many days back, today (UTC) included")] = 7,
) -> UsageReport:
    principal = authorize("insights:read")
    from perceo.llm.usage import usage_report  # redis: imported by the requests that use it

    return usage_report(services().usage, principal.project_id, days)


@router.delete(
    "/projects/<id>",
    summary="Delete the project with its flows, personas, analyses and API keys (scope project:admin)",
    tags=["projects"],
    security=requires("project:admin"),
    responses=responses(*AUTHENTICATED, 404),
)
def delete_project(id: ProjectIdParam) -> DeleteProjectResponse:
    principal = authorize("project:admin")
    require_own_project(principal, id)
    wired = services()
    # Graph first, keys last: if anything fails half-way, the caller's key still works and a retry finishes.
    graph_deleted = wired.projects.delete_project(id, missing_ok=True)
    keys_deleted = wired.keys.delete_project_keys(id)
    if not graph_deleted and not keys_deleted:
        raise ProjectNotFoundError(f"project {id} not found")
    return DeleteProjectResponse(project_id=id, deleted=True, keys_deleted=keys_deleted)


#: The media type of an export (JSON Lines).
JSON_LINES = "application/x-ndjson"


@router.get(
    "/projects/<id>/export",
    summary="Export the project as JSON Lines: every node and relationship, keys' metadata (scope project:admin)",
    description=(
        "A `perceo-export` version 1 file: a header line, one line per node, relationship and API key (metadata only, "
        "never a secret), each kind sorted, then an end line with the counts. `perceo import` restores it."
    ),
    tags=["projects"],
    security=requires("project:admin"),
    responses={
        200: {"description": "The export", "content": {JSON_LINES: {"schema": {"type": "string"}}}},
        **{status: answer for status, answer in responses(*AUTHENTICATED, 404).items() if status != 200},
    },
)
def export_project(id: ProjectIdParam) -> Response[str]:
    principal = authorize("project:admin")
    require_own_project(principal, id)
    lines = services().backups(with_keys=True).export_lines(id)
    return Response(status_code=200, content_type=JSON_LINES, body="".join(f"{line}\n" for line in lines))


@router.post(
    "/projects/<id>/import",
    summary="Restore an export as this project, all or nothing (scope project:admin)",
    description=(
        "The whole file is validated first (422 naming the line of the first problem; nothing written). An existing "
        "project is a 409 unless `replace` is true. API keys are not restored (no export holds a secret): the "
        "answer lists them as `keysToReissue`."
    ),
    tags=["projects"],
    security=requires("project:admin"),
    responses=responses(*AUTHENTICATED, 404, 409),
)
def import_project(id: ProjectIdParam, body: ImportRequest) -> ImportResult:
    principal = authorize("project:admin")
    require_own_project(principal, id)
    backups = services().backups(with_keys=False)
    return backups.import_lines(body.export.splitlines(), into=id, replace=body.replace)


def require_admin_key() -> None:
    """AuthenticationError unless the request carries the deployment's admin key as a bearer token."""
    presented = bearer_token(header(current_request().event, "Authorization"))
    if not verify_admin_key(presented, services().admin_key()):
        raise AuthenticationError("missing or invalid admin key: send `Authorization: Bearer <admin key>`")


def bearer_token(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header (scheme case-insensitive), or None."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None
