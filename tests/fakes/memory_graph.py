"""An honest in-memory FlowGraph for bootstrap tests without a server: same keys and semantics as the
port (personas and flows by (project, name), steps replaced per flow), and a count of write calls so a
test can say "nothing was written"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from perceo.graph.port import MAX_PAGE_SIZE, FlowPage
from perceo.models import (
    ChangeAnalysis,
    Flow,
    FlowMetrics,
    FlowUpdate,
    FlowView,
    Page,
    PageLink,
    Persona,
    Project,
    Step,
    now_ms,
)


class MemoryFlowGraph:
    def __init__(self) -> None:
        self.projects: dict[str, Project] = {}
        self.personas: dict[tuple[str, str], Persona] = {}
        self.flows: dict[str, Flow] = {}
        self.flow_personas: dict[str, list[str]] = {}
        self.flow_pages: dict[str, list[str]] = {}
        self.flow_links: dict[str, list[str]] = {}
        self.steps: dict[str, list[Step]] = {}
        self.pages: dict[tuple[str, str], Page] = {}
        self.links: set[tuple[str, str, str]] = set()
        self.metrics: dict[tuple[str, str, str], FlowMetrics] = {}
        self.writes: list[str] = []

    def ensure_schema(self) -> None: ...
    def ping(self) -> bool:
        return True

    def close(self) -> None: ...

    def create_project(self, project: Project) -> Project:
        self.writes.append("create_project")
        self.projects[project.id] = project
        return project

    def get_project(self, project_id: str) -> Project | None:
        return self.projects.get(project_id)

    def list_projects(self) -> list[Project]:
        return list(self.projects.values())

    def delete_project(self, project_id: str) -> bool:
        return self.projects.pop(project_id, None) is not None

    def upsert_personas(self, project_id: str, personas: Sequence[Persona]) -> list[Persona]:
        self.writes.append("upsert_personas")
        out = []
        for p in personas:
            current = self.personas.get((project_id, p.name))
            stored = p.model_copy(update={"id": current.id}) if current else p
            self.personas[(project_id, p.name)] = stored
            out.append(stored)
        return out

    def list_personas(self, project_id: str) -> list[Persona]:
        return sorted((p for (pid, _), p in self.personas.items() if pid == project_id), key=lambda p: p.name)

    def delete_personas(self, project_id: str, persona_ids: Sequence[str]) -> int:
        self.writes.append("delete_personas")
        doomed = [k for k, p in self.personas.items() if k[0] == project_id and p.id in persona_ids]
        for key in doomed:
            del self.personas[key]
            for names in self.flow_personas.values():
                if key[1] in names:
                    names.remove(key[1])
        return len(doomed)

    def upsert_flows(self, project_id: str, flows: Sequence[Flow]) -> list[Flow]:
        self.writes.append("upsert_flows")
        out = []
        for f in flows:
            current = next((x for x in self.flows.values() if x.project_id == project_id and x.name == f.name), None)
            stored = f.model_copy(update={"updated_at": now_ms()})
            if current:
                stored = stored.model_copy(update={"id": current.id, "created_at": current.created_at})
            self.flows[stored.id] = stored
            out.append(stored)
        return out

    def set_flow_personas(self, project_id: str, flow_id: str, persona_names: Sequence[str]) -> None:
        self.writes.append("set_flow_personas")
        self.flow_personas[flow_id] = [n for n in persona_names if (project_id, n) in self.personas]

    def set_personas_of_flows(self, project_id: str, names_by_flow: Mapping[str, Sequence[str]]) -> None:
        self.writes.append("set_personas_of_flows")
        for flow_id, names in names_by_flow.items():
            self.flow_personas[flow_id] = [n for n in names if (project_id, n) in self.personas]

    def set_flow_pages(self, project_id: str, flow_id: str, routes: Sequence[str]) -> None:
        self.writes.append("set_flow_pages")
        self._set_pages(project_id, flow_id, routes)

    def set_pages_of_flows(self, project_id: str, routes_by_flow: Mapping[str, Sequence[str]]) -> None:
        self.writes.append("set_pages_of_flows")
        for flow_id, routes in routes_by_flow.items():
            self._set_pages(project_id, flow_id, routes)

    def _set_pages(self, project_id: str, flow_id: str, routes: Sequence[str]) -> None:
        self.flow_pages[flow_id] = list(routes)
        for route in routes:  # like the graph: a visited route without a page gets one
            self.pages.setdefault((project_id, route), Page(project_id=project_id, route=route))

    def set_flow_connections(self, project_id: str, flow_id: str, flow_ids: Sequence[str]) -> None:
        self.writes.append("set_flow_connections")
        self.flow_links[flow_id] = list(flow_ids)

    def set_connections_of_flows(self, project_id: str, ids_by_flow: Mapping[str, Sequence[str]]) -> None:
        self.writes.append("set_connections_of_flows")
        for flow_id, flow_ids in ids_by_flow.items():
            self.flow_links[flow_id] = list(flow_ids)

    def _view(self, flow: Flow, include_steps: bool = True) -> FlowView:
        return FlowView(
            **flow.model_dump(),
            personas=sorted(self.flow_personas.get(flow.id, [])),
            pages=self.flow_pages.get(flow.id, []),
            steps=self.steps.get(flow.id, []) if include_steps else [],
            connected_flows=[i for i in self.flow_links.get(flow.id, []) if i in self.flows],
        )

    def get_flow(self, project_id: str, flow_id: str) -> FlowView | None:
        flow = self.flows.get(flow_id)
        return self._view(flow) if flow and flow.project_id == project_id else None

    def get_flow_by_name(self, project_id: str, name: str) -> FlowView | None:
        flow = next((f for f in self.flows.values() if f.project_id == project_id and f.name == name), None)
        return self._view(flow) if flow else None

    def list_flows(self, project_id: str, *, include_steps: bool = False) -> list[FlowView]:
        return [self._view(f, include_steps) for f in self.flows.values() if f.project_id == project_id]

    def list_flows_page(
        self, project_id: str, *, limit: int, after: tuple[str, str] | None = None, include_steps: bool = False
    ) -> FlowPage:
        size = min(limit, MAX_PAGE_SIZE)
        ordered = sorted((f for f in self.flows.values() if f.project_id == project_id), key=lambda f: (f.name, f.id))
        rest = [f for f in ordered if after is None or (f.name, f.id) > after]
        page = [self._view(f, include_steps) for f in rest[:size]]
        return FlowPage(flows=page, next_after=(page[-1].name, page[-1].id) if len(rest) > size else None)

    def update_flow(self, project_id: str, flow_id: str, update: FlowUpdate) -> Flow | None:
        flow = self.flows.get(flow_id)
        if flow is None:
            return None
        changes = {k: v for k, v in update.model_dump(by_alias=False).items() if v is not None}
        self.flows[flow_id] = flow.model_copy(update={**changes, "updated_at": now_ms()})
        return self.flows[flow_id]

    def delete_flows(self, project_id: str, flow_ids: Sequence[str]) -> int:
        self.writes.append("delete_flows")
        count = 0
        for flow_id in flow_ids:
            if self.flows.pop(flow_id, None) is not None:
                count += 1
                self.steps.pop(flow_id, None)
        return count

    def replace_steps(self, project_id: str, flow_id: str, steps: Sequence[Step]) -> list[Step]:
        self.writes.append("replace_steps")
        orders = [s.order for s in steps]
        assert len(orders) == len(set(orders)), "(flow, order) must be unique"
        self.steps[flow_id] = list(steps)
        return list(steps)

    def replace_steps_of_flows(
        self, project_id: str, steps_by_flow: Mapping[str, Sequence[Step]]
    ) -> dict[str, list[Step]]:
        self.writes.append("replace_steps_of_flows")
        stored: dict[str, list[Step]] = {}
        for flow_id, steps in steps_by_flow.items():
            orders = [s.order for s in steps]
            assert len(orders) == len(set(orders)), "(flow, order) must be unique"
            stored[flow_id] = [s.model_copy(update={"flow_id": flow_id}) for s in sorted(steps, key=lambda s: s.order)]
            self.steps[flow_id] = stored[flow_id]
        return stored

    def list_steps(self, project_id: str, flow_id: str) -> list[Step]:
        return list(self.steps.get(flow_id, []))

    def upsert_pages(self, project_id: str, pages: Sequence[Page]) -> int:
        self.writes.append("upsert_pages")
        for page in pages:
            self.pages[(project_id, page.route)] = page
        return len(pages)

    def upsert_page_links(self, project_id: str, links: Sequence[PageLink]) -> int:
        new = {
            (project_id, link.source, link.target)
            for link in links
            if (project_id, link.source) in self.pages and (project_id, link.target) in self.pages
        } - self.links
        if new:
            self.writes.append("upsert_page_links")
        self.links |= new
        return len(new)

    def list_pages(self, project_id: str) -> list[Page]:
        return sorted((p for (pid, _), p in self.pages.items() if pid == project_id), key=lambda p: p.route)

    def delete_pages(self, project_id: str, routes: Sequence[str]) -> int:
        self.writes.append("delete_pages")
        doomed = {r for r in routes if (project_id, r) in self.pages}
        for route in doomed:
            del self.pages[(project_id, route)]
        self.links = {link for link in self.links if link[0] != project_id or not {link[1], link[2]} & doomed}
        for flow_id, visited in self.flow_pages.items():
            if self.flows.get(flow_id) is not None and self.flows[flow_id].project_id == project_id:
                self.flow_pages[flow_id] = [r for r in visited if r not in doomed]
        return len(doomed)

    def list_page_links(self, project_id: str) -> list[PageLink]:
        return [PageLink(source=s, target=t) for pid, s, t in sorted(self.links) if pid == project_id]

    def delete_page_links(self, project_id: str, links: Sequence[PageLink]) -> int:
        self.writes.append("delete_page_links")
        doomed = {(project_id, link.source, link.target) for link in links} & self.links
        self.links -= doomed
        return len(doomed)

    def flows_visiting(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        return [v for v in self.list_flows(project_id) if set(v.pages) & set(routes)]

    def matchable_routes(self, project_id: str) -> list[str]:
        entry_points = {f.entry_point for f in self.flows.values() if f.project_id == project_id and f.is_active}
        pages = {route for (pid, route) in self.pages if pid == project_id}
        return sorted(pages | {route for route in entry_points if route is not None})

    def flows_at_routes(self, project_id: str, routes: Sequence[str]) -> list[FlowView]:
        wanted = set(routes)
        found = [
            FlowView(**f.model_dump(), pages=self.flow_pages.get(f.id, []))
            for f in self.flows.values()
            if f.project_id == project_id and f.is_active
        ]
        return sorted((v for v in found if wanted & set(v.pages) or v.entry_point in wanted), key=lambda v: v.name)

    def record_analysis(self, analysis: ChangeAnalysis) -> ChangeAnalysis:
        return analysis

    def get_analysis(self, project_id: str, analysis_id: str) -> ChangeAnalysis | None:
        return None

    def list_analyses(self, project_id: str, *, limit: int = 20) -> list[ChangeAnalysis]:
        return []

    def upsert_flow_metrics(self, project_id: str, metrics: Sequence[FlowMetrics]) -> int:
        self.writes.append("upsert_flow_metrics")
        written = 0
        for m in metrics:
            flow = self.flows.get(m.flow_id)
            if flow is not None and flow.project_id == project_id and m.project_id == project_id:
                self.metrics[(project_id, m.flow_id, m.day)] = m
                written += 1
        return written

    def list_flow_metrics(
        self, project_id: str, *, since: str, until: str, flow_ids: Sequence[str] | None = None
    ) -> list[FlowMetrics]:
        return sorted(
            (
                m
                for (pid, flow_id, day), m in self.metrics.items()
                if pid == project_id
                and since <= day <= until
                and flow_id in self.flows
                and (flow_ids is None or flow_id in flow_ids)
            ),
            key=lambda m: (m.day, m.flow_id),
        )
