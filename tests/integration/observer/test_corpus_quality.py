"""A slice of `bench/quality.py` pinned: real apps from the corpus (git bundles in ../shared/corpus), their routes and
some labelled commits (tests/corpus/<app>/labels.yaml) must come out exactly as labelled. The slice covers the
route table that is not a layout (Angular, React Router v5), routes declared by guard routes and by rendered
components (React Router v5), Vue route modules with shared layouts and global components, Nuxt's auto-imported
components and composables, and the app shell."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from perceo.observer.analyze import analyze_checkout
from perceo.observer.discovery import discover
from perceo.observer.snapshot import RepoSnapshot

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus"

#: app -> labelled commits (prefixes) pinned here; every route of these apps is pinned too.
SLICE = {
    "HospitalRun+hospitalrun-frontend": ["581b7d18", "eb36d3c7", "cfd924ea", "503813b6"],
    "PanJiaChen+vue-element-admin": ["9cc3fa73", "fe22b3cd", "c2a5a159", "4e7665c0", "a2784dd6"],
    "coreui+coreui-free-angular-admin-template": ["d6cc2c9c", "30e32dc3", "6652c25f", "ca21cce6"],
    "nuxt+movies": ["040b6723", "d33872fb", "74ab6785", "b0955428"],
}

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the corpus of real apps is not at {CORPUS}")


def _quality() -> ModuleType:
    spec = importlib.util.spec_from_file_location("perceo_bench_quality", ROOT / "bench" / "quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quality() -> ModuleType:
    return _quality()


@pytest.fixture(scope="module", params=sorted(SLICE))
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, quality: ModuleType) -> tuple:
    name: str = request.param
    repo = tmp_path_factory.mktemp("corpus") / name
    quality.clone(CORPUS / f"{name}.bundle", repo)
    yield name, repo, quality.load_labels(quality.LABELS / name)
    shutil.rmtree(repo, ignore_errors=True)


def test_routes_of_real_apps_are_found_exactly(app: tuple, quality: ModuleType) -> None:
    name, repo, labels = app
    with RepoSnapshot.working_tree(repo) as snapshot:
        found = {quality.normalize(r.route) for r in discover(snapshot).routes}
    assert found == quality.labelled_routes(labels), name


def test_labelled_commits_affect_exactly_the_labelled_routes(app: tuple, quality: ModuleType) -> None:
    name, repo, labels = app
    pinned = [c for c in labels["commits"] if any(c["sha"].startswith(p) for p in SLICE[name])]
    assert len(pinned) == len(SLICE[name]), "a pinned commit is missing from the labels"
    for commit in pinned:
        sha = commit["sha"]
        parent = subprocess.run(
            ["git", "rev-parse", f"{sha}^"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        _change, affected = analyze_checkout(repo, parent, sha)
        got = {quality.normalize(a.route) for a in affected}
        assert got == quality.expected_impact(labels, commit), f"{name} {sha[:9]}: {commit['why']}"
