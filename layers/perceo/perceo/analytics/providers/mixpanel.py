"""Mixpanel raw event export: `GET {host}/api/2.0/export?project_id=&from_date=&to_date=` (one UTC day a request),
HTTP Basic with a service account (`username`, `secret`), JSON lines streamed (gzip on the wire).

Each line is `{"event": name, "properties": {"time", "distinct_id", "$insert_id", "$current_url", ...}}`; `time`
is seconds (milliseconds when large enough). The event id is `$insert_id` (Mixpanel does not deduplicate exports),
else a digest of (event, distinct_id, time). Hosts by data residency: us, eu, in.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import httpx

from perceo.analytics.errors import ProviderResponseError, ProviderUnavailableError
from perceo.analytics.model import DAY_MS, TrackedEvent, day_of
from perceo.analytics.providers.http import HOUR_MS, ProviderHttp, broken_transfer, day_windows, describe
from perceo.analytics.routes import path_of
from perceo.errors import ValidationFailed

log = logging.getLogger(__name__)

HOSTS = {"us": "https://data.mixpanel.com", "eu": "https://data-eu.mixpanel.com", "in": "https://data-in.mixpanel.com"}


class MixpanelClient:
    name: Literal["mixpanel"] = "mixpanel"
    #: Late events (offline devices, imports) keep arriving for a while: a day is final two hours after it ends.
    settle_ms = 2 * HOUR_MS

    def __init__(
        self,
        credentials: Mapping[str, Any],
        http: ProviderHttp,
        *,
        clock: Callable[[], int],
        base_url: str | None = None,
        attempts: int = 3,
    ) -> None:
        project = str(credentials.get("projectId") or "").strip()
        username = str(credentials.get("username") or "").strip()
        secret = str(credentials.get("secret") or "")
        region = str(credentials.get("region") or "us")
        if not project.isdigit() or not username or not secret:
            raise ValidationFailed(
                "mixpanel credentials need projectId (digits), username and secret (a service account)",
                details={"provider": "mixpanel"},
            )
        if region not in HOSTS:
            raise ValidationFailed(f"mixpanel region is one of {', '.join(HOSTS)}", details={"provider": "mixpanel"})
        self.project = project
        self._auth = httpx.BasicAuth(username, secret)
        self._url = (base_url or HOSTS[region]).rstrip("/") + "/api/2.0/export"
        self._http = http
        self._attempts = attempts
        self._refused = f"the service account {username!r} for project {project}"
        self._malformed = 0
        self._clock = clock

    @property
    def malformed(self) -> int:
        return self._malformed

    def check(self) -> str:
        yesterday = day_of(self._clock() - DAY_MS)
        with self._http.send(self._request(yesterday, limit=1), refused=self._refused, stream=True) as response:
            if response.status_code != 200:
                response.read()
                raise ProviderResponseError(f"mixpanel: {describe(response)}", details={"provider": "mixpanel"})
        return f"mixpanel project {self.project} export readable"

    def windows(self, start: int, end: int) -> list[tuple[int, int]]:
        return day_windows(start, end)

    def fetch(self, start: int, end: int) -> Iterator[TrackedEvent]:
        """The day's export, filtered to [start, end). A transfer that breaks is fetched again (the events it gave
        are then given again: storage deduplicates them by id)."""
        day = day_of(start)
        for attempt in range(1, self._attempts + 1):
            try:
                yield from self._fetch_day(day, start, end)
                return
            except Exception as error:
                if not broken_transfer(error):
                    raise
                log.warning("mixpanel export of %s broke off (%s); attempt %d", day, type(error).__name__, attempt)
        raise ProviderUnavailableError(
            f"mixpanel export of {day} broke off {self._attempts} times", details={"provider": "mixpanel"}
        )

    def _fetch_day(self, day: str, start: int, end: int) -> Iterator[TrackedEvent]:
        with self._http.send(self._request(day), refused=self._refused, stream=True) as response:
            if response.status_code != 200:
                response.read()
                raise ProviderResponseError(f"mixpanel export of {day}: {describe(response)}")
            for number, line in enumerate(response.iter_lines(), start=1):
                if not line.strip():
                    continue
                event = self._event(line)
                if event is None:
                    self._malformed += 1
                    log.warning("mixpanel export of %s: line %d is not an event; skipped", day, number)
                elif start <= event.timestamp < end:
                    yield event

    def _request(self, day: str, *, limit: int | None = None) -> httpx.Request:
        params: dict[str, str | int] = {"project_id": self.project, "from_date": day, "to_date": day}
        if limit is not None:
            params["limit"] = limit
        request = self._http.client.build_request(
            "GET", self._url, params=params, headers={"Accept": "application/json", "Accept-Encoding": "gzip"}
        )
        return next(self._auth.auth_flow(request))

    @staticmethod
    def _event(line: str) -> TrackedEvent | None:
        try:
            record = json.loads(line)
            name = record["event"]
            props = record["properties"]
            raw_time = props["time"]
            if not isinstance(name, str) or not name or not isinstance(props, dict):
                return None
            timestamp = int(raw_time if raw_time > 100_000_000_000 else raw_time * 1000)
            distinct = str(props.get("distinct_id") or "")
        except (ValueError, KeyError, TypeError):
            return None
        if not distinct or timestamp < 0:
            return None
        insert_id = props.get("$insert_id")
        if not isinstance(insert_id, str) or not insert_id:
            insert_id = hashlib.sha256(f"{name}\x00{distinct}\x00{raw_time}".encode()).hexdigest()[:32]
        url = props.get("$current_url")
        return TrackedEvent(
            id=insert_id[:128],
            source="mixpanel",
            name=name[:200],
            timestamp=timestamp,
            user_id=distinct[:128],
            path=path_of(url) if isinstance(url, str) else None,
            properties={
                k: v for k, v in props.items() if not k.startswith(("$", "mp_")) and k not in ("time", "distinct_id")
            },
        )
