"""Personas. Reading needs flows:read; changes need flows:write and make the persona user-configured."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.models import Persona
from perceo.models.api import ID_PATTERN, CreatePersonaRequest, PersonaList, UpdatePersonaRequest
from perceo.wiring import services

router = Router()

PersonaId = Annotated[str, Path(pattern=ID_PATTERN, description="The persona's id")]


@router.get(
    "/personas",
    summary="The project's personas",
    tags=["personas"],
    security=requires("flows:read"),
    responses=responses(*AUTHENTICATED),
)
def list_personas() -> PersonaList:
    principal = authorize("flows:read")
    return PersonaList(personas=services().projects.list_personas(principal.project_id))


@router.post(
    "/personas",
    status_code=201,
    summary="Create a persona",
    tags=["personas"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 409, ok=201),
)
def create_persona(body: CreatePersonaRequest) -> Persona:
    principal = authorize("flows:write")
    return services().projects.create_persona(principal.project_id, body.to_persona(principal.project_id))


@router.get(
    "/personas/<id>",
    summary="One persona",
    tags=["personas"],
    security=requires("flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def get_persona(id: PersonaId) -> Persona:
    principal = authorize("flows:read")
    return services().projects.get_persona(principal.project_id, id)


@router.patch(
    "/personas/<id>",
    summary="Change a persona's description or behaviours",
    tags=["personas"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404),
)
def update_persona(id: PersonaId, body: UpdatePersonaRequest) -> Persona:
    principal = authorize("flows:write")
    return services().projects.update_persona(
        principal.project_id, id, description=body.description, behaviors=body.behaviors
    )


@router.delete(
    "/personas/<id>",
    status_code=204,
    summary="Delete a persona",
    tags=["personas"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404, ok=204),
)
def delete_persona(id: PersonaId) -> None:
    principal = authorize("flows:write")
    services().projects.delete_persona(principal.project_id, id)
