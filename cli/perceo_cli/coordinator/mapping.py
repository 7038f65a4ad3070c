"""The flow -> test mapping: which tests guard which flows, with the evidence for every link.

Two sources, both kept with their evidence:

- the config (`flows.<name>.tests`): files, globs, or tags/text found in test titles (`@flow:checkout`,
  `grep:<text>`). Entries that name nothing (a missing file, a glob or tag that matches no test, a flow the
  project does not have) are a TestMappingError listing all of them: a mapping must not silently run less.
- the tests themselves: each URL a test visits (see `scan.py`) is matched to the project's routes by pattern
  (`perceo.observer.routematch`), and a flow that visits (or starts at) a matching route is guarded by the test.

Selection is by file: the runners run files, so a flow's tests are the files linked to it (a tag link also
gives the tag, which runners that filter by title receive as `{grep}` / `--grep`).
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from perceo.config.model import FlowTestsSection
from perceo.coordinator.playwright_report import ListedSpec, list_playwright_specs
from perceo.errors import InvalidReportError, TestMappingError
from perceo.models.common import EntityId, Model
from perceo.models.entities import FlowView
from perceo.observer.routematch import route_segments, routes_match
from perceo_cli.coordinator.scan import TestFile, TestTitle, discover_test_files, is_test_file, scan_test_file

Rule = Literal["config-file", "config-glob", "config-tag", "url"]
_GLOB_CHARS = frozenset("*?[")
#: Characters of route parameters and catch-alls (`:id`, `[id]`, `{id}`, `$id`, `<id>`, `*`).
_DYNAMIC = frozenset(":[]{}$<>*")
#: How long `playwright test --list` may take before the spec files are read instead.
PLAYWRIGHT_LIST_TIMEOUT_S = 120


class TestLink(Model):
    """One test file guarding one flow, and why."""

    __test__ = False  # not a pytest test class

    flow_id: EntityId
    flow_name: str
    file: str
    rule: Rule
    #: Where in the file the evidence is (the visit, the tagged title); None for a file or glob entry.
    line: int | None = None
    #: The URL as the test writes it (url rule).
    url: str | None = None
    #: The flow's route it matched (url rule).
    route: str | None = None
    #: The config entry (config rules).
    entry: str | None = None
    #: The tag or text a runner can filter titles by (config-tag rule).
    grep: str | None = None

    @property
    def evidence(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.rule == "url":
            return f"{where} visits {self.url} (route {self.route})"
        return f"{where} from flows.{self.flow_name}.tests entry {self.entry!r}"


class FlowTests(Model):
    flow_id: EntityId
    name: str
    files: list[str] = Field(default_factory=list)
    #: Share of the flow's pages its tests visit (config links count as covering the flow); 0 without tests.
    coverage: float = 0.0
    pages_visited: list[str] = Field(default_factory=list)


class TestMapping(Model):
    """`perceo flows tests --json` (schemaVersion 1): every link with its evidence, per-flow files, uncovered flows."""

    __test__ = False  # not a pytest test class

    schema_version: int = 1
    test_files: int = 0
    links: list[TestLink] = Field(default_factory=list)
    flows: list[FlowTests] = Field(default_factory=list)
    #: Flows no test guards.
    uncovered: list[FlowTests] = Field(default_factory=list)
    #: Test files linked to no flow.
    unmapped_files: list[str] = Field(default_factory=list)

    def files_for(self, flow_ids: Collection[str]) -> list[str]:
        """The test files guarding any of these flows, sorted."""
        return sorted({link.file for link in self.links if link.flow_id in flow_ids})

    def greps_for(self, flow_ids: Collection[str]) -> list[str]:
        """Tags to filter titles by, when every link of the selected files is a tag link (else: none, run files)."""
        chosen = [link for link in self.links if link.flow_id in flow_ids]
        if chosen and all(link.rule == "config-tag" for link in chosen):
            return sorted({link.grep for link in chosen if link.grep})
        return []

    def flows_of(self) -> dict[str, list[str]]:
        """Test file -> the ids of the flows it guards."""
        flows: dict[str, set[str]] = defaultdict(set)
        for link in self.links:
            flows[link.file].add(link.flow_id)
        return {file: sorted(ids) for file, ids in flows.items()}


def build_mapping(
    root: Path,
    flows: Sequence[FlowView],
    config: Mapping[str, FlowTestsSection],
    test_files: Sequence[TestFile],
    *,
    routes: Iterable[str] = (),
) -> TestMapping:
    """Map tests to flows. `routes`: the project's discovered page routes (the flows' own pages always count)."""
    by_name = {f.name: f for f in flows}
    links: list[TestLink] = []
    problems: list[str] = []
    for name, section in config.items():
        flow = by_name.get(name)
        if flow is None:
            problems.append(f"flows.{name}: the project has no flow named {name!r}")
            continue
        for entry in section.tests:
            found = _config_links(root, flow, entry, test_files)
            if not found:
                problems.append(f"flows.{name}.tests: {entry!r} {_nothing(entry)}")
            links.extend(found)
    if problems:
        raise TestMappingError(
            "the flow -> test mapping names tests that do not exist: " + "; ".join(problems),
            details={"problems": problems},
        )
    links.extend(_url_links(flows, test_files, routes))
    links = _unique(links)
    return _summarise(flows, test_files, links)


def _nothing(entry: str) -> str:
    if _is_tag(entry):
        return "is in no test title"
    return "matches no file" if _GLOB_CHARS & set(entry) else "is not a file"


def _is_tag(entry: str) -> bool:
    return entry.startswith("@") or entry.startswith("grep:")


def _config_links(root: Path, flow: FlowView, entry: str, test_files: Sequence[TestFile]) -> list[TestLink]:
    base = {"flow_id": flow.id, "flow_name": flow.name, "entry": entry}
    if _is_tag(entry):
        text = entry.removeprefix("grep:")
        return [
            TestLink(**base, file=file.path, rule="config-tag", line=title.line, grep=text)
            for file in test_files
            for title in file.titles
            if text in title.text
        ]
    if _GLOB_CHARS & set(entry):
        matches = sorted(p for p in root.glob(entry) if p.is_file())
        return [
            TestLink(**base, file=p.relative_to(root).as_posix(), rule="config-glob")
            for p in matches
            if not _outside(root, p)
        ]
    path = root / entry
    if _outside(root, path):
        return []
    if path.is_dir():
        return [
            TestLink(**base, file=p.relative_to(root).as_posix(), rule="config-glob")
            for p in sorted(path.rglob("*"))
            if p.is_file() and is_test_file(p.name)
        ]
    return [TestLink(**base, file=path.relative_to(root).as_posix(), rule="config-file")] if path.is_file() else []


def _outside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return True
    return False


def _url_links(flows: Sequence[FlowView], test_files: Sequence[TestFile], routes: Iterable[str]) -> list[TestLink]:
    """Links from visited URLs: visited path -> matching routes -> the flows that visit or start at them."""
    flows_at: dict[str, list[FlowView]] = defaultdict(list)
    for flow in flows:
        if not flow.is_active:
            continue
        for route in dict.fromkeys([*flow.pages, *([flow.entry_point] if flow.entry_point else [])]):
            flows_at[route].append(flow)
    known = list(dict.fromkeys([*routes, *flows_at]))
    # Static routes match a static path only when equal: look those up; pattern-match only the dynamic ones.
    static: dict[tuple[str, ...], list[str]] = defaultdict(list)
    dynamic = []
    for route in known:
        if _is_static(route):
            static[route_segments(route)].append(route)
        else:
            dynamic.append(route)
    matched: dict[str, list[str]] = {}  # visited path -> routes it matches (cached: tests repeat URLs)
    links = []
    for file in test_files:
        for visit in file.visits:
            hits = matched.get(visit.path)
            if hits is None:
                if _is_static(visit.path):
                    candidates = [*static.get(route_segments(visit.path), ()), *dynamic]
                else:
                    candidates = known
                hits = matched[visit.path] = [r for r in candidates if routes_match(visit.path, r)]
            for route in hits:
                for flow in flows_at.get(route, ()):
                    links.append(
                        TestLink(
                            flow_id=flow.id, flow_name=flow.name, file=file.path, rule="url",
                            line=visit.line, url=visit.raw, route=route,
                        )
                    )  # fmt: skip
    return links


def _is_static(route: str) -> bool:
    return not _DYNAMIC & set(route)


def _unique(links: list[TestLink]) -> list[TestLink]:
    """One link per (flow, file, rule, route, entry), the first (lowest line) kept."""
    seen: dict[tuple[str, str, str, str | None, str | None], TestLink] = {}
    for link in sorted(links, key=lambda k: (k.flow_name, k.file, k.rule, k.line or 0)):
        seen.setdefault((link.flow_id, link.file, link.rule, link.route, link.entry), link)
    return list(seen.values())


def _summarise(flows: Sequence[FlowView], test_files: Sequence[TestFile], links: list[TestLink]) -> TestMapping:
    by_flow: dict[str, list[TestLink]] = defaultdict(list)
    for link in links:
        by_flow[link.flow_id].append(link)
    summaries = []
    for flow in sorted(flows, key=lambda f: f.name):
        mine = by_flow.get(flow.id, [])
        pages = list(dict.fromkeys(flow.pages or ([flow.entry_point] if flow.entry_point else [])))
        visited = sorted({link.route for link in mine if link.route in pages and link.route is not None})
        declared = any(link.rule != "url" for link in mine)
        if not mine:
            coverage = 0.0
        elif declared or not pages:
            coverage = 1.0
        else:
            coverage = round(len(visited) / len(pages), 4)
        summaries.append(
            FlowTests(
                flow_id=flow.id, name=flow.name, files=sorted({link.file for link in mine}),
                coverage=coverage, pages_visited=visited,
            )
        )  # fmt: skip
    linked_files = {link.file for link in links}
    return TestMapping(
        test_files=len(test_files),
        links=links,
        flows=[s for s in summaries if s.files],
        uncovered=[s for s in summaries if not s.files],
        unmapped_files=sorted(f.path for f in test_files if f.path not in linked_files),
    )


# Playwright: the tests as Playwright itself lists them, when Node and the project's Playwright are there


def playwright_binary(root: Path) -> Path | None:
    """The project's own Playwright CLI (`node_modules/.bin/playwright`); never `npx`, which would download it."""
    binary = root / "node_modules" / ".bin" / "playwright"
    return binary if binary.is_file() else None


def list_with_playwright(root: Path, binary: Path, *, timeout_s: float = PLAYWRIGHT_LIST_TIMEOUT_S) -> list[ListedSpec]:
    """`playwright test --list --reporter=json`, files made relative to `root`. Raises InvalidReportError or
    OSError/subprocess errors when Playwright cannot list (the caller then reads the spec files)."""
    done = subprocess.run(
        [str(binary), "test", "--list", "--reporter=json"],
        cwd=root, capture_output=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    if done.returncode != 0 and not done.stdout.strip():
        raise InvalidReportError(f"playwright test --list exited {done.returncode}: {done.stderr[-500:]!r}")
    specs = list_playwright_specs(done.stdout)
    report_root = _report_root(done.stdout, root)
    return [
        ListedSpec(file=_relative(report_root / spec.file, root), line=spec.line, title=spec.title, tags=spec.tags)
        for spec in specs
    ]


def _report_root(stdout: bytes, root: Path) -> Path:
    try:
        config = json.loads(stdout).get("config", {})
    except ValueError:
        return root
    folder = config.get("rootDir") if isinstance(config, dict) else None
    return Path(folder) if isinstance(folder, str) and folder else root


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def find_tests(root: Path, *, use_playwright_list: bool = True) -> tuple[list[TestFile], str]:
    """The project's test files with titles and visits, and how the Playwright titles were read ("playwright
    --list", or "source" when Playwright is absent or could not list)."""
    files = discover_test_files(root)
    binary = playwright_binary(root) if use_playwright_list else None
    if binary is None:
        return files, "source"
    try:
        specs = list_with_playwright(root, binary)
    except (OSError, subprocess.SubprocessError, InvalidReportError):
        return files, "source"
    by_path = {f.path: f for f in files}
    titles: dict[str, list[TestTitle]] = defaultdict(list)
    for spec in specs:
        titles[spec.file].append(TestTitle(spec.line or 0, " ".join([spec.title, *spec.tags])))
    for path, listed in titles.items():
        file = by_path.get(path)
        if file is None:
            scanned = scan_test_file(root / path, path)
            if scanned is None:
                continue
            file = by_path[path] = scanned
            files.append(file)
        file.kind = "playwright"
        file.titles = listed
    return sorted(files, key=lambda f: f.path), "playwright --list"
