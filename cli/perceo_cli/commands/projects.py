"""`perceo projects`: create a project on the API with the deployment's admin key, show the key's own project,
delete it.

`create` is what an operator runs once per team after `sam deploy` (or `perceo local up`): it calls
`POST /projects` with the admin key and prints the project's first API key, once. The admin key comes from
`PERCEO_ADMIN_KEY`, stdin (`--admin-key-stdin`) or a hidden prompt, never from the command line; against this
project's running local cloud it is read from the local secrets file. `--login` saves the new key for the API URL
as `perceo login` would, so the next commands use it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from perceo.errors import AuthenticationError, ValidationFailed
from perceo.models import Project
from perceo.models.api import CreateProjectRequest, CreateProjectResponse
from perceo.models.common import now_ms
from perceo_cli.commands.login import ApiUrlOption, JsonFlag, api_url_of, read_key
from perceo_cli.context import app_context
from perceo_cli.credentials import CredentialStore, SavedCredential, normalize_api_url
from perceo_cli.output import plural

app = typer.Typer(
    help="Projects on the Perceo API: create one (admin key), show yours, delete it.", no_args_is_help=True
)

ADMIN_KEY_ENV = "PERCEO_ADMIN_KEY"


def local_cloud_admin_key(project_dir: Path, url: str) -> str | None:
    """The admin key of this project's local cloud when `url` is its running API, else None."""
    from perceo_cli.local.cloud import read_secrets, read_state

    state = read_state(project_dir)
    if state is None or normalize_api_url(state.api_url) != url:
        return None
    secrets = read_secrets(project_dir)
    return secrets.admin_key if secrets is not None else None


def _admin_key(project_dir: Path, url: str, from_stdin: bool) -> str:
    """`--admin-key-stdin`, else PERCEO_ADMIN_KEY, else this directory's local cloud's, else a hidden prompt."""
    if not from_stdin:
        if os.environ.get(ADMIN_KEY_ENV):
            return os.environ[ADMIN_KEY_ENV].strip()
        local = local_cloud_admin_key(project_dir, url)
        if local is not None:
            return local
        if not sys.stdin.isatty():
            raise ValidationFailed(
                f"no admin key: set {ADMIN_KEY_ENV} or pass it on stdin with --admin-key-stdin "
                "(keys are never read from the command line)"
            )
    return read_key(from_stdin, what="admin key", flag="--admin-key-stdin")


@app.command("create")
def create_project(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project's name.")],
    framework: Annotated[str, typer.Option("--framework", help="The app's framework, e.g. nextjs.")] = "unknown",
    api_url: ApiUrlOption = None,
    admin_key_stdin: Annotated[
        bool, typer.Option("--admin-key-stdin", help="Read the deployment's admin key from stdin.")
    ] = False,
    login: Annotated[
        bool, typer.Option("--login", help="Save the new project's key for this API URL, as `perceo login` does.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a project with the deployment's admin key; its first API key (every scope) is printed this once."""
    app_ctx = app_context(ctx)
    url = api_url_of(app_ctx, api_url)
    admin_key = _admin_key(app_ctx.project_dir, url, admin_key_stdin)
    request = CreateProjectRequest(name=name, framework=framework)
    from perceo_cli.backend.http import ApiClient  # httpx: only for the commands that call the API

    client = ApiClient(url, admin_key)
    try:
        created = client.send_model(CreateProjectResponse, "POST", "/projects", request)
    except AuthenticationError:
        raise AuthenticationError(
            f"the API at {url} rejected the admin key (the deployment's AdminKeySecret); no project was created"
        ) from None
    finally:
        client.close()
    project, key = created.project, created.api_key
    store = CredentialStore.default() if login else None
    if store is not None:
        store.save(
            SavedCredential(
                api_url=url, api_key=key.key, project_id=project.id, project_name=project.name, saved_at=now_ms()
            )
        )
    if as_json:
        app_ctx.output.json(created)
        return
    app_ctx.output.info(
        f"Created project {project.name} ({project.id}) on {url}. Its first API key "
        f"({key.api_key.prefix}, every scope) is shown this once:"
    )
    app_ctx.output.text(key.key, markup=False)
    if store is not None:
        app_ctx.output.info(f"Key saved in {store.path} for {url}")
    else:
        app_ctx.output.info(f"Use it here with: perceo login --api-url {url}")


@app.command("show")
def show_project(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The project of the API key in use."""
    app_ctx = app_context(ctx)
    project: Project = app_ctx.backend.key_project()
    if as_json:
        app_ctx.output.json(project)
        return
    app_ctx.output.text(f"{project.name} ({project.id})  framework {project.framework}", markup=False)


@app.command("delete")
def delete_project(
    ctx: typer.Context,
    project_id: Annotated[str, typer.Argument(help="The id of the key's own project (`perceo projects show`).")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask; required without a terminal.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete the key's project with its flows, personas, analyses and API keys (scope project:admin)."""
    app_ctx = app_context(ctx)
    backend = app_ctx.backend
    if not yes:
        if not sys.stdin.isatty():
            raise ValidationFailed("deleting a project cannot be undone: pass --yes to confirm")
        typer.confirm(f"Delete project {project_id} and everything in it?", default=False, abort=True, err=True)
    deleted = backend.delete_project(project_id)
    if as_json:
        app_ctx.output.json(deleted)
        return
    app_ctx.output.text(
        f"Deleted project {deleted.project_id} and its {plural(deleted.keys_deleted, 'API key')}.", markup=False
    )
