"""Flows and their steps. Reading needs flows:read; any change needs flows:write and marks the flow user-edited."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perceo.api.request import authorize
from perceo.api.responses import AUTHENTICATED, responses
from perceo.api.security import requires
from perceo.graph.paging import MAX_CURSOR_LENGTH
from perceo.graph.port import MAX_PAGE_SIZE
from perceo.models import FlowView
from perceo.models.api import (
    ID_PATTERN,
    CreateFlowRequest,
    FlowList,
    ReplaceStepsRequest,
    StepList,
    UpdateFlowRequest,
)
from perceo.wiring import services

router = Router()

#: Flows per page of `GET /flows` when the client does not say.
DEFAULT_PAGE_SIZE = 100

FlowRef = Annotated[str, Path(pattern=ID_PATTERN, description="The flow's id (or its name when it has no spaces)")]


@router.get(
    "/flows",
    summary="The project's flows, a page at a time (by name; follow nextCursor)",
    tags=["flows"],
    security=requires("flows:read"),
    responses=responses(*AUTHENTICATED),
)
def list_flows(
    include_steps: Annotated[bool, Query(alias="includeSteps", description="Include each flow's steps")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Flows per page")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(max_length=MAX_CURSOR_LENGTH, description="`nextCursor` of the previous page")
    ] = None,
) -> FlowList:
    principal = authorize("flows:read")
    flows, next_cursor = services().projects.list_flows_page(
        principal.project_id, limit=limit, cursor=cursor, include_steps=include_steps
    )
    return FlowList(flows=flows, next_cursor=next_cursor)


@router.post(
    "/flows",
    status_code=201,
    summary="Create a flow (with its personas, pages and steps)",
    tags=["flows"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 409, ok=201),
)
def create_flow(body: CreateFlowRequest) -> FlowView:
    principal = authorize("flows:write")
    flow = body.to_flow(principal.project_id)
    steps = [step.to_step(flow.id, order) for order, step in enumerate(body.steps, start=1)]
    return services().projects.create_flow(
        principal.project_id, flow, personas=body.personas, pages=body.pages, steps=steps
    )


@router.get(
    "/flows/<id>",
    summary="One flow",
    tags=["flows"],
    security=requires("flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def get_flow(id: FlowRef) -> FlowView:
    principal = authorize("flows:read")
    return services().projects.get_flow(principal.project_id, id)


@router.patch(
    "/flows/<id>",
    summary="Change a flow (marks it user-edited)",
    tags=["flows"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404),
)
def update_flow(id: FlowRef, body: UpdateFlowRequest) -> FlowView:
    principal = authorize("flows:write")
    return services().projects.edit_flow(
        principal.project_id, id, body.to_update(), personas=body.personas, pages=body.pages
    )


@router.delete(
    "/flows/<id>",
    status_code=204,
    summary="Delete a flow and its steps",
    tags=["flows"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404, ok=204),
)
def delete_flow(id: FlowRef) -> None:
    principal = authorize("flows:write")
    services().projects.delete_flow(principal.project_id, id)


@router.get(
    "/flows/<id>/steps",
    summary="A flow's steps, in order",
    tags=["flows"],
    security=requires("flows:read"),
    responses=responses(*AUTHENTICATED, 404),
)
def list_steps(id: FlowRef) -> StepList:
    principal = authorize("flows:read")
    flow = services().projects.get_flow(principal.project_id, id)
    return StepList(flow_id=flow.id, steps=services().projects.list_steps(principal.project_id, flow.id))


@router.put(
    "/flows/<id>/steps",
    summary="Replace a flow's steps (their order is their position; marks the flow user-edited)",
    tags=["flows"],
    security=requires("flows:write"),
    responses=responses(*AUTHENTICATED, 404),
)
def replace_steps(id: FlowRef, body: ReplaceStepsRequest) -> StepList:
    principal = authorize("flows:write")
    service = services().projects
    flow = service.get_flow(principal.project_id, id)
    steps = [step.to_step(flow.id, order) for order, step in enumerate(body.steps, start=1)]
    return StepList(flow_id=flow.id, steps=service.replace_steps(principal.project_id, flow.id, steps))
