"""Email alerts through SES (moto's SES in this process): the message reaches moto with the insight, an unverified
sender fails at once with SES's reason while the signed webhook still gets the insight, throttling is retried with
backoff, and each (rule, insight, severity) is mailed once (claims in real Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import httpx
import pytest
import redis
from analyzer_kit import SECRET, Receiver
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from perceo.analyzer.alertrules import AlertRule
from perceo.analyzer.alerts import AlertSender, Channel, EmailError, RedisSentAlerts, SesEmailSender, check_channel
from perceo.errors import ValidationFailed
from perceo.models import Insight

REGION = "us-east-1"
SENDER = "alerts@shop.example"


@pytest.fixture
def ses() -> Iterator[Any]:
    with mock_aws():
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        yield boto3.client("sesv2", region_name=REGION)


def _sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def _insight(project: str) -> Insight:
    return Insight(project_id=project, flow_id="f1", type="regression", severity="critical",
                   title="Checkout: success rate fell 42%", message="47% completed.", suggested_action="Check aaaa.",
                   subject="regression:f1:production", day="2026-02-25")  # fmt: skip


def _sender(redis_client: redis.Redis, email: Any, sleeps: list[float]) -> AlertSender:
    return AlertSender(http=httpx.Client(), sent=RedisSentAlerts(redis_client, ttl_s=60), email=email,
                       sleep=sleeps.append, jitter=lambda: 0.0)  # fmt: skip


def test_an_email_rule_mails_the_insight_once(ses: Any, redis_client: redis.Redis) -> None:
    project = f"p-{uuid.uuid4().hex[:10]}"
    channel = Channel("oncall", "email", recipients=("ops@shop.example", "cto@shop.example"), sender=SENDER)
    rule = AlertRule(project_id=project, name="oncall", channel="oncall")
    sender = _sender(redis_client, SesEmailSender(lambda: ses), [])
    insight = _insight(project)

    [first] = sender.deliver([insight], [rule], {"oncall": channel})
    [again] = sender.deliver([insight], [rule], {"oncall": channel})

    assert (first.status, first.attempts) == ("delivered", 1) and again.status == "duplicate"
    [mail] = _sent()
    assert mail.destinations["ToAddresses"] == ["ops@shop.example", "cto@shop.example"] and mail.source == SENDER
    assert mail.subject == "[Perceo CRITICAL] Checkout: success rate fell 42%"
    assert "What to do: Check aaaa." in mail.body and project in mail.body


def test_an_unverified_sender_fails_with_the_reason_and_the_webhook_still_gets_it(
    ses: Any, redis_client: redis.Redis, receivers: dict[str, Receiver]
) -> None:
    project = f"p-{uuid.uuid4().hex[:10]}"
    channels = {
        "mail": Channel("mail", "email", recipients=("ops@shop.example",), sender="nobody@unverified.example"),
        "hook": Channel("hook", "webhook", receivers["webhook"].url, SECRET),
    }
    rules = [AlertRule(project_id=project, name=n, channel=n) for n in ("mail", "hook")]
    sleeps: list[float] = []
    insight = _insight(project)

    mail, hook = _sender(redis_client, SesEmailSender(lambda: ses), sleeps).deliver([insight], rules, channels)

    assert (mail.status, mail.reason, mail.attempts) == ("failed", "MessageRejected", 1)  # not retried
    assert sleeps == [] and _sent() == []
    assert hook.status == "delivered" and len(receivers["webhook"].received) == 1
    # the failed one was released: it is tried again next time, the delivered one is not
    again = _sender(redis_client, SesEmailSender(lambda: ses), sleeps).deliver([insight], rules, channels)
    assert [d.status for d in again] == ["failed", "duplicate"]


class _Throttled:
    """Fault injection: SES answers TooManyRequests `times` times, then moto's SES answers (it never throttles)."""

    def __init__(self, real: Any, times: int) -> None:
        self.real, self.times = real, times

    def send_email(self, **request: Any) -> Any:
        if self.times > 0:
            self.times -= 1
            error = {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"},
                     "ResponseMetadata": {"HTTPStatusCode": 429}}  # fmt: skip
            raise ClientError(error, "SendEmail")  # type: ignore[arg-type]
        return self.real.send_email(**request)


def test_throttling_is_retried_with_backoff_then_given_up(ses: Any, redis_client: redis.Redis) -> None:
    project = f"p-{uuid.uuid4().hex[:10]}"
    channel = Channel("oncall", "email", recipients=("ops@shop.example",), sender=SENDER)
    rule = AlertRule(project_id=project, name="oncall", channel="oncall")
    sleeps: list[float] = []

    throttled_twice = _Throttled(ses, 2)
    [ok] = _sender(redis_client, SesEmailSender(lambda: throttled_twice), sleeps).deliver(
        [_insight(project)], [rule], {"oncall": channel}
    )
    assert (ok.status, ok.attempts) == ("delivered", 3) and sleeps == [0.5, 1.0] and len(_sent()) == 1

    always = _Throttled(ses, 99)
    other = _insight(project).model_copy(update={"id": uuid.uuid4().hex})
    [failed] = _sender(redis_client, SesEmailSender(lambda: always), []).deliver([other], [rule], {"oncall": channel})
    assert (failed.status, failed.reason, failed.attempts) == ("failed", "TooManyRequestsException", 4)


def test_no_region_or_credentials_is_a_failed_delivery_not_a_crash() -> None:
    def no_client() -> Any:
        from botocore.exceptions import NoRegionError

        raise NoRegionError

    with pytest.raises(EmailError) as caught:
        SesEmailSender(no_client).send(SENDER, ["a@b.example"], "s", "t")
    assert caught.value.reason == "NoRegionError"


@pytest.mark.parametrize(
    ("recipients", "sender", "field"),
    [((), SENDER, "recipients"), (("not-an-address",), SENDER, "recipients"), (("a@b.example",), None, "sender")],
)
def test_a_bad_email_channel_is_refused(recipients: Sequence[str], sender: str | None, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_channel(Channel("m", "email", recipients=tuple(recipients), sender=sender))
    assert caught.value.details["field"] == field
