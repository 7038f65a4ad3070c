"""Observer discovery (routes + navigation + import graph) on a generated pnpm monorepo, cold and warm.

The repository is written with `git fast-import` (no working tree): three apps — Next.js (app router),
React Router (a `createBrowserRouter` config with lazy routes) and Vue Router — sharing workspace packages,
plus plain TS modules, docs, styles and JSON fixtures up to the requested size. A second commit changes
one page.

Figures (median of `--runs`):
- baseline: `git ls-tree -r -z HEAD` in a subprocess (listing the files is the floor of any discovery);
- cold: empty cache, every source file parsed (worker processes on multi-core machines);
- warm facts: per-file facts from the cache, the whole-result cache removed (a new commit whose files were
  all seen before);
- one file changed: the next commit, one page edited (the usual CI case on a new push);
- warm result: the same tree again (CI retry, the base branch of each PR): one hash and one JSON load.

Run: .venv/bin/python bench/discovery_bench.py [--files 100000] [--runs 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from perceo.observer.discovery import FactStats, discover
from perceo.observer.snapshot import RepoSnapshot

PACKAGES = ["react", "clsx", "date-fns", "zod", "lodash", "swr", "dayjs", "uuid", "axios", "immer"]


def generate(total: int, rng: random.Random) -> dict[str, str]:
    files: dict[str, str] = {
        "package.json": json.dumps({"name": "bench", "private": True}) + "\n",
        "pnpm-workspace.yaml": "packages:\n  - 'apps/*'\n  - 'packages/*'\n",
        "packages/ui/package.json": json.dumps({"name": "@bench/ui", "main": "dist/index.js"}) + "\n",
        "packages/ui/src/index.ts": "".join(f'export * from "./Widget{i:03d}";\n' for i in range(200)),
        "apps/web/package.json": json.dumps({"name": "web", "dependencies": {"next": "14", "react": "18"}}),
        "apps/web/tsconfig.json": json.dumps({"compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["src/*"]}}}),
        "apps/web/src/app/layout.tsx": 'import { Nav } from "@/components/Nav";\n'
        "export default function L({ children }) { return <><Nav />{children}</>; }\n",
        "apps/web/src/components/Nav.tsx": 'import Link from "next/link";\n'
        'export function Nav() { return <Link href="/r0000">Home</Link>; }\n',
        "apps/admin/package.json": json.dumps(
            {"name": "admin", "dependencies": {"react": "18", "react-router-dom": "6"}}
        ),
        "apps/admin/index.html": "<div id=root></div>\n",
        "apps/shop/package.json": json.dumps({"name": "shop", "dependencies": {"vue": "3", "vue-router": "4"}}),
        "apps/shop/index.html": "<div id=app></div>\n",
    }
    for i in range(200):
        files[f"packages/ui/src/Widget{i:03d}.tsx"] = f"export function Widget{i:03d}() {{ return <i />; }}\n"

    apps = {"web": "apps/web/src", "admin": "apps/admin/src", "shop": "apps/shop/src"}
    sources_budget = int(total * 0.8)
    per_app = sources_budget // 3
    modules: dict[str, list[str]] = {}
    for app, src in apps.items():
        names = []
        ext = ".ts"
        for i in range(per_app - 400):
            folder = f"{src}/lib/d{i // 200:03d}"
            name = f"{folder}/m{i % 200:03d}"
            imports = []
            if i % 200:
                imports.append(f'import {{ v as a }} from "./m{rng.randrange(i % 200):03d}";')
            if names and rng.random() < 0.3:
                other = rng.choice(names)
                imports.append(f'import {{ v as b }} from "{_relative(folder, other)}";')
            if rng.random() < 0.2:
                imports.append(f'import p from "{rng.choice(PACKAGES)}";')
            files[name + ext] = "\n".join(imports) + f"\nexport const v = {i};\n"
            names.append(name)
        modules[app] = names

    web = apps["web"]
    for r in range(300):
        picks = rng.sample(modules["web"], 6)
        body = "".join(
            f'import {{ v as x{k} }} from "{_relative(f"{web}/app/r{r:04d}", p)}";\n' for k, p in enumerate(picks)
        )
        files[f"{web}/app/r{r:04d}/page.tsx"] = (
            body + 'import Link from "next/link";\nimport { Widget001 } from "@bench/ui";\n'
            f"export default function P() {{ return <Link href={{`/r{rng.randrange(300):04d}`}}>x</Link>; }}\n"
        )
    admin = apps["admin"]
    routes = ",\n".join(f'  {{ path: "page{r}/:id", lazy: () => import("./routes/r{r:03d}") }}' for r in range(200))
    files[f"{admin}/main.tsx"] = (
        'import { createBrowserRouter } from "react-router-dom";\n'
        f"export const router = createBrowserRouter([\n{routes}\n]);\n"
    )
    for r in range(200):
        picks = rng.sample(modules["admin"], 4)
        body = "".join(
            f'import {{ v as x{k} }} from "{_relative(f"{admin}/routes", p)}";\n' for k, p in enumerate(picks)
        )
        files[f"{admin}/routes/r{r:03d}.tsx"] = (
            body + 'import { Link } from "react-router-dom";\n'
            f'export function Component() {{ return <Link to="/page{rng.randrange(200)}/1">x</Link>; }}\n'
        )
    shop = apps["shop"]
    vue_routes = ",\n".join(
        f'  {{ path: "/v{r}", component: () => import("../views/V{r:03d}.vue") }}' for r in range(200)
    )
    files[f"{shop}/router/index.ts"] = f"export const routes = [\n{vue_routes}\n];\n"
    for r in range(200):
        files[f"{shop}/views/V{r:03d}.vue"] = (
            f'<template><RouterLink to="/v{rng.randrange(200)}">x</RouterLink></template>\n'
            f'<script setup lang="ts">\nimport {{ v }} from "{_relative(f"{shop}/views", modules["shop"][r])}";\n'
            "</script>\n"
        )
    a = 0
    while len(files) < total:
        kind = a % 4
        if kind == 0:
            files[f"docs/s{a % 40:02d}/p{a:05d}.md"] = f"# Page {a}\n"
        elif kind == 1:
            files[f"apps/web/public/i{a:05d}.svg"] = f"<svg><title>{a}</title></svg>\n"
        elif kind == 2:
            files[f"apps/web/src/styles/s{a:05d}.css"] = f".c{a} {{ color: red; }}\n"
        else:
            files[f"fixtures/f{a % 100:02d}/d{a:05d}.json"] = json.dumps({"id": a}) + "\n"
        a += 1
    return files


def _relative(from_dir: str, target: str) -> str:
    import posixpath

    rel = posixpath.relpath(target, from_dir)
    return rel if rel.startswith(".") else "./" + rel


def fast_import(repo: Path, files: dict[str, str], changed: dict[str, str]) -> None:
    def stream() -> Iterator[bytes]:
        mark = 1
        marks: dict[str, int] = {}
        for path, content in files.items():
            data = content.encode()
            yield b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data)
            marks[path] = mark
            mark += 1
        lines = "".join(f'M 100644 :{marks[p]} "{p}"\n' for p in files)
        yield (
            f"commit refs/heads/main\nmark :{mark}\ncommitter B <b@example.com> 1700000000 +0000\n"
            f"data 4\nmain\n{lines}\n"
        ).encode()
        main_mark = mark
        mark += 1
        new_lines = ""
        for path, content in changed.items():
            data = content.encode()
            yield b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data)
            new_lines += f'M 100644 :{mark} "{path}"\n'
            mark += 1
        yield (
            f"commit refs/heads/next\nmark :{mark}\ncommitter B <b@example.com> 1700000100 +0000\n"
            f"data 4\nnext\nfrom :{main_mark}\n{new_lines}\n"
        ).encode()

    subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in stream():
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], object], runs: int, before: Callable[[], object] = lambda: None) -> tuple[float, float]:
    """Median wall and CPU milliseconds (CPU includes worker and git processes: steadier on a busy host)."""
    walls, cpus = [], []
    for _ in range(runs):
        before()
        start, cpu = time.perf_counter(), _cpu()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(_cpu() - cpu)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def run_discovery(repo: Path, ref: str, cache: Path | None) -> FactStats:
    stats = FactStats()
    with RepoSnapshot.at_ref(repo, ref) as snapshot:
        discover(snapshot, cache_dir=cache, stats=stats)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="perceo-discovery-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    repo, cache = work / "repo.git", work / "cache"
    try:
        rng = random.Random(7)
        started = time.perf_counter()
        files = generate(args.files, rng)
        page = "apps/web/src/app/r0001/page.tsx"
        if not repo.exists():
            fast_import(repo, files, {page: files[page] + "export const edited = 1;\n"})
        print(f"{len(files):,} files generated in {time.perf_counter() - started:.1f} s")

        def clear_all() -> None:
            shutil.rmtree(cache, ignore_errors=True)

        def clear_results() -> None:
            shutil.rmtree(cache / "results", ignore_errors=True)

        def prime_main_only() -> None:
            clear_all()
            run_discovery(repo, "main", cache)

        baseline = timed(
            lambda: subprocess.run(["git", "ls-tree", "-r", "-z", "main"], cwd=repo, check=True, capture_output=True),
            args.runs,
        )
        cold = timed(lambda: run_discovery(repo, "main", cache), args.runs, before=clear_all)
        stats = run_discovery(repo, "main", None)
        warm_facts = timed(lambda: run_discovery(repo, "main", cache), args.runs, before=clear_results)
        one_changed = timed(lambda: run_discovery(repo, "next", cache), args.runs, before=prime_main_only)
        run_discovery(repo, "main", cache)
        warm_result = timed(lambda: run_discovery(repo, "main", cache), args.runs)

        print(f"source files with facts: {stats.files:,}")
        rows = [
            ("git ls-tree -r (baseline)", baseline),
            ("discover, cold (empty cache)", cold),
            ("discover, warm facts (no result cache)", warm_facts),
            ("discover, next commit (1 file changed)", one_changed),
            ("discover, warm result (same tree)", warm_result),
        ]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'':<42} {'wall':>10}      {'cpu':>10}")
        for label, (wall, cpu) in rows:
            print(f"{label:<42} {wall:10.1f} ms  {cpu:10.1f} ms  ({wall / baseline[0]:6.1f}x baseline wall)")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
