"""`perceo watch` on a 3,000-file app: the time from a file save to its analysis, and the memory the watcher holds.

The generated app (a git repository in a temp folder): a Next.js app router app with 100 pages, each importing
a chain of its own components and a few shared ones (3,000 `.tsx` files in all, one commit). The watcher runs in
this process, as `perceo watch` runs it (real OS file events through watchfiles, the quiet time, one analysis of
the working tree against HEAD, routes only: mapping routes to flows is a lookup measured by analyze_bench.py).

Timed, median of `--runs` saves (each save edits a different component, so no two analyses are the same):

- save -> analysis: from the write to the analysis handed to the output, at the default quiet time minus the quiet
  time itself (what the user waits beyond the debounce they chose), and in full;
- analysis only: the part of it spent analysing (git status, changed files re-parsed, impact);
- in-process, without file events (after the watcher stopped): `analyze_checkout` of the working tree after each
  of `--runs` further saves, once with the watcher's in-memory state (`ImpactMemory`: HEAD's graph, recent facts,
  the last route discovery) and once without (HEAD's graph loaded from the disk cache, facts looked up there, routes
  discovered again: what the watcher did before it kept that state), in alternating order;
- baseline in the same run: `perceo ci analyze --working-tree --json` as a fresh process, what a user would run by
  hand after each save without `watch`.

Memory: the process's resident set before the watcher starts and after the runs (the watcher, its caches and the
first analysis' imports); target ≤ 300 ms median warm for save -> analysis beyond the quiet time.

Run: .venv/bin/python bench/watch_bench.py [--runs 9] [--debounce-ms 500]  (about a minute on two idle cores)
"""

from __future__ import annotations

import argparse
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from perceo_cli.watch import Watcher, WatchResult, WatchSettings

PAGES = 100
CHAIN = 29  # components per page: 100 pages * (1 + 29) + 3 shared = 3,003 files
DEBOUNCE_MS = 500


def build_app(root: Path) -> int:
    shared = root / "components" / "shared"
    shared.mkdir(parents=True)
    for name in ("Button", "Header", "Footer"):
        (shared / f"{name}.tsx").write_text(f"export function {name}() {{ return <div>{name}</div>; }}\n")
    files = 3
    for page in range(PAGES):
        folder = root / "components" / f"p{page}"
        folder.mkdir(parents=True)
        for index in range(CHAIN):
            child = f'import {{ C{index + 1} }} from "./C{index + 1}";\n' if index + 1 < CHAIN else ""
            use = f"<C{index + 1} />" if index + 1 < CHAIN else "<span />"
            (folder / f"C{index}.tsx").write_text(f"{child}export function C{index}() {{ return <div>{use}</div>; }}\n")
            files += 1
        page_dir = root / "app" / f"p{page}"
        page_dir.mkdir(parents=True)
        (page_dir / "page.tsx").write_text(
            f'import {{ C0 }} from "../../components/p{page}/C0";\n'
            'import { Header } from "../../components/shared/Header";\n'
            f"export default function Page{page}() {{ return <main><Header /><C0 /></main>; }}\n"
        )
        files += 1
    (root / "package.json").write_text('{"name": "big", "dependencies": {"next": "14.2.0", "react": "18.3.0"}}\n')
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "app"], cwd=root, check=True)
    return files


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--debounce-ms", type=int, default=DEBOUNCE_MS, help="the quiet time (default: the config's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "app"
        root.mkdir()
        files = build_app(root)
        cache = Path(tmp) / "cache"
        settings = WatchSettings(
            root=root,
            paths=(),
            ignore=(),
            debounce_ms=args.debounce_ms,
            analyze=True,
            framework="auto",
            cache_dir=cache,
        )
        before = rss_mib()
        watcher = Watcher(settings, project_id="bench", flows=None)
        results: queue.Queue[tuple[float, WatchResult]] = queue.Queue()
        stop = threading.Event()
        thread = threading.Thread(
            target=watcher.run, args=(lambda r: results.put((time.perf_counter(), r)),), kwargs={"stop": stop}
        )
        thread.start()
        time.sleep(1.0)
        total, analysis_only, baseline = [], [], []
        try:
            for run in range(args.runs + 1):  # the first save warms the caches and imports; not counted
                target = root / "components" / f"p{run}" / f"C{run % CHAIN}.tsx"
                saved = time.perf_counter()
                target.write_text(target.read_text() + f"// edit {run}\n")
                done, result = results.get(timeout=120)
                assert result.error is None, result.error
                assert result.analysis is not None and result.analysis.affected_routes, "the save affects a page"
                if run == 0:
                    continue
                total.append((done - saved) * 1000)
                analysis_only.append(result.duration_ms)
                started = time.perf_counter()
                subprocess.run(
                    [str(Path(sys.executable).with_name("perceo")), "ci", "analyze", "--working-tree", "--json"],
                    cwd=root,
                    capture_output=True,
                    check=True,
                )
                baseline.append((time.perf_counter() - started) * 1000)
        finally:
            stop.set()
            thread.join(timeout=10)
        after = rss_mib()
        from perceo.observer.analyze import analyze_checkout  # after the memory figure: the watcher imports it too

        with_memory, without_memory = [], []
        memory = watcher.memory
        for run in range(args.runs):
            target = root / "components" / f"p{50 + run}" / f"C{run % CHAIN}.tsx"
            target.write_text(target.read_text() + f"// in-process edit {run}\n")
            timings = {}
            for use in (True, False) if run % 2 == 0 else (False, True):
                started = time.perf_counter()
                analyze_checkout(root, None, working_tree=True, cache_dir=cache, memory=memory if use else None)
                timings[use] = (time.perf_counter() - started) * 1000
            with_memory.append(timings[True])
            without_memory.append(timings[False])
    beyond = [t - args.debounce_ms for t in total]
    print(f"app: {files} files, {PAGES} routes; quiet time {args.debounce_ms} ms; {args.runs} saves (median)")
    full, extra = statistics.median(total), statistics.median(beyond)
    print(f"save -> analysis: {full:.0f} ms in full, {extra:.0f} ms beyond the quiet time")
    print(f"analysis only: {statistics.median(analysis_only):.0f} ms")
    kept, plain = statistics.median(with_memory), statistics.median(without_memory)
    print(f"analyze_checkout in process: {kept:.0f} ms with the watcher's memory, {plain:.0f} ms without", end="")
    print(f" (ratio {plain / kept:.2f}); {memory.stats if memory is not None else 'no memory'}")
    print(f"baseline (ci analyze --working-tree, a new process per save): {statistics.median(baseline):.0f} ms")
    print(f"ratio baseline / watch analysis: {statistics.median(baseline) / statistics.median(analysis_only):.1f}")
    print(f"memory: {before:.0f} MiB before, {after:.0f} MiB after ({after - before:+.0f} MiB held by the watcher)")


if __name__ == "__main__":
    main()
