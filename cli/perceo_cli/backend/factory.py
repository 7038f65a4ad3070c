"""Choose the backend: the API when `observer.apiBaseUrl` is set, else the embedded default."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from perceo.config.model import PerceoConfig
from perceo_cli.backend.port import Backend

if TYPE_CHECKING:
    from perceo_cli.backend.http import HttpBackend
    from perceo_cli.credentials import CredentialStore


def make_backend(
    project_dir: Path,
    config: PerceoConfig,
    *,
    env: Mapping[str, str] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Backend:
    if config.observer.api_base_url:
        api_key = config.observer.api_key
        return make_http_backend(
            config.observer.api_base_url,
            config_key=api_key.get_secret_value() if api_key is not None else None,
            env=env,
        )
    from perceo_cli.backend.local import LocalBackend

    return LocalBackend(project_dir, config, notice=notice)


def make_http_backend(
    api_url: str,
    *,
    config_key: str | None = None,
    env: Mapping[str, str] | None = None,
    store: CredentialStore | None = None,
) -> HttpBackend:
    """The API backend for `api_url` with the key from PERCEO_API_KEY, the config, or `perceo login`."""
    from perceo.errors import AuthenticationError
    from perceo_cli.backend.http import ApiClient, HttpBackend
    from perceo_cli.credentials import API_KEY_ENV, normalize_api_url, resolve_api_key

    url = normalize_api_url(api_url)
    resolved = resolve_api_key(url, config_key=config_key, env=env, store=store)
    if resolved is None:
        raise AuthenticationError(f"no API key for {url}: run `perceo login --api-url {url}`, or set {API_KEY_ENV}")
    return HttpBackend(ApiClient(url, resolved.api_key))
