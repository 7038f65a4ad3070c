"""Amplitude Export API: `GET {host}/api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH` (hours of server upload time,
UTC, inclusive), HTTP Basic (`apiKey`, `secretKey`). The answer is a zip of gzipped JSON-lines files (one or more
per hour); 404 means no data in the range; 400 means the range is too large (it is split in halves, down to one
hour). Hosts: us, eu.

Events: `event_type`, `event_time` ("%Y-%m-%d %H:%M:%S.%f", UTC), `user_id`, `device_id`, `session_id` (ms; -1 for
none), `$insert_id` / `uuid`, `event_properties` (the page path from Amplitude's page-view properties). A member that
is not valid gzip, or a line that is not an event, is logged with its position, counted and skipped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, Literal

import httpx

from perceo.analytics.errors import ProviderResponseError, ProviderUnavailableError
from perceo.analytics.model import DAY_MS, TrackedEvent
from perceo.analytics.providers.http import HOUR_MS, ProviderHttp, broken_transfer, day_windows, describe
from perceo.analytics.routes import path_of
from perceo.errors import ValidationFailed

log = logging.getLogger(__name__)

HOSTS = {"us": "https://amplitude.com", "eu": "https://analytics.eu.amplitude.com"}
#: Where Amplitude's own page-view events keep the page.
_PATH_PROPERTIES = ("[Amplitude] Page Path", "page_path", "path")
_URL_PROPERTIES = ("[Amplitude] Page URL", "page_url", "url")
#: Archives up to this size stay in memory; larger ones spill to a temporary file.
_IN_MEMORY_BYTES = 64 * 1024 * 1024


def _hour(timestamp_ms: int) -> str:
    return dt.datetime.fromtimestamp(timestamp_ms / 1000, tz=dt.UTC).strftime("%Y%m%dT%H")


class AmplitudeClient:
    name: Literal["amplitude"] = "amplitude"
    #: Amplitude serves an event for export at least two hours after it received it.
    settle_ms = 3 * HOUR_MS

    def __init__(
        self,
        credentials: Mapping[str, Any],
        http: ProviderHttp,
        *,
        clock: Callable[[], int],
        base_url: str | None = None,
        attempts: int = 3,
    ) -> None:
        api_key = str(credentials.get("apiKey") or "").strip()
        secret_key = str(credentials.get("secretKey") or "")
        region = str(credentials.get("region") or "us")
        if not api_key or not secret_key:
            raise ValidationFailed("amplitude credentials need apiKey and secretKey", details={"provider": "amplitude"})
        if region not in HOSTS:
            raise ValidationFailed(f"amplitude region is one of {', '.join(HOSTS)}", details={"provider": "amplitude"})
        self._auth = httpx.BasicAuth(api_key, secret_key)
        self._url = (base_url or HOSTS[region]).rstrip("/") + "/api/2/export"
        self._http = http
        self._clock = clock
        self._attempts = attempts
        self._refused = "the API key / secret key pair for export"
        self._malformed = 0

    @property
    def malformed(self) -> int:
        return self._malformed

    def check(self) -> str:
        hour = (self._clock() - DAY_MS) // HOUR_MS * HOUR_MS
        with self._http.send(self._request(hour, hour + HOUR_MS), refused=self._refused) as response:
            if response.status_code not in (200, 404):
                raise ProviderResponseError(f"amplitude: {describe(response)}", details={"provider": "amplitude"})
        return "amplitude export readable"

    def windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """Days of whole hours (the API's unit): the start is rounded down to its hour, the end up."""
        first = start // HOUR_MS * HOUR_MS
        last = -(-end // HOUR_MS) * HOUR_MS
        return day_windows(first, last)

    def fetch(self, start: int, end: int) -> Iterator[TrackedEvent]:
        """Events uploaded in the hours [start, end)."""
        yield from self._fetch(start // HOUR_MS * HOUR_MS, -(-end // HOUR_MS) * HOUR_MS)

    def _fetch(self, start: int, end: int) -> Iterator[TrackedEvent]:
        for attempt in range(1, self._attempts + 1):
            try:
                archive = self._download(start, end)
            except _TooLarge:
                if end - start <= HOUR_MS:
                    raise ProviderResponseError(
                        f"amplitude says one hour ({_hour(start)}) is too large to export",
                        details={"provider": "amplitude"},
                    ) from None
                middle = start + (end - start) // HOUR_MS // 2 * HOUR_MS
                yield from self._fetch(start, middle)
                yield from self._fetch(middle, end)
                return
            except Exception as error:
                if not broken_transfer(error):
                    raise
                log.warning(
                    "amplitude export %s broke off (%s); attempt %d", _hour(start), type(error).__name__, attempt
                )
                continue
            if archive is None:
                return  # 404: no data in these hours
            with archive:
                yield from self._events(archive, where=f"{_hour(start)}..{_hour(end - HOUR_MS)}")
            return
        raise ProviderUnavailableError(
            f"amplitude export from {_hour(start)} broke off {self._attempts} times", details={"provider": "amplitude"}
        )

    def _download(self, start: int, end: int) -> IO[bytes] | None:
        """The export archive of [start, end) in a spooled temporary file, None when there is no data."""
        with self._http.send(self._request(start, end), refused=self._refused, stream=True) as response:
            if response.status_code == 404:
                return None
            if response.status_code == 400:
                raise _TooLarge
            if response.status_code != 200:
                response.read()
                raise ProviderResponseError(
                    f"amplitude export: {describe(response)}", details={"provider": "amplitude"}
                )
            spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY_BYTES)  # noqa: SIM115 (returned open)
            try:
                for chunk in response.iter_bytes():
                    spool.write(chunk)
            except BaseException:
                spool.close()
                raise
            spool.seek(0)
            return spool

    def _events(self, archive: IO[bytes], *, where: str) -> Iterator[TrackedEvent]:
        try:
            bundle = zipfile.ZipFile(archive)
        except zipfile.BadZipFile as error:
            raise EOFError(f"the export archive of {where} is not a whole zip file") from error
        with bundle:
            for member in bundle.namelist():
                if member.endswith("/"):
                    continue
                try:
                    with bundle.open(member) as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
                        for number, line in enumerate(lines, start=1):
                            if not line.strip():
                                continue
                            event = _event(line)
                            if event is None:
                                self._malformed += 1
                                log.warning(
                                    "amplitude export %s: %s line %d is not an event; skipped", where, member, number
                                )
                            else:
                                yield event
                except (OSError, EOFError, zlib.error, zipfile.BadZipFile, UnicodeDecodeError) as error:
                    self._malformed += 1
                    log.warning(
                        "amplitude export %s: member %s is broken (%s); skipped", where, member, type(error).__name__
                    )

    def _request(self, start: int, end: int) -> httpx.Request:
        params = {"start": _hour(start), "end": _hour(end - HOUR_MS)}
        request = self._http.client.build_request("GET", self._url, params=params)
        return next(self._auth.auth_flow(request))


class _TooLarge(Exception):
    """Amplitude answered 400: the range holds more than it exports at once."""


def _event(line: str) -> TrackedEvent | None:
    try:
        record = json.loads(line)
        name = record["event_type"]
        moment = dt.datetime.strptime(record["event_time"][:26], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=dt.UTC)
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or not name:
        return None
    user_id = record.get("user_id")
    device_id = record.get("device_id")
    if not user_id and not device_id:
        return None
    event_id = (
        record.get("$insert_id") or record.get("uuid") or f"{device_id}-{record.get('event_id')}-{record['event_time']}"
    )
    session = record.get("session_id")
    props = record.get("event_properties") if isinstance(record.get("event_properties"), dict) else {}
    path: str | None = None
    for key in _PATH_PROPERTIES:
        if isinstance(props.get(key), str):
            path = path_of(props[key])
            break
    else:
        for key in _URL_PROPERTIES:
            if isinstance(props.get(key), str):
                path = path_of(props[key])
                break
    return TrackedEvent(
        id=str(event_id)[:128],
        source="amplitude",
        name=name[:200],
        timestamp=int(moment.timestamp() * 1000),
        user_id=str(user_id)[:128] if user_id else None,
        anonymous_id=str(device_id)[:128] if device_id else None,
        session_id=str(session) if isinstance(session, int) and session > 0 else None,
        path=path,
        properties={k: v for k, v in props.items() if not k.startswith("[Amplitude]")},
    )
