"""Analytics in the cloud mode, end to end on the local cloud (its own process: the template's API Gateway, the real
handlers, FalkorDB/Redis, moto's S3, Secrets Manager and Step Functions): events posted with an `ingest` key, then
`perceo analytics sync|status` through the HTTP backend, and `perceo local run-schedule AnalyticsSyncSchedule`
running the AnalyticsSync state machine as the stage's schedule does."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cloud_harness import RunningCloud, running_cloud

from perceo.models import now_ms
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.main import main
from perceo_cli.output import Output

PAGES = ["/", "/products/:id", "/cart", "/checkout"]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    yield from running_cloud(tmp_path_factory.mktemp("analytics-cloud"))


def cli(project_dir: Path, *argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(list(argv), context=AppContext(output=Output(stdout, stderr), project_dir=project_dir))
    return code, stdout.getvalue(), stderr.getvalue()


def walks(users: int, finishing: int) -> list[dict[str, Any]]:
    start = now_ms() - 3_600_000
    events = []
    for u in range(users):
        paths = ["/", f"/products/{u}", "/cart", "/checkout"][: 4 if u < finishing else 3]
        events += [
            {
                "eventId": f"w{u}-{k}",
                "anonymousId": f"visitor-{u}",
                "name": "page_view",
                "url": f"https://shop.example{p}?utm_source=x",
                "timestamp": start + u * 60_000 + k * 7_000,
            }
            for k, p in enumerate(paths)
        ]
    return events


def test_ingest_sync_status_and_the_scheduled_workflow_through_the_local_cloud(
    cloud: RunningCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, key = cloud.create_project("analytics-shop")
    with cloud.http(key) as client:
        flow = client.post("flows", json={"name": "Checkout", "pages": PAGES}).json()
        ingest_key = client.post("keys", json={"name": "web", "scopes": ["ingest"]}).json()["key"]
    with cloud.http(ingest_key) as client:
        posted = client.post("analytics/events", json={"events": walks(5, finishing=2), "sentAt": now_ms()})
        refused = client.get("analytics/metrics")
    assert posted.status_code == 202 and posted.json()["accepted"] == 5 * 3 + 2
    assert refused.status_code == 403

    work = tmp_path / "app"
    (work / ".perceo").mkdir(parents=True)
    (work / ".perceo" / "config.json").write_text(json.dumps({"observer": {"apiBaseUrl": cloud.api_url}}))
    monkeypatch.setenv("PERCEO_API_KEY", key)

    code, out, err = cli(work, "analytics", "sync", "--json")

    assert code == ExitStatus.OK, err
    run = json.loads(out)
    assert run["correlation"]["matchedSessions"] == 5 and run["notConnected"] == ["ga4", "mixpanel", "amplitude"]
    code, out, err = cli(work, "analytics", "status", "--days", "1", "--json")
    assert code == ExitStatus.OK, err
    (walked,) = json.loads(out)["flows"]
    assert (walked["flowId"], walked["sessions"], walked["completions"]) == (flow["id"], 5, 2)
    code, out, err = cli(work, "analytics", "impact", "Checkout", "--json")
    assert code == ExitStatus.OK and json.loads(out)["successRate"] == 0.4, err
    # the dashboard's production view reads the same metrics through the HTTP backend
    from perceo.analytics.model import day_of
    from perceo_cli.backend.http import ApiClient, HttpBackend

    backend = HttpBackend(ApiClient(cloud.api_url, key))
    try:
        (metrics,) = backend.list_flow_metrics(since=day_of(now_ms()), until=day_of(now_ms()))
    finally:
        backend.close()
    assert (metrics.flow_id, metrics.sessions, metrics.completions) == (flow["id"], 5, 2)

    code, out, err = cli(cloud.project_dir, "local", "run-schedule", "AnalyticsSyncSchedule", "--json")

    assert code == ExitStatus.OK, err
    result = json.loads(out)
    assert result["status"] == "SUCCEEDED" and result["target"] == "AnalyticsSyncStateMachine"
    mine = next(r for r in result["output"]["results"] if r["projectId"] == project["id"])
    assert mine["status"] == "succeeded" and mine["metricsWritten"] >= 1

    code, _, err = cli(cloud.project_dir, "local", "run-schedule", "NoSuchSchedule")
    # a name the template does not have is bad input (exit 2, as for any thing that does not exist); the known listed
    assert code == ExitStatus.USAGE and "AnalyticsSyncSchedule" in err


def test_a_day_in_several_objects_fans_out_on_the_local_cloud_and_matches_one_chunk_and_the_cli_reports_it(
    cloud: RunningCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from perceo.analytics.model import day_of
    from perceo_cli.local.schedules import wait_for

    project, key = cloud.create_project("analytics-fan-out")
    start = (now_ms() // 86_400_000 - 1) * 86_400_000 + 10 * 3_600_000  # yesterday 10:00 UTC
    day = day_of(start)
    with cloud.http(key) as client:
        flow = client.post("flows", json={"name": "Checkout", "pages": PAGES}).json()
        ingest_key = client.post("keys", json={"name": "web", "scopes": ["ingest"]}).json()["key"]
    paths = ["/", "/products/{u}", "/cart", "/checkout"]
    with cloud.http(ingest_key) as client:
        for batch in range(5):  # five objects, each user's walk spread over them
            events = [
                {
                    "eventId": f"fan-{u}-{k}",
                    "anonymousId": f"fan{u}",
                    "name": "page_view",
                    "path": paths[k].format(u=u),
                    "timestamp": start + u * 90_000 + k * 20_000,
                }
                for u in range(10)
                for k in range(4 if u % 2 else 3)
                if (u + k) % 5 == batch
            ]
            assert client.post("analytics/events", json={"events": events}).status_code == 202
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=cloud.state.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (machine,) = [m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-analytics-sync")]
    window = {"projectIds": [project["id"]], "since": start, "until": start + 3_600_000, "objectsPerPart": 2}

    described = wait_for(
        sfn,
        sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input=json.dumps(window))["executionArn"],
        timeout_s=180,
    )

    assert described["status"] == "SUCCEEDED", described
    (result,) = json.loads(described["output"])["results"]
    assert (result["status"], result["parts"]) == ("succeeded", 3)
    with cloud.http(key) as client:
        fanned = client.get("analytics/flow-metrics", params={"since": day, "until": day}).json()["metrics"]
    # the same day in one chunk, as `perceo analytics correlate` runs it through the API
    work = tmp_path / "app"
    (work / ".perceo").mkdir(parents=True)
    (work / ".perceo" / "config.json").write_text(json.dumps({"observer": {"apiBaseUrl": cloud.api_url}}))
    monkeypatch.setenv("PERCEO_API_KEY", key)
    code, out, err = cli(work, "analytics", "correlate", "--since", day, "--until", day, "--json")
    assert code == ExitStatus.OK, err
    report = json.loads(out)
    assert (report["version"], report["sessions"], report["matchedSessions"]) == (1, 10, 10)
    assert [(f["flowId"], f["matches"], f["completions"]) for f in report["byFlow"]] == [(flow["id"], 10, 5)]
    with cloud.http(key) as client:
        single = client.get("analytics/flow-metrics", params={"since": day, "until": day}).json()["metrics"]

    def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k != "updatedAt"} for row in rows]

    assert strip(fanned) == strip(single) and len(single) == 1
    assert (single[0]["sessions"], single[0]["completions"], single[0]["prodDailyUsers"]) == (10, 5, 10)
    code, md, err = cli(work, "analytics", "gaps", "--days", "2", "--format", "md")
    assert code == ExitStatus.OK, err
    assert "| Checkout | 5 | none | 5 |" in md  # 10 users over the 2 days asked, no test covers the flow


class _Site(ThreadingHTTPServer):
    page = b""
    script = b""


class _SiteHandler(BaseHTTPRequestHandler):
    """A single-page app on another origin than the API: every path serves the page, which loads the snippet."""

    server: _Site

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        is_script = self.path == "/perceo-analytics.js"
        body = self.server.script if is_script else self.server.page
        self.send_response(200)
        self.send_header("Content-Type", "text/javascript" if is_script else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_browser_snippet_sends_page_views_from_another_origin_in_headless_chromium(cloud: RunningCloud) -> None:
    from playwright.sync_api import sync_playwright

    from perceo.analytics.service import AnalyticsService
    from perceo.coordinator.synthetic import find_chromium

    project, key = cloud.create_project("snippet-shop")
    with cloud.http(key) as client:
        client.post("flows", json={"name": "Checkout", "pages": PAGES}).raise_for_status()
        ingest_key = client.post("keys", json={"name": "web", "scopes": ["ingest"]}).json()["key"]
    site = _Site(("127.0.0.1", 0), _SiteHandler)
    site.script = AnalyticsService.snippet().encode()
    site.page = (
        '<!doctype html><html><head><title>Shop</title><script src="/perceo-analytics.js" '
        f'data-endpoint="{cloud.api_url}" data-key="{ingest_key}" data-flush-ms="100" defer></script></head>'
        '<body><a id="buy" href="/checkout">Buy</a></body></html>'
    ).encode()
    threading.Thread(target=site.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{site.server_address[1]}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=find_chromium(os.environ))
            try:
                page = browser.new_page()
                page.goto(origin + "/")  # a page view, flushed by fetch(keepalive) after 100 ms
                page.wait_for_timeout(400)
                page.evaluate("history.pushState({}, '', '/products/9')")  # SPA navigation
                page.wait_for_timeout(400)
                page.goto(origin + "/cart")  # leaving /products/9: what is queued goes by sendBeacon
                page.click("#buy")  # a click event, then /checkout loads
                page.wait_for_url(origin + "/checkout")
                page.wait_for_timeout(400)
                page.close(run_before_unload=True)
            finally:
                browser.close()
    finally:
        site.shutdown()
        site.server_close()

    deadline = time.monotonic() + 15
    with cloud.http(key) as client:
        while True:
            run = client.post("analytics/sync", json={}).json()
            if run["correlation"]["pageViews"] >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        metrics = client.get("analytics/metrics", params={"days": 1}).json()
    assert run["correlation"]["pageViews"] == 4 and run["correlation"]["events"] >= 5, run  # 4 views + the click
    assert run["correlation"]["sessions"] == 1, run
    (walked,) = metrics["flows"]
    assert (walked["flowName"], walked["sessions"], walked["completions"]) == ("Checkout", 1, 1)
    assert project["id"] == metrics["projectId"]
