"""Events to sessions, streaming: a user's events without a pause longer than the timeout (30 min by default).

Events arrive roughly in time order (stored batch by batch, a day at a time). The sessionizer keeps only open
sessions: a user's session closes when the user's next event comes after the timeout (or carries another session
id), or when the stream's clock (the latest timestamp seen) has moved `timeout + lateness` past the session's last
event. Events a little out of order within a session are sorted when it closes; an event older than its user's
closed session starts a new one (counted as `late`). Memory is bounded by the users active in that window, never by
the number of events.

A session's tokens are its page views mapped to route patterns (0 when no route matches, counted as unmapped),
consecutive visits of the same route collapsed into one. Other events count in the session (and their revenue
property sums into it) but are not tokens.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from perceo.analytics.model import PAGE_VIEW_EVENTS, Session, TrackedEvent
from perceo.analytics.routes import RouteMapper, RouteTokens

DEFAULT_TIMEOUT_MS = 30 * 60 * 1000
#: Idle sessions are closed every this many events (the open ones are at most the active users plus this many)
_EXPIRY_EVERY = 256


@dataclass(slots=True)
class _Open:
    user: str
    session_id: str | None
    start: int
    last: int
    visits: list[tuple[int, int]] = field(default_factory=list)  # (timestamp, token) of page views
    events: int = 0
    page_views: int = 0
    unmapped: int = 0
    revenue: float = 0.0
    ordered: bool = True


def _another_session(event_session: str | None, open_session: str | None) -> bool:
    """Both carry a session id (the provider's or the snippet's) and they differ."""
    return event_session is not None and open_session is not None and event_session != open_session


@dataclass
class SessionCounts:
    events: int = 0
    page_views: int = 0
    unmapped_page_views: int = 0
    anonymous: int = 0
    late: int = 0
    sessions: int = 0


class Sessionizer:
    """Feed events with `add` (in roughly increasing time), collect closed sessions, then `flush` the rest."""

    def __init__(
        self,
        mapper: RouteMapper,
        tokens: RouteTokens,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        lateness_ms: int | None = None,
        page_view_events: Iterable[str] = PAGE_VIEW_EVENTS,
        revenue_property: str | None = None,
    ) -> None:
        if timeout_ms <= 0:
            raise ValueError("the session timeout must be positive")
        self.mapper = mapper
        self.tokens = tokens
        self.timeout_ms = timeout_ms
        self.lateness_ms = timeout_ms if lateness_ms is None else lateness_ms
        self.page_view_events = frozenset(page_view_events)
        self.revenue_property = revenue_property
        self.counts = SessionCounts()
        #: open sessions by user, least recently active first
        self._open: OrderedDict[str, _Open] = OrderedDict()
        #: the last event time of each user's latest closed session (to spot late events), bounded like `_open`
        self._closed_at: dict[str, int] = {}
        self._clock = 0
        self._since_expiry = 0
        self._route_tokens: dict[str, int] = {}

    def add(self, event: TrackedEvent) -> list[Session]:
        """Take one event; returns the sessions it closed (often none)."""
        counts = self.counts
        counts.events += 1
        user = event.user_id or event.anonymous_id
        if not user:
            counts.anonymous += 1
            return []
        closed: list[Session] = []
        ts = event.timestamp
        current = self._open.get(user)
        if current is not None and (
            ts - current.last > self.timeout_ms
            or (
                event.session_id is not None
                and current.session_id is not None
                and event.session_id != current.session_id
            )
        ):
            closed.append(self._close(self._open.pop(user)))
            current = None
        if current is None:
            if ts < self._closed_at.get(user, -1):
                counts.late += 1
            current = _Open(user=user, session_id=event.session_id, start=ts, last=ts)
            self._open[user] = current
        else:
            self._open.move_to_end(user)
            if ts < current.last:
                current.ordered = False
            if ts < current.start:
                current.start = ts
        current.last = max(current.last, ts)
        current.events += 1
        if event.name in self.page_view_events:
            counts.page_views += 1
            current.page_views += 1
            path = event.path
            token = self._route_tokens.get(path) if path is not None else 0  # known paths: one dict lookup
            if token is None:
                token = self._token(path)
            if token == 0:
                counts.unmapped_page_views += 1
                current.unmapped += 1
            current.visits.append((ts, token))
        if self.revenue_property is not None and event.properties:
            value = event.properties.get(self.revenue_property)
            if isinstance(value, int | float) and not isinstance(value, bool):
                current.revenue += float(value)
        if ts > self._clock:
            self._clock = ts
        self._since_expiry += 1
        if self._since_expiry >= _EXPIRY_EVERY:
            self._since_expiry = 0
            closed.extend(self._expire())
        return closed

    def feed(self, events: Iterable[TrackedEvent]) -> Iterator[Session]:
        """Every session of a stream of events, the open ones last."""
        for event in events:
            yield from self.add(event)
        yield from self.flush()

    def flush(self) -> list[Session]:
        """Close every open session (the end of the stream)."""
        closed = [self._close(s) for s in self._open.values()]
        self._open.clear()
        return closed

    def _token(self, path: str | None) -> int:
        if path is None:
            return 0
        token = self._route_tokens.get(path)
        if token is None:
            token = self.tokens.token(self.mapper.route_of(path))
            if len(self._route_tokens) >= 100_000:
                self._route_tokens.clear()
            self._route_tokens[path] = token
        return token

    def _expire(self) -> list[Session]:
        """Close the sessions idle for longer than timeout + lateness by the stream's clock."""
        cutoff = self._clock - self.timeout_ms - self.lateness_ms
        closed: list[Session] = []
        while self._open:
            user, oldest = next(iter(self._open.items()))
            if oldest.last >= cutoff:
                break
            del self._open[user]
            closed.append(self._close(oldest))
        if len(self._closed_at) > 4 * max(len(self._open), 50_000):
            self._closed_at.clear()
        return closed

    def _close(self, session: _Open) -> Session:
        self.counts.sessions += 1
        self._closed_at[session.user] = session.last
        visits = session.visits if session.ordered else sorted(session.visits)
        tokens: list[int] = []
        times: list[int] = []
        for ts, token in visits:
            if tokens and tokens[-1] == token:
                continue  # a reload or a re-render of the same route is not a step
            tokens.append(token)
            times.append(ts)
        return Session(
            user=session.user,
            start=session.start,
            end=session.last,
            tokens=tokens,
            times=times,
            events=session.events,
            page_views=session.page_views,
            unmapped=session.unmapped,
            revenue=session.revenue,
        )
