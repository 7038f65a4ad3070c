"""Google Analytics 4 Data API v1: `POST {host}/v1beta/properties/{propertyId}:runReport` with dimensions `date`
and `pagePath` and metrics `screenPageViews`, `totalUsers`, `sessions`, paged by offset/limit (`rowCount` is the
total). GA4 serves aggregates, not per-session sequences (those need the BigQuery export), so this client yields
page traffic per day; the correlation turns it into estimated flow funnels.

Credentials: `propertyId` and either `serviceAccount` (the JSON key; google-auth signs the JWT-bearer grant and
exchanges it for an access token at the key's `token_uri`, which must be Google's unless the composition root
allows another) or `accessToken` (used as given). Quota exhaustion is a 429 (RESOURCE_EXHAUSTED): retried, then
ProviderQuotaError.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

from perceo.analytics.errors import ProviderCredentialsError, ProviderResponseError, ProviderUnavailableError
from perceo.analytics.model import DAY_MS, PageTraffic, day_of
from perceo.analytics.providers.http import ProviderHttp, day_windows, describe
from perceo.errors import ValidationFailed

log = logging.getLogger(__name__)

API = "https://analyticsdata.googleapis.com"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/analytics.readonly"
PAGE_SIZE = 10_000
#: GA4 keeps processing a day's data for up to two days.
SETTLE_MS = 2 * DAY_MS

TokenSource = Callable[[], str]


class Ga4Client:
    name: Literal["ga4"] = "ga4"
    settle_ms = SETTLE_MS

    def __init__(
        self,
        credentials: Mapping[str, Any],
        http: ProviderHttp,
        *,
        clock: Callable[[], int],
        base_url: str | None = None,
        token_uris: tuple[str, ...] = (GOOGLE_TOKEN_URI,),
        page_size: int = PAGE_SIZE,
    ) -> None:
        prop = str(credentials.get("propertyId") or "").strip()
        if not prop.isdigit():
            raise ValidationFailed("ga4 credentials need propertyId (digits)", details={"provider": "ga4"})
        self.property_id = prop
        self._http = http
        self._clock = clock
        self._url = f"{(base_url or API).rstrip('/')}/v1beta/properties/{prop}:runReport"
        self._page_size = page_size
        self._malformed = 0
        account = credentials.get("serviceAccount")
        token = credentials.get("accessToken")
        if isinstance(account, str):
            try:
                account = json.loads(account)
            except ValueError:
                raise ValidationFailed("ga4 serviceAccount is not a JSON key", details={"provider": "ga4"}) from None
        if isinstance(account, Mapping):
            self._token = _service_account_tokens(account, token_uris, http.client.timeout)
            self._who = f"the service account {account.get('client_email', '?')!s}"
        elif isinstance(token, str) and token:
            self._token = lambda: token
            self._who = "the access token"
        else:
            raise ValidationFailed("ga4 credentials need serviceAccount or accessToken", details={"provider": "ga4"})

    @property
    def malformed(self) -> int:
        return self._malformed

    def check(self) -> str:
        day = day_of(self._clock() - DAY_MS)
        self._page(day, day, offset=0, limit=1)
        return f"ga4 property {self.property_id} readable by {self._who}"

    def windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """Whole UTC days, a week a request (GA4 reports whole days)."""
        return day_windows(start // DAY_MS * DAY_MS, -(-end // DAY_MS) * DAY_MS, days=7)

    def fetch(self, start: int, end: int) -> Iterator[PageTraffic]:
        first, last = day_of(start), day_of(end - 1)
        offset = 0
        while True:
            body = self._page(first, last, offset=offset, limit=self._page_size)
            rows = body.get("rows") or []
            for number, row in enumerate(rows, start=offset + 1):
                traffic = _traffic(row)
                if traffic is None:
                    self._malformed += 1
                    log.warning("ga4 report %s..%s: row %d is not page traffic; skipped", first, last, number)
                else:
                    yield traffic
            offset += len(rows)
            total = body.get("rowCount")
            if not rows or not isinstance(total, int) or offset >= total:
                return

    def _page(self, first: str, last: str, *, offset: int, limit: int) -> dict[str, Any]:
        payload = {
            "dateRanges": [{"startDate": first, "endDate": last}],
            "dimensions": [{"name": "date"}, {"name": "pagePath"}],
            "metrics": [{"name": "screenPageViews"}, {"name": "totalUsers"}, {"name": "sessions"}],
            "limit": str(limit),
            "offset": str(offset),
            "returnPropertyQuota": True,
        }
        refused = f"{self._who} for GA4 property {self.property_id}"
        request = self._http.client.build_request(
            "POST", self._url, json=payload, headers={"Authorization": f"Bearer {self._token()}"}
        )
        with self._http.send(request, refused=refused) as response:
            response.read()
            if response.status_code != 200:
                raise ProviderResponseError(f"ga4 runReport: {describe(response)}", details={"provider": "ga4"})
            try:
                body = response.json()
            except ValueError:
                raise ProviderResponseError("ga4 runReport answered something that is not JSON") from None
        if not isinstance(body, dict):
            raise ProviderResponseError("ga4 runReport answered something that is not a report")
        return body


def _traffic(row: Any) -> PageTraffic | None:
    try:
        date, path = (d["value"] for d in row["dimensionValues"])
        views, users, sessions = (int(m["value"]) for m in row["metricValues"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (isinstance(date, str) and len(date) == 8 and date.isdigit() and isinstance(path, str) and path):
        return None
    return PageTraffic(f"{date[:4]}-{date[4:6]}-{date[6:]}", path, views, users, sessions)


def _service_account_tokens(account: Mapping[str, Any], token_uris: tuple[str, ...], timeout: Any) -> TokenSource:
    """Access tokens for a service account key, minted (and renewed when expired) by google-auth."""
    from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
    from google.auth.transport.urllib3 import Request
    from google.oauth2 import service_account

    if account.get("token_uri", GOOGLE_TOKEN_URI) not in token_uris:
        raise ValidationFailed("the ga4 service account key names a token_uri that is not Google's")
    email = str(account.get("client_email") or "?")
    try:
        credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            dict(account), scopes=[SCOPE]
        )
    except (ValueError, KeyError, GoogleAuthError):
        raise ValidationFailed("the ga4 service account key is not a valid key", details={"provider": "ga4"}) from None
    import urllib3

    pool = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10.0, read=30.0), retries=False)
    transport = Request(pool)  # type: ignore[no-untyped-call]

    def token() -> str:
        if not credentials.valid:
            try:
                credentials.refresh(transport)
            except RefreshError:
                raise ProviderCredentialsError("ga4", f"the service account key of {email}") from None
            except TransportError as error:
                raise ProviderUnavailableError(f"ga4 token exchange failed: {type(error).__name__}") from None
        return str(credentials.token)

    return token
