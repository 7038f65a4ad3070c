"""The provider clients against fake GA4 / Mixpanel / Amplitude servers on loopback: real httpx over real HTTP,
the real response shapes, paging, 429 / 5xx with retries, broken transfers, malformed records, refused keys."""

from __future__ import annotations

from typing import Any

import pytest
from analytics_kit import DAY, Sleeps
from fakes.analytics_providers import AMPLITUDE_EXPORT, GA4_REPORT, MIXPANEL_EXPORT, FakeProviders, Fault

from perceo.analytics.errors import (
    ProviderCredentialsError,
    ProviderQuotaError,
    ProviderUnavailableError,
)
from perceo.analytics.model import PageTraffic, TrackedEvent, day_start
from perceo.analytics.providers import HttpProviderClients
from perceo.errors import ValidationFailed

MIXPANEL = {"projectId": "1234", "username": "sa-user", "secret": "sa-secret"}
AMPLITUDE = {"apiKey": "amp-key", "secretKey": "amp-secret"}
DAY1 = "2026-03-08"
D1 = day_start(DAY1)


def mixpanel_event(n: int, *, day_ms: int = D1, path: str = "/products/7") -> dict[str, Any]:
    return {
        "event": "$mp_web_page_view",
        "properties": {
            "time": (day_ms + n * 60_000) // 1000,
            "distinct_id": f"user-{n % 3}",
            "$insert_id": f"ins-{day_ms}-{n}",
            "$current_url": f"https://shop.test{path}?utm=x",
            "mp_processing_time_ms": day_ms + n * 60_000 + 500,
            "plan": "pro",
        },
    }


def fetch_all(client: Any, start: int, end: int) -> list[Any]:
    return [record for window in client.windows(start, end) for record in client.fetch(*window)]


# -- Mixpanel


def test_mixpanel_export_of_a_day_becomes_events_with_paths_and_insert_ids(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.mixpanel_events[DAY1] = [mixpanel_event(n) for n in range(5)]
    client = clients.client("mixpanel", MIXPANEL)

    events = fetch_all(client, D1, D1 + DAY)

    assert [e.id for e in events] == [f"ins-{D1}-{n}" for n in range(5)]
    first = events[0]
    assert first == TrackedEvent(
        id=f"ins-{D1}-0",
        source="mixpanel",
        name="$mp_web_page_view",
        timestamp=D1,
        user_id="user-0",
        path="/products/7",
        properties={"plan": "pro"},
    )
    (call,) = fake_providers.calls(MIXPANEL_EXPORT)
    assert call.query["from_date"] == call.query["to_date"] == [DAY1] and call.query["project_id"] == ["1234"]


def test_mixpanel_windows_are_utc_days_and_events_outside_the_window_are_left_out(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.mixpanel_events[DAY1] = [mixpanel_event(n) for n in (0, 10, 100)]
    client = clients.client("mixpanel", MIXPANEL)

    assert client.windows(D1 + 3_600_000, D1 + DAY + 60_000) == [
        (D1 + 3_600_000, D1 + DAY),
        (D1 + DAY, D1 + DAY + 60_000),
    ]
    events = list(client.fetch(D1 + 5 * 60_000, D1 + 50 * 60_000))

    assert [e.id for e in events] == [f"ins-{D1}-10"]


def test_a_malformed_mixpanel_line_is_counted_and_skipped(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.mixpanel_events[DAY1] = [mixpanel_event(n) for n in range(3)]
    fake_providers.mixpanel_extra_lines[DAY1] = ['{"event": "broken", ', '{"event": "x", "properties": {}}']
    client = clients.client("mixpanel", MIXPANEL)

    events = fetch_all(client, D1, D1 + DAY)

    assert len(events) == 3 and client.malformed == 2


def test_mixpanel_429_waits_as_retry_after_says_then_succeeds(
    fake_providers: FakeProviders, clients: HttpProviderClients, sleeps: Sleeps
) -> None:
    fake_providers.mixpanel_events[DAY1] = [mixpanel_event(0)]
    fake_providers.fault(MIXPANEL_EXPORT, Fault(status=429, headers={"Retry-After": "3"}))
    client = clients.client("mixpanel", MIXPANEL)

    assert len(fetch_all(client, D1, D1 + DAY)) == 1
    assert sleeps.waits == [3.0]
    assert len(fake_providers.calls(MIXPANEL_EXPORT)) == 2


def test_mixpanel_5xx_backs_off_exponentially_and_gives_up_after_the_bounded_attempts(
    fake_providers: FakeProviders, clients: HttpProviderClients, sleeps: Sleeps
) -> None:
    fake_providers.mixpanel_events[DAY1] = [mixpanel_event(0)]
    fake_providers.fault(MIXPANEL_EXPORT, *[Fault(status=503)] * 4)
    client = clients.client("mixpanel", MIXPANEL)

    with pytest.raises(ProviderUnavailableError, match="mixpanel kept failing: HTTP 503 after 4 attempts"):
        fetch_all(client, D1, D1 + DAY)
    assert sleeps.waits == [0.375, 0.75, 1.5]  # 0.75 x min(4, 0.5 x 2^n) with the jitter fixed at 0.5


def test_a_mixpanel_export_that_breaks_off_is_fetched_again(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.mixpanel_events[DAY1] = [mixpanel_event(n) for n in range(6)]
    fake_providers.fault(MIXPANEL_EXPORT, Fault(truncate_after=2))
    client = clients.client("mixpanel", MIXPANEL)

    events = fetch_all(client, D1, D1 + DAY)

    # the first two came twice (before the break and again): storage deduplicates them by id
    assert sorted({e.id for e in events}) == sorted(f"ins-{D1}-{n}" for n in range(6))
    assert len(fake_providers.calls(MIXPANEL_EXPORT)) == 2


def test_wrong_mixpanel_credentials_name_the_provider_and_never_the_secret(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    client = clients.client("mixpanel", {**MIXPANEL, "secret": "wrong-secret-value"})

    with pytest.raises(ProviderCredentialsError) as refused:
        client.check()

    assert refused.value.message == "mixpanel refused the service account 'sa-user' for project 1234"
    assert "wrong-secret-value" not in str(refused.value.details) + refused.value.message


def test_mixpanel_hosts_follow_the_data_residency_region() -> None:
    made = HttpProviderClients()
    try:
        eu = made.client("mixpanel", {**MIXPANEL, "region": "eu"})
        assert eu._url == "https://data-eu.mixpanel.com/api/2.0/export"  # type: ignore[attr-defined]
        with pytest.raises(ValidationFailed):
            made.client("mixpanel", {**MIXPANEL, "region": "mars"})
        with pytest.raises(ValidationFailed):
            made.client("mixpanel", {"projectId": "abc", "username": "u", "secret": "s"})
    finally:
        made.close()


# -- Amplitude


def amplitude_event(n: int, hour: int, *, day_ms: int = D1) -> dict[str, Any]:
    moment = day_ms + hour * 3_600_000 + n * 1000
    import datetime as dt

    text = dt.datetime.fromtimestamp(moment / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return {
        "event_type": "[Amplitude] Page Viewed",
        "event_time": text,
        "server_upload_time": text,
        "user_id": None,
        "device_id": f"dev-{n}",
        "session_id": day_ms + hour * 3_600_000,
        "$insert_id": f"amp-{hour}-{n}",
        "uuid": f"uuid-{hour}-{n}",
        "event_properties": {"[Amplitude] Page Path": "/cart", "cart_size": n},
    }


def test_amplitude_export_unzips_gzipped_hours_into_events(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.amplitude_hours["20260308T01"] = [amplitude_event(n, 1) for n in range(2)]
    fake_providers.amplitude_hours["20260308T05"] = [amplitude_event(0, 5)]
    client = clients.client("amplitude", AMPLITUDE)

    events = fetch_all(client, D1, D1 + DAY)

    assert [e.id for e in events] == ["amp-1-0", "amp-1-1", "amp-5-0"]
    assert events[0].anonymous_id == "dev-0" and events[0].path == "/cart"
    assert events[0].session_id == str(D1 + 3_600_000) and events[0].properties == {"cart_size": 0}
    (call,) = fake_providers.calls(AMPLITUDE_EXPORT)
    assert call.query == {"start": ["20260308T00"], "end": ["20260308T23"]}


def test_an_amplitude_range_without_data_is_an_empty_404(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    client = clients.client("amplitude", AMPLITUDE)

    assert fetch_all(client, D1, D1 + DAY) == []
    assert client.check() == "amplitude export readable"


def test_a_range_amplitude_finds_too_large_is_split_in_halves(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.amplitude_max_hours = 6
    for hour in (0, 7, 13, 23):
        fake_providers.amplitude_hours[f"20260308T{hour:02d}"] = [amplitude_event(0, hour)]
    client = clients.client("amplitude", AMPLITUDE)

    events = fetch_all(client, D1, D1 + DAY)

    assert sorted(e.id for e in events) == ["amp-0-0", "amp-13-0", "amp-23-0", "amp-7-0"]
    assert len(fake_providers.calls(AMPLITUDE_EXPORT)) > 4  # 24 h -> 12 h -> 6 h pieces, each asked


def test_a_broken_amplitude_member_is_counted_and_the_others_are_read(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.amplitude_hours["20260308T02"] = [amplitude_event(0, 2)]
    fake_providers.amplitude_broken_hours.add("20260308T03")
    client = clients.client("amplitude", AMPLITUDE)

    events = fetch_all(client, D1, D1 + DAY)

    assert [e.id for e in events] == ["amp-2-0"] and client.malformed == 1


def test_an_amplitude_archive_that_breaks_off_is_downloaded_again(
    fake_providers: FakeProviders, clients: HttpProviderClients
) -> None:
    fake_providers.amplitude_hours["20260308T02"] = [amplitude_event(n, 2) for n in range(3)]
    fake_providers.fault(AMPLITUDE_EXPORT, Fault(truncate_after=40))
    client = clients.client("amplitude", AMPLITUDE)

    events = fetch_all(client, D1, D1 + DAY)

    assert [e.id for e in events] == ["amp-2-0", "amp-2-1", "amp-2-2"]
    assert len(fake_providers.calls(AMPLITUDE_EXPORT)) == 2


def test_wrong_amplitude_keys_are_refused_by_name(fake_providers: FakeProviders, clients: HttpProviderClients) -> None:
    client = clients.client("amplitude", {"apiKey": "amp-key", "secretKey": "not-it"})

    with pytest.raises(ProviderCredentialsError, match="^amplitude refused the API key / secret key pair") as refused:
        client.check()
    assert "not-it" not in refused.value.message


# -- GA4


def ga4_rows() -> list[tuple[str, str, int, int, int]]:
    return [
        ("20260308", "/", 120, 90, 100),
        ("20260308", "/cart", 40, 30, 35),
        ("20260308", "/checkout", 20, 18, 19),
        ("20260309", "/", 110, 80, 95),
        ("20260309", "/cart", 30, 25, 28),
        ("20260309", "/checkout", 10, 9, 9),
        ("20260309", "/order/9", 8, 8, 8),
    ]


def test_ga4_exchanges_the_service_account_key_for_a_token_and_pages_through_the_report(
    fake_providers: FakeProviders, clients: HttpProviderClients, ga4_key: dict[str, Any]
) -> None:
    fake_providers.ga4_rows = ga4_rows()
    client = clients.client("ga4", {"propertyId": "555", "serviceAccount": ga4_key})

    rows = fetch_all(client, D1, D1 + 2 * DAY)

    assert rows[0] == PageTraffic("2026-03-08", "/", 120, 90, 100)
    assert len(rows) == 7
    assert len(fake_providers.calls(GA4_REPORT)) == 3  # page size 3: offsets 0, 3, 6 of rowCount 7
    assert len(fake_providers.calls("/token")) == 1  # the token is reused while it is valid


def test_ga4_takes_an_access_token_as_given(fake_providers: FakeProviders, clients: HttpProviderClients) -> None:
    fake_providers.ga4_rows = ga4_rows()[:2]
    client = clients.client("ga4", {"propertyId": "555", "accessToken": fake_providers.ga4_token})

    assert len(fetch_all(client, D1, D1 + DAY)) == 2
    assert fake_providers.calls("/token") == []


def test_ga4_refusals_name_the_property_or_the_key(
    fake_providers: FakeProviders, clients: HttpProviderClients, ga4_key: dict[str, Any]
) -> None:
    other_property = clients.client("ga4", {"propertyId": "999", "serviceAccount": ga4_key})
    with pytest.raises(ProviderCredentialsError, match="for GA4 property 999"):
        other_property.check()

    from cryptography.hazmat.primitives.asymmetric import rsa

    fake_providers.ga4_public_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    unknown_key = clients.client("ga4", {"propertyId": "555", "serviceAccount": ga4_key})
    with pytest.raises(ProviderCredentialsError) as refused:
        unknown_key.check()
    assert refused.value.message == "ga4 refused the service account key of reader@perceo-test.iam.gserviceaccount.com"
    assert "PRIVATE KEY" not in refused.value.message


def test_ga4_quota_exhaustion_is_retried_then_reported_as_quota(
    fake_providers: FakeProviders, clients: HttpProviderClients, sleeps: Sleeps
) -> None:
    fake_providers.fault(GA4_REPORT, *[Fault(status=429)] * 4)
    client = clients.client("ga4", {"propertyId": "555", "accessToken": fake_providers.ga4_token})

    with pytest.raises(ProviderQuotaError, match="ga4 kept failing: HTTP 429"):
        client.check()
    assert len(sleeps.waits) == 3


def test_a_ga4_key_must_name_an_allowed_token_endpoint(clients: HttpProviderClients, ga4_key: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed, match="token_uri"):
        clients.client("ga4", {"propertyId": "555", "serviceAccount": {**ga4_key, "token_uri": "http://evil.test/t"}})
