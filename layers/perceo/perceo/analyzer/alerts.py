"""Alert delivery: insights, anomalies and change analyses that match a project's alert rules, to Slack incoming
webhooks, to signed webhooks and to email (Amazon SES).

**Signed webhooks.** Each POST carries the JSON body and two headers:

    X-Perceo-Timestamp: <epoch seconds>
    X-Perceo-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

A receiver recomputes the HMAC over the raw bytes it received, compares it in constant time
(`hmac.compare_digest`) and rejects a timestamp more than 5 minutes away from its clock (a replayed request).
`verify_signature` is that check.

**Email.** An `email` channel sends a plain-text message through SES (`sesv2` `SendEmail`) from its sender
address to its recipients; throttling, 5xx and connection errors are retried like HTTP ones, any other SES error
(an unverified sender, a rejected message) fails at once with the SES error code as the reason.

**Delivery.** Every (rule, notice) pair is sent once (an insight once per severity: one that escalates alerts
again): the `SentAlerts` store claims the pair before sending and releases it when the delivery fails, so a later
run retries it. Each request is retried on connection errors, 429 and 5xx with exponential backoff (a `Retry-After`
is honoured, capped), at most `attempts` times; then the delivery is recorded as failed with the reason (the HTTP
status, the SES error code or the error type, never the URL: a Slack webhook URL is a secret). One channel failing
never stops the others. Channel URLs, signing secrets and recipients come from the secrets store and are never
logged or printed; every delivery is kept in the project's delivery log (`DeliveryLog`, the last 500).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator

from perceo.analyzer.alertrules import AlertRule, Notice, NoticeKind
from perceo.errors import NotFoundError, ValidationFailed
from perceo.models import Insight
from perceo.models.common import Model, now_ms
from perceo.models.vocab import InsightType, RiskLevel, Severity
from perceo.retry import Backoff, is_retryable_status, retry_after_seconds

if TYPE_CHECKING:
    import httpx

    from perceo.analyzer.channels import ChannelStore
    from perceo.graph.alerts import AlertRuleStore
    from perceo.models import FlowView
    from perceo.redis_client import RedisClient

log = logging.getLogger(__name__)

ChannelKind = Literal["slack", "webhook", "email"]
CHANNEL_KINDS: tuple[ChannelKind, ...] = ("slack", "webhook", "email")
DeliveryStatus = Literal["delivered", "failed", "duplicate"]

SIGNATURE_HEADER = "X-Perceo-Signature"
TIMESTAMP_HEADER = "X-Perceo-Timestamp"
#: A signed request older (or newer) than this is refused by `verify_signature`.
MAX_SKEW_S = 300
DEFAULT_ATTEMPTS = 4
#: httpx timeouts of one request (connect, read, write, pool), in seconds.
REQUEST_TIMEOUT_S = {"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 5.0}
#: How long a sent (rule, insight, severity) is remembered.
SENT_TTL_S = 90 * 86_400
#: Deliveries kept per project in the delivery log.
DELIVERY_LOG_SIZE = 500
MAX_RECIPIENTS = 50
_EMAIL = r"^[^@\s,;<>]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$"


@dataclass(frozen=True)
class Channel:
    """A resolved channel (from the secrets store). `repr` never shows the URL, the secret or the recipients."""

    name: str
    kind: ChannelKind
    url: str = field(default="", repr=False)
    secret: str | None = field(default=None, repr=False)
    #: email only: who gets it, and the (SES-verified) sender address.
    recipients: tuple[str, ...] = field(default=(), repr=False)
    sender: str | None = field(default=None, repr=False)

    def to_secret(self) -> dict[str, Any]:
        """What the secrets store keeps."""
        return {"kind": self.kind, "url": self.url or None, "secret": self.secret,
                "recipients": list(self.recipients), "sender": self.sender}  # fmt: skip

    @classmethod
    def from_secret(cls, name: str, data: Any) -> Channel | None:
        if not isinstance(data, dict) or data.get("kind") not in CHANNEL_KINDS:
            return None
        kind: ChannelKind = data["kind"]
        recipients = tuple(str(r) for r in data.get("recipients") or [] if isinstance(r, str))
        if kind == "email" and (not recipients or not data.get("sender")):
            return None
        if kind != "email" and not data.get("url"):
            return None
        secret = data.get("secret")
        sender = data.get("sender")
        return cls(name=name, kind=kind, url=str(data.get("url") or ""),
                   secret=secret if isinstance(secret, str) else None, recipients=recipients,
                   sender=sender if isinstance(sender, str) else None)  # fmt: skip

    def masked(self) -> dict[str, Any]:
        """What an answer may show: the kind, the URL's host, whether there is a secret, the recipients masked."""
        view: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.url:
            view["url"] = f"{urlsplit(self.url).scheme}://{urlsplit(self.url).hostname}/***"
        if self.kind == "webhook":
            view["signed"] = bool(self.secret)
        if self.kind == "email":
            view["recipients"] = [_mask_address(r) for r in self.recipients]
            view["sender"] = _mask_address(self.sender or "")
        return view


def _mask_address(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


class AlertRuleNotFoundError(NotFoundError):
    code = "alert_rule_not_found"


class Delivery(Model):
    rule_id: str
    #: The insight's id; for an anomaly or an analysis, its key (`anomaly:<flow>:<metric>:<at>`, `analysis:<id>`).
    insight_id: str
    channel: str
    status: DeliveryStatus
    attempts: int = 0
    #: Why it failed: `HTTP 503`, `ConnectError`, `unknown channel`, `MessageRejected`… (never a URL or a secret).
    reason: str | None = None
    kind: NoticeKind = "insight"
    rule: str | None = None
    at: int = Field(default_factory=now_ms)


class DeliveryList(Model):
    """`GET /analyzer/alerts/deliveries`: the newest first."""

    deliveries: list[Delivery] = Field(default_factory=list)


class DeliveryLog(Protocol):
    def record(self, project_id: str, deliveries: Sequence[Delivery]) -> None: ...
    def recent(self, project_id: str, limit: int = 100) -> list[Delivery]: ...


class RedisDeliveryLog:
    """The last `DELIVERY_LOG_SIZE` deliveries of each project: a capped Redis list `perceo:alerts:log:<project>`."""

    def __init__(self, client: RedisClient, *, size: int = DELIVERY_LOG_SIZE) -> None:
        self._client = client
        self._size = size

    @staticmethod
    def _key(project_id: str) -> str:
        return f"perceo:alerts:log:{project_id}"

    def record(self, project_id: str, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        pipe = self._client.pipeline()
        pipe.lpush(self._key(project_id), *(d.model_dump_json() for d in deliveries))
        pipe.ltrim(self._key(project_id), 0, self._size - 1)
        pipe.execute()

    def recent(self, project_id: str, limit: int = 100) -> list[Delivery]:
        raw = self._client.lrange(self._key(project_id), 0, max(0, min(limit, self._size) - 1))
        return [Delivery.model_validate_json(item) for item in raw]


class MemoryDeliveryLog:
    def __init__(self) -> None:
        self.logged: dict[str, list[Delivery]] = {}

    def record(self, project_id: str, deliveries: Sequence[Delivery]) -> None:
        self.logged.setdefault(project_id, [])[:0] = list(reversed(deliveries))

    def recent(self, project_id: str, limit: int = 100) -> list[Delivery]:
        return self.logged.get(project_id, [])[:limit]


class EmailError(Exception):
    """An email could not be sent: `reason` is the provider's error code or the error type (never an address)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class EmailSender(Protocol):
    def send(self, sender: str, recipients: Sequence[str], subject: str, text: str) -> None:
        """Send or raise EmailError."""


#: SES error codes worth another attempt.
_SES_RETRYABLE = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException",
                            "ServiceUnavailable", "InternalFailure", "InternalServiceError"})  # fmt: skip


class SesEmailSender:
    """Amazon SES v2 (`send_email`). `client` makes the boto3 `sesv2` client (the composition root's), called at the
    first email: a process that never sends one never needs AWS credentials or a region."""

    def __init__(self, client: Callable[[], Any]) -> None:
        self._client = client

    def send(self, sender: str, recipients: Sequence[str], subject: str, text: str) -> None:
        import botocore.exceptions

        try:
            self._client().send_email(
                FromEmailAddress=sender,
                Destination={"ToAddresses": list(recipients)},
                Content={"Simple": {"Subject": {"Data": subject[:200], "Charset": "UTF-8"},
                                    "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}}},
            )  # fmt: skip
        except botocore.exceptions.ClientError as error:
            code = str(error.response.get("Error", {}).get("Code") or "ClientError")
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            raise EmailError(code, retryable=code in _SES_RETRYABLE or status >= 500) from None
        except botocore.exceptions.BotoCoreError as error:  # connection errors, timeouts
            raise EmailError(type(error).__name__, retryable=True) from None


class NoEmailSender:
    """Where no email service is configured: every email fails with that reason."""

    def send(self, sender: str, recipients: Sequence[str], subject: str, text: str) -> None:
        raise EmailError("no email service configured", retryable=False)


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


def _as_notice(item: Insight | Notice) -> Notice:
    return item if isinstance(item, Notice) else Notice.of_insight(item)


def slack_payload(item: Insight | Notice) -> dict[str, Any]:
    notice = _as_notice(item)
    action = f"\n→ {notice.suggested_action}" if notice.suggested_action else ""
    tag = notice.type or notice.kind
    ref = notice.data.get("id") or notice.key
    text = f"*[{notice.severity.upper()}] {notice.title}*\n{notice.message}{action}\n`{tag}` · `{ref}`"
    return {"text": text, "mrkdwn": True}


def webhook_payload(item: Insight | Notice) -> dict[str, Any]:
    notice = _as_notice(item)
    return {"event": notice.event, "projectId": notice.project_id, notice.kind: notice.data}


def email_content(item: Insight | Notice) -> tuple[str, str]:
    """(subject, plain text body)."""
    notice = _as_notice(item)
    subject = f"[Perceo {notice.severity.upper()}] {notice.title}"
    lines = [notice.title, "", notice.message]
    if notice.suggested_action:
        lines += ["", f"What to do: {notice.suggested_action}"]
    lines += ["", f"{notice.type or notice.kind} · {notice.data.get('id') or notice.key} · project {notice.project_id}"]
    return subject, "\n".join(lines)


@dataclass
class AlertSender:
    http: httpx.Client
    sent: SentAlerts
    email: EmailSender = field(default_factory=NoEmailSender)
    attempts: int = DEFAULT_ATTEMPTS
    backoff: Backoff = field(default_factory=lambda: Backoff(base_s=1.0, cap_s=30.0, retry_after_cap_s=60.0))
    sleep: Callable[[float], None] = time.sleep
    clock_s: Callable[[], float] = time.time
    jitter: Callable[[], float] = random.random

    def deliver(
        self, items: Sequence[Insight | Notice], rules: Sequence[AlertRule], channels: dict[str, Channel]
    ) -> list[Delivery]:
        """Send every insight (or notice) each matching rule asks for; one Delivery per (rule, item)."""
        notices = [_as_notice(item) for item in items]
        out: list[Delivery] = []
        for rule in rules:
            for notice in notices:
                if rule.matches(notice):
                    out.append(self._one(rule, notice, channels.get(rule.channel)))
        return out

    def _one(self, rule: AlertRule, notice: Notice, channel: Channel | None) -> Delivery:
        ref = str(notice.data.get("id")) if notice.kind == "insight" else notice.key
        base = {"rule_id": rule.id, "insight_id": ref, "channel": rule.channel, "kind": notice.kind, "rule": rule.name}
        if channel is None:
            return Delivery(**base, status="failed", reason="unknown channel")
        key = f"{rule.id}:{notice.key}"
        if not self.sent.claim(rule.project_id, key):
            return Delivery(**base, status="duplicate")
        attempts, reason = self.post(channel, notice)
        if reason is None:
            return Delivery(**base, status="delivered", attempts=attempts)
        self.sent.release(rule.project_id, key)
        log.warning("alert %s for %s to channel %s failed: %s", rule.id, ref, channel.name, reason)
        return Delivery(**base, status="failed", attempts=attempts, reason=reason)

    def post(self, channel: Channel, item: Insight | Notice) -> tuple[int, str | None]:
        """Send one item to one channel with retries: (attempts, None) or (attempts, why it failed)."""
        if channel.kind == "email":
            return self._email(channel, item)
        import httpx  # here: the API's analyzer routes import this module and most never send

        timeout = httpx.Timeout(**REQUEST_TIMEOUT_S)
        payload = slack_payload(item) if channel.kind == "slack" else webhook_payload(item)
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
                response = self.http.post(channel.url, content=body, headers=headers, timeout=timeout)
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

    def _email(self, channel: Channel, item: Insight | Notice) -> tuple[int, str | None]:
        subject, text = email_content(item)
        reason: str | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                self.email.send(channel.sender or "", channel.recipients, subject, text)
            except EmailError as error:
                reason = error.reason
                if not error.retryable:
                    return attempt, reason
            else:
                return attempt, None
            if attempt < self.attempts:
                self.sleep(self.backoff.delay(attempt - 1, retry_after_s=None, random=self.jitter))
        return self.attempts, reason


def check_channel(channel: Channel) -> None:
    """A channel that can be sent to: an https URL (slack, webhook), a signing secret (webhook), valid
    recipients and sender (email). ValidationFailed otherwise, never repeating a URL or a secret."""
    import re

    if channel.kind == "email":
        if not channel.recipients or len(channel.recipients) > MAX_RECIPIENTS:
            raise ValidationFailed(
                f"an email channel needs 1 to {MAX_RECIPIENTS} recipients", details={"field": "recipients"}
            )
        bad = [r for r in channel.recipients if not re.fullmatch(_EMAIL, r)]
        if bad:
            raise ValidationFailed(f"not an email address: {bad[0]!r}", details={"field": "recipients"})
        if not channel.sender or not re.fullmatch(_EMAIL, channel.sender):
            raise ValidationFailed("an email channel needs a sender address (verified in SES)",
                                   details={"field": "sender"})  # fmt: skip
        return
    check_channel_url(channel.kind, channel.url)
    if channel.kind == "webhook" and not channel.secret:
        raise ValidationFailed("a webhook channel needs a signing secret", details={"field": "secret"})


def check_channel_url(kind: ChannelKind, url: str) -> None:
    """HTTPS only (plain HTTP to this machine is allowed, for local receivers). ValidationFailed otherwise; the
    message never repeats the URL (it may be a secret)."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or not (parts.scheme == "https" or local):
        raise ValidationFailed(
            f"the {kind} URL must be an https:// URL (http:// only to this machine)", details={"field": "url"}
        )


class FlowLookup(Protocol):
    def list_flows(self, project_id: str, *, include_steps: bool = False) -> list[FlowView]: ...


class AlertRuleView(Model):
    """A rule as an answer shows it: its channel masked (kind, URL host, masked recipients; never a secret)."""

    rule: AlertRule
    channel: dict[str, Any] | None = None


class AlertRuleList(Model):
    rules: list[AlertRuleView] = Field(default_factory=list)


@dataclass
class Alerts:
    """A project's alert rules (in the graph) and channels (in a secrets store), sending to them, and the log of
    what was sent."""

    rules: AlertRuleStore
    channels: ChannelStore
    sender: AlertSender
    flows: FlowLookup | None = None
    log: DeliveryLog = field(default_factory=MemoryDeliveryLog)

    def add(self, rule: AlertRule, channel: Channel) -> AlertRule:
        """Check the rule (its flows exist: named by name or id) and the channel, keep the channel's secrets, then
        the rule. Nothing is written when anything is wrong."""
        check_channel(channel)
        rule = self._resolve_flows(rule)
        self.channels.put(rule.project_id, channel)
        return self.rules.save_alert_rule(rule.project_id, rule)

    def _resolve_flows(self, rule: AlertRule) -> AlertRule:
        if not rule.flows:
            return rule
        if self.flows is None:
            raise ValidationFailed("flow filters need the flow graph", details={"field": "flows"})
        known = self.flows.list_flows(rule.project_id)
        by_id = {f.id: f.id for f in known}
        by_name = {f.name.casefold(): f.id for f in known}
        ids: list[str] = []
        for ref in rule.flows:
            found = by_id.get(ref) or by_name.get(ref.casefold())
            if found is None:
                raise ValidationFailed(f"unknown flow {ref!r}: no flow of that name or id in this project",
                                       details={"field": "flows", "flow": ref})  # fmt: skip
            if found not in ids:
                ids.append(found)
        return rule.model_copy(update={"flows": ids})

    def rules_of(self, project_id: str) -> list[AlertRule]:
        return self.rules.list_alert_rules(project_id)

    def views(self, project_id: str) -> list[AlertRuleView]:
        out = []
        for rule in self.rules.list_alert_rules(project_id):
            channel = self.channels.get(project_id, rule.channel)
            out.append(AlertRuleView(rule=rule, channel=None if channel is None else channel.masked()))
        return out

    def remove(self, project_id: str, name: str) -> None:
        rules = {r.name: r for r in self.rules.list_alert_rules(project_id)}
        if name not in rules:
            raise AlertRuleNotFoundError(f"no alert rule {name!r} in this project", details={"name": name})
        self.rules.delete_alert_rule(project_id, name)
        if all(r.channel != rules[name].channel for r in rules.values() if r.name != name):
            self.channels.delete(project_id, rules[name].channel)

    def test(self, project_id: str, name: str) -> Delivery:
        """Send a sample insight to the rule's channel now (whatever the rule's filter; never deduplicated; two
        attempts at most)."""
        rule = next((r for r in self.rules.list_alert_rules(project_id) if r.name == name), None)
        if rule is None:
            raise AlertRuleNotFoundError(f"no alert rule {name!r} in this project", details={"name": name})
        sample = Insight(project_id=project_id, type="coverage-gap", severity="info", subject="test:alert",
                         day="1970-01-01", title=f"Test alert from Perceo (rule {name})",
                         message="This is a test: the alert channel works.")  # fmt: skip
        channel = self.channels.get(project_id, rule.channel)
        base = {"rule_id": rule.id, "insight_id": sample.id, "channel": rule.channel, "rule": rule.name}
        if channel is None:
            delivery = Delivery(**base, status="failed", reason="unknown channel")
        else:
            # two attempts at most: an answer within the API's time limit (29 s) even for a host that never answers
            attempts, reason = dataclasses.replace(self.sender, attempts=min(2, self.sender.attempts)).post(
                channel, sample
            )
            delivery = Delivery(**base, status="failed" if reason else "delivered", attempts=attempts, reason=reason)
        self.log.record(project_id, [delivery])
        return delivery

    def send(self, project_id: str, items: Sequence[Insight | Notice]) -> list[Delivery]:
        """Deliver what the project's rules ask for, and log every delivery that was tried (not duplicates)."""
        rules = self.rules.list_alert_rules(project_id)
        if not rules or not items:
            return []
        names = {r.channel for r in rules}
        channels = {n: c for n in names if (c := self.channels.get(project_id, n)) is not None}
        sent = self.sender.deliver(items, rules, channels)
        self.log.record(project_id, [d for d in sent if d.status != "duplicate"])
        return sent

    def deliveries(self, project_id: str, limit: int = 100) -> list[Delivery]:
        return self.log.recent(project_id, limit)


# --------------------------------------------------------------------------------------------------
# The API's request body (`POST /analyzer/alerts`), also what the HTTP backend sends


class ChannelInput(Model):
    """A channel to create: its URL and signing secret are write-only (never answered, never logged)."""

    kind: ChannelKind
    url: SecretStr | None = None
    secret: SecretStr | None = None
    recipients: list[str] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    sender: str | None = Field(default=None, max_length=320)

    def channel(self, name: str) -> Channel:
        return Channel(
            name=name, kind=self.kind, url=self.url.get_secret_value() if self.url else "",
            secret=self.secret.get_secret_value() if self.secret else None,
            recipients=tuple(r.strip() for r in self.recipients), sender=self.sender,
        )  # fmt: skip


class AddAlertRequest(Model):
    """An alert rule and its channel (named as the rule). Adding a name again replaces that rule and channel."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")
    types: list[InsightType] = Field(default_factory=list, max_length=10)
    min_severity: Severity = "high"
    #: Flow names or ids (unknown ones are refused, named).
    flows: list[str] = Field(default_factory=list, max_length=200)
    anomalies: bool = False
    risk_levels: list[RiskLevel] = Field(default_factory=list, max_length=4)
    channel: ChannelInput

    @field_validator("types", "risk_levels", mode="before")
    @classmethod
    def _known(cls, values: Any, info: ValidationInfo) -> Any:
        """Name the unknown value (a plain literal error only lists the allowed ones)."""
        allowed: tuple[str, ...] = get_args(InsightType) if info.field_name == "types" else get_args(RiskLevel)
        if isinstance(values, list):
            unknown = [v for v in values if isinstance(v, str) and v not in allowed]
            if unknown:
                raise ValueError(f"unknown {', '.join(map(repr, unknown))}: use {', '.join(allowed)}")
        return values

    def rule(self, project_id: str) -> AlertRule:
        return AlertRule(project_id=project_id, name=self.name, types=self.types, min_severity=self.min_severity,
                         flows=self.flows, anomalies=self.anomalies, risk_levels=self.risk_levels,
                         channel=self.name)  # fmt: skip
