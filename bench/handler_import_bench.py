"""Cold import time of each Lambda handler module (`functions/**/app.py`).

Each figure is the median of 5 fresh interpreter processes: the time to import the handler module (measured
inside the process with perf_counter, so interpreter start-up is excluded), and the whole process's wall time
next to the same for `python -c pass` as the baseline. Run twice: with the environment of a test run (Tracer
disabled outside Lambda) and with a Lambda-like environment (Tracer on, auto-patching). Ends with the biggest
cumulative imports of one handler, from `python -X importtime`.

    .venv/bin/python bench/handler_import_bench.py [--runs 5] [--only api,authorizer]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYER = REPO / "layers" / "perceo"
TARGET_MS = 400

BASE_ENV = {
    "POWERTOOLS_SERVICE_NAME": "perceo",
    "POWERTOOLS_METRICS_NAMESPACE": "Perceo",
    "PYTHONPATH": str(LAYER),
    "PYTHONDONTWRITEBYTECODE": "1",
}
LAMBDA_ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "perceo-bench",
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_REGION": "us-east-1",
    "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
}

IMPORT_SNIPPET = """
import importlib.util, sys, time
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.path.insert(0, sys.argv[2])
spec.loader.exec_module(module)
print((time.perf_counter() - start) * 1000)
"""


def _env(lambda_like: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA", "LAMBDA_"))}
    env.update(BASE_ENV)
    if lambda_like:
        env.update(LAMBDA_ENV)
    return env


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return (time.perf_counter() - started) * 1000, done.stdout


def measure_baseline(runs: int, env: dict[str, str]) -> float:
    return statistics.median(_run([sys.executable, "-c", "pass"], env)[0] for _ in range(runs))


def measure_handler(handler: Path, runs: int, env: dict[str, str]) -> tuple[float, float]:
    imports, walls = [], []
    for _ in range(runs):
        wall, out = _run([sys.executable, "-c", IMPORT_SNIPPET, str(handler), str(handler.parent)], env)
        imports.append(float(out.strip().splitlines()[-1]))
        walls.append(wall)
    return statistics.median(imports), statistics.median(walls)


def top_imports(handler: Path, env: dict[str, str], count: int = 10) -> list[tuple[int, str]]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORT_SNIPPET, str(handler), str(handler.parent)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if name.startswith("  ") or name.count(" ") > 4:  # keep the first two nesting levels
            continue
        rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated prefixes under functions/, e.g. api,authorizer")
    args = parser.parse_args()
    prefixes = tuple(p.strip() for p in args.only.split(",") if p.strip())
    handlers = [
        h
        for h in sorted(REPO.glob("functions/**/app.py"))
        if not prefixes or str(h.parent.relative_to(REPO / "functions")).startswith(prefixes)
    ]
    for label, lambda_like in (("test environment (Tracer off)", False), ("Lambda-like environment (Tracer on)", True)):
        env = _env(lambda_like)
        baseline = measure_baseline(args.runs, env)
        load = os.getloadavg()[0]
        print(
            f"\n== {label}; median of {args.runs}; baseline `python -c pass`: {baseline:.0f} ms wall; load {load:.1f}"
        )
        print(f"{'handler':<32} {'import ms':>10} {'wall ms':>9} {'wall-base':>10}  target {TARGET_MS} ms")
        for handler in handlers:
            imported, wall = measure_handler(handler, args.runs, env)
            name = str(handler.parent.relative_to(REPO / "functions"))
            verdict = "ok" if imported <= TARGET_MS else "over"
            print(f"{name:<32} {imported:>10.0f} {wall:>9.0f} {wall - baseline:>10.0f}  {verdict}")
    flows = REPO / "functions/api/flows/app.py"
    print("\n== biggest cumulative imports of functions/api/flows/app.py (one run, -X importtime, Tracer off)")
    for cumulative, name in top_imports(flows, _env(False)):
        print(f"{cumulative / 1000:>8.0f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
