"""`perceo analytics connect|sync|status|impact|snippet` through `main()` on the embedded backend: the demo shop
bootstrapped into the session's FalkorDB, events ingested into `.perceo/data/events/`, Mixpanel served by the fake
provider on loopback (the only injection: its base URL), provider credentials in `.perceo/secrets/analytics.json`.
"""

from __future__ import annotations

import io
import json
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_kit import use_session_store
from fakes.analytics_providers import FakeProviders

from perceo.analytics.model import day_of
from perceo.analytics.providers import HttpProviderClients, RetryPolicy
from perceo.config.loader import load_config
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import now_ms
from perceo.retry import Backoff
from perceo.wiring import build_local_services
from perceo_cli.backend.local import LocalBackend
from perceo_cli.commands import analytics as analytics_commands
from perceo_cli.context import AppContext
from perceo_cli.demo.shop import build_demo_app
from perceo_cli.exit import ExitStatus
from perceo_cli.local.server import ServerProcess
from perceo_cli.main import main
from perceo_cli.output import Output

HOUR = 3_600_000
DAY = 24 * HOUR
MIXPANEL = {"projectId": "1234", "username": "sa-user", "secret": "sa-secret"}


@pytest.fixture
def repo(tmp_path: Path, falkordb_server: ServerProcess, graph: FalkorFlowGraph) -> Path:
    root = build_demo_app(tmp_path / "shop").path
    use_session_store(root, falkordb_server.host, falkordb_server.port, graph.graph_name)
    code, _, err = cli(["init", "--yes", "--no-llm", "--json"], root)
    assert code == 0, err
    return root


@pytest.fixture
def time_of_day() -> str | None:
    """None: the real clock. A test parametrised with "HH:MM" runs as if it were that time (UTC) yesterday."""
    return None


@pytest.fixture
def clock(time_of_day: str | None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """The product's clock: real, or ticking from `time_of_day` yesterday (always in the past, so nothing is in the
    future for the fake provider). The CLI's own `7d`/`2d` parsing reads the same clock."""
    if time_of_day is None:
        return now_ms
    hours, minutes = map(int, time_of_day.split(":"))
    offset = now_ms() - ((now_ms() // DAY - 1) * DAY + hours * HOUR + minutes * 60_000)

    def shifted() -> int:
        return now_ms() - offset

    monkeypatch.setattr(analytics_commands, "now_ms", shifted)
    return shifted


@pytest.fixture
def backend(repo: Path, fake_providers: FakeProviders, clock: Callable[[], int]) -> Iterator[LocalBackend]:
    """The backend `perceo` builds for the repo, with Mixpanel's host pointed at the fake (no waiting on retries)."""
    clients = HttpProviderClients(
        http=httpx.Client(timeout=httpx.Timeout(10.0)),
        policy=RetryPolicy(attempts=2, max_wait_s=1.0, backoff=Backoff(base_s=0.01, cap_s=0.01)),
        base_urls={"mixpanel": fake_providers.base_url},
    )
    config = load_config(repo).config
    made = LocalBackend(
        repo, config, services=build_local_services(config, project_dir=repo, analytics_providers=clients, clock=clock)
    )
    try:
        yield made
    finally:
        made.services.close()
        clients.close()


def cli(argv: list[str], repo: Path, backend: LocalBackend | None = None) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    context = AppContext(output=Output(stdout, stderr), project_dir=repo)
    if backend is not None:
        context.use_backend(backend)
    code = main(argv, context=context)
    return code, stdout.getvalue(), stderr.getvalue()


def noon_before(now: int, days: int) -> int:
    """12:00 UTC of the UTC day `days` before `now`'s: between `days * 24 - 12` and `days * 24 + 12` hours back."""
    return (now // DAY - days) * DAY + 12 * HOUR


def concrete(route: str, n: int) -> str:
    """A URL path a user would visit for a route pattern (`/products/:id` -> `/products/p3`)."""
    return re.sub(r":\w+|\[\.*\w+\]", f"p{n}", route)


def checkout_walks(backend: LocalBackend, users: int, finishing: int, start: int) -> tuple[dict[str, Any], str]:
    """`users` sessions walking the demo's longest flow, `finishing` of them to its end; returns (batch, flow name)."""
    flow = max(backend.list_flows(), key=lambda f: (len(f.pages), f.name))
    assert len(flow.pages) >= 3, flow
    events = []
    for u in range(users):
        pages = flow.pages if u < finishing else flow.pages[:-1]
        for k, route in enumerate(pages):
            events.append(
                {
                    "eventId": f"w-{u}-{k}",
                    "anonymousId": f"user-{u}",
                    "name": "page_view",
                    "path": concrete(route, u),
                    "timestamp": start + u * 60_000 + k * 5_000,
                }
            )
    return {"events": events}, flow.name


@pytest.mark.parametrize("time_of_day", [None, "00:30", "23:59"])  # day boundaries: UTC midnight is near either
def test_sync_correlates_ingested_events_and_status_and_impact_show_each_flows_traffic(
    repo: Path, backend: LocalBackend
) -> None:
    project_id = backend.project_id
    # the walks all fall on one named UTC day, yesterday, whatever the time of day: 12:00 to 12:05 UTC
    start = noon_before(backend.services.analytics.clock(), 1)
    batch, flow_name = checkout_walks(backend, users=5, finishing=2, start=start)
    result = backend.services.analytics.ingest(project_id, json.dumps(batch))
    assert result.accepted == len(batch["events"]) and result.rejected_count == 0

    code, out, err = cli(["analytics", "sync", "--json"], repo, backend)

    assert code == ExitStatus.OK, err
    run = json.loads(out)
    assert run["providers"] == [] and run["notConnected"] == ["ga4", "mixpanel", "amplitude"]
    assert day_of(start) in run["days"]  # a sync without a provider correlates yesterday and today
    correlation = run["correlation"]
    assert correlation["sessions"] == 5 and correlation["matchedSessions"] == 5 and correlation["metricsWritten"] >= 1

    code, out, err = cli(["analytics", "status", "--days", "2", "--json"], repo, backend)
    assert code == ExitStatus.OK, err
    status = json.loads(out)
    walked = {f["flowName"]: f for f in status["flows"]}
    assert walked[flow_name]["sessions"] == 5 and walked[flow_name]["completions"] == 2
    assert walked[flow_name]["usersPerDay"] == 2.5  # 5 users over the 2 days asked
    assert [p["connected"] for p in status["providers"]] == [False, False, False]

    code, out, err = cli(["analytics", "impact", flow_name, "--days", "2", "--json"], repo, backend)
    assert code == ExitStatus.OK, err
    impact = json.loads(out)
    assert (impact["successRate"], impact["usersPerDay"]) == (0.4, 2.5)  # 5 users over yesterday and today
    assert impact["topDropOffStep"] == len(backend.get_flow(flow_name).pages)

    code, text, err = cli(["analytics", "status"], repo, backend)
    assert code == ExitStatus.OK, err
    assert flow_name in text and "40%" in text and "mixpanel: not connected" in text

    # the same sync again adds nothing and rewrites the same figures
    code, out, _ = cli(["analytics", "sync", "--json"], repo, backend)
    assert code == ExitStatus.OK and json.loads(out)["correlation"]["sessions"] == 5


@pytest.mark.parametrize("time_of_day", [None, "00:30", "23:59"])  # day boundaries: UTC midnight is near either
def test_connect_keeps_credentials_in_the_secrets_file_and_sync_pulls_the_provider(
    repo: Path, backend: LocalBackend, fake_providers: FakeProviders, tmp_path: Path
) -> None:
    # the day before yesterday (36 to 60 hours back): a whole day older than Mixpanel's 2 hours to settle, so the
    # cursor moves past it at any time of day (yesterday's day has not settled before 02:00 UTC)
    noon = noon_before(backend.services.analytics.clock(), 2)
    fake_providers.mixpanel_events = {
        day_of(noon): [
            {
                "event": "$mp_web_page_view",
                "properties": {
                    "time": noon // 1000 + i,
                    "distinct_id": f"u{i}",
                    "$insert_id": f"ins-{i}",
                    "$current_url": "https://shop.example/",
                },
            }
            for i in range(3)
        ]
    }
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({**MIXPANEL, "secret": "not-it"}))

    code, _, err = cli(["analytics", "connect", "mixpanel", "--credentials-file", str(wrong)], repo, backend)

    assert code == ExitStatus.USAGE and "mixpanel refused" in err and "not-it" not in err
    secrets = repo / ".perceo" / "secrets" / "analytics.json"
    assert not secrets.exists()

    good = tmp_path / "good.json"
    good.write_text(json.dumps(MIXPANEL))
    code, out, err = cli(["analytics", "connect", "mixpanel", "--credentials-file", str(good), "--json"], repo, backend)
    assert code == ExitStatus.OK, err
    assert json.loads(out)["ok"] is True
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert "sa-secret" not in (repo / ".perceo" / "config.json").read_text()

    code, out, err = cli(["analytics", "sync", "--provider", "mixpanel", "--since", "3d", "--json"], repo, backend)

    assert code == ExitStatus.OK, err
    (report,) = json.loads(out)["providers"]
    assert (report["provider"], report["status"], report["accepted"]) == ("mixpanel", "success", 3)
    code, out, _ = cli(["analytics", "status", "--json"], repo, backend)
    mixpanel = next(p for p in json.loads(out)["providers"] if p["provider"] == "mixpanel")
    assert mixpanel["connected"] and mixpanel["cursor"]["eventsTotal"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analytics", "sync", "--provider", "posthog"], "unknown provider"),
        (["analytics", "sync", "--since", "last tuesday"], "is not a time"),
        (["analytics", "sync", "--since", "2026-03-01T10:00:00"], "is not a time"),  # no zone
        (["analytics", "sync", "--provider", "amplitude"], "perceo analytics connect amplitude"),
        (["analytics", "connect", "mixpanel"], "exactly one of"),
        (["analytics", "status", "--days", "0"], "--days"),
        (["analytics", "correlate", "--since", "yesterday"], "is not a day"),
        (["analytics", "correlate", "--since", "2026-03-09", "--until", "2026-03-01"], "since must not be after"),
        (["analytics", "correlate", "--since", "2025-01-01", "--until", "2026-01-01"], "at most 92 days"),
        (["analytics", "gaps", "--days", "93"], "--days"),
        (["analytics", "gaps", "--format", "yaml"], "--format"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(
    repo: Path, backend: LocalBackend, argv: list[str], message: str
) -> None:
    code, out, err = cli(argv, repo, backend)

    assert code == ExitStatus.USAGE, (code, err)
    assert message in err and "Traceback" not in err and out == ""


def test_an_unknown_flow_is_an_error_as_in_flows_show(repo: Path, backend: LocalBackend) -> None:
    code, out, err = cli(["analytics", "impact", "No such flow"], repo, backend)

    assert code == ExitStatus.USAGE and "no flow 'No such flow'" in err and out == ""


def test_snippet_prints_the_browser_snippet(repo: Path) -> None:
    code, out, err = cli(["analytics", "snippet"], repo)
    assert code == ExitStatus.OK, err
    assert "sendBeacon" in out and "/analytics/beacon?writeKey=" in out

    code, out, _ = cli(["analytics", "snippet", "--json"], repo)
    assert code == ExitStatus.OK and "sendBeacon" in json.loads(out)["snippet"]


def test_correlate_reruns_stored_events_and_gaps_rank_uncovered_flows_in_text_json_and_markdown(
    repo: Path, backend: LocalBackend
) -> None:
    project_id = backend.project_id
    batch, flow_name = checkout_walks(backend, users=5, finishing=2, start=now_ms() - 2 * HOUR)
    stray = {"eventId": "stray", "anonymousId": "user-0", "name": "page_view", "path": "/no/such/page/at/all"}
    batch["events"].append({**stray, "timestamp": batch["events"][0]["timestamp"] + 1_000})
    assert backend.services.analytics.ingest(project_id, json.dumps(batch)).accepted == len(batch["events"])
    page_views = len(batch["events"])

    today, yesterday = day_of(now_ms()), day_of(now_ms() - 24 * HOUR)  # the walks may start before midnight

    code, out, err = cli(["analytics", "correlate", "--since", "1d", "--json"], repo, backend)

    assert code == ExitStatus.OK, err
    report = json.loads(out)
    assert report["version"] == 1 and report["days"] == [yesterday, today]
    assert (report["sessions"], report["matchedSessions"]) == (5, 5)
    assert (report["unmappedPageViews"], report["pageViews"]) == (1, page_views)
    assert report["unmappedShare"] == round(1 / page_views, 4)
    walked = {f["flowName"]: f for f in report["byFlow"]}
    assert (walked[flow_name]["matches"], walked[flow_name]["completions"]) == (5, 2)
    assert sum(report["similarityHistogram"]) == report["matches"] == sum(f["matches"] for f in report["byFlow"])

    code, text, err = cli(["analytics", "correlate", "--since", yesterday, "--until", today], repo, backend)
    assert code == ExitStatus.OK, err
    assert "5 session(s), 5 walked a flow" in text and f"1 of {page_views}" in text and flow_name in text

    code, out, err = cli(["analytics", "gaps", "--days", "2", "--json"], repo, backend)
    assert code == ExitStatus.OK, err
    gaps = json.loads(out)
    assert gaps["version"] == 1 and gaps["days"] == [yesterday, today]
    first = gaps["flows"][0]
    # the demo's flows have no tests: the most walked flow leads, priority = its users per day (5 over 2 days)
    assert (first["flowName"], first["usersPerDay"], first["priority"], first["coverageScore"]) == (
        flow_name,
        2.5,
        2.5,
        None,
    )
    assert [g["priority"] for g in gaps["flows"]] == sorted((g["priority"] for g in gaps["flows"]), reverse=True)

    code, md, err = cli(["analytics", "gaps", "--days", "2", "--format", "md"], repo, backend)
    assert code == ExitStatus.OK, err
    assert md.startswith("## Flows users walk without tests") and f"| {flow_name} | 2.5 | none | 2.5 |" in md

    code, md, err = cli(["analytics", "correlate", "--since", "1d", "--format", "md"], repo, backend)
    assert code == ExitStatus.OK, err
    assert "| Flow | Walks | Completed | Mean similarity |" in md and f"| {flow_name} | 5 | 2 |" in md
