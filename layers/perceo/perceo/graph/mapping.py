"""Models to graph properties and back, shared by both adapters.

Graph properties are camelCase primitives or lists of primitives. Anything richer (step actions, expected
state, changed files, affected routes, reasons) is stored as a JSON string, because neither Neo4j nor
FalkorDB stores maps. Rows coming back are plain dicts (the queries return `properties(n)`, map literals or
one column per property), so nothing here knows which engine answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter

from perceo.models import (
    AffectedRoute,
    ChangeAnalysis,
    ChangedFile,
    ExpectedState,
    Flow,
    FlowMetrics,
    FlowUpdate,
    FlowView,
    ImpactedFlow,
    Page,
    Persona,
    Project,
    Reason,
    Step,
    StepAction,
)

Row = dict[str, Any]

_ACTIONS = TypeAdapter(list[StepAction])
_FILES = TypeAdapter(list[ChangedFile])
_ROUTES = TypeAdapter(list[AffectedRoute])
_REASONS = TypeAdapter(list[Reason])

#: Flow fields a `FlowUpdate` may clear by setting them to None (the others are required on a flow).
_CLEARABLE_FLOW_FIELDS = frozenset({"entryPoint", "coverageScore"})


def _pick(props: Mapping[str, Any], fields: Mapping[str, Any]) -> Row:
    """The properties that are fields of the model (by alias); unknown ones (e.g. `projectId` on a step) drop."""
    return {key: value for key, value in props.items() if key in fields and value is not None}


def _aliases(model: type[Any]) -> dict[str, Any]:
    return {field.alias or name: None for name, field in model.model_fields.items()}


_PROJECT_FIELDS = _aliases(Project)
_PERSONA_FIELDS = _aliases(Persona)
_FLOW_FIELDS = _aliases(Flow)
_STEP_FIELDS = _aliases(Step)
_PAGE_FIELDS = _aliases(Page)


# -- Projects


def project_props(project: Project) -> Row:
    """Properties of a Project node, without the id (the queries set it from `$projectId`)."""
    props = project.model_dump(mode="json", exclude={"id"})
    return {key: value for key, value in props.items() if value is not None}


def project_from(props: Mapping[str, Any]) -> Project:
    return Project.model_validate(_pick(props, _PROJECT_FIELDS))


# -- Personas


def persona_row(persona: Persona) -> Row:
    return {
        "id": persona.id,
        "name": persona.name,
        "description": persona.description,
        "behaviors": list(persona.behaviors),
        "source": persona.source,
    }


def persona_from(props: Mapping[str, Any]) -> Persona:
    return Persona.model_validate(_pick(props, _PERSONA_FIELDS))


# -- Flows


def flow_row(flow: Flow, updated_at: int) -> Row:
    """`id`/`createdAt` apply only when the flow is new; `props` are set on every upsert (None removes), with
    `updatedAt` from the graph's clock, as `update_flow` does."""
    props = flow.model_dump(mode="json", exclude={"id", "project_id", "name", "created_at"})
    props["updatedAt"] = updated_at
    return {"id": flow.id, "name": flow.name, "createdAt": flow.created_at, "props": props}


def flow_update_props(update: FlowUpdate, updated_at: int) -> Row:
    """The properties an update sets. Unset fields stay; None clears only fields a flow may lack."""
    props = update.model_dump(mode="json", exclude_unset=True)
    props = {key: value for key, value in props.items() if value is not None or key in _CLEARABLE_FLOW_FIELDS}
    props["updatedAt"] = updated_at
    return props


def flow_from(props: Mapping[str, Any]) -> Flow:
    return Flow.model_validate(_pick(props, _FLOW_FIELDS))


#: `kind` codes of FLOW_LINKS rows.
LINK_PAGE, LINK_PERSONA, LINK_FLOW = 1, 2, 3


def flow_views_from(flows: Sequence[Mapping[str, Any]], links: Sequence[Row], steps: Sequence[Row]) -> list[FlowView]:
    """FlowViews from flow properties (rows of flow columns) plus FLOW_LINKS and FLOW_STEPS rows, keeping the
    order of `flows`.

    Pages come in VISITS order, connected flows in CONNECTS_TO order, personas by name, steps by order.
    """
    pages: dict[str, list[tuple[int, str]]] = {}
    personas: dict[str, list[str]] = {}
    connected: dict[str, list[tuple[int, str]]] = {}
    for link in links:
        flow_id, kind, value = link["flowId"], link["kind"], link["value"]
        if kind == LINK_PAGE:
            pages.setdefault(flow_id, []).append((_order(link["rank"]), value))
        elif kind == LINK_PERSONA:
            personas.setdefault(flow_id, []).append(value)
        elif kind == LINK_FLOW:
            connected.setdefault(flow_id, []).append((_order(link["rank"]), value))
    steps_of: dict[str, list[Step]] = {}
    for row in steps:
        steps_of.setdefault(row["flowId"], []).append(step_from(row))
    views = []
    for props in flows:
        flow_id = props["id"]
        views.append(
            FlowView.model_validate(
                {
                    **_pick(props, _FLOW_FIELDS),
                    "personas": sorted(personas.get(flow_id, [])),
                    "pages": [route for _, route in sorted(pages.get(flow_id, []))],
                    "steps": sorted(steps_of.get(flow_id, []), key=lambda s: s.order),
                    "connectedFlows": [other for _, other in sorted(connected.get(flow_id, []))],
                }
            )
        )
    return views


def flows_with_pages_from(rows: Sequence[Row]) -> list[FlowView]:
    """FlowViews from FLOWS_AT_ROUTES rows (flow columns plus one `route`/`rank` per visited page, repeats allowed):
    each flow once, in the order first seen, with its pages in VISITS order; personas, steps and connected flows
    are not in the rows and stay empty."""
    flows: dict[str, Row] = {}
    pages: dict[str, set[tuple[int, str]]] = {}
    for row in rows:
        flow_id = row["id"]
        flows.setdefault(flow_id, row)
        visited = pages.setdefault(flow_id, set())
        if row.get("route") is not None:
            visited.add((_order(row.get("rank")), row["route"]))
    return [
        FlowView.model_validate({**_pick(props, _FLOW_FIELDS), "pages": [route for _, route in sorted(pages[flow_id])]})
        for flow_id, props in flows.items()
    ]


def _order(value: Any) -> int:
    return value if isinstance(value, int) else 1 << 62


# -- Steps


def step_row(step: Step) -> Row:
    """A Step node's own properties; `projectId` and `flowId` come from the query's parameters."""
    return {
        "id": step.id,
        "order": step.order,
        "name": step.name,
        "actions": _ACTIONS.dump_json(step.actions, by_alias=True).decode(),
        "expectedState": step.expected_state.model_dump_json(by_alias=True),
        "timeoutMs": step.timeout_ms,
        "retryCount": step.retry_count,
    }


def step_from(props: Mapping[str, Any]) -> Step:
    picked = _pick(props, _STEP_FIELDS)
    if isinstance(picked.get("actions"), str):
        picked["actions"] = _ACTIONS.validate_json(picked["actions"])
    if isinstance(picked.get("expectedState"), str):
        picked["expectedState"] = ExpectedState.model_validate_json(picked["expectedState"])
    return Step.model_validate(picked)


# -- Pages


def page_row(page: Page) -> Row:
    return {"route": page.route, "files": list(page.files)}


def page_from(props: Mapping[str, Any]) -> Page:
    picked = _pick(props, _PAGE_FIELDS)
    picked.setdefault("files", [])
    return Page.model_validate(picked)


# -- Change analyses


def analysis_props(analysis: ChangeAnalysis) -> Row:
    return {
        "baseSha": analysis.base_sha,
        "headSha": analysis.head_sha,
        "riskLevel": analysis.risk_level,
        "riskScore": analysis.risk_score,
        "files": _FILES.dump_json(analysis.files, by_alias=True).decode(),
        "affectedRoutes": _ROUTES.dump_json(analysis.affected_routes, by_alias=True).decode(),
        "createdAt": analysis.created_at,
        "productionTraffic": analysis.production_traffic,
    }


def affects_rows(flows: Sequence[ImpactedFlow]) -> list[Row]:
    """One row per impacted flow for the AFFECTS edge; `rank` keeps the analysis's order of flows."""
    return [
        {
            "flowId": flow.id,
            "rank": rank,
            "name": flow.name,
            "priority": flow.priority,
            "confidence": flow.confidence,
            "riskScore": flow.risk_score,
            "affectedPages": list(flow.affected_pages),
            "reasons": _REASONS.dump_json(flow.reasons, by_alias=True).decode(),
            # production traffic, when known (a missing key reads as null in the query: no property is set)
            **({"usersPerDay": flow.users_per_day} if flow.users_per_day is not None else {}),
            **({"prodSuccessRate": flow.prod_success_rate} if flow.prod_success_rate is not None else {}),
        }
        for rank, flow in enumerate(flows)
    ]


def analysis_from(row: Mapping[str, Any]) -> ChangeAnalysis:
    props = row["analysis"]
    edges = sorted(row.get("flows") or [], key=lambda f: _order(f["edge"].get("rank")))
    return ChangeAnalysis(
        id=props["id"],
        project_id=props["projectId"],
        base_sha=props["baseSha"],
        head_sha=props["headSha"],
        risk_level=props["riskLevel"],
        risk_score=props["riskScore"],
        files=_FILES.validate_json(props.get("files") or "[]"),
        affected_routes=_ROUTES.validate_json(props.get("affectedRoutes") or "[]"),
        flows=[_impacted_from(f["flowId"], f["edge"]) for f in edges],
        created_at=props["createdAt"],
        production_traffic=bool(props.get("productionTraffic", False)),
    )


def _impacted_from(flow_id: str, edge: Mapping[str, Any]) -> ImpactedFlow:
    return ImpactedFlow(
        id=flow_id,
        name=edge["name"],
        priority=edge.get("priority") or "medium",
        risk_score=edge["riskScore"],
        confidence=edge["confidence"],
        affected_pages=list(edge.get("affectedPages") or []),
        reasons=_REASONS.validate_json(edge.get("reasons") or "[]"),
        users_per_day=edge.get("usersPerDay"),
        prod_success_rate=edge.get("prodSuccessRate"),
    )


# -- Flow metrics

_METRICS_FIELDS = _aliases(FlowMetrics)
#: Map- and list-valued metrics (the list holds nulls, which Neo4j lists cannot): JSON strings in the graph.
_METRICS_JSON = ("dropOff", "stepMedianMs")


def metrics_row(metrics: FlowMetrics) -> Row:
    """{flowId, day, props} for UPSERT_FLOW_METRICS; every field is written (None clears it)."""
    props = metrics.model_dump(by_alias=True, mode="json")
    for key in _METRICS_JSON:
        props[key] = json.dumps(props[key], separators=(",", ":"))
    return {"flowId": metrics.flow_id, "day": metrics.day, "props": props}


def metrics_from(props: Mapping[str, Any]) -> FlowMetrics:
    values = _pick(props, _METRICS_FIELDS)
    for key in _METRICS_JSON:
        if isinstance(values.get(key), str):
            values[key] = json.loads(values[key])
    return FlowMetrics.model_validate(values)
