"""The check-alerts job on the real graph and Redis, delivering to loopback receivers that check the HMAC: rules on
insight types and severities, anomalies, risk levels of analyses and flows; each thing sent once across runs, a run
killed after sending resumes without sending again; bad rules refused naming what is wrong, nothing stored. Also
the insights' automatic resolution and the thresholds read from the project's config."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis
from analyzer_kit import SECRET, TODAY, Clock, Receiver, Shop, build_shop, day

from perceo.analytics.stores import FileCredentialStore
from perceo.analyzer.alertrules import AlertRule
from perceo.analyzer.alerts import Alerts, AlertSender, Channel, RedisDeliveryLog, RedisSentAlerts
from perceo.analyzer.channels import SecretChannelStore
from perceo.analyzer.insights import Analyzer, AnalyzerOptions
from perceo.analyzer.jobs import RedisAlertCursor, RedisJobLog, run_check_alerts
from perceo.analyzer.rules import Snapshot, Thresholds
from perceo.config.model import PerceoConfig
from perceo.errors import ValidationFailed
from perceo.graph.falkor import FalkorFlowGraph
from perceo.models import Insight


@pytest.fixture
def shop(graph: FalkorFlowGraph) -> Shop:
    return build_shop(graph)


@pytest.fixture
def alerts(graph: FalkorFlowGraph, redis_client: redis.Redis, tmp_path: Path) -> Alerts:
    sender = AlertSender(http=httpx.Client(), sent=RedisSentAlerts(redis_client, ttl_s=600), sleep=lambda _: None)
    secrets = FileCredentialStore(tmp_path / ".perceo" / "secrets" / "alert-channels.json")
    return Alerts(rules=graph, channels=SecretChannelStore(secrets), sender=sender, flows=graph,
                  log=RedisDeliveryLog(redis_client))  # fmt: skip


@pytest.fixture
def job_log(redis_client: redis.Redis) -> RedisJobLog:
    redis_client.delete(RedisJobLog.key("check-alerts"))
    return RedisJobLog(redis_client)


def _rules(alerts: Alerts, shop: Shop, receivers: dict[str, Receiver]) -> None:
    project = shop.project.id
    alerts.add(
        AlertRule(project_id=project, name="checkout", types=["regression"], min_severity="high", flows=["Checkout"],
                  risk_levels=["critical"], channel="checkout"),
        Channel("checkout", "webhook", receivers["webhook"].url, SECRET),
    )  # fmt: skip
    alerts.add(
        AlertRule(project_id=project, name="team", min_severity="critical", anomalies=True, channel="team"),
        Channel("team", "slack", receivers["slack"].url),
    )


class Killed(BaseException):
    """The Lambda's hard timeout: nothing of the job runs after it."""


def test_the_job_sends_what_the_rules_ask_for_once(
    graph: FalkorFlowGraph,
    shop: Shop,
    alerts: Alerts,
    receivers: dict[str, Receiver],
    redis_client: redis.Redis,
    job_log: RedisJobLog,
    clock: Clock,
) -> None:
    analyzer = Analyzer(graph, graph, clock=clock)
    analyzer.run(shop.project.id)
    _rules(alerts, shop, receivers)
    cursor = RedisAlertCursor(redis_client)
    checkout = shop.flows["Checkout"].id

    class DiesAfterSending(RedisAlertCursor):
        def put(self, project_id: str, at: int) -> None:
            if project_id == shop.project.id:
                raise Killed
            super().put(project_id, at)

    with pytest.raises(Killed):
        run_check_alerts(analyzer, alerts, DiesAfterSending(redis_client), job_log, clock=clock)
    hooks, slack = list(receivers["webhook"].received), list(receivers["slack"].received)
    record = run_check_alerts(analyzer, alerts, cursor, job_log, clock=clock)
    again = run_check_alerts(analyzer, alerts, cursor, job_log, clock=clock)

    assert receivers["webhook"].refused == 0
    insights = [h["insight"] for h in hooks if h["event"] == "analyzer.insight.generated"]
    assert insights and {(i["type"], i["flowId"]) for i in insights} == {("regression", checkout)}  # type: ignore[index]
    [analysis] = [h["analysis"] for h in hooks if h["event"] == "analysis.completed"]
    assert analysis["riskLevel"] == "critical" and analysis["headSha"] == "c" * 40  # type: ignore[index]
    texts = [str(s["text"]) for s in slack]
    assert any("`anomaly`" in t and "success rate" in t for t in texts)  # the anomaly itself
    assert any("`regression`" in t and t.startswith("*[CRITICAL]") for t in texts)  # a critical insight
    # the run after the kill resends nothing (claims), then moves the cursor; the next finds nothing new
    assert (record.outcome, record.delivered, record.failed) == ("succeeded", 0, 0)
    assert receivers["webhook"].received == hooks and receivers["slack"].received == slack
    assert (again.delivered, again.failed) == (0, 0) and cursor.get(shop.project.id) == clock.now
    assert job_log.last("check-alerts") == again
    logged = alerts.deliveries(shop.project.id, 500)
    assert sum(d.status == "delivered" for d in logged) == len(hooks) + len(slack)


def test_an_updated_insight_of_higher_severity_alerts_again_on_the_next_check(
    graph: FalkorFlowGraph,
    shop: Shop,
    alerts: Alerts,
    receivers: dict[str, Receiver],
    redis_client: redis.Redis,
    job_log: RedisJobLog,
    clock: Clock,
) -> None:
    analyzer = Analyzer(graph, graph, clock=clock)
    _rules(alerts, shop, receivers)
    cursor = RedisAlertCursor(redis_client)
    first = run_check_alerts(analyzer, alerts, cursor, job_log, clock=clock)  # nothing analyzed yet: no insight
    sent_before = len(receivers["webhook"].received) + len(receivers["slack"].received)

    clock.now += 3_600_000
    analyzer.run(shop.project.id)
    record = run_check_alerts(analyzer, alerts, cursor, job_log, clock=clock)

    insights = [h for h in receivers["webhook"].received if h["event"] == "analyzer.insight.generated"]
    assert first.delivered == sent_before and insights and record.delivered > 0
    assert sent_before + record.delivered == len(receivers["webhook"].received) + len(receivers["slack"].received)


def test_a_rule_naming_an_unknown_flow_is_refused_and_nothing_is_stored(
    graph: FalkorFlowGraph, shop: Shop, alerts: Alerts, receivers: dict[str, Receiver], tmp_path: Path
) -> None:
    rule = AlertRule(project_id=shop.project.id, name="x", flows=["Checkout", "Chekout"], channel="x")

    with pytest.raises(ValidationFailed) as caught:
        alerts.add(rule, Channel("x", "webhook", receivers["webhook"].url, SECRET))

    assert "unknown flow 'Chekout'" in str(caught.value) and caught.value.details["flow"] == "Chekout"
    assert graph.list_alert_rules(shop.project.id) == []
    assert not (tmp_path / ".perceo" / "secrets" / "alert-channels.json").exists()
    saved = alerts.add(rule.model_copy(update={"flows": ["checkout", shop.flows["Search"].id]}),
                       Channel("x", "webhook", receivers["webhook"].url, SECRET))  # fmt: skip
    assert saved.flows == [shop.flows["Checkout"].id, shop.flows["Search"].id]  # names resolved to ids


# --------------------------------------------------------------------------------------------------
# automatic resolution


def _toggle(holds: list[bool]) -> object:
    """A rule that finds one thing while `holds[0]` is True (the condition of a real rule, switched by the test)."""

    def rule(snapshot: Snapshot, t: Thresholds) -> list[Insight]:
        if not holds[0]:
            return []
        flow = snapshot.flows[0]
        return [Insight(project_id=snapshot.project_id, flow_id=flow.id, type="performance", severity="medium",
                        subject=f"performance:{flow.id}:duration", day=snapshot.today, title="slower",
                        message="It got slower.")]  # fmt: skip

    return rule


def test_an_insight_whose_condition_no_longer_holds_is_resolved_and_comes_back_without_a_duplicate(
    graph: FalkorFlowGraph, shop: Shop, clock: Clock
) -> None:
    holds = [True]
    analyzer = Analyzer(graph, graph, clock=clock, options=AnalyzerOptions(rules=(_toggle(holds),)))  # type: ignore[arg-type]
    project = shop.project.id

    [found] = analyzer.run(project, today=day(1)).insights
    holds[0] = False
    later = analyzer.run(project, today=TODAY)
    holds[0] = True
    back = analyzer.run(project, today=TODAY)
    holds[0] = False
    gone = analyzer.run(project, today=TODAY)

    [resolved] = later.resolved
    assert (resolved.id, resolved.status, resolved.resolved_by) == (found.id, "resolved", "auto")
    assert resolved.resolution and TODAY in resolved.resolution
    # found again the day it was resolved: the same insight re-opened, not a second one
    assert back.created == 0 and [i.id for i in back.insights] == [found.id] and back.insights[0].status == "open"
    assert back.insights[0].resolved_by is None
    assert [i.id for i in gone.resolved] == [found.id]
    assert [i.id for i in graph.list_insights(project)] == [found.id]


def test_a_user_resolution_is_not_reopened_and_acknowledged_insights_stay(
    graph: FalkorFlowGraph, shop: Shop, clock: Clock
) -> None:
    holds = [True]
    analyzer = Analyzer(graph, graph, clock=clock, options=AnalyzerOptions(rules=(_toggle(holds),)))  # type: ignore[arg-type]
    project = shop.project.id
    [found] = analyzer.run(project, today=day(1)).insights
    analyzer.acknowledge(project, found.id)

    holds[0] = False
    assert analyzer.run(project, today=TODAY).resolved == []  # acknowledged: someone is on it
    analyzer.resolve(project, found.id)
    assert graph.find_insight(project, found.id).resolved_by == "user"


# --------------------------------------------------------------------------------------------------
# thresholds from the config


def test_thresholds_from_the_config_change_what_the_rules_find(
    graph: FalkorFlowGraph, shop: Shop, clock: Clock
) -> None:
    config = PerceoConfig.model_validate(
        {"analyzer": {"thresholds": {"coverageMinUsers": 5000}, "anomaly": {"zThreshold": 40}}}
    )
    options = AnalyzerOptions.from_config(config.analyzer)
    assert options.thresholds.coverage_min_users == 5000 and options.detector.z_threshold == 40

    strict = Analyzer(graph, graph, clock=clock, options=options).snapshot(shop.project.id)
    default = Analyzer(graph, graph, clock=clock).run(shop.project.id)

    assert "coverage-gap" in {i.type for i in default.insights}
    assert len(strict.anomalies) < len(default.anomalies)
    from perceo.analyzer.rules import coverage_gaps

    assert coverage_gaps(strict, options.thresholds) == []


@pytest.mark.parametrize(
    ("analyzer_section", "named"),
    [
        ({"thresholds": {"prodDrop": 2}}, "analyzer.thresholds.prodDrop"),
        ({"anomaly": {"zThreshold": "high"}}, "analyzer.anomaly.zThreshold"),
        ({"thresholds": {"minSesions": 10}}, "analyzer.thresholds.minSesions"),
        ({"thresholds": {"testsFailRate": 0.95}}, "testsFailRate must be below testsPassRate"),
    ],
)
def test_a_bad_threshold_exits_2_naming_the_key(
    tmp_path: Path, analyzer_section: dict[str, object], named: str
) -> None:
    import io
    import json

    from perceo_cli.context import AppContext
    from perceo_cli.main import main
    from perceo_cli.output import Output

    (tmp_path / ".perceo").mkdir()
    config = {"project": {"id": "p-thresholds"}, "analyzer": analyzer_section}
    (tmp_path / ".perceo" / "config.json").write_text(json.dumps(config))
    out, err = io.StringIO(), io.StringIO()

    code = main(["analyze", "insights"], context=AppContext(output=Output(out, err), project_dir=tmp_path))

    assert code == 2 and named in err.getvalue() and "Traceback" not in err.getvalue()
