"""Cold import time of each Lambda handler module (`functions/**/app.py`), against a baseline in the same run.

Each figure is the median of N fresh interpreter processes: the time to import the handler module (measured
inside the process with perf_counter, so interpreter start-up is excluded), and the whole process's wall time
next to the same for `python -c pass`. With `--baseline REF` the handlers and the layer of that git commit
(`git archive`, nothing checked out) are measured too, alternating run by run with the working tree, so both see
the same machine load. Two environments: a test run's (no Lambda variables: Tracer off) and a Lambda-like one
(Lambda's variables plus the `POWERTOOLS_*` values the tree's template.yaml gives every function). Ends with the
biggest cumulative imports of one handler, from `python -X importtime`.

    .venv/bin/python bench/handler_import_bench.py [--runs 5] [--only api,authorizer] [--baseline HEAD~3]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 400

BASE_ENV = {
    "POWERTOOLS_SERVICE_NAME": "perceo",
    "POWERTOOLS_METRICS_NAMESPACE": "Perceo",
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


class _CfnLoader(yaml.SafeLoader):
    """template.yaml with its CloudFormation tags read as plain values (only literal strings are used here)."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def template_powertools_env(root: Path) -> dict[str, str]:
    """The literal `POWERTOOLS_*` variables of the template's Globals (what a deployed function starts with)."""
    template = yaml.load((root / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
    variables: dict[str, Any] = template["Globals"]["Function"]["Environment"]["Variables"]
    return {k: v for k, v in variables.items() if k.startswith("POWERTOOLS_") and isinstance(v, str)}


def _env(root: Path, lambda_like: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA", "LAMBDA_"))}
    env.pop("PYTHONPATH", None)
    env.update(BASE_ENV)
    if lambda_like:
        env.update(template_powertools_env(root))
        env.update(LAMBDA_ENV)
        env.update(BASE_ENV)
    env["PYTHONPATH"] = str(root / "layers" / "perceo")
    return env


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, check=True)
    return (time.perf_counter() - started) * 1000, done.stdout


def _once(handler: Path, env: dict[str, str]) -> tuple[float, float]:
    wall, out = _run([sys.executable, "-c", IMPORT_SNIPPET, str(handler), str(handler.parent)], env)
    return float(out.strip().splitlines()[-1]), wall


def extract(ref: str, into: Path) -> Path:
    """The layer, the handlers and the template of commit `ref`, unpacked under `into`."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "layers/perceo/perceo", "functions", "template.yaml"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


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
    parser.add_argument("--baseline", default="", help="a git commit to measure alongside the working tree")
    args = parser.parse_args()
    prefixes = tuple(p.strip() for p in args.only.split(",") if p.strip())
    names = [
        str(h.parent.relative_to(REPO / "functions"))
        for h in sorted(REPO.glob("functions/**/app.py"))
        if not prefixes or str(h.parent.relative_to(REPO / "functions")).startswith(prefixes)
    ]
    with tempfile.TemporaryDirectory(prefix="perceo-import-bench-") as tmp:
        trees = {"now": REPO}
        if args.baseline:
            trees = {"base": extract(args.baseline, Path(tmp)), "now": REPO}
        for label, lambda_like in (("test environment", False), ("Lambda-like environment", True)):
            envs = {tree: _env(root, lambda_like) for tree, root in trees.items()}
            baseline = statistics.median(_run([sys.executable, "-c", "pass"], envs["now"])[0] for _ in range(args.runs))
            tracing = {tree: env.get("POWERTOOLS_TRACE_DISABLED", "unset") for tree, env in envs.items()}
            print(
                f"\n== {label}; median of {args.runs}; `python -c pass` {baseline:.0f} ms wall; "
                f"load {os.getloadavg()[0]:.1f}; POWERTOOLS_TRACE_DISABLED {tracing}"
            )
            columns = "".join(f" {tree + ' import':>12} {tree + ' wall':>10}" for tree in trees)
            print(f"{'handler':<26}{columns}   target {TARGET_MS} ms (import)")
            for name in names:
                samples: dict[str, list[tuple[float, float]]] = {tree: [] for tree in trees}
                for _ in range(args.runs):
                    for tree, root in trees.items():  # alternate: both trees see the same load
                        handler = root / "functions" / name / "app.py"
                        if handler.is_file():
                            samples[tree].append(_once(handler, envs[tree]))
                cells = ""
                for tree in trees:
                    if samples[tree]:
                        imported = statistics.median(s[0] for s in samples[tree])
                        wall = statistics.median(s[1] for s in samples[tree])
                        cells += f" {imported:>12.0f} {wall:>10.0f}"
                    else:
                        cells += f" {'-':>12} {'-':>10}"
                now = statistics.median(s[0] for s in samples["now"])
                print(f"{name:<26}{cells}   {'ok' if now <= TARGET_MS else 'over'}")
    flows = REPO / "functions/api/flows/app.py"
    print("\n== biggest cumulative imports of functions/api/flows/app.py (one run, -X importtime, test environment)")
    for cumulative, name in top_imports(flows, _env(REPO, False)):
        print(f"{cumulative / 1000:>8.0f} ms  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
