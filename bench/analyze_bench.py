"""`ci analyze` end to end on generated repositories, next to `git diff --name-status` on the same repo.

Two repositories are generated with `git fast-import` (no working-tree writes):

- large: ~100,000 files (TS/TSX modules importing each other, a few hundred Next.js routes, plus docs, images,
  styles and JSON fixtures) and a 1,000-file change between `main` and `feature` (modified, added, deleted and
  renamed files, and a lockfile bump);
- mid: the same shape at ~2,000 files with a 20-file change.

For each: cold (empty discovery cache) and warm (cache filled) times of the in-process pipeline
(change set → discovery at head and base → affected routes → analysis) and of the CLI in a subprocess
(`perceo ci analyze --json`), with the stages of one warm in-process run, and the baseline
`git diff --name-status -M main...feature` measured in the same run. Median of several runs.
Targets: large warm ≤ 2 s, cold ≤ 30 s; mid warm within 3× of git diff.

Run: .venv/bin/python bench/analyze_bench.py [--only mid|large] [--runs N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from perceo.observer.analyze import (
    affected_routes_for,
    analyze_change,
    analyze_checkout,
    discover_change,
)
from perceo.observer.changes import compute_change_set


@dataclass(frozen=True)
class Shape:
    name: str
    lib_dirs: int  # folders of plain TS modules
    libs_per_dir: int
    components: int
    routes: int
    sections: int  # route groups with their own layout
    assets: int  # non-source files
    changed: int  # files in the main...feature diff


LARGE = Shape(
    "large", lib_dirs=300, libs_per_dir=200, components=20_000, routes=300, sections=12, assets=19_500, changed=1_000
)
MID = Shape("mid", lib_dirs=10, libs_per_dir=60, components=700, routes=60, sections=4, assets=620, changed=20)

PACKAGES = ["react", "clsx", "date-fns", "zod", "lodash", "swr", "dayjs", "uuid", "axios", "immer"]


def lockfile(versions: dict[str, str]) -> str:
    packages: dict[str, object] = {"": {"dependencies": {p: f"^{v}" for p, v in versions.items()}}}
    for name, version in versions.items():
        packages[f"node_modules/{name}"] = {"version": version, "integrity": f"sha512-{name}-{version}"}
    return json.dumps({"name": "bench", "lockfileVersion": 3, "packages": packages}, indent=2) + "\n"


def generate_files(shape: Shape, rng: random.Random) -> dict[str, str]:
    files: dict[str, str] = {}
    versions = {p: "1.0.0" for p in PACKAGES}
    deps = {p: f"^{v}" for p, v in versions.items()} | {"next": "14.2.0"}
    files["package.json"] = json.dumps({"name": "bench-app", "private": True, "dependencies": deps}, indent=2) + "\n"
    files["package-lock.json"] = lockfile(versions)
    files["tsconfig.json"] = json.dumps({"compilerOptions": {"baseUrl": ".", "paths": {"@/*": ["src/*"]}}}) + "\n"
    files["next.config.mjs"] = "export default {};\n"

    libs: list[str] = []
    for d in range(shape.lib_dirs):
        for i in range(shape.libs_per_dir):
            path = f"src/lib/pkg{d:03d}/m{i:03d}"
            imports = [
                f'import {{ v as a{k} }} from "./m{j:03d}";'
                for k, j in enumerate(rng.sample(range(i), min(i, rng.choice((0, 1, 2, 2)))))
            ]
            if d and rng.random() < 0.3:
                other = rng.randrange(d)
                imports.append(
                    f'import {{ v as o }} from "@/lib/pkg{other:03d}/m{rng.randrange(shape.libs_per_dir):03d}";'
                )
            if rng.random() < 0.2:
                imports.append(f'import x from "{rng.choice(PACKAGES)}";')
            files[path + ".ts"] = "\n".join(imports) + f"\nexport const v = {d * 1000 + i};\n"
            libs.append(path)
    components: list[str] = []
    for c in range(shape.components):
        area = c % 50
        path = f"src/components/area{area:02d}/C{c:05d}"
        picks = rng.sample(libs, 3)
        imports = [f'import {{ v as l{k} }} from "@/{p[4:]}";' for k, p in enumerate(picks)]
        if c > 50 and rng.random() < 0.3:
            other = rng.randrange(c)
            imports.append(f'import {{ C{other:05d} }} from "@/components/area{other % 50:02d}/C{other:05d}";')
        imports.append('import React from "react";')
        body = f'export function C{c:05d}() {{ return <div className="c{c}">{{l0 + l1 + l2}}</div>; }}\n'
        files[path + ".tsx"] = "\n".join(imports) + "\n" + body
        components.append(path)
    files["src/app/layout.tsx"] = (
        "export default function Root({ children }) { return <html><body>{children}</body></html>; }\n"
    )
    files["src/app/globals.css"] = "body { margin: 0; }\n"
    for s in range(shape.sections):
        files[f"src/app/(s{s:02d})/layout.tsx"] = (
            f"export default function S{s}({{ children }}) {{ return <section>{{children}}</section>; }}\n"
        )
    for r in range(shape.routes):
        section = r % shape.sections
        picks = rng.sample(components, 8)
        imports = [f'import {{ {p.rsplit("/", 1)[1]} }} from "@/{p[4:]}";' for p in picks]
        imports.append('import Link from "next/link";')
        target = rng.randrange(shape.routes)
        jsx = "".join(f"<{p.rsplit('/', 1)[1]} />" for p in picks)
        files[f"src/app/(s{section:02d})/r{r:04d}/page.tsx"] = (
            "\n".join(imports)
            + f"\nexport default function Page() {{\n  return <main>{jsx}"
            + f'<Link href="/r{target:04d}">next</Link></main>;\n}}\n'
        )
    for a in range(shape.assets):
        kind = a % 4
        if kind == 0:
            files[f"docs/section{a % 40:02d}/page{a:05d}.md"] = f"# Page {a}\n\nSome documentation text {a}.\n"
        elif kind == 1:
            files[f"public/img/icon{a:05d}.svg"] = f'<svg xmlns="http://www.w3.org/2000/svg"><title>{a}</title></svg>\n'
        elif kind == 2:
            files[f"src/styles/s{a:05d}.css"] = f".c{a} {{ color: #{a % 4096:03x}; }}\n"
        else:
            files[f"fixtures/f{a % 100:02d}/data{a:05d}.json"] = json.dumps({"id": a, "name": f"item {a}"}) + "\n"
    return files


def change_files(
    shape: Shape, files: dict[str, str], rng: random.Random
) -> tuple[dict[str, str], list[str], list[tuple[str, str]]]:
    """(modified or added files with new content, deleted paths, renames) adding up to `shape.changed` files."""
    sources = sorted(p for p in files if p.endswith((".ts", ".tsx")) and "/app/" not in p)
    assets = sorted(p for p in files if p.startswith(("docs/", "public/")))
    n = shape.changed
    n_added, n_deleted, n_renamed, n_assets = max(1, n // 20), max(1, n // 40), max(1, n // 50), n // 10
    n_modified = n - n_added - n_deleted - n_renamed - n_assets - 1  # 1: the lockfile bump
    picked = rng.sample(sources, n_modified + n_deleted + n_renamed)
    modified = {p: files[p] + f"export const changed_{i} = {i};\n" for i, p in enumerate(picked[:n_modified])}
    deleted = picked[n_modified : n_modified + n_deleted]
    renames = [(p, p.replace("/m", "/renamed_m").replace("/C", "/RenamedC")) for p in picked[n_modified + n_deleted :]]
    for a in rng.sample(assets, n_assets):
        modified[a] = files[a] + "changed\n"
    for i in range(n_added):
        modified[f"src/lib/new/added{i:04d}.ts"] = (
            f'import {{ v }} from "@/lib/pkg000/m000";\nexport const added = v + {i};\n'
        )
    versions = {p: "1.0.0" for p in PACKAGES} | {"date-fns": "1.1.0"}
    modified["package-lock.json"] = lockfile(versions)
    return modified, deleted, renames


def fast_import_stream(
    files: dict[str, str], modified: dict[str, str], deleted: list[str], renames: list[tuple[str, str]]
) -> Iterator[bytes]:
    def quote(path: str) -> str:
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def commit(ref: str, mark: int, message: str, parent: int | None, lines: list[str]) -> bytes:
        msg = message.encode()
        head = f"commit {ref}\nmark :{mark}\ncommitter Bench <bench@example.com> 1700000000 +0000\n"
        head += f"data {len(msg)}\n{message}\n"
        if parent is not None:
            head += f"from :{parent}\n"
        return (head + "".join(line + "\n" for line in lines) + "\n").encode()

    marks: dict[str, int] = {}
    next_mark = 1
    for path, content in files.items():
        data = content.encode()
        yield b"blob\nmark :%d\ndata %d\n%s\n" % (next_mark, len(data), data)
        marks[path] = next_mark
        next_mark += 1
    main_mark = next_mark
    next_mark += 1
    yield commit("refs/heads/main", main_mark, "main", None, [f"M 100644 :{marks[p]} {quote(p)}" for p in files])
    new_marks: dict[str, int] = {}
    for path, content in modified.items():
        data = content.encode()
        yield b"blob\nmark :%d\ndata %d\n%s\n" % (next_mark, len(data), data)
        new_marks[path] = next_mark
        next_mark += 1
    lines = [f"M 100644 :{new_marks[p]} {quote(p)}" for p in modified]
    lines += [f"D {quote(p)}" for p in deleted]
    lines += [f"R {quote(old)} {quote(new)}" for old, new in renames]
    yield commit("refs/heads/feature", next_mark, "feature", main_mark, lines)


def generate_repo(shape: Shape, root: Path) -> Path:
    rng = random.Random(42)
    repo = root / shape.name
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    files = generate_files(shape, rng)
    modified, deleted, renames = change_files(shape, files, rng)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in fast_import_stream(files, modified, deleted, renames):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/feature"], cwd=repo, check=True)
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo, check=True)  # an index, without writing 100k files
    return repo


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def pipeline(repo: Path, cache_dir: Path, stages: dict[str, float] | None = None) -> int:
    """The in-process `ci analyze` pipeline as the CLI runs it before init (no graph, no bus), with the
    per-commit-pair cache. Returns the affected route count."""
    t0 = time.perf_counter()
    change, affected = analyze_checkout(repo, "main", "feature", cache_dir=cache_dir)
    t1 = time.perf_counter()
    analysis = analyze_change("local", change, affected)
    t2 = time.perf_counter()
    if stages is not None:
        stages.update({"change set + affected routes (analyze_checkout)": t1 - t0, "flows+risk": t2 - t1})
    return len(analysis.affected_routes)


def uncached_pair(repo: Path, cache_dir: Path, stages: dict[str, float] | None = None) -> None:
    """A new commit pair with a warm facts cache (the next push of a PR): discovery and impact run."""
    t0 = time.perf_counter()
    change = compute_change_set(repo, "main", "feature")
    t1 = time.perf_counter()
    head, base = discover_change(repo, change, cache_dir=cache_dir)
    t2 = time.perf_counter()
    affected = affected_routes_for(change, repo, head, base)
    t3 = time.perf_counter()
    analyze_change("local", change, affected)
    t4 = time.perf_counter()
    if stages is not None:
        stages.update(
            {
                "change set": t1 - t0,
                "discovery (head + base)": t2 - t1,
                "affected routes": t3 - t2,
                "flows+risk": t4 - t3,
            }
        )


def cli(repo: Path, cache_root: Path) -> None:
    env = {"XDG_CACHE_HOME": str(cache_root), "PATH": "/usr/bin:/bin", "HOME": str(cache_root)}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "perceo"),
            "-C",
            str(repo),
            "ci",
            "analyze",
            "--base",
            "main",
            "--head",
            "feature",
            "--json",
        ],
        capture_output=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"CLI failed: {done.stderr.decode()[-2000:]}")
    if not done.stdout.startswith(b"{"):
        raise SystemExit(f"CLI printed no JSON: {done.stdout[:300]!r} {done.stderr[-2000:]!r}")
    json.loads(done.stdout)


def bench(shape: Shape, root: Path, runs: int) -> None:
    start = time.perf_counter()
    repo = generate_repo(shape, root)
    n_files = int(
        subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", "main"], cwd=repo, capture_output=True, check=True
        ).stdout.count(b"\n")
    )
    print(f"\n== {shape.name}: {n_files:,} files, generated in {time.perf_counter() - start:.1f} s")

    git_diff = median(
        [
            timed(
                lambda: subprocess.run(
                    ["git", "diff", "--name-status", "-M", "main...feature"], cwd=repo, capture_output=True, check=True
                )
            )
            for _ in range(runs)
        ]
    )
    n_changed = len(compute_change_set(repo, "main", "feature").files)

    cold_runs = max(1, runs // 2) if shape is LARGE else runs
    cold = median([timed(lambda: pipeline(repo, Path(tempfile.mkdtemp(dir=root)))) for _ in range(cold_runs)])
    warm_cache = Path(tempfile.mkdtemp(dir=root))
    affected = pipeline(repo, warm_cache)
    warm = median([timed(lambda: pipeline(repo, warm_cache)) for _ in range(runs)])
    stages: dict[str, float] = {}
    pipeline(repo, warm_cache, stages)
    new_pair = median([timed(lambda: uncached_pair(repo, warm_cache)) for _ in range(max(1, runs // 2))])
    new_pair_stages: dict[str, float] = {}
    uncached_pair(repo, warm_cache, new_pair_stages)

    cli_cold = median([timed(lambda: cli(repo, Path(tempfile.mkdtemp(dir=root)))) for _ in range(cold_runs)])
    cli_cache = Path(tempfile.mkdtemp(dir=root))
    cli(repo, cli_cache)
    cli_warm = median([timed(lambda: cli(repo, cli_cache)) for _ in range(runs)])
    startup = median(
        [
            timed(
                lambda: subprocess.run(
                    [str(Path(sys.executable).parent / "perceo"), "--version"], capture_output=True, check=True
                )
            )
            for _ in range(runs)
        ]
    )

    def row(label: str, seconds: float, note: str = "") -> None:
        print(f"{label:<60} {seconds * 1000:9.1f} ms  {note}")

    print(f"changed files {n_changed:,}, affected routes {affected}")
    row("git diff --name-status -M main...feature (baseline)", git_diff)
    row("ci analyze in-process, cold (empty caches)", cold, f"(median of {cold_runs})")
    row("ci analyze in-process, warm (same commit pair)", warm, f"({warm / git_diff:.1f}x git diff)")
    for stage, seconds in stages.items():
        row(f"    {stage}", seconds)
    row("ci analyze in-process, new pair, warm facts cache", new_pair, f"({new_pair / git_diff:.1f}x git diff)")
    for stage, seconds in new_pair_stages.items():
        row(f"    {stage}", seconds)
    row("perceo --version subprocess (interpreter + CLI imports)", startup)
    row("perceo ci analyze --json subprocess, cold", cli_cold, f"(median of {cold_runs})")
    row("perceo ci analyze --json subprocess, warm (same pair)", cli_warm, f"({cli_warm / git_diff:.1f}x git diff)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["mid", "large"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="perceo-analyze-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        for shape in (MID, LARGE):
            if args.only in (None, shape.name):
                bench(shape, root, args.runs)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
