"""The coordinator's commands through `main()` on a real git repository (the demo shop, mapped by `perceo init`)
against the real FalkorDB, with a real pytest suite as the project's tests: `flows tests`, `ci test` (selection
by the change, --flows, --all, --observe, JUnit and Markdown files, exit codes), `ci report`, `ci flaky`,
`analyze predictions`. The suite's tests visit the shop's URLs through a tiny client, as API tests do."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_kit import use_session_store

from perceo.coordinator.junit import parse_junit
from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.context import AppContext
from perceo_cli.demo.server import DemoServer
from perceo_cli.demo.shop import DemoApp, build_demo_app
from perceo_cli.exit import ExitStatus
from perceo_cli.local.server import ServerProcess
from perceo_cli.main import main
from perceo_cli.output import Output

pytestmark = pytest.mark.slow

CLIENT = '''
class Client:
    """Stands in for an HTTP client: the scan reads the URLs these tests visit."""

    def get(self, path):
        return path


client = Client()
'''

SUITE = {
    # Checkout's pages: the last commit of the demo (a price component) affects this flow only.
    "qa/test_checkout.py": CLIENT
    + """

def test_cart_shows_the_total():
    assert client.get("/cart") == "/cart"


def test_checkout_charges_the_card():
    page = client.get("/checkout")
    assert page == "/checkout/success", "the payment did not go through"
""",
    "qa/test_projects.py": CLIENT
    + """

def test_new_project_form():
    assert client.get("/projects/new") == "/projects/new"
""",
    "qa/test_signin.py": '''
def test_signs_in_with_a_password():
    """@flow:signin a returning user signs in."""
    assert True
''',
    "qa/test_unmapped.py": "def test_nothing_to_do_with_flows():\n    assert True\n",
}


@pytest.fixture
def shop(tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph) -> DemoApp:
    """The demo shop mapped into the test's graph, with a pytest suite in its working tree."""
    demo = build_demo_app(tmp_path / "shop")
    use_session_store(
        demo.path,
        falkordb_server.host,
        falkordb_server.port,
        graph.graph_name,
        coordinator={"runner": "pytest", "retries": 1, "timeoutS": 120},
        observer={"ci": {"parallelism": 2}},
    )
    code, _, err = run_cli(["init", "--yes", "--no-llm"], demo.path)
    assert code == 0, err
    config = json.loads((demo.path / ".perceo" / "config.json").read_text())
    config["flows"] = {"Sign in": {"tests": ["@flow:signin"]}}
    (demo.path / ".perceo" / "config.json").write_text(json.dumps(config))
    for name, text in SUITE.items():
        (demo.path / name).parent.mkdir(parents=True, exist_ok=True)
        (demo.path / name).write_text(text)
    return demo


def run_cli(argv: list[str], repo: Path) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(argv, context=AppContext(output=Output(stdout, stderr), project_dir=repo))
    return code, stdout.getvalue(), stderr.getvalue()


def as_json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def test_flows_tests_shows_each_link_with_its_evidence_and_the_flows_no_test_covers(shop: DemoApp) -> None:
    code, out, err = run_cli(["flows", "tests", "--json"], shop.path)

    assert code == 0, err
    mapping = as_json(out)
    assert mapping["schemaVersion"] == 1 and mapping["testFiles"] == 4
    links = {(link["flowName"], link["file"], link["rule"]) for link in mapping["links"]}
    assert ("Checkout", "qa/test_checkout.py", "url") in links
    assert ("Edit project", "qa/test_projects.py", "url") in links
    assert ("Sign in", "qa/test_signin.py", "config-tag") in links
    cart = next(link for link in mapping["links"] if link["route"] == "/cart")
    line = next(n for n, text in enumerate(SUITE["qa/test_checkout.py"].splitlines(), 1) if '"/cart"' in text)
    assert cart["evidence"] == f"qa/test_checkout.py:{line} visits /cart (route /cart)"
    assert {f["name"] for f in mapping["uncovered"]} == {"Sign up", "Update settings"}
    assert mapping["unmappedFiles"] == ["qa/test_unmapped.py"] and mapping["lastResults"] == {}
    checkout = next(f for f in mapping["flows"] if f["name"] == "Checkout")
    assert checkout["coverage"] == 0.4 and checkout["pagesVisited"] == ["/cart", "/checkout"]

    code, text, err = run_cli(["flows", "tests"], shop.path)
    assert code == 0, err
    assert "Flows no test covers (2): Sign up, Update settings" in text
    assert f"qa/test_checkout.py:{line} visits /cart (route /cart)" in text


def test_a_mapping_that_names_missing_tests_exits_2_naming_them(shop: DemoApp) -> None:
    config = json.loads((shop.path / ".perceo" / "config.json").read_text())
    config["flows"]["Checkout"] = {"tests": ["qa/gone.py"]}
    (shop.path / ".perceo" / "config.json").write_text(json.dumps(config))

    code, out, err = run_cli(["ci", "test", "--base", shop.base, "--head", shop.head], shop.path)

    assert code == ExitStatus.USAGE and out == ""
    assert "flows.Checkout.tests: 'qa/gone.py' is not a file" in " ".join(err.split())


def test_ci_test_runs_only_the_affected_flows_tests_records_them_and_exits_4_on_failure(
    shop: DemoApp, graph: FalkorFlowGraph, tmp_path: Path
) -> None:
    junit, markdown = tmp_path / "out" / "junit.xml", tmp_path / "out" / "comment.md"

    code, out, err = run_cli(
        ["ci", "test", "--base", shop.base, "--head", shop.head, "--json", "--junit", str(junit),
         "--markdown", str(markdown)],
        shop.path,
    )  # fmt: skip

    assert code == ExitStatus.TESTS_FAILED, err
    report = as_json(out)
    assert report["selection"] == "affected" and report["runner"] == "pytest" and report["status"] == "failed"
    assert report["commitSha"] == shop.head and report["analysisId"]
    assert {t["file"] for t in report["tests"]} == {"qa/test_checkout.py"}  # only the affected flow's file
    assert report["totals"] == {"total": 2, "passed": 1, "failed": 1, "error": 0, "skipped": 0, "flaky": 0}
    (flow,) = report["flows"]
    assert flow["name"] == "Checkout" and flow["status"] == "failed" and flow["retries"] == 1
    assert "the payment did not go through" in flow["failureMessage"]
    # recorded: the flow's TestRun, its coverage score, and the prediction of that analysis validated
    project_id = json.loads((shop.path / ".perceo" / "config.json").read_text())["project"]["id"]
    (run,) = graph.list_test_runs(project_id, commit_sha=shop.head)
    assert run.id == flow["testRunId"] and run.status == "failed" and run.runner == "pytest"
    assert graph.get_flow(project_id, flow["flowId"]).coverage_score == 0.4  # type: ignore[union-attr]
    code, out, err = run_cli(["flows", "tests", "--json"], shop.path)
    assert code == 0, err
    last = as_json(out)["lastResults"]
    assert set(last) == {flow["flowId"]} and last[flow["flowId"]]["status"] == "failed"
    assert last[flow["flowId"]]["testRunId"] == run.id and last[flow["flowId"]]["commitSha"] == shop.head
    cases = parse_junit(junit.read_bytes())
    assert sorted(c.status for c in cases) == ["failed", "passed"]
    assert markdown.read_text().startswith("<!-- perceo:ci-test -->\n### ❌ Perceo: flow tests failed")

    code, out, err = run_cli(["analyze", "predictions", "--json"], shop.path)
    assert code == 0, err
    quality = as_json(out)
    # Checkout predicted affected and failed; the other flows were not run at this commit, so stay unvalidated.
    assert quality["validated"] == 1 and quality["truePositives"] == 1 and quality["precision"] == 1.0
    analysis = graph.get_analysis(project_id, report["analysisId"])
    assert analysis is not None
    (impacted,) = analysis.flows
    assert quality["brierScore"] == round((1 - impacted.risk_score) ** 2, 4)


def test_ci_test_says_so_and_runs_nothing_when_no_flow_is_affected(shop: DemoApp) -> None:
    # The first two commits against themselves: an empty change.
    code, out, err = run_cli(["ci", "test", "--base", shop.head, "--head", shop.head, "--json"], shop.path)

    assert code == 0, err
    report = as_json(out)
    assert report["tests"] == [] and report["status"] == "skipped" and report["runner"] == "none"
    assert report["note"] == "no flow is affected by this change: no test was run"


def test_a_configured_smoke_set_runs_when_nothing_is_affected(shop: DemoApp) -> None:
    config = json.loads((shop.path / ".perceo" / "config.json").read_text())
    config["coordinator"]["smokeFlows"] = ["Sign in"]
    (shop.path / ".perceo" / "config.json").write_text(json.dumps(config))

    code, out, err = run_cli(["ci", "test", "--base", shop.head, "--head", shop.head, "--json"], shop.path)

    assert code == 0, err
    report = as_json(out)
    assert report["selection"] == "smoke" and [f["name"] for f in report["flows"]] == ["Sign in"]
    assert {t["file"] for t in report["tests"]} == {"qa/test_signin.py"} and report["status"] == "passed"


def test_named_flows_and_the_whole_suite_can_be_run(shop: DemoApp) -> None:
    code, out, err = run_cli(["ci", "test", "--flows", "edit project", "--json"], shop.path)
    assert code == 0, err
    report = as_json(out)
    assert report["selection"] == "flows" and {t["file"] for t in report["tests"]} == {"qa/test_projects.py"}

    code, out, err = run_cli(["ci", "test", "--all", "--json"], shop.path)
    assert code == ExitStatus.TESTS_FAILED, err
    assert {t["file"] for t in as_json(out)["tests"]} == set(SUITE)

    code, _, err = run_cli(["ci", "test", "--flows", "Nope"], shop.path)
    assert code == ExitStatus.USAGE and "no flow 'Nope' in this project" in err
    code, _, err = run_cli(["ci", "test", "--all", "--flows", "Checkout"], shop.path)
    assert code == ExitStatus.USAGE and "cannot be combined" in err


def test_observation_mode_runs_everything_and_reports_what_the_selection_would_have_caught(shop: DemoApp) -> None:
    (shop.path / "qa" / "test_projects.py").write_text(
        SUITE["qa/test_projects.py"] + '\n\ndef test_project_is_saved():\n    assert client.get("/projects/1") == 1\n'
    )

    code, out, err = run_cli(["ci", "test", "--base", shop.base, "--head", shop.head, "--observe", "--json"], shop.path)

    assert code == ExitStatus.TESTS_FAILED, err
    report = as_json(out)
    assert report["selection"] == "observe" and {t["file"] for t in report["tests"]} == set(SUITE)
    observation = report["observation"]
    assert observation["failures"] == 2 and observation["caught"] == 1 and observation["recall"] == 0.5
    assert observation["missed"] == ["qa/test_projects.py::test_project_is_saved"]
    assert observation["selectedTests"] == 2 and observation["tests"] == 6
    by_flow = {f["name"]: f for f in observation["flows"]}
    assert by_flow["Checkout"]["selected"] and by_flow["Checkout"]["recall"] == 1.0
    assert not by_flow["Edit project"]["selected"] and by_flow["Edit project"]["recall"] == 0.0
    # the full run checked the analysis's predictions for every tested flow, the flows it did not name included
    code, out, err = run_cli(["analyze", "predictions", "--json"], shop.path)
    quality = as_json(out)
    # Checkout: affected, failed; Create project and Edit project (the failing test visits both): not named, failed;
    # Sign in: not named, passed
    assert (quality["truePositives"], quality["falseNegatives"], quality["trueNegatives"]) == (1, 2, 1)
    assert quality["precision"] == 1.0 and quality["recall"] == round(1 / 3, 4)


def test_a_report_produced_elsewhere_is_recorded_and_flaky_tests_are_listed(
    shop: DemoApp, graph: FalkorFlowGraph, tmp_path: Path
) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuite name="qa"><testcase classname="qa.test_checkout" name="test_cart_shows_the_total" '
        'file="qa/test_checkout.py" time="0.5"/><testcase classname="qa.test_checkout" '
        'name="test_checkout_charges_the_card" file="qa/test_checkout.py" time="0.1">'
        '<failure message="declined">card declined</failure></testcase></testsuite>'
    )
    code, out, err = run_cli(["ci", "report", "--junit", str(report), "--commit", shop.head, "--json"], shop.path)
    assert code == ExitStatus.TESTS_FAILED, err
    uploaded = as_json(out)
    assert uploaded["selection"] == "report" and [f["name"] for f in uploaded["flows"]] == ["Checkout"]

    # the same test passes on the same commit in a second report: flaky
    report.write_text(
        '<testsuite name="qa"><testcase classname="qa.test_checkout" name="test_checkout_charges_the_card" '
        'file="qa/test_checkout.py" time="0.1"/></testsuite>'
    )
    code, _, err = run_cli(["ci", "report", "--junit", str(report), "--commit", shop.head], shop.path)
    assert code == 0, err
    code, out, err = run_cli(["ci", "flaky", "--json"], shop.path)
    assert code == 0, err
    (flaky,) = as_json(out)["tests"]
    assert flaky["name"].endswith("test_checkout_charges_the_card") and flaky["commits"] == [shop.head]

    bad = tmp_path / "bad.xml"
    bad.write_text("<testsuite><testcase")
    code, _, err = run_cli(["ci", "report", "--junit", str(bad)], shop.path)
    assert code == ExitStatus.USAGE and "error:" in err
    code, _, err = run_cli(["ci", "report"], shop.path)
    assert code == ExitStatus.USAGE and "--junit FILE or --playwright-json FILE" in err


def test_a_runner_that_is_not_installed_is_a_clear_error(shop: DemoApp) -> None:
    config = json.loads((shop.path / ".perceo" / "config.json").read_text())
    config["coordinator"] = {"runner": "command", "testCommand": ["no-such-test-tool", "{files}"]}
    (shop.path / ".perceo" / "config.json").write_text(json.dumps(config))

    code, out, err = run_cli(["ci", "test", "--flows", "Checkout"], shop.path)

    assert code == ExitStatus.ERROR and out == ""
    assert "the test command 'no-such-test-tool' is not installed or not on PATH" in err
    assert sys.executable  # the suite itself runs with this interpreter's pytest


def test_the_base_url_is_checked_first_and_given_to_the_tests(shop: DemoApp) -> None:
    (shop.path / "qa" / "test_checkout.py").write_text(
        "import os\n\n\ndef test_cart():\n"
        '    assert os.environ["PERCEO_BASE_URL"].startswith("http://127.0.0.1:"), "no base URL"\n'
        '    assert "/cart"\n'
    )
    config = json.loads((shop.path / ".perceo" / "config.json").read_text())
    config["flows"]["Checkout"] = {"tests": ["qa/test_checkout.py"]}
    (shop.path / ".perceo" / "config.json").write_text(json.dumps(config))
    with DemoServer() as app:
        code, out, err = run_cli(["ci", "test", "--flows", "Checkout", "--base-url", app.url, "--json"], shop.path)
    assert code == 0, err
    assert as_json(out)["totals"]["passed"] == 1

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = f"http://127.0.0.1:{closed}"
    code, out, err = run_cli(["ci", "test", "--flows", "Checkout", "--base-url", down], shop.path)
    assert code == ExitStatus.ERROR and out == "" and "refused the connection" in err


HISTORY_SUITE = {
    # Each test reads the file a change can break; the URL it visits links it to its flow.
    "qa/test_checkout.py": CLIENT
    + """
from pathlib import Path


def test_prices_are_in_dollars():
    client.get("/cart")
    assert "USD" in Path("components/PriceTag.tsx").read_text()
""",
    "qa/test_projects.py": CLIENT
    + """
from pathlib import Path


def test_the_new_project_form_has_its_button():
    client.get("/projects/new")
    assert "Create project" in Path("app/(app)/projects/new/page.tsx").read_text()
""",
    # A hidden dependency: the settings test reads the catalog, which no settings page imports.
    "qa/test_settings.py": CLIENT
    + """
from pathlib import Path


def test_settings_show_the_featured_product():
    client.get("/settings")
    assert "Coffee mug" in Path("lib/catalog.ts").read_text()
""",
}


def _commit(repo: Path, message: str, edits: dict[str, tuple[str, str]]) -> None:
    for name, (old, new) in edits.items():
        path = repo / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new))
    identity = ["-c", "user.name=Test", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *identity, "add", "-A", "--", ".", ":!.perceo"], cwd=repo, check=True)
    subprocess.run(["git", *identity, "commit", "-qm", message], cwd=repo, check=True)


def test_observation_over_a_history_of_failing_commits_measures_selection_recall(shop: DemoApp) -> None:
    config = json.loads((shop.path / ".perceo" / "config.json").read_text())
    config["flows"] = {}
    (shop.path / ".perceo" / "config.json").write_text(json.dumps(config))
    for name in SUITE:
        (shop.path / name).unlink()
    for name, text in HISTORY_SUITE.items():
        (shop.path / name).write_text(text)
    _commit(shop.path, "Add the QA suite", {})
    price, form, catalog = "components/PriceTag.tsx", "app/(app)/projects/new/page.tsx", "lib/catalog.ts"
    _commit(shop.path, "Prices in euros", {price: ('currency = "USD"', 'currency = "EUR"')})
    _commit(
        shop.path,
        "Back to dollars; rename the create button",
        {price: ('currency = "EUR"', 'currency = "USD"'), form: (">Create project<", ">Make project<")},
    )
    _commit(
        shop.path,
        "Restore the button; rename the mug",
        {form: (">Make project<", ">Create project<"), catalog: ('"Coffee mug"', '"Tea mug"')},
    )

    observed = []
    for back in (2, 1, 0):  # the three failing commits, oldest first, each against its parent
        subprocess.run(["git", "checkout", "-q", f"main~{back}"], cwd=shop.path, check=True)
        code, out, err = run_cli(["ci", "test", "--base", "HEAD~1", "--head", "HEAD", "--observe", "--json"], shop.path)
        assert code == ExitStatus.TESTS_FAILED, err
        report = as_json(out)
        assert report["selection"] == "observe" and report["totals"]["total"] == 3  # the full suite ran
        observed.append(report["observation"])

    euros, button, mug = observed
    assert (euros["failures"], euros["caught"], euros["recall"]) == (1, 1, 1.0)
    assert euros["missed"] == []
    assert (button["failures"], button["caught"], button["recall"]) == (1, 1, 1.0)
    # the catalog change affects the product pages, not the settings page: the selection misses that failure
    assert (mug["failures"], mug["caught"], mug["recall"]) == (1, 0, 0.0)
    assert mug["missed"] == ["qa/test_settings.py::test_settings_show_the_featured_product"]
    settings = next(f for f in mug["flows"] if f["name"] == "Update settings")
    assert not settings["selected"] and settings["recall"] == 0.0
    assert all(o["selectedTests"] < o["tests"] and o["savedDurationMs"] >= 0 for o in observed)
