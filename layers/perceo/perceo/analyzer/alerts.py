"""Alert delivery: insights that match a project's alert rules, to Slack incoming webhooks and to signed webhooks.

**Signed webhooks.** Each POST carries the JSON body and two headers:

    X-Perceo-Timestamp: <epoch seconds>
    X-Perceo-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

A receiver recomputes the HMAC over the raw bytes it received, compares it in constant time
(`hmac.compare_digest`) and rejects a timestamp more than 5 minutes away from its clock (a replayed request).
`verify_signature` is that check.

**Delivery.** Every (rule, insight) pair is sent once per severity (an insight that escalates alerts again): the
`SentAlerts` store claims the pair before sending and releases it when the delivery fails, so a later run retries
it. Each request is retried on connection errors, 429 and 5xx with exponential backoff (a `Retry-After` is
honoured, capped), at most `attempts` times; then the delivery is recorded as failed with the reason (the HTTP
status or the error type, never the URL: a Slack webhook URL is a secret). One channel failing never stops the
others. Channel URLs and signing secrets come from the secrets store and are never logged or printed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit

import httpx

from perceo.analyzer.alertrules import AlertRule
from perceo.errors import NotFoundError, ValidationFailed
from perceo.models import Insight
from perceo.models.common import Model
from perceo.retry import Backoff, is_retryable_status, retry_after_seconds

if TYPE_CHECKING:
    from perceo.analyzer.channels import ChannelStore
    from perceo.graph.alerts import AlertRuleStore
    from perceo.redis_client import RedisClient

log = logging.getLogger(__name__)

ChannelKind = Literal["slack", "webhook"]
DeliveryStatus = Literal["delivered", "failed", "duplicate"]

SIGNATURE_HEADER = "X-Perceo-Signature"
TIMESTAMP_HEADER = "X-Perceo-Timestamp"
#: A signed request older (or newer) than this is refused by `verify_signature`.
MAX_SKEW_S = 300
DEFAULT_ATTEMPTS = 4
REQUEST_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
#: How long a sent (rule, insight, severity) is remembered.
SENT_TTL_S = 90 * 86_400


@dataclass(frozen=True)
class Channel:
    """A resolved channel (from the secrets store). `repr` never shows the URL or the secret."""

    name: str
    kind: ChannelKind
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)


class AlertRuleNotFoundError(NotFoundError):
    code = "alert_rule_not_found"


class Delivery(Model):
    rule_id: str
    insight_id: str
    channel: str
    status: DeliveryStatus
    attempts: int = 0
    #: Why it failed: `HTTP 503`, `ConnectError`, `unknown channel`… (never a URL or a secret).
    reason: str | None = None


class SentAlerts(Protocol):
    def claim(self, project_id: str, key: str) -> bool:
        """True when `key` was not sent yet (and is now claimed), False for a duplicate."""

    def release(self, project_id: str, key: str) -> None:
        """Forget a claim whose delivery failed, so that the next run retries it."""


class RedisSentAlerts:
    def __init__(self, client: RedisClient, *, ttl_s: int = SENT_TTL_S) -> None:
        self._client = client
        self._ttl_s = ttl_s

    @staticmethod
    def _key(project_id: str, key: str) -> str:
        return f"perceo:alerts:sent:{project_id}:{key}"

    def claim(self, project_id: str, key: str) -> bool:
        return bool(self._client.set(self._key(project_id, key), "1", nx=True, ex=self._ttl_s))

    def release(self, project_id: str, key: str) -> None:
        self._client.delete(self._key(project_id, key))


class MemorySentAlerts:
    def __init__(self) -> None:
        self.sent: set[tuple[str, str]] = set()

    def claim(self, project_id: str, key: str) -> bool:
        if (project_id, key) in self.sent:
            return False
        self.sent.add((project_id, key))
        return True

    def release(self, project_id: str, key: str) -> None:
        self.sent.discard((project_id, key))


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Perceo-Signature` value of `body` sent at `timestamp` (epoch seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def verify_signature(secret: str, timestamp: str, signature: str, body: bytes, *, now: float | None = None) -> bool:
    """What a receiver does: the signature matches the raw body and the timestamp is within `MAX_SKEW_S`."""
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent_at) > MAX_SKEW_S:
        return False
    return hmac.compare_digest(sign(secret, sent_at, body), signature)


def slack_payload(insight: Insight) -> dict[str, Any]:
    action = f"\n→ {insight.suggested_action}" if insight.suggested_action else ""
    text = (
        f"*[{insight.severity.upper()}] {insight.title}*\n{insight.message}{action}\n`{insight.type}` · `{insight.id}`"
    )
    return {"text": text, "mrkdwn": True}


def webhook_payload(insight: Insight) -> dict[str, Any]:
    return {"event": "analyzer.insight.generated", "projectId": insight.project_id,
            "insight": insight.model_dump(mode="json")}  # fmt: skip


@dataclass
class AlertSender:
    http: httpx.Client
    sent: SentAlerts
    attempts: int = DEFAULT_ATTEMPTS
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=1.0, cap_s=30.0, retry_after_cap_s=60.0))
    sleep: Callable[[float], None] = time.sleep
    clock_s: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random

    def deliver(
        self, insights: Sequence[Insight], rules: Sequence[AlertRule], channels: dict[str, Channel]
    ) -> list[Delivery]:
        """Send every insight each matching rule asks for; one Delivery per (rule, insight)."""
        out: list[Delivery] = []
        for rule in rules:
            for insight in insights:
                if rule.matches(insight):
                    out.append(self._one(rule, insight, channels.get(rule.channel)))
        return out

    def _one(self, rule: AlertRule, insight: Insight, channel: Channel | None) -> Delivery:
        base = {"rule_id": rule.id, "insight_id": insight.id, "channel": rule.channel}
        if channel is None:
            return Delivery(**base, status="failed", reason="unknown channel")
        key = f"{rule.id}:{insight.id}:{insight.severity}"
        if not self.sent.claim(rule.project_id, key):
            return Delivery(**base, status="duplicate")
        attempts, reason = self.post(channel, insight)
        if reason is None:
            return Delivery(**base, status="delivered", attempts=attempts)
        self.sent.release(rule.project_id, key)
        log.warning("alert %s for insight %s to channel %s failed: %s", rule.id, insight.id, channel.name, reason)
        return Delivery(**base, status="failed", attempts=attempts, reason=reason)

    def post(self, channel: Channel, insight: Insight) -> tuple[int, str | None]:
        """Send one insight to one channel with retries: (attempts, None) or (attempts, why it failed)."""
        payload = slack_payload(insight) if channel.kind == "slack" else webhook_payload(insight)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        reason: str | None = None
        for attempt in range(1, self.attempts + 1):
            headers = {"Content-Type": "application/json", "User-Agent": "perceo-alerts"}
            if channel.kind == "webhook" and channel.secret:
                stamp = int(self.clock_s())
                headers[TIMESTAMP_HEADER] = str(stamp)
                headers[SIGNATURE_HEADER] = sign(channel.secret, stamp, body)
            retry_after: float | None = None
            try:
                response = self.http.post(channel.url, content=body, headers=headers, timeout=REQUEST_TIMEOUT)
            except httpx.TransportError as error:
                reason = type(error).__name__
            else:
                if response.is_success:
                    return attempt, None
                reason = f"HTTP {response.status_code}"
                if not is_retryable_status(response.status_code):
                    return attempt, reason
                retry_after = retry_after_seconds(response.headers)
            if attempt < self.attempts:
                self.sleep(self.backoff.delay(attempt - 1, retry_after_s=retry_after, random=self.jitter))
        return self.attempts, reason


def check_channel_url(kind: ChannelKind, url: str) -> None:
    """HTTPS only (plain HTTP to this machine is allowed, for local receivers). ValidationFailed otherwise; the
    message never repeats the URL (it may be a secret)."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or not (parts.scheme == "https" or local):
        raise ValidationFailed(
            f"the {kind} URL must be an https:// URL (http:// only to this machine)", details={"field": "url"}
        )


@dataclass
class Alerts:
    """A project's alert rules (in the graph) and channels (in a secrets store), and sending to them."""

    rules: AlertRuleStore
    channels: ChannelStore
    sender: AlertSender

    def add(self, rule: AlertRule, channel: Channel) -> AlertRule:
        check_channel_url(channel.kind, channel.url)
        if channel.kind == "webhook" and not channel.secret:
            raise ValidationFailed("a webhook channel needs a signing secret", details={"field": "secret"})
        self.channels.put(rule.project_id, channel)
        return self.rules.save_alert_rule(rule.project_id, rule)

    def rules_of(self, project_id: str) -> list[AlertRule]:
        return self.rules.list_alert_rules(project_id)

    def remove(self, project_id: str, name: str) -> None:
        rules = {r.name: r for r in self.rules.list_alert_rules(project_id)}
        if name not in rules:
            raise AlertRuleNotFoundError(f"no alert rule {name!r} in this project", details={"name": name})
        self.rules.delete_alert_rule(project_id, name)
        if all(r.channel != rules[name].channel for r in rules.values() if r.name != name):
            self.channels.delete(project_id, rules[name].channel)

    def test(self, project_id: str, name: str) -> Delivery:
        """Send a sample insight to the rule's channel now (whatever the rule's filter; never deduplicated)."""
        rule = next((r for r in self.rules.list_alert_rules(project_id) if r.name == name), None)
        if rule is None:
            raise AlertRuleNotFoundError(f"no alert rule {name!r} in this project", details={"name": name})
        sample = Insight(project_id=project_id, type="coverage-gap", severity="info", subject="test:alert",
                         day="1970-01-01", title=f"Test alert from Perceo (rule {name})",
                         message="This is a test: the alert channel works.")  # fmt: skip
        channel = self.channels.get(project_id, rule.channel)
        base = {"rule_id": rule.id, "insight_id": sample.id, "channel": rule.channel}
        if channel is None:
            return Delivery(**base, status="failed", reason="unknown channel")
        attempts, reason = self.sender.post(channel, sample)
        return Delivery(**base, status="failed" if reason else "delivered", attempts=attempts, reason=reason)

    def send(self, project_id: str, insights: Sequence[Insight]) -> list[Delivery]:
        rules = self.rules.list_alert_rules(project_id)
        if not rules or not insights:
            return []
        names = {r.channel for r in rules}
        channels = {n: c for n in names if (c := self.channels.get(project_id, n)) is not None}
        return self.sender.deliver(insights, rules, channels)
