"""The ports of the analytics engine. Adapters live in `stores.py` (local dir, S3, Redis, memory) and `providers/`
(httpx clients); the composition root builds them and hands them to `AnalyticsService`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from perceo.analytics.model import PageTraffic, ProviderName, SyncCursor, TrackedEvent


class ObjectStore(Protocol):
    """Objects by key: raw event batches as JSON lines (S3 in the cloud, a local directory embedded).

    Keys look like `events/{projectId}/{day}/{source}/{name}.jsonl`; a write replaces the object whole (atomic)."""

    def put(self, key: str, data: bytes) -> None: ...

    def read_lines(self, key: str) -> Iterator[bytes]:
        """The object's lines (without their newline), streamed. Nothing when the object does not exist."""

    def list(self, prefix: str) -> list[str]:
        """Keys under `prefix`, sorted."""

    def delete(self, keys: Sequence[str]) -> int: ...


class SeenEvents(Protocol):
    """Which event ids a project already stored (idempotency), per day of the events, for a bounded time."""

    def claim(self, project_id: str, keys: Sequence[tuple[str, str]]) -> list[bool]:
        """Mark (day, event id) pairs as stored; True for each pair that was not marked before."""

    def release(self, project_id: str, keys: Sequence[tuple[str, str]]) -> None:
        """Unmark pairs (their batch could not be stored after all)."""


class CursorStore(Protocol):
    """Per project and provider, how far the sync got."""

    def get(self, project_id: str, provider: ProviderName) -> SyncCursor | None: ...

    def put(self, project_id: str, cursor: SyncCursor) -> None: ...


class CredentialStore(Protocol):
    """Per project and provider, the credentials `connect` validated (a secrets store: never the config file)."""

    def get(self, project_id: str, provider: ProviderName) -> Mapping[str, Any] | None: ...

    def put(self, project_id: str, provider: ProviderName, credentials: Mapping[str, Any]) -> None: ...


class ProviderClient(Protocol):
    """One provider's export, for one project's credentials."""

    @property
    def name(self) -> ProviderName: ...

    @property
    def settle_ms(self) -> int:
        """How long after an event the provider serves it for good: windows ending later are fetched but not final."""

    def check(self) -> str:
        """Ask the provider whether the credentials work (a cheap request). Returns what was checked;
        ProviderCredentialsError when they are refused."""

    def windows(self, start: int, end: int) -> list[tuple[int, int]]:
        """[start, end) cut into the provider's natural request windows (days, hours), in order."""

    def fetch(self, start: int, end: int) -> Iterator[TrackedEvent | PageTraffic]:
        """Everything in [start, end): events (raw exports) or page aggregates (GA4). Malformed records are logged
        with their position, counted in `malformed` and skipped; a broken transfer raises after bounded retries."""

    @property
    def malformed(self) -> int:
        """Records skipped as malformed since the client was made."""


class ProviderClients(Protocol):
    """Makes the client of a provider for a set of credentials (the composition root supplies the HTTP side)."""

    def client(self, provider: ProviderName, credentials: Mapping[str, Any]) -> ProviderClient: ...
