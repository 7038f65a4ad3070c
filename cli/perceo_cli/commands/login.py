"""`perceo login` and `perceo logout`: save (or forget) the project API key the CLI calls the API with.

Plain commands, registered with `app.command(name="login")(login)` and `app.command(name="logout")(logout)`.
The key is read from stdin (`--api-key-stdin`) or a hidden prompt, never from the command line, checked
with `GET /projects/me`, and saved per API URL in the credentials file (see `perceo_cli.credentials`).
It is never printed: output shows its 12-character prefix.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from perceo.errors import AuthenticationError, ConfigError, ValidationFailed
from perceo.models.common import now_ms
from perceo_cli.context import AppContext, app_context
from perceo_cli.credentials import API_KEY_ENV, CredentialStore, SavedCredential, key_prefix, normalize_api_url

ApiUrlOption = Annotated[
    str | None,
    typer.Option("--api-url", help="The API's base URL, stage included. Default: observer.apiBaseUrl of the config."),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def api_url_of(app_ctx: AppContext, given: str | None) -> str:
    """`--api-url` when given, else the config's observer.apiBaseUrl, normalised; ConfigError without either."""
    if given:
        return normalize_api_url(given)
    configured = _configured_url(app_ctx)
    if configured:
        return normalize_api_url(configured)
    raise ConfigError("no API URL: pass --api-url, or set observer.apiBaseUrl in .perceo/config.json")


def _configured_url(app_ctx: AppContext) -> str | None:
    try:
        return app_ctx.config.observer.api_base_url
    except ConfigError:
        return None  # a broken project config must not stop `login --api-url` from working


def read_key(from_stdin: bool, *, what: str = "API key", flag: str = "--api-key-stdin") -> str:
    """A key from stdin (`flag` given), else from a hidden prompt on a terminal; never from the command line."""
    if from_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            raise ValidationFailed(f"{flag}: stdin held no {what}")
        return key
    if not sys.stdin.isatty():
        raise ValidationFailed(
            f"no terminal to ask for the {what}: pass it on stdin with {flag} "
            "(keys are never read from the command line)"
        )
    key = str(typer.prompt(what[0].upper() + what[1:], hide_input=True, err=True)).strip()
    if not key:
        raise ValidationFailed(f"no {what} given")
    return key


def login(
    ctx: typer.Context,
    api_url: ApiUrlOption = None,
    api_key_stdin: Annotated[
        bool, typer.Option("--api-key-stdin", help="Read the API key from stdin (for scripts and CI).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check an API key against the API and save it for that API URL (mode 0600)."""
    app_ctx = app_context(ctx)
    url = api_url_of(app_ctx, api_url)
    key = read_key(api_key_stdin)
    from perceo_cli.backend.http import ApiClient, HttpBackend  # httpx: only for the commands that call the API

    backend = HttpBackend(ApiClient(url, key))
    try:
        project = backend.project()
    except AuthenticationError:
        raise AuthenticationError(
            f"the API at {url} rejected this API key ({key_prefix(key)}); nothing was saved"
        ) from None
    finally:
        backend.close()
    store = CredentialStore.default()
    store.save(
        SavedCredential(api_url=url, api_key=key, project_id=project.id, project_name=project.name, saved_at=now_ms())
    )
    if as_json:
        app_ctx.output.json(
            {
                "apiUrl": url,
                "project": project,
                "keyPrefix": key[:12],
                "credentialsFile": str(store.path),
            }
        )
    else:
        app_ctx.output.text(
            f"Logged in to {url} as project {project.name} ({project.id}) with key {key_prefix(key)}", markup=False
        )
        app_ctx.output.info(f"Key saved in {store.path}")
    if os.environ.get(API_KEY_ENV):
        app_ctx.output.warn(f"{API_KEY_ENV} is set: it wins over the saved key until you unset it")
    configured = _configured_url(app_ctx)
    if configured is None or normalize_api_url(configured) != url:
        app_ctx.output.info(f"To use this API here: perceo config set observer.apiBaseUrl {url}")


def logout(ctx: typer.Context, api_url: ApiUrlOption = None, as_json: JsonFlag = False) -> None:
    """Forget the API key saved for an API URL."""
    app_ctx = app_context(ctx)
    url = api_url_of(app_ctx, api_url)
    store = CredentialStore.default()
    removed = store.remove(url)
    if as_json:
        app_ctx.output.json({"apiUrl": url, "removed": removed})
    elif removed:
        app_ctx.output.text(f"Logged out of {url} (its saved key is removed from {store.path})", markup=False)
    else:
        app_ctx.output.text(f"No key was saved for {url}", markup=False)
    if os.environ.get(API_KEY_ENV):
        app_ctx.output.warn(f"{API_KEY_ENV} is still set: commands keep using it")
