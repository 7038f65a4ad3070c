"""`perceo dashboard` as a user sees it: a real `perceo dashboard` process serving the demo shop (after `perceo
init --no-llm` and a `ci analyze`, with production metrics and test runs recorded in the session's FalkorDB), opened
in headless Chromium (Debian's, driven by playwright-python). Screenshots of each view are kept under
`$PERCEO_ARTIFACTS` (default: the test's temp folder)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_kit import init_json, run_cli

from perceo.bus.redis import RedisBus
from perceo.coordinator.browser import CHROMIUM_ARGS
from perceo.coordinator.synthetic import find_chromium
from perceo.errors import PerceoError
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import EventType, Flow, Insight, PerceoEvent
from perceo.models.runs import FlowMetrics, TestRun
from perceo_cli.local.server import ServerProcess

pytestmark = pytest.mark.xdist_group("dashboard")

PERCEO = str(Path(sys.executable).with_name("perceo"))
XSS = "<img src=x onerror=alert(1)>"
START_WAIT_S = 60.0


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return find_chromium(os.environ)
    except PerceoError as error:  # CI installs Debian's chromium (.ci/run); a laptop without one is told why
        pytest.skip(f"no Chromium on this machine: {error.message}")


class Dashboard:
    def __init__(self, repo: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [PERCEO, "dashboard", "--json", *args], cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the server prints its URL once it listens (bounded by the timeout below)
        assert line, self.proc.stderr.read() if self.proc.stderr else "no output"
        self.info: dict[str, Any] = json.loads(line)
        self.url: str = self.info["url"]
        deadline = time.monotonic() + START_WAIT_S
        base = self.url.split("?")[0]
        while True:  # the socket listens already; wait until the app answers
            try:
                if httpx.get(base + "healthz", timeout=2).status_code in (200, 401):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"the dashboard did not answer within {START_WAIT_S} s"
            time.sleep(0.1)
        self.base = base

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=20)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def project(repo: Path, graph: FalkorFlowGraph) -> tuple[Path, str, int]:
    """The demo shop after init and one analysis, with 14 days of production metrics, test runs, and a flow whose
    name is markup."""
    project_id = init_json(repo)["projectId"]
    code, _out, err = run_cli(["ci", "analyze", "--base", "HEAD~1", "--json"], repo)
    assert code == 0, err
    flows = {f.name: f for f in graph.list_flows(project_id, include_steps=True)}
    today = dt.datetime.now(dt.UTC).date()
    metrics = []
    for back in range(63):  # nine weeks: the anomaly detector judges a day against weeks of its weekday
        day = (today - dt.timedelta(days=back)).isoformat()
        for index, flow in enumerate(flows.values()):
            sessions = 400 + 10 * index + (back % 7)
            dip = back == 2 and flow.name == "Checkout"  # two days ago checkout broke for real users
            completions = int(sessions * (0.30 if dip else 0.80))
            metrics.append(
                FlowMetrics(
                    project_id=project_id,
                    flow_id=flow.id,
                    day=day,
                    sessions=sessions,
                    completions=completions,
                    prod_success_rate=completions / sessions,
                    prod_daily_users=sessions - 5,
                    prod_avg_duration_ms=12_000 + 10 * (back % 7),
                    drop_off={"2": 12, "3": 8},
                )
            )
    graph.upsert_flow_metrics(project_id, metrics)
    checkout, sign_in = flows["Checkout"], flows["Sign in"]
    graph.record_test_runs(
        project_id,
        [
            TestRun(project_id=project_id, flow_id=checkout.id, status="failed", runner="pytest",
                    failure_message="expected the order confirmation, got <b>500</b>", triggered_by="ci"),
            TestRun(project_id=project_id, flow_id=sign_in.id, status="passed", runner="pytest", flaky=True,
                    retries=1, triggered_by="ci"),
        ],
    )  # fmt: skip
    (markup,) = graph.upsert_flows(project_id, [Flow(project_id=project_id, name=XSS, priority="critical")])
    graph.set_flow_pages(project_id, markup.id, ["/cart"])
    graph.store_insights(
        project_id,
        [
            Insight(project_id=project_id, flow_id=checkout.id, type="discrepancy", severity="high",
                    title="Checkout fails for users while its tests pass", message=f"success fell to 30% {XSS}",
                    suggested_action="Look at the payment step", evidence={"successRate": 0.3, "commit": XSS},
                    subject=f"discrepancy:{checkout.id}", day=today.isoformat()),
        ],
    )  # fmt: skip
    return repo, project_id, len(flows)


@pytest.fixture
def dashboard(project: tuple[Path, str, int]) -> Iterator[Dashboard]:
    server = Dashboard(project[0])
    try:
        yield server
    finally:
        server.kill()


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PERCEO_ARTIFACTS") or tmp_path) / "dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_each_view_in_chromium_with_markup_shown_as_text_and_live_updates(
    dashboard: Dashboard,
    project: tuple[Path, str, int],
    chromium: str,
    falkordb_server: ServerProcess,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = _artifacts(tmp_path)
    dialogs: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(dashboard.base)
            assert page.url.endswith("/flows")
            table = page.locator("#flows tbody tr")
            assert table.count() == project[2] + 1
            assert page.get_by_role("link", name=XSS).count() == 1  # the name is text...
            assert page.locator("img").count() == 0  # ...never an element
            checkout_row = page.locator("#flows tbody tr", has=page.get_by_role("link", name="Checkout", exact=True))
            assert "failed" in checkout_row.inner_text()
            assert "%" in checkout_row.inner_text()  # production success rate
            page.screenshot(path=str(shots / "flows.png"), full_page=True)

            page.get_by_role("link", name="Checkout", exact=True).click()
            page.wait_for_url("**/flows/*")
            assert page.locator("#flow-name").inner_text() == "Checkout"
            assert page.locator("#steps ol.steps > li").count() >= 5
            history = page.locator("#history").inner_text()
            assert "expected the order confirmation, got <b>500</b>" in history  # the message, as text
            assert "→" in history or "lib/format" in history  # the analysis' reason chain
            page.screenshot(path=str(shots / "flow.png"), full_page=True)

            page.get_by_role("link", name="Analyses").click()
            page.wait_for_url("**/analyses")
            assert page.locator("article.analysis").count() == 1
            assert page.get_by_role("link", name="Checkout").count() >= 1
            page.screenshot(path=str(shots / "analyses.png"), full_page=True)

            page.get_by_role("link", name="Production").click()
            page.wait_for_url("**/production")
            page.wait_for_selector(".charts canvas", timeout=15_000)
            assert page.locator(".charts .chart").count() == 3 * project[2]  # three charts per flow with data
            funnel = page.locator("table.funnel").first.inner_text()
            assert "Sessions" in funnel
            page.screenshot(path=str(shots / "production.png"), full_page=True)
            page.screenshot(path=str(shots / "production-top.png"))

            checkout_charts = page.locator("section.flow-prod", has=page.get_by_role("link", name="Checkout"))
            expect(checkout_charts.locator(".anomaly-list").first).to_contain_text(
                (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)).isoformat()
            )  # the analyzer's detector marks the day checkout broke
            page.get_by_role("link", name="Tests").click()
            page.wait_for_url("**/tests")
            assert "expected the order confirmation" in page.locator("#failures").inner_text()
            assert "Checkout" in page.locator("#failures").inner_text()
            # runs recorded outside `ci test` validate no prediction: the view says how to get the figure
            assert "ci test --observe" in page.locator("#selection").inner_text()
            page.screenshot(path=str(shots / "tests.png"), full_page=True)

            page.get_by_role("link", name="Insights").click()
            page.wait_for_url("**/insights")
            insight = page.locator("article.insight")
            assert insight.count() == 1 and "Checkout fails for users" in insight.inner_text()
            assert XSS in insight.inner_text() and page.locator("img").count() == 0
            page.screenshot(path=str(shots / "insights.png"), full_page=True)
            insight.get_by_role("button", name="Acknowledge").click()
            page.wait_for_url("**/insights")
            assert "status acknowledged" in page.locator("article.insight").inner_text()
            assert page.get_by_role("button", name="Acknowledge").count() == 0
            page.get_by_role("button", name="Resolve").click()
            page.wait_for_url("**/insights")
            assert page.locator("article.insight").count() == 0

            # the page's CSP forbids eval, so waits use locator assertions (no `wait_for_function` strings)
            expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"), timeout=15_000)
            event = PerceoEvent(
                type=EventType.ANALYSIS_COMPLETE, source="observer", project_id=project[1], data={"riskLevel": "low"}
            )
            RedisBus(_redis(falkordb_server)).publish(event)
            expect(page.locator("#live")).to_contain_text("observer.analysis.complete", timeout=15_000)
        finally:
            browser.close()
    assert dialogs == [] and errors == []
    assert dashboard.stop() == 0


def _redis(server: ServerProcess) -> Any:
    import redis

    return redis.Redis(host=server.host, port=server.port)


def test_headers_host_check_and_unknown_flow(dashboard: Dashboard) -> None:
    page = httpx.get(dashboard.base + "flows")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(dashboard.base + "flows", headers={"Host": "evil.example"}).status_code == 400
    assert httpx.post(dashboard.base + "flows", headers={"Origin": "http://evil.example"}).status_code == 403
    missing = httpx.get(dashboard.base + "flows/nope")
    assert missing.status_code == 404 and "not found" in missing.text.lower()


def test_beyond_loopback_a_token_is_required(project: tuple[Path, str, int]) -> None:
    server = Dashboard(project[0], "--host", "0.0.0.0")  # noqa: S104 - the point of the test
    try:
        assert server.info["tokenRequired"] is True and "?token=" in server.url
        base = f"http://127.0.0.1:{server.info['port']}/"
        assert httpx.get(base + "flows").status_code == 401
        token = server.url.split("?token=")[1]
        with httpx.Client(base_url=base) as client:
            assert client.get("/flows", params={"token": "wrong"}).status_code == 401
            entered = client.get("/flows", params={"token": token})
            assert entered.status_code == 303 and "token" not in entered.headers["location"]
            assert "httponly" in entered.headers["set-cookie"].lower()
            assert client.get("/flows").status_code == 200  # the cookie carries it from now on
        assert server.stop() == 0
    finally:
        server.kill()


def test_before_init_it_says_what_to_do(tmp_path: Path) -> None:
    from perceo_cli.demo.shop import build_demo_app

    root = build_demo_app(tmp_path / "shop").path
    done = subprocess.run([PERCEO, "dashboard"], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "perceo init" in done.stderr and "Traceback" not in done.stderr
