"""Store what the bootstrap found without duplicating or clobbering what is already there.

Personas and flows are matched by their natural key (project + name, case-insensitive), never by list
position. Auto-generated ones are created, updated or removed; user-configured and user-edited ones are
never touched. Content is compared by fingerprint first, so an unchanged re-run writes nothing and no
`updatedAt` moves. Steps are replaced only when they changed, in batches that never split a flow (each flow's
replacement is atomic). Pages and navigation links follow discovery: new ones are added, files updated, and
those no longer found are deleted (a page only once no remaining flow visits it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from perceo.bootstrap.model import FlowDraft, PersonaDraft, StepDraft
from perceo.bus.port import EventBus
from perceo.errors import FlowNotFoundError
from perceo.graph.port import FlowGraph
from perceo.models import EventType, Flow, FlowView, Page, PageLink, PerceoEvent, Persona, Step
from perceo.models.common import Model, new_id

FlowStatus = Literal["created", "updated", "unchanged", "skipped"]


class Counts(Model):
    created: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    #: Owned by a person (user-configured or user-edited): left exactly as it was.
    skipped: int = 0


class StepCounts(Model):
    flows_replaced: int = 0
    flows_unchanged: int = 0
    steps_written: int = 0


class ReconcileReport(Model):
    flows: Counts = Field(default_factory=Counts)
    personas: Counts = Field(default_factory=Counts)
    steps: StepCounts = Field(default_factory=StepCounts)
    pages_written: int = 0
    pages_removed: int = 0
    links_written: int = 0
    links_removed: int = 0
    flow_status: dict[str, FlowStatus] = Field(default_factory=dict)
    removed_flows: list[str] = Field(default_factory=list)
    removed_personas: list[str] = Field(default_factory=list)
    removed_pages: list[str] = Field(default_factory=list)
    skipped_flows: list[str] = Field(default_factory=list)

    @property
    def wrote_anything(self) -> bool:
        return bool(
            self.flows.created
            or self.flows.updated
            or self.flows.removed
            or self.personas.created
            or self.personas.updated
            or self.personas.removed
            or self.steps.flows_replaced
            or self.pages_written
            or self.pages_removed
            or self.links_written
            or self.links_removed
        )


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def persona_fingerprint(name: str, description: str, behaviors: Sequence[str], source: str) -> str:
    return _fingerprint([name, description, list(behaviors), source])


def flow_fingerprint(
    *,
    name: str,
    description: str,
    priority: str,
    pages: Sequence[str],
    personas: Sequence[str],
    connected: Sequence[str],
    trigger_conditions: Sequence[str],
) -> str:
    return _fingerprint(
        {
            "name": name,
            "description": description,
            "priority": priority,
            "pages": list(pages),
            "personas": sorted(p.casefold() for p in personas),
            "connected": sorted(c.casefold() for c in connected),
            "triggers": list(trigger_conditions),
        }
    )


def steps_fingerprint(steps: Sequence[StepDraft] | Sequence[Step]) -> str:
    return _fingerprint(
        [
            [s.order, s.name, [a.model_dump(mode="json") for a in s.actions], s.expected_state.model_dump(mode="json")]
            for s in steps
        ]
    )


def is_user_owned(flow: Flow) -> bool:
    return flow.source == "user_configured" or flow.user_edited


class Reconciler:
    """One reconciliation of a project's personas, flows, pages and steps against what was found."""

    def __init__(self, graph: FlowGraph, project_id: str, *, bus: EventBus | None = None) -> None:
        self.graph = graph
        self.project_id = project_id
        self.bus = bus
        self.report = ReconcileReport()
        self._existing_flows: dict[str, FlowView] = {}
        self._stored_routes: set[str] = set()
        #: Flows whose steps could not be written because they were deleted meanwhile.
        self.vanished_flows: list[str] = []
        self._found_routes: set[str] = set()

    # -- pages
    def pages(self, pages: Sequence[Page], links: Sequence[PageLink]) -> None:
        """Write the pages whose files changed and the links that are new; delete links no longer found.

        Pages that are no longer found are deleted later (`prune_pages`), once the flows that visit them are
        reconciled: a user-owned flow may still visit one.
        """
        stored = {p.route: p.files for p in self.graph.list_pages(self.project_id)}
        self._stored_routes = set(stored)
        self._found_routes = {p.route for p in pages}
        changed = [p for p in pages if stored.get(p.route) != p.files]
        if changed:
            self.report.pages_written = self.graph.upsert_pages(self.project_id, changed)
        wanted = list(dict.fromkeys((link.source, link.target) for link in links))
        stored_links = {(link.source, link.target) for link in self.graph.list_page_links(self.project_id)}
        new = [PageLink(source=s, target=t) for s, t in wanted if (s, t) not in stored_links]
        if new:
            self.report.links_written = self.graph.upsert_page_links(self.project_id, new)
        stale = sorted(stored_links - set(wanted))
        if stale:
            self.report.links_removed = self.graph.delete_page_links(
                self.project_id, [PageLink(source=s, target=t) for s, t in stale]
            )

    def prune_pages(self, visited: set[str]) -> None:
        """Delete the stored pages discovery no longer finds, except those a remaining flow still visits."""
        stale = sorted(self._stored_routes - self._found_routes - visited)
        if stale:
            self.report.pages_removed = self.graph.delete_pages(self.project_id, stale)
            self.report.removed_pages = stale

    # -- personas
    def personas(self, desired: Sequence[PersonaDraft], *, referenced_by_user_flows: set[str]) -> dict[str, str]:
        """Reconcile personas. Returns casefolded name -> stored name (for assigning flows)."""
        existing = {p.name.casefold(): p for p in self.graph.list_personas(self.project_id)}
        names = {key: p.name for key, p in existing.items()}
        to_write: list[Persona] = []
        wanted: set[str] = set()
        counts = self.report.personas
        for draft in desired:
            key = draft.name.casefold()
            if key in wanted:
                continue
            wanted.add(key)
            current = existing.get(key)
            if current is not None and current.source == "user_configured" and draft.source == "auto_generated":
                counts.skipped += 1
                continue
            name = current.name if current is not None else draft.name
            names[key] = name
            target = persona_fingerprint(name, draft.description, draft.behaviors, draft.source)
            if current is not None and target == persona_fingerprint(
                current.name, current.description, current.behaviors, current.source
            ):
                counts.unchanged += 1
                continue
            to_write.append(
                Persona(
                    id=current.id if current is not None else new_id(),
                    project_id=self.project_id,
                    name=name,
                    description=draft.description,
                    behaviors=list(draft.behaviors),
                    source=draft.source,
                )
            )
            if current is None:
                counts.created += 1
            else:
                counts.updated += 1
        if to_write:
            self.graph.upsert_personas(self.project_id, to_write)
        stale = [
            p
            for key, p in existing.items()
            if key not in wanted and p.source == "auto_generated" and key not in referenced_by_user_flows
        ]
        if stale:
            self.graph.delete_personas(self.project_id, [p.id for p in stale])
            counts.removed += len(stale)
            self.report.removed_personas = sorted(p.name for p in stale)
            for p in stale:
                names.pop(p.name.casefold(), None)
        return names

    # -- flows
    def load_flows(self) -> dict[str, FlowView]:
        flows = self.graph.list_flows(self.project_id, include_steps=True)
        self._existing_flows = {f.name.casefold(): f for f in flows}
        return self._existing_flows

    def user_flow_personas(self) -> set[str]:
        return {p.casefold() for f in self._existing_flows.values() if is_user_owned(f) for p in f.personas}

    def flows(self, desired: Sequence[FlowDraft], persona_names: dict[str, str]) -> dict[str, str]:
        """Reconcile flows. Returns flow name -> stored id for every flow whose steps the pipeline owns."""
        existing = self._existing_flows or self.load_flows()
        id_to_name = {f.id: f.name for f in existing.values()}
        counts = self.report.flows
        owned: dict[str, str] = {}
        changed: list[tuple[FlowDraft, Flow, list[str]]] = []
        wanted: set[str] = set()
        for draft in desired:
            key = draft.name.casefold()
            if key in wanted:
                continue
            wanted.add(key)
            current = existing.get(key)
            if current is not None and is_user_owned(current):
                counts.skipped += 1
                self.report.flow_status[current.name] = "skipped"
                self.report.skipped_flows.append(current.name)
                continue
            personas = [persona_names[p.casefold()] for p in draft.personas if p.casefold() in persona_names]
            name = current.name if current is not None else draft.name
            target = flow_fingerprint(
                name=name,
                description=draft.description,
                priority=draft.priority,
                pages=draft.pages,
                personas=personas,
                connected=draft.connected_flows,
                trigger_conditions=draft.trigger_conditions,
            )
            if (
                current is not None
                and target
                == flow_fingerprint(
                    name=current.name,
                    description=current.description,
                    priority=current.priority,
                    pages=current.pages,
                    personas=current.personas,
                    connected=[id_to_name.get(i, i) for i in current.connected_flows],
                    trigger_conditions=current.trigger_conditions,
                )
                and current.entry_point == draft.pages[0]
                and current.is_active
            ):
                counts.unchanged += 1
                self.report.flow_status[name] = "unchanged"
                owned[name] = current.id
                continue
            flow = Flow(
                project_id=self.project_id,
                name=name,
                description=draft.description,
                priority=draft.priority,
                entry_point=draft.pages[0],
                trigger_conditions=list(draft.trigger_conditions),
                source="auto_generated",
            )
            if current is not None:
                # Keep what other parts of Perceo computed about the flow (risk, coverage) and its identity.
                flow = flow.model_copy(
                    update={
                        "id": current.id,
                        "created_at": current.created_at,
                        "risk_score": current.risk_score,
                        "coverage_score": current.coverage_score,
                    }
                )
            changed.append((draft, flow, personas))
            self.report.flow_status[name] = "updated" if current is not None else "created"
            if current is None:
                counts.created += 1
            else:
                counts.updated += 1
        owned.update(self._write_flows(changed, existing))
        self._remove_stale_flows(existing, wanted)
        return owned

    def _write_flows(
        self, changed: Sequence[tuple[FlowDraft, Flow, list[str]]], existing: dict[str, FlowView]
    ) -> dict[str, str]:
        """Upsert the changed flows, then link their personas, connections and pages (each kind in batches)."""
        if not changed:
            return {}
        stored = self.graph.upsert_flows(self.project_id, [flow for _, flow, _ in changed])
        stored_ids = {f.name.casefold(): f.id for f in stored}
        all_ids = {**{f.name.casefold(): f.id for f in existing.values()}, **stored_ids}
        written: dict[str, str] = {}
        pages_by_flow: dict[str, list[str]] = {}
        personas_by_flow: dict[str, list[str]] = {}
        connections_by_flow: dict[str, list[str]] = {}
        for draft, flow, personas in changed:
            flow_id = stored_ids.get(flow.name.casefold(), flow.id)
            written[flow.name] = flow_id
            pages_by_flow[flow_id] = list(draft.pages)
            personas_by_flow[flow_id] = list(personas)
            connections_by_flow[flow_id] = [
                all_ids[c.casefold()] for c in draft.connected_flows if c.casefold() in all_ids
            ]
        self.graph.set_personas_of_flows(self.project_id, personas_by_flow)
        self.graph.set_connections_of_flows(self.project_id, connections_by_flow)
        self.graph.set_pages_of_flows(self.project_id, pages_by_flow)
        for name, flow_id in written.items():
            status = self.report.flow_status[name]
            self._publish(EventType.FLOW_CREATED if status == "created" else EventType.FLOW_UPDATED, flow_id, name)
        return written

    def _remove_stale_flows(self, existing: dict[str, FlowView], wanted: set[str]) -> None:
        """Delete the auto-generated flows no longer found; user-owned ones stay (and are counted as skipped)."""
        counts = self.report.flows
        stale = [f for key, f in existing.items() if key not in wanted and not is_user_owned(f)]
        if stale:
            self.graph.delete_flows(self.project_id, [f.id for f in stale])
            counts.removed += len(stale)
            self.report.removed_flows = sorted(f.name for f in stale)
            for f in stale:
                self._publish(EventType.FLOW_DELETED, f.id, f.name)
        for f in existing.values():
            if f.name.casefold() not in wanted and is_user_owned(f):
                counts.skipped += 1
                self.report.skipped_flows.append(f.name)
                self.report.flow_status[f.name] = "skipped"

    def visited_routes(self, desired: Sequence[FlowDraft]) -> set[str]:
        """The routes the flows kept after `flows()` visit: the desired ones and the user-owned stored ones."""
        kept = {r for f in self._existing_flows.values() if is_user_owned(f) for r in f.pages}
        return kept | {r for d in desired for r in d.pages}

    # -- steps
    def steps(self, flow_name: str, flow_id: str, steps: Sequence[StepDraft]) -> bool:
        """Replace one flow's steps when they differ from the stored ones. True when it wrote."""
        return bool(self.steps_of_flows([(flow_name, flow_id, steps)]))

    def steps_of_flows(self, results: Sequence[tuple[str, str, Sequence[StepDraft]]]) -> list[str]:
        """Replace the steps of every (name, id, steps) whose steps differ from the stored ones, in batches
        (each flow's replacement stays atomic). Returns the names of the flows written."""
        changed: dict[str, list[Step]] = {}
        names: dict[str, str] = {}
        for flow_name, flow_id, steps in results:
            current = self._existing_flows.get(flow_name.casefold())
            stored_steps = current.steps if current is not None and current.id == flow_id else None
            if stored_steps is None:
                stored_steps = self.graph.list_steps(self.project_id, flow_id)
            if steps_fingerprint(stored_steps) == steps_fingerprint(steps):
                self.report.steps.flows_unchanged += 1
                continue
            changed[flow_id] = [
                Step(flow_id=flow_id, order=s.order, name=s.name, actions=s.actions, expected_state=s.expected_state)
                for s in steps
            ]
            names[flow_id] = flow_name
        if not changed:
            return []
        try:
            self.graph.replace_steps_of_flows(self.project_id, changed)
        except FlowNotFoundError as error:
            # Deleted while the bootstrap ran (`perceo flows delete`): the other flows were written.
            gone = set(error.details.get("flowIds") or [error.details.get("flowId")])
            self.vanished_flows += [names[flow_id] for flow_id in changed if flow_id in gone]
            changed = {flow_id: rows for flow_id, rows in changed.items() if flow_id not in gone}
        for flow_id, rows in changed.items():
            flow_name = names[flow_id]
            self.report.steps.flows_replaced += 1
            self.report.steps.steps_written += len(rows)
            if self.report.flow_status.get(flow_name) == "unchanged":
                self.report.flow_status[flow_name] = "updated"
                self.report.flows.unchanged -= 1
                self.report.flows.updated += 1
                self._publish(EventType.FLOW_UPDATED, flow_id, flow_name)
        return [names[flow_id] for flow_id in changed]

    def _publish(self, type_: EventType, flow_id: str, name: str) -> None:
        if self.bus is not None:
            self.bus.publish(
                PerceoEvent(
                    type=type_,
                    source="graph",
                    project_id=self.project_id,
                    data={"flowId": flow_id, "name": name, "origin": "bootstrap"},
                )
            )
