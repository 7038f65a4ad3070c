"""Route discovery and change impact measured on real apps against hand-written labels.

For every app labelled under `tests/corpus/<owner>+<name>/labels.yaml` whose git bundle is in the corpus folder
(`../shared/corpus`, see its README), the bundle is cloned into a temporary folder, then

- `perceo routes --json` runs at the bundle's HEAD; its route patterns are compared with the labelled routes;
- `perceo ci analyze --base C^ --head C --json` runs for every labelled commit C; the affected routes are compared
  with the routes the label says the commit affects.

Patterns are compared after naming every parameter alike (`/users/:id` = `/users/:userId`). A label's
`only_app: apps/web` limits a
repository of several apps to one. `affected: all` stands for every labelled page route of the app, less the
label's `except` (routes that did not exist yet at that commit), plus its `also`. Recall and precision are summed
over routes (routes) and over (commit, route) pairs (impact); a commit the tool fails on counts its labelled routes
as missed.

Output: one line per app, then `quality: routes R/P <r> <p>; impact R/P <r> <p>` (the last line). `--verbose`
prints the misses and false alarms of each commit.

Run: .venv/bin/python bench/quality.py [--corpus DIR] [--apps NAME ...] [--verbose]
(about a minute on two cores).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "tests" / "corpus"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
_PARAM = re.compile(r":[A-Za-z_$][\w$]*")


def normalize(route: str) -> str:
    """A route pattern with every parameter named alike and no trailing slash."""
    route = _PARAM.sub(":", route.strip())
    return route.rstrip("/") or "/"


@dataclass
class Score:
    found: int = 0  # tool's answers
    labelled: int = 0
    hits: int = 0

    def add(self, got: set[str], want: set[str]) -> None:
        self.found += len(got)
        self.labelled += len(want)
        self.hits += len(got & want)

    def merge(self, other: Score) -> None:
        self.found += other.found
        self.labelled += other.labelled
        self.hits += other.hits

    @property
    def recall(self) -> float:
        return self.hits / self.labelled if self.labelled else 1.0

    @property
    def precision(self) -> float:
        return self.hits / self.found if self.found else (1.0 if not self.labelled else 0.0)


@dataclass
class AppResult:
    name: str
    routes: Score = field(default_factory=Score)
    impact: Score = field(default_factory=Score)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def load_labels(app_dir: Path) -> dict[str, Any]:
    data = yaml.safe_load((app_dir / "labels.yaml").read_text())
    if not isinstance(data, dict) or "routes" not in data or "commits" not in data:
        raise SystemExit(f"{app_dir}/labels.yaml: expected the keys `routes` and `commits`")
    return data


def labelled_routes(labels: dict[str, Any], *, pages_only: bool = False) -> set[str]:
    return {normalize(r["route"]) for r in labels["routes"] if not pages_only or r.get("kind", "page") == "page"}


def expected_impact(labels: dict[str, Any], commit: dict[str, Any]) -> set[str]:
    affected = commit["affected"]
    if affected == "all":
        everything = labelled_routes(labels, pages_only=True) - {normalize(r) for r in commit.get("except", [])}
        return everything | {normalize(r) for r in commit.get("also", [])}
    return {normalize(r) for r in affected}


def clone(bundle: Path, dest: Path) -> None:
    command = ["git", "-c", "advice.detachedHead=false", "clone", "-q", str(bundle), str(dest)]
    subprocess.run(command, check=True, timeout=120)
    shallow = bundle.with_suffix(".shallow")
    if shallow.exists():
        shutil.copyfile(shallow, dest / ".git" / "shallow")


def _perceo(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, Any, str]:
    proc = subprocess.run(
        [sys.executable, "-c", "from perceo_cli.main import run; run()", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    try:
        payload = json.loads(proc.stdout) if proc.stdout.strip() else None
    except json.JSONDecodeError:
        payload = None
    return proc.returncode, payload, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""


def measure(name: str, corpus: Path, work: Path, env: dict[str, str], verbose: bool) -> AppResult:
    labels = load_labels(LABELS / name)
    result = AppResult(name)
    started = time.perf_counter()
    repo = work / name
    clone(corpus / f"{name}.bundle", repo)
    code, payload, err = _perceo(["routes", "--json"], repo, env)
    only = labels.get("only_app")
    found = (payload or {}).get("routes", []) if code == 0 else []
    got = {normalize(r["route"]) for r in found if only is None or r.get("app") == only}
    if code != 0:
        result.notes.append(f"routes: exit {code} {err}")
    want = labelled_routes(labels)
    result.routes.add(got, want)
    if verbose:
        for route in sorted(want - got):
            print(f"  {name} routes: missed {route}")
        for route in sorted(got - want):
            print(f"  {name} routes: extra {route}")
    for commit in labels["commits"]:
        sha = commit["sha"]
        want = expected_impact(labels, commit)
        code, payload, err = _perceo(["ci", "analyze", "--base", f"{sha}^", "--head", sha, "--json"], repo, env)
        if payload is None or "affectedRoutes" not in payload:
            result.notes.append(f"{sha[:9]}: exit {code} {err}")
            got = set()
        else:
            got = {normalize(r["route"]) for r in payload["affectedRoutes"] if only is None or _in_app(r, only)}
        result.impact.add(got, want)
        if verbose and payload is not None:
            pinned = [c["path"] for c in payload.get("changes", []) if c.get("symbols") is not None]
            if pinned:
                print(f"  {name} {sha[:9]}: symbol-level for {len(pinned)} module(s): {pinned[:4]}")
        if verbose and got != want:
            missed, extra = sorted(want - got), sorted(got - want)
            print(f"  {name} {sha[:9]}: missed {len(missed)} {missed[:6]} extra {len(extra)} {extra[:6]}")
    result.seconds = time.perf_counter() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of the git bundles")
    parser.add_argument("--apps", nargs="*", help="only these apps (folder names under tests/corpus)")
    parser.add_argument("--verbose", action="store_true", help="print each miss and false alarm")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}", file=sys.stderr)
        return 2
    names = sorted(p.name for p in LABELS.iterdir() if (p / "labels.yaml").is_file())
    if args.apps:
        names = [n for n in names if n in set(args.apps)]
    names = [n for n in names if (args.corpus / f"{n}.bundle").is_file()]
    routes_total, impact_total = Score(), Score()
    with tempfile.TemporaryDirectory(prefix="perceo-quality-") as tmp:
        work = Path(tmp)
        env = {**_base_env(), "XDG_CACHE_HOME": str(work / "cache"), "NO_COLOR": "1"}
        print(f"{'app':45} {'routes R':>8} {'P':>5} {'impact R':>8} {'P':>5} {'commits':>7} {'s':>5}")
        for name in names:
            result = measure(name, args.corpus, work, env, args.verbose)
            routes_total.merge(result.routes)
            impact_total.merge(result.impact)
            commits = len(load_labels(LABELS / name)["commits"])
            print(
                f"{name:45} {result.routes.recall:8.2f} {result.routes.precision:5.2f} "
                f"{result.impact.recall:8.2f} {result.impact.precision:5.2f} {commits:7d} {result.seconds:5.1f}"
            )
            for note in result.notes:
                print(f"  {note}")
    print(
        f"quality: routes R/P {routes_total.recall:.2f} {routes_total.precision:.2f}; "
        f"impact R/P {impact_total.recall:.2f} {impact_total.precision:.2f}"
    )
    return 0


def _in_app(affected: dict[str, Any], app: str) -> bool:
    """True when the affected route's files (the ends of its reasons' chains) are in `app`."""
    return any(reason["chain"][-1].startswith(app + "/") for reason in affected.get("reasons", []) if reason["chain"])


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PERCEO_")}


if __name__ == "__main__":
    sys.exit(main())
