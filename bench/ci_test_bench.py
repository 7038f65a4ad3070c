"""`ci test` on a generated suite: the selected run vs the full run, and the engine's overhead beyond the runner.

The generated project (in a temp folder): 50 flows over 100 routes (two pages each, entry files
`app/f<N>/page.tsx` and `app/f<N>/detail/page.tsx`), and 200 real pytest tests in 50 files, four per file; each test
visits one of its flow's pages (`client.get("/f<N>/detail")`, read by the URL scan) and works for ~10 ms. The
change: 10 files, each the entry file of one page, so 10 flows are affected (the change analysis itself, diff to
flows, is measured by `bench/analyze_bench.py`; here the affected flows are the flows visiting the changed pages).

Timed, median of `--runs` (runs interleaved, all in this process):

- full run: discovery + mapping + the engine on all 50 files (`ci test --all`), `--parallelism` shards;
- selected run: discovery + mapping + selection + the engine on the affected flows' files, same shards;
- overhead: the selected run with one shard, plus the JSON, JUnit and Markdown outputs, minus a bare
  `python -m pytest` subprocess on the same files with the same arguments (the runner itself); target ≤ 1 s;
  and the CPU time the engine's own process spends on that run (steady when the machine is loaded);
- the whole command: `perceo ci test --flows <the 10 affected flows> --json --junit --markdown` through `main()` on
  the embedded store (flows read from the graph, mapping, the engine with one shard, each flow's TestRun, coverage
  and events recorded), minus the same bare pytest: what `ci test` costs beyond the runner (the change analysis
  before it is `bench/analyze_bench.py`'s).

Run: .venv/bin/python bench/ci_test_bench.py [--runs 5] [--parallelism 2]
(about a minute on two idle cores).
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from perceo.coordinator.junit import write_junit
from perceo.coordinator.markdown import render_markdown
from perceo.coordinator.model import SuiteReport
from perceo.models import FlowView
from perceo_cli.coordinator.engine import TestEngine
from perceo_cli.coordinator.mapping import build_mapping
from perceo_cli.coordinator.plan import plan_tests
from perceo_cli.coordinator.runners import PytestRunner
from perceo_cli.coordinator.scan import discover_test_files

FLOWS = 50
TESTS_PER_FILE = 4
CHANGED_FILES = 10
PYTEST = [sys.executable, "-m", "pytest"]

TEST_FILE = """import time


class Client:
    def get(self, path):
        time.sleep(0.01)  # the work of a request in a real test
        return path


client = Client()
"""


def generate(root: Path) -> tuple[list[FlowView], list[str]]:
    """The project's flows and the changed files."""
    flows = []
    for n in range(FLOWS):
        pages = [f"/f{n}", f"/f{n}/detail"]
        flows.append(
            FlowView(id=f"flow-{n}", project_id="bench", name=f"Flow {n:02d}", pages=pages, entry_point=pages[0])
        )
        for page in pages:
            entry = root / "app" / page.strip("/") / "page.tsx"
            entry.parent.mkdir(parents=True, exist_ok=True)
            entry.write_text(f"export default function Page() {{ return <a href='{page}'>x</a> }}\n")
        body = TEST_FILE + "".join(
            f'\n\ndef test_flow_{n}_{k}():\n    assert client.get("{pages[k % 2]}") == "{pages[k % 2]}"\n'
            for k in range(TESTS_PER_FILE)
        )
        (root / "tests").mkdir(exist_ok=True)
        (root / "tests" / f"test_flow_{n:02d}.py").write_text(body)
    changed = [f"app/f{n}/detail/page.tsx" for n in range(0, FLOWS, FLOWS // CHANGED_FILES)][:CHANGED_FILES]
    return flows, changed


def affected_flows(flows: list[FlowView], changed: list[str]) -> list[str]:
    routes = {"/" + str(Path(path).parent.relative_to("app")) for path in changed}
    return [f.id for f in flows if routes & set(f.pages)]


def engine_run(root: Path, flows: list[FlowView], flow_ids: list[str] | None, parallelism: int) -> SuiteReport:
    """What `ci test` does after the analysis: find tests, map them, select, run, and write its outputs."""
    mapping = build_mapping(root, flows, {}, discover_test_files(root))
    plan = plan_tests(mapping, flows, flow_ids, selection="affected" if flow_ids is not None else "all")
    report = TestEngine(PytestRunner(PYTEST), root, parallelism=parallelism, retries=1).run(plan)
    report.model_dump_json()
    write_junit(report)
    render_markdown(report)
    return report


def prepare_command(root: Path, flows: list[FlowView]) -> None:
    """The project as `perceo ci test` sees it: its config (the same pytest argv as the bare run, one shard) and its
    flows in the embedded store (started here, under the project's `.perceo/data`)."""
    from perceo.config.loader import load_config
    from perceo.models import Flow, Project
    from perceo_cli.backend.local import LocalBackend

    argv = [*PYTEST, "-o", "junit_family=xunit1", "--junitxml={junit}", "-q", "-p", "no:cacheprovider", "{files}"]
    config = {
        "project": {"id": "bench", "name": "bench"},
        "observer": {"ci": {"parallelism": 1}},
        "coordinator": {"runner": "command", "testCommand": argv, "retries": 1},
    }
    (root / ".perceo").mkdir(exist_ok=True)
    (root / ".perceo" / "config.json").write_text(json.dumps(config))
    backend = LocalBackend(root, load_config(root).config)
    try:
        service = backend.service
        service.create_project(Project(id="bench", name="bench"))
        for flow in flows:
            stored = Flow(project_id="bench", name=flow.name, entry_point=flow.entry_point)
            service.create_flow("bench", stored, personas=[], pages=flow.pages, steps=[])
    finally:
        backend.close()


def command_run(root: Path, names: list[str]) -> None:
    from perceo_cli.context import AppContext
    from perceo_cli.main import main as perceo
    from perceo_cli.output import Output

    out = root.parent / f"{root.name}-out"
    argv = ["ci", "test", "--flows", ",".join(names), "--json", "--junit", str(out / "junit.xml"),
            "--markdown", str(out / "tests.md")]  # fmt: skip
    code = perceo(argv, context=AppContext(output=Output(io.StringIO(), io.StringIO()), project_dir=root))
    if code != 0:
        raise SystemExit(f"perceo ci test exited {code}")


def bare_pytest(root: Path, files: list[str]) -> None:
    with tempfile.TemporaryDirectory() as out:
        argv = [*PYTEST, "-o", "junit_family=xunit1", f"--junitxml={out}/junit.xml", "-q", "-p", "no:cacheprovider"]
        subprocess.run([*argv, *files], cwd=root, check=False, capture_output=True)


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def own_cpu(action: Callable[[], object]) -> float:
    """CPU seconds this process spent (the engine, not the runner processes): steady on a loaded machine."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    action()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parallelism", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perceo-ci-test-bench-") as folder:
        root = Path(folder) / "project"
        root.mkdir()
        try:
            run_all(root, args)
        finally:
            from perceo_cli.local.store import EmbeddedStore, project_data_dir

            EmbeddedStore(project_data_dir(root)).stop()


def run_all(root: Path, args: argparse.Namespace) -> None:
    flows, changed = generate(root)
    selected = affected_flows(flows, changed)
    mapping = build_mapping(root, flows, {}, discover_test_files(root))
    files = mapping.files_for(selected)
    tests = sum(len(f.titles) for f in discover_test_files(root))
    print(f"suite: {tests} tests in {mapping.test_files} files, {len(flows)} flows; change: {len(changed)} files")
    print(f"selection: {len(selected)} affected flows -> {len(files)} test files")
    engine_run(root, flows, selected, args.parallelism)  # warm the imports and the file cache
    prepare_command(root, flows)
    names = [f.name for f in flows if f.id in set(selected)]
    command_run(root, names)  # warm: the store is up, the command's imports are loaded
    samples: dict[str, list[float]] = {
        "full": [], "selected": [], "selected_1": [], "bare_1": [], "mapping": [], "engine_cpu": [], "command": [],
    }  # fmt: skip
    for _ in range(args.runs):
        samples["full"].append(timed(lambda: engine_run(root, flows, None, args.parallelism)))
        samples["selected"].append(timed(lambda: engine_run(root, flows, selected, args.parallelism)))
        samples["selected_1"].append(timed(lambda: engine_run(root, flows, selected, 1)))
        samples["bare_1"].append(timed(lambda: bare_pytest(root, files)))
        samples["mapping"].append(timed(lambda: build_mapping(root, flows, {}, discover_test_files(root))))
        samples["engine_cpu"].append(own_cpu(lambda: engine_run(root, flows, selected, 1)))
        samples["command"].append(timed(lambda: command_run(root, names)))
    median = {name: statistics.median(values) for name, values in samples.items()}
    report = engine_run(root, flows, selected, args.parallelism)
    print(f"selected run: {report.totals.total} tests, status {report.status}")
    print(f"runs: {args.runs} (median), parallelism {args.parallelism}")
    print(f"full run (--all)          {median['full']:7.2f} s")
    print(f"selected run (affected)   {median['selected']:7.2f} s   {median['full'] / median['selected']:.1f}x faster")
    print(f"discovery + mapping       {median['mapping'] * 1000:7.1f} ms")
    print(f"selected, 1 shard         {median['selected_1']:7.2f} s")
    print(f"bare pytest, same files   {median['bare_1']:7.2f} s")
    overhead = median["selected_1"] - median["bare_1"]
    verdict = "ok" if overhead <= 1.0 else "over target"
    print(f"engine overhead           {overhead:7.2f} s   (target <= 1 s: {verdict})")
    print(f"engine CPU, selected run  {median['engine_cpu']:7.2f} s   (this process only; the runner excluded)")
    command = median["command"] - median["bare_1"]
    verdict = "ok" if command <= 1.0 else "over target"
    print(f"perceo ci test, 1 shard   {median['command']:7.2f} s   (the whole command, recording included)")
    print(f"ci test overhead          {command:7.2f} s   (target <= 1 s: {verdict})")


if __name__ == "__main__":
    main()
