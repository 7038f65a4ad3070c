"""Alert delivery to real HTTP receivers on loopback: the generic webhook checks the HMAC signature over the raw
body, a Slack-style receiver reads the text; retries with backoff, failures recorded with a reason, other channels
still delivered, and each (rule, insight, severity) sent once (claims in real Redis)."""

from __future__ import annotations

import httpx
import pytest
import redis
from analyzer_kit import SECRET, Receiver

from perceo.analyzer.alertrules import AlertRule
from perceo.analyzer.alerts import AlertSender, Channel, RedisSentAlerts, verify_signature
from perceo.models import Insight


@pytest.fixture
def sent(redis_client: redis.Redis) -> RedisSentAlerts:
    return RedisSentAlerts(redis_client, ttl_s=60)


def _insight(project: str, severity: str = "critical", **fields: object) -> Insight:
    values: dict[str, object] = {"project_id": project, "flow_id": "f1", "type": "regression", "severity": severity,
                                 "title": "Checkout: success rate fell 42%", "message": "47% completed.",
                                 "suggested_action": "Check commit aaaa.", "subject": "regression:f1:production",
                                 "day": "2026-02-25"}  # fmt: skip
    values.update(fields)
    return Insight.model_validate(values)


def _sender(sent: RedisSentAlerts, sleeps: list[float]) -> AlertSender:
    return AlertSender(http=httpx.Client(), sent=sent, sleep=sleeps.append, jitter=lambda: 0.0)


def _project() -> str:
    import uuid

    return f"p-{uuid.uuid4().hex[:10]}"


def test_signed_webhook_and_slack_receive_the_insight_once(
    receivers: dict[str, Receiver], sent: RedisSentAlerts
) -> None:
    project = _project()
    channels = {"ops": Channel("ops", "webhook", receivers["webhook"].url, SECRET),
                "team": Channel("team", "slack", receivers["slack"].url)}  # fmt: skip
    rules = [AlertRule(project_id=project, name="regressions", types=["regression"], channel="ops"),
             AlertRule(project_id=project, name="all critical", min_severity="critical", channel="team")]  # fmt: skip
    insight = _insight(project)
    sender = _sender(sent, [])

    first = sender.deliver([insight], rules, channels)
    again = sender.deliver([insight], rules, channels)

    assert [d.status for d in first] == ["delivered", "delivered"]
    assert [d.status for d in again] == ["duplicate", "duplicate"]
    [hook] = receivers["webhook"].received
    assert hook["event"] == "analyzer.insight.generated" and hook["insight"]["id"] == insight.id  # type: ignore[index]
    assert receivers["webhook"].refused == 0
    [slack] = receivers["slack"].received
    assert "[CRITICAL] Checkout: success rate fell 42%" in str(slack["text"])

    escalated = sender.deliver([insight.model_copy(update={"severity": "high"})], rules[:1], channels)
    assert [d.status for d in escalated] == ["delivered"]  # a new severity alerts again


def test_a_wrong_secret_is_refused_by_the_receiver(receivers: dict[str, Receiver], sent: RedisSentAlerts) -> None:
    project = _project()
    channels = {"ops": Channel("ops", "webhook", receivers["webhook"].url, "not-the-secret")}
    rule = AlertRule(project_id=project, name="r", channel="ops")

    [delivery] = _sender(sent, []).deliver([_insight(project)], [rule], channels)

    assert (delivery.status, delivery.reason, delivery.attempts) == ("failed", "HTTP 401", 1)  # 4xx: not retried
    assert receivers["webhook"].refused == 1 and receivers["webhook"].received == []


def test_retries_with_backoff_then_records_the_failure_and_other_channels_still_get_it(
    receivers: dict[str, Receiver], sent: RedisSentAlerts
) -> None:
    project = _project()
    receivers["webhook"].statuses = [503, 503]  # down twice, then up
    channels = {
        "ops": Channel("ops", "webhook", receivers["webhook"].url, SECRET),
        "gone": Channel("gone", "webhook", "http://127.0.0.1:9/hook", SECRET),  # nothing listens on port 9
        "team": Channel("team", "slack", receivers["slack"].url),
    }
    rules = [AlertRule(project_id=project, name=n, channel=n) for n in ("ops", "gone", "team", "nowhere")]
    sleeps: list[float] = []

    ops, gone, team, nowhere = _sender(sent, sleeps).deliver([_insight(project)], rules, channels)

    assert (ops.status, ops.attempts) == ("delivered", 3)
    assert (gone.status, gone.attempts, gone.reason) == ("failed", 4, "ConnectError")
    assert "127.0.0.1:9" not in (gone.reason or "")
    assert team.status == "delivered"
    assert (nowhere.status, nowhere.reason) == ("failed", "unknown channel")
    assert sleeps[:2] == [0.5, 1.0]  # equal jitter at 0: half of 1 s, then half of 2 s
    retried = _sender(sent, []).deliver([_insight(project)], rules[1:2], channels)
    assert retried[0].status == "failed"  # released after failing: tried again, not a duplicate


def test_rules_match_their_project_types_and_severity() -> None:
    rule = AlertRule(project_id="p1", name="r", types=["performance"], min_severity="high", channel="c")

    assert rule.matches(_insight("p1", "high", type="performance"))
    assert not rule.matches(_insight("p1", "medium", type="performance"))
    assert not rule.matches(_insight("p1", "critical", type="regression"))
    assert not rule.matches(_insight("p2", "critical", type="performance"))


def test_signatures_expire_and_depend_on_every_byte() -> None:
    from perceo.analyzer.alerts import sign

    body = b'{"a":1}'
    good = sign(SECRET, 1_000_000, body)

    assert verify_signature(SECRET, "1000000", good, body, now=1_000_100)
    assert not verify_signature(SECRET, "1000000", good, b'{"a":2}', now=1_000_100)
    assert not verify_signature(SECRET, "1000000", good, body, now=1_000_000 + 301)
    assert not verify_signature(SECRET, "soon", good, body)
    assert repr(Channel("ops", "webhook", "https://hooks.example/secret-path", SECRET)).count("secret") == 0
