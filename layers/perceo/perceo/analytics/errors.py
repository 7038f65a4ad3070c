"""Typed errors of the analytics engine: what a provider refused, what it could not serve, what a batch broke."""

from __future__ import annotations

from typing import Any

from perceo.errors import BackendUnavailableError, RateLimitedError, ValidationFailed


class ProviderCredentialsError(ValidationFailed):
    """A provider refused the credentials (or the access they grant). The message names the provider and what was
    refused, never a secret. Bad input: 422 on the API, exit 2 in the CLI."""

    code = "provider_credentials_refused"

    def __init__(self, provider: str, refused: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{provider} refused {refused}", details={"provider": provider, **(details or {})})
        self.provider = provider


class ProviderQuotaError(RateLimitedError):
    """A provider kept answering 429 (rate limit or exhausted quota) after the bounded retries."""

    code = "provider_quota_exhausted"


class ProviderUnavailableError(BackendUnavailableError):
    """A provider kept failing (5xx, timeouts, broken connections) after the bounded retries."""

    code = "provider_unavailable"


class ProviderResponseError(BackendUnavailableError):
    """A provider answered something this client cannot use (an unexpected status or shape)."""

    code = "provider_bad_response"


class ProviderNotConnectedError(ValidationFailed):
    """The project has no credentials stored for this provider (connect it first: 422, exit 2)."""

    code = "provider_not_connected"
