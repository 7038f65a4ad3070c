"""`ci analyze` end to end on generated repositories, next to `git diff --name-status` on the same repo, same run.

Two repositories are generated with `git fast-import` (no working-tree writes):

- large: ~100,000 files (TS/TSX modules importing each other, a few hundred Next.js routes, plus docs, images,
  styles and JSON fixtures) and a 1,000-file change between `main` and `feature` (modified, added, deleted and
  renamed files, and a lockfile bump);
- mid: the same shape at ~2,000 files with a 20-file change.

Each also gets `push01`, `push02`, … : commits on top of `feature` that edit five modules, add two and delete one —
the next pushes of the pull request. Analysing `main...pushNN` is a commit pair never seen before, with the caches
left by the earlier analyses: the honest "warm" case of CI.

What is timed (median of `--runs`; cold runs: `--cold-runs`):

- baseline: `git diff --name-status -M main...feature` in a subprocess;
- in-process pipeline: `analyze_checkout` (change set, impact graphs, affected routes) + `analyze_change` (flows and
  risk; no graph, as before `perceo init`), imports already loaded, the cache in a folder inside the repository
  (as `.perceo/cache` after `perceo init`, checked with `git ls-files` on every run):
  - cold: an empty cache folder (every file parsed, the base's impact graph built and kept);
  - warm, same pair: `main...feature` again (the per-pair result cache: CI retries, a second job);
  - warm, new pair: `main...pushNN` (the base's graph is loaded and the head's derived from it; only new blobs are
    parsed), with the stages of one such run;
- CLI in a subprocess: `perceo ci analyze --json` (interpreter start-up, imports, config, the pipeline and the JSON
  report; the repository is not initialised, so the cache is in `$XDG_CACHE_HOME`), cold / warm same pair / warm
  new pair, next to `python -c pass` and `perceo --version`.

Each figure is printed with its CPU time (this process plus the children that ended meanwhile): on a loaded
machine wall time grows, CPU time much less.

- corpus (`--only corpus`, or with the others when `../shared/corpus` is there): every real app labelled under
  `tests/corpus/` is cloned from its bundle; `perceo routes --json` and `perceo ci analyze --base C^ --head C --json`
  for each labelled commit C run in a subprocess one after the other (one cache per app, as CI keeps it), each
  timed: the slowest run is the figure.

Targets (issue 13, checked in the last line): CLI start-up (`perceo --version`) ≤ 150 ms; `ci analyze` warm on the
mid app (CLI subprocess, new pair: the next push of a pull request) ≤ 400 ms; no corpus run slower than 5 s. Also
large warm ≤ 2 s and cold ≤ 30 s in process.

The last line: `analyze_bench: <figure> <value> (target <t>) ok|MISSED; ...`, with `git diff` of the same run.

Run: .venv/bin/python bench/analyze_bench.py [--only mid large corpus] [--runs 5] [--cold-runs 3] [--keep DIR]
[--corpus DIR] (about 4 minutes on two cores, more on a loaded machine; `--only mid` takes about 15 seconds).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perceo.observer import analyze, changes, impactgraph
from perceo.observer.analyze import analyze_change, analyze_checkout
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


def push_files(
    files: dict[str, str], gone: set[str], push: int, rng: random.Random
) -> tuple[dict[str, str], list[str]]:
    """One more push on the branch: five modules edited, two added (one importing an edited module), one deleted."""
    sources = sorted(p for p in files if p.startswith("src/lib/pkg") and p not in gone)
    edited = rng.sample(sources, 6)
    modified = {p: files[p] + f"export const push{push} = {push};\n" for p in edited[:5]}
    first = edited[0][4:].rsplit(".", 1)[0]
    modified[f"src/lib/push/p{push:02d}a.ts"] = f'import {{ v }} from "@/{first}";\nexport const p = v + {push};\n'
    modified[f"src/lib/push/p{push:02d}b.ts"] = f"export const q = {push};\n"
    return modified, [edited[5]]


def fast_import_stream(
    files: dict[str, str],
    modified: dict[str, str],
    deleted: list[str],
    renames: list[tuple[str, str]],
    pushes: list[tuple[dict[str, str], list[str]]],
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

    next_mark = 1

    def blobs(contents: dict[str, str]) -> Iterator[bytes]:
        nonlocal next_mark
        for path, content in contents.items():
            data = content.encode()
            yield b"blob\nmark :%d\ndata %d\n%s\n" % (next_mark, len(data), data)
            marks[path] = next_mark
            next_mark += 1

    marks: dict[str, int] = {}
    yield from blobs(files)
    main_mark = next_mark
    next_mark += 1
    yield commit("refs/heads/main", main_mark, "main", None, [f"M 100644 :{marks[p]} {quote(p)}" for p in files])
    yield from blobs(modified)
    lines = [f"M 100644 :{marks[p]} {quote(p)}" for p in modified]
    lines += [f"D {quote(p)}" for p in deleted]
    lines += [f"R {quote(old)} {quote(new)}" for old, new in renames]
    feature_mark = next_mark
    next_mark += 1
    yield commit("refs/heads/feature", feature_mark, "feature", main_mark, lines)
    for number, (changed, removed) in enumerate(pushes, start=1):
        yield from blobs(changed)
        lines = [f"M 100644 :{marks[p]} {quote(p)}" for p in changed] + [f"D {quote(p)}" for p in removed]
        yield commit(f"refs/heads/push{number:02d}", next_mark, f"push {number}", feature_mark, lines)
        next_mark += 1


def generate_repo(shape: Shape, root: Path, n_pushes: int) -> Path:
    rng = random.Random(42)
    repo = root / shape.name
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    files = generate_files(shape, rng)
    modified, deleted, renames = change_files(shape, files, rng)
    gone = {*deleted, *(old for old, _ in renames)}
    pushes = [push_files(files, gone, number, rng) for number in range(1, n_pushes + 1)]
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for chunk in fast_import_stream(files, modified, deleted, renames, pushes):
        proc.stdin.write(chunk)
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "symbolic-ref", "HEAD", "refs/heads/feature"], cwd=repo, check=True)
    subprocess.run(["git", "read-tree", "HEAD"], cwd=repo, check=True)  # an index, without writing 100k files
    return repo


@dataclass(frozen=True)
class Sample:
    wall: float
    #: CPU seconds of this process and of the children that ended meanwhile (git, parse workers, the CLI)
    cpu: float


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn: Callable[[], object]) -> Sample:
    gc.collect()  # garbage of the previous run is not this run's cost
    cpu, start = cpu_seconds(), time.perf_counter()
    fn()
    return Sample(time.perf_counter() - start, cpu_seconds() - cpu)


def median(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.wall for s in samples), statistics.median(s.cpu for s in samples))


def pipeline(repo: Path, head: str, cache_dir: Path | None) -> int:
    """The in-process `ci analyze` as the CLI runs it before `perceo init`. Returns the affected route count."""
    change, affected = analyze_checkout(repo, "main", head, cache_dir=cache_dir)
    return len(analyze_change("local", change, affected).affected_routes)


def new_pair_stages(repo: Path, head: str, cache_dir: Path) -> dict[str, float]:
    """Where the time of one `pipeline` run on a new pair goes: the functions it calls are wrapped with timers for
    that run (so the stages are the real pipeline's, not a re-enactment)."""
    stages: dict[str, float] = {}
    wrapped = [
        (analyze, "resolve_commits", "refs + merge base (git rev-parse)"),
        (analyze, "_trusted_cache", "cache folder not tracked by git (git ls-files)"),
        (changes.Git, "diff_with_delta", "change set + tree delta (git diff --raw --numstat)"),
        (impactgraph, "impact_graphs_at_root", "impact graphs: base loaded, head derived"),
        (impactgraph.ImpactGraphStore, "load", "  of which: load the kept base graph"),
        (impactgraph, "_derive", "  of which: derive the head graph"),
        (analyze, "_manifest_changes", "lockfile diff"),
        (analyze, "affected_routes", "affected routes (reverse import search)"),
        (analyze, "analyze_change", "flows + risk (analyze_change)"),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in wrapped]

    def timer(function: Callable[..., Any], label: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                stages[label] = stages.get(label, 0.0) + time.perf_counter() - start

        return timed_call

    for (owner, name, label), (_, _, function) in zip(wrapped, originals, strict=True):
        setattr(owner, name, timer(function, label))
    try:
        gc.collect()
        change, affected = analyze.analyze_checkout(repo, "main", head, cache_dir=cache_dir)
        analyze.analyze_change("local", change, affected)
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
    return {label: stages.get(label, 0.0) for _, _, label in wrapped}


def perceo_cli() -> str:
    return str(Path(sys.executable).parent / "perceo")


def cli(repo: Path, head: str, cache_root: Path) -> None:
    env = {"XDG_CACHE_HOME": str(cache_root), "PATH": "/usr/bin:/bin", "HOME": str(cache_root)}
    if "PYTHONPATH" in os.environ:  # another checkout's code, for a before/after in the same way
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(
        [perceo_cli(), "-C", str(repo), "ci", "analyze", "--base", "main", "--head", head, "--json"]
        + ["--allow-unmapped"],  # the generated app has components no route renders
        capture_output=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"CLI failed: {done.stderr.decode()[-2000:]}")
    if not done.stdout.startswith(b"{"):
        raise SystemExit(f"CLI printed no JSON: {done.stdout[:300]!r} {done.stderr[-2000:]!r}")
    json.loads(done.stdout)


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def bench(shape: Shape, root: Path, runs: int, cold_runs: int) -> dict[str, Sample]:
    start = time.perf_counter()
    pushes = iter(f"push{n:02d}" for n in range(1, 2 * runs + 3))
    repo = generate_repo(shape, root, 2 * runs + 2)
    n_files = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", "main"], cwd=repo, capture_output=True, check=True
    ).stdout.count(b"\n")
    print(f"\n== {shape.name}: {n_files:,} files, generated in {time.perf_counter() - start:.1f} s")

    def git_diff() -> None:
        subprocess.run(
            ["git", "diff", "--name-status", "-M", "main...feature"], cwd=repo, capture_output=True, check=True
        )

    baseline = median([timed(git_diff) for _ in range(runs)])
    n_changed = len(compute_change_set(repo, "main", "feature").files)
    python_start = median(
        [timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(runs)]
    )
    version_start = median(
        [
            timed(lambda: subprocess.run([perceo_cli(), "--version"], capture_output=True, check=True, env=os.environ))
            for _ in range(runs)
        ]
    )

    def fresh() -> Path:
        return Path(tempfile.mkdtemp(dir=root))

    def fresh_in_repo() -> Path:
        # inside the repository, as `.perceo/cache` is once a project is initialised: every run checks that git
        # tracks nothing there (`git ls-files`)
        (repo / "bench-caches").mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(dir=repo / "bench-caches"))

    cold = median([timed(lambda: pipeline(repo, "feature", fresh_in_repo())) for _ in range(cold_runs)])
    cache = fresh_in_repo()
    affected = pipeline(repo, "feature", cache)
    warm_same = median([timed(lambda: pipeline(repo, "feature", cache)) for _ in range(runs)])
    warm_new = median([timed(lambda: pipeline(repo, next(pushes), cache)) for _ in range(runs)])
    stages = new_pair_stages(repo, next(pushes), cache)
    cache_bytes = {
        "facts (SQLite)": folder_size(cache) - folder_size(cache / "impact") - folder_size(cache / "affected"),
        "impact graphs": folder_size(cache / "impact"),
        "per-pair results": folder_size(cache / "affected"),
    }

    cli_cold = median([timed(lambda: cli(repo, "feature", fresh())) for _ in range(cold_runs)])
    cli_cache = fresh()
    cli(repo, "feature", cli_cache)
    cli_same = median([timed(lambda: cli(repo, "feature", cli_cache)) for _ in range(runs)])
    cli_new = median([timed(lambda: cli(repo, next(pushes), cli_cache)) for _ in range(runs)])

    def row(label: str, sample: Sample | float, note: str = "") -> None:
        if isinstance(sample, Sample):
            print(f"{label:<62} {sample.wall * 1000:9.1f} ms  (cpu {sample.cpu * 1000:8.1f} ms)  {note}")
        else:
            print(f"{label:<62} {sample * 1000:9.1f} ms")

    def ratio(sample: Sample) -> str:
        return f"{sample.wall / baseline.wall:7.1f}x git diff"

    print(
        f"changed files {n_changed:,} (main...feature), affected routes {affected}; medians of {runs} runs, "
        f"cold: {cold_runs}"
    )
    row("git diff --name-status -M main...feature (baseline)", baseline)
    print(
        "  (cpu: this process plus finished children — git, parse workers, the CLI — so a loaded machine shows "
        "up as wall >> cpu)"
    )
    row("python -c pass (interpreter start-up)", python_start, ratio(python_start))
    row("perceo --version (start-up + CLI imports)", version_start, ratio(version_start))
    print("in-process (imports loaded; analyze_checkout + analyze_change):")
    row("  cold: empty cache", cold, ratio(cold))
    row("  warm, same pair (per-pair result cache)", warm_same, ratio(warm_same))
    row("  warm, new pair main...pushNN (base graph kept, head derived)", warm_new, ratio(warm_new))
    for stage, seconds in stages.items():
        row(f"      {stage}", seconds)
    print("CLI subprocess (perceo ci analyze --json: start-up, imports, pipeline, JSON report):")
    row("  cold: empty cache", cli_cold, ratio(cli_cold))
    row("  warm, same pair", cli_same, ratio(cli_same))
    row("  warm, new pair main...pushNN", cli_new, ratio(cli_new))
    print("cache on disk: " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in cache_bytes.items()))
    return {
        "git diff": baseline,
        "version": version_start,
        "cli warm same": cli_same,
        "cli warm new": cli_new,
        "in-process warm new": warm_new,
        "in-process cold": cold,
    }


ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "corpus"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_runs(corpus: Path, root: Path) -> list[tuple[str, str, Sample]]:
    """(app, what, seconds) of every CLI run on the labelled real apps: `routes` at HEAD, then `ci analyze` of each
    labelled commit, in order, with the app's cache kept between runs."""
    import yaml

    timings: list[tuple[str, str, Sample]] = []
    names = sorted(
        p.name for p in LABELS.iterdir() if (p / "labels.yaml").is_file() and (corpus / f"{p.name}.bundle").is_file()
    )
    for name in names:
        labels = yaml.safe_load((LABELS / name / "labels.yaml").read_text())
        repo = root / "corpus" / name
        command = ["git", "-c", "advice.detachedHead=false", "clone", "-q", str(corpus / f"{name}.bundle"), str(repo)]
        subprocess.run(command, check=True, timeout=120)
        shallow = corpus / f"{name}.shallow"
        if shallow.exists():
            shutil.copyfile(shallow, repo / ".git" / "shallow")
        env = {**os.environ, "XDG_CACHE_HOME": str(root / "corpus-cache" / name), "NO_COLOR": "1"}
        env = {k: v for k, v in env.items() if not k.startswith("PERCEO_")}
        runs = [("routes", ["routes", "--json"])] + [
            (
                c["sha"][:9],
                ["ci", "analyze", "--base", f"{c['sha']}^", "--head", c["sha"], "--json", "--allow-unmapped"],
            )
            for c in labels["commits"]
        ]
        for what, args in runs:
            codes: list[int] = []
            sample = timed(functools.partial(_run_cli, args, repo, env, codes))
            note = "" if codes[0] in (0, 3) else f" exit {codes[0]}"
            timings.append((name, what + note, sample))
        mine = [s for n, _, s in timings if n == name]
        print(
            f"  {name:45} {len(mine):3d} runs, slowest {max(s.wall for s in mine) * 1000:7.0f} ms "
            f"(cpu {max(s.cpu for s in mine) * 1000:6.0f} ms)"
        )
    return timings


def _run_cli(args: list[str], repo: Path, env: dict[str, str], codes: list[int]) -> None:
    done = subprocess.run([perceo_cli(), *args], cwd=repo, capture_output=True, env=env, timeout=300, check=False)
    codes.append(done.returncode)


def bench_corpus(corpus: Path, root: Path) -> Sample | None:
    """The slowest corpus run: its wall time, and the most CPU time a run took."""
    if not corpus.is_dir():
        print(f"\n== corpus: no corpus at {corpus}, skipped")
        return None
    print(f"\n== corpus: real apps from {corpus} (perceo routes, then ci analyze of each labelled commit)")
    timings = corpus_runs(corpus, root)
    if not timings:
        print("  no labelled app with a bundle")
        return None
    app, what, slowest = max(timings, key=lambda t: t[2].wall)
    print(
        f"runs {len(timings)}: median {statistics.median(s.wall for _, _, s in timings) * 1000:.0f} ms "
        f"(cpu {statistics.median(s.cpu for _, _, s in timings) * 1000:.0f} ms), slowest {slowest.wall * 1000:.0f} ms "
        f"({app} {what}), most cpu {max(s.cpu for _, _, s in timings) * 1000:.0f} ms"
    )
    return Sample(slowest.wall, max(s.cpu for _, _, s in timings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=["mid", "large", "corpus"], help="only these parts (default: all)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of the git bundles")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="perceo-analyze-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Sample]] = {}
    slowest_corpus_run: Sample | None = None
    try:
        for shape in (MID, LARGE):
            if args.only is None or shape.name in args.only:
                results[shape.name] = bench(shape, root, args.runs, args.cold_runs)
        if args.only is None or "corpus" in args.only:
            slowest_corpus_run = bench_corpus(args.corpus, root)
        print(summary(results, slowest_corpus_run))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


def summary(results: dict[str, dict[str, Sample]], slowest_corpus_run: Sample | None) -> str:
    """The last line: each target's figure (wall medians, with their CPU time: on a loaded machine wall time grows
    with the load, CPU time much less), whether the wall figure meets it, and the baseline of the same run."""
    parts: list[str] = []

    def check(label: str, sample: Sample, target: float, unit: str = "ms") -> None:
        scale, digits = (1000, 0) if unit == "ms" else (1, 1)
        verdict = "ok" if sample.wall <= target else "MISSED"
        parts.append(
            f"{label} {sample.wall * scale:.{digits}f} {unit} (cpu {sample.cpu * scale:.{digits}f}; "
            f"target ≤ {target * scale:g} {unit}) {verdict}"
        )

    mid = results.get("mid")
    if mid is not None:
        check("CLI start", mid["version"], 0.150)
        check("ci analyze warm mid", mid["cli warm new"], 0.400)
        parts.append(f"git diff {mid['git diff'].wall * 1000:.1f} ms")
    large = results.get("large")
    if large is not None:
        check("large warm in-process", large["in-process warm new"], 2.0)
        check("large cold in-process", large["in-process cold"], 30.0)
    if slowest_corpus_run is not None:
        check("slowest corpus run", slowest_corpus_run, 5.0, unit="s")
    return "analyze_bench: " + "; ".join(parts)


if __name__ == "__main__":
    main()
