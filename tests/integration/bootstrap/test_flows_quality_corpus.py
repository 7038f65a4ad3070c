"""A slice of `bench/flows_quality.py` pinned: the offline bootstrap on five real apps of `../shared/corpus` (a
Next.js app-router app, a Nuxt app, a Remix v1 app, a React Router 7 framework-mode admin whose links are all typed
`href()` calls, and a monorepo whose Next pages render co-located client components) against the journeys labelled
in `tests/corpus/`.

The bench runs as a user runs it (a subprocess, the real bundles cloned with git); its JSON is asserted, app by app.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CORPUS = REPO.parent / "shared" / "corpus"
BENCH = REPO / "bench" / "flows_quality.py"
APPS = "taxonomy,movies,tonehunt,shadcn-admin,bulletproof"


@pytest.fixture(scope="module")
def figures() -> dict[str, dict[str, object]]:
    if not (CORPUS / "shadcn-ui+taxonomy.bundle").is_file():
        pytest.skip(f"the corpus of real apps is not on this machine ({CORPUS})")
    command = [sys.executable, str(BENCH), "--corpus", str(CORPUS), "--apps", APPS, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return {app["app"]: app for app in json.loads(done.stdout)["apps"]}


@pytest.mark.slow
def test_the_flows_walk_the_journeys_a_tester_lists(figures: dict[str, dict[str, object]]) -> None:
    shares = {app: f["matched"] / f["journeys"] for app, f in figures.items()}  # type: ignore[operator]

    assert set(shares) == {
        "shadcn-ui+taxonomy",
        "nuxt+movies",
        "tonehunt-org+tonehunt",
        "coji+shadcn-admin-react-router",
        "alan2207+bulletproof-react",
    }
    assert shares["shadcn-ui+taxonomy"] == 1.0, figures["shadcn-ui+taxonomy"]["missed"]
    assert shares["nuxt+movies"] == 1.0, figures["nuxt+movies"]["missed"]
    # The cap (15 flows) keeps the profile's followers page over a fifth list leading to the same model page.
    assert shares["tonehunt-org+tonehunt"] == 1.0, figures["tonehunt-org+tonehunt"]["missed"]
    # Create/edit tasks and users end back on their list: the redirects are `redirectWithSuccess(href('/tasks'))`.
    assert shares["coji+shadcn-admin-react-router"] >= 0.9, figures["coji+shadcn-admin-react-router"]["missed"]
    # The discussions drawer and the users' delete dialog sit behind Next's co-located client components.
    assert shares["alan2207+bulletproof-react"] >= 0.8, figures["alan2207+bulletproof-react"]["missed"]


@pytest.mark.slow
def test_every_step_selector_is_in_the_markup_and_no_flow_expects_an_error(
    figures: dict[str, dict[str, object]],
) -> None:
    for app, f in figures.items():
        assert f["selectors"] and f["selectors_found"] == f["selectors"], (app, f["unfound"])
        assert f["error_asserting"] == [], app


@pytest.mark.slow
def test_personas_come_from_the_app_not_a_template(figures: dict[str, dict[str, object]]) -> None:
    # Taxonomy: a public site and a dashboard behind its middleware; Movies: no sign-in at all.
    assert [p.split(" (")[0] for p in figures["shadcn-ui+taxonomy"]["personas"]] == ["Visitor", "Signed-in user"]  # type: ignore[union-attr]
    assert [p.split(" (")[0] for p in figures["nuxt+movies"]["personas"]] == ["User"]  # type: ignore[union-attr]
