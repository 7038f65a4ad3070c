"""Bootstrap benchmark: the offline heuristic on a generated Next.js app with 300 routes and 3,000 files.

Prints the median of several runs of (a) discovery alone (baseline) and (b) the heuristic bootstrap's
compute (discovery, auth detection, flows, personas, steps for every flow, no graph); then (c) the whole
`run_bootstrap` into a real FalkorDB server started here (first run, which writes everything, and unchanged
re-runs, which must send no write query), with the default flow cap and with a cap high enough to keep every
flow found (the batched writes at scale); and the number of LLM calls a full LLM bootstrap makes for the same
app, counted by running the real LLM stages against a counting LLM that answers like the heuristic.

    .venv/bin/python bench/bootstrap_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from perceo.bootstrap.model import FlowsOutput, PersonasOutput, RefineOutput, StepsOutput
from perceo.bootstrap.pipeline import (
    BootstrapDeps,
    BootstrapInput,
    BootstrapLimits,
    StepTask,
    _context_files,
    _route_graph,
    assign_personas,
    discover,
    identify_flows,
    refine,
    run_bootstrap,
    run_extract_steps,
    validate,
)
from perceo.graph.falkor import FalkorFlowGraph
from perceo.llm.model import LLMRequest
from perceo.models import Project
from perceo_cli.local.server import start_server, stop_server

T = TypeVar("T", bound=BaseModel)
SECTIONS = ["shop", "account", "admin", "projects", "teams", "reports", "billing", "docs", "blog", "support"]


def generate_app(root: Path, routes: int = 300, files: int = 3000) -> None:
    """`routes` page routes (list/new/[id]/[id]/edit per resource) plus components up to `files` files."""
    written = 0

    def write(path: str, text: str) -> None:
        nonlocal written
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written += 1

    write("package.json", '{"name": "bench-app", "dependencies": {"next": "14.2.0", "react": "18.3.1"}}')
    write("next.config.js", "module.exports = {};\n")
    write(
        "app/layout.tsx",
        'import Nav from "../components/Nav";\nexport default function L({children}) '
        "{ return <html><body><Nav />{children}</body></html> }\n",
    )
    write(
        "app/page.tsx",
        'import Link from "next/link";\nexport default function Home() { return <main>'
        '<h1>Home</h1><Link href="/login">Sign in</Link></main> }\n',
    )
    write(
        "app/login/page.tsx",
        "export default function Login() { return <main><h1>Sign in</h1><form>"
        '<input name="email"/><input name="password" type="password"/>'
        '<button type="submit">Sign in</button></form></main> }\n',
    )
    write("app/dashboard/page.tsx", "export default function D() { return <main><h1>Dashboard</h1></main> }\n")
    write(
        "components/Nav.tsx",
        'import Link from "next/link";\nexport default function Nav() { return <nav>'
        + "".join(f'<Link href="/{s}-0">{s}</Link>' for s in SECTIONS)
        + "</nav> }\n",
    )
    count = 3
    resource = 0
    while count < routes:
        name = f"{SECTIONS[resource % len(SECTIONS)]}-{resource // len(SECTIONS)}"
        comp = f"components/{name}/Form.tsx"
        pages = {
            f"app/{name}/page.tsx": f'import Link from "next/link";\nexport default function P() {{ return <main>'
            f'<h1>{name}</h1><Link href="/{name}/new">New</Link>'
            f"<Link href={{`/{name}/${{1}}`}}>Open</Link></main> }}\n",
            f"app/{name}/new/page.tsx": f'import Form from "../../../{comp[:-4]}";\nexport default function N() '
            f"{{ return <main><h1>New {name}</h1><Form /></main> }}\n",
            f"app/{name}/[id]/page.tsx": f'import Link from "next/link";\nexport default function D() {{ return '
            f'<main><h1>Item</h1><Link href="/{name}/1/edit">Edit</Link></main> }}\n',
            f"app/{name}/[id]/edit/page.tsx": f'import Form from "../../../../{comp[:-4]}";\nexport default '
            f"function E() {{ return <main><h1>Edit</h1><Form /></main> }}\n",
        }
        for path, text in pages.items():
            if count >= routes:
                break
            write(path, text)
            count += 1
        write(
            comp,
            '"use client";\nexport default function Form() { return <form><input name="title"/>'
            '<textarea name="description"/><button type="submit">Save</button></form> }\n',
        )
        resource += 1
    index = 0
    while written < files:
        write(f"lib/util{index // 100}/mod{index}.ts", f"export const value{index} = {index};\n")
        index += 1
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"], cwd=root, check=True)


class CountingLLM:
    """Answers every LLM stage with what the heuristic found, and counts the calls."""

    def __init__(self, flows: list[Any]) -> None:
        self.flows = flows
        self.calls: dict[str, int] = {}

    def complete(self, request: LLMRequest, response_model: type[T]) -> T:
        self.calls[request.schema_name] = self.calls.get(request.schema_name, 0) + 1
        flows = [
            {
                "name": f.name,
                "description": f.description,
                "pages": f.pages,
                "connectedFlowIds": None,
                "priority": f.priority,
            }
            for f in self.flows
        ]
        names = [f.name for f in self.flows]
        personas = [{"name": "User", "description": "", "behaviors": ["works"], "flowNames": names}]
        answers: dict[type[BaseModel], Any] = {
            FlowsOutput: {"flows": flows},
            PersonasOutput: {"personas": personas},
            RefineOutput: {"flows": flows, "personas": personas},
            StepsOutput: {
                "steps": [
                    {
                        "stepNumber": 1,
                        "action": "Open the page",
                        "expectedState": "shown",
                        "selectors": None,
                        "actions": None,
                    }
                ]
            },
        }
        return response_model.model_validate(answers[response_model])


def step_tasks(state: Any) -> list[StepTask]:
    graph = _route_graph(state)
    return [
        StepTask(
            project_id="bench",
            workspace=state.input.workspace,
            framework=state.framework,
            use_llm=state.flow_source == "llm",
            flow_id=f"f{i}",
            flow_name=f.name,
            flow_description=f.description,
            pages=f.pages,
            page_files={p: list(graph.by_route[p].entry_files) for p in f.pages},
            context_files=_context_files(f.pages, graph, state.discovery.imports),
            imports=state.discovery.imports,
            limits=state.input.limits,
        )
        for i, f in enumerate(state.flows)
    ]


def bootstrap_once(root: Path, *, llm: Any = None) -> Any:
    deps = BootstrapDeps(llm=llm)
    try:
        state = validate(BootstrapInput(project_id="bench", workspace=str(root), use_llm=llm is not None), deps)
        for stage in (discover, identify_flows, assign_personas, refine):
            state = stage(state, deps)
        state = state.model_copy(update={"step_tasks": step_tasks(state)})
        return run_extract_steps(state, deps)
    finally:
        deps.close()


def discovery_once(root: Path) -> Any:
    deps = BootstrapDeps()
    try:
        return discover(validate(BootstrapInput(project_id="bench", workspace=str(root)), deps), deps)
    finally:
        deps.close()


class CountingFalkorGraph(FalkorFlowGraph):
    """The real adapter, counting the write queries it sends."""

    writes = 0

    def _write(self, query: str, params: Any) -> Any:
        self.writes += 1
        return super()._write(query, params)


def persisted(root: Path, runs: int, max_flows: int) -> None:
    """`run_bootstrap` into a FalkorDB server of its own: first run, then unchanged re-runs."""
    with tempfile.TemporaryDirectory() as data:
        server = start_server(Path(data), persistent=False)
        try:
            graph = CountingFalkorGraph(f"redis://{server.host}:{server.port}", f"bench-{max_flows}")
            graph.ensure_schema()
            graph.create_project(Project(id="bench", name="bench"))
            request = BootstrapInput(
                project_id="bench", workspace=str(root), limits=BootstrapLimits(max_flows=max_flows)
            )
            started = time.perf_counter()
            state = run_bootstrap(request, BootstrapDeps(graph=graph))
            first_s, first_writes = time.perf_counter() - started, graph.writes
            graph.writes = 0
            rerun_s, again = timed(lambda: run_bootstrap(request, BootstrapDeps(graph=graph)), runs)
            stored = graph.list_flows("bench", include_steps=True)
            steps = sum(len(f.steps) for f in stored)
            print(
                f"run_bootstrap into FalkorDB, maxFlows={max_flows}: first run {first_s:.2f} s "
                f"({len(stored)} flows, {steps} steps, {len(graph.list_pages('bench'))} pages, "
                f"{state.report.links_written} links; {first_writes} write queries); unchanged re-run median "
                f"{rerun_s:.2f} s over {runs} runs ({graph.writes} write queries, "
                f"{again.report.flows.unchanged} flows unchanged)"
            )
            graph.close()
        finally:
            stop_server(server.pid)


def timed(fn: Any, runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        generate_app(root)
        files = sum(1 for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
        base_s, disc = timed(lambda: discovery_once(root), args.runs)
        boot_s, state = timed(lambda: bootstrap_once(root), args.runs)
        routes = len([r for r in disc.discovery.routes if r.kind == "page"])
        steps = sum(len(r.steps) for r in state.step_results)
        print(f"app: {routes} page routes, {files} files")
        print(f"discovery alone (baseline): median {base_s:.2f} s over {args.runs} runs")
        print(
            f"heuristic bootstrap (discovery + flows + personas + steps): median {boot_s:.2f} s "
            f"-> {len(state.flows)} flows, {len(state.personas)} personas, {steps} steps"
        )
        verdict = "ok" if boot_s < 10 else "MISSED"
        print(f"bootstrap beyond discovery: {boot_s - base_s:+.2f} s; target < 10 s: {verdict}")
        persisted(root, args.runs, max_flows=10)
        persisted(root, args.runs, max_flows=200)
        counter = CountingLLM(state.flows)
        llm_state = bootstrap_once(root, llm=counter)
        total = sum(counter.calls.values())
        print(
            f"LLM bootstrap: {total} LLM calls ({', '.join(f'{k}={v}' for k, v in sorted(counter.calls.items()))}) "
            f"for {len(llm_state.flows)} flows (= 3 + one per flow, capped by bootstrap.maxFlows)"
        )


if __name__ == "__main__":
    main()
