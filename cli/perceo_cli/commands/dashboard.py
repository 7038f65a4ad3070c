"""`perceo dashboard`: a local web page of the project's flows, analyses, production metrics and test runs.

Exit codes: 0 when stopped (Ctrl-C), 1 when the server cannot start, 2 for bad options or no project.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer

from perceo_cli.context import app_context
from perceo_cli.exit import ExitStatus

if TYPE_CHECKING:
    import uvicorn

#: How long `--open` waits for the server to listen before giving up on opening the browser.
OPEN_WAIT_S = 10.0


def dashboard(
    ctx: typer.Context,
    open_browser: Annotated[bool, typer.Option("--open/--no-open", help="Open the page in the browser.")] = False,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: a free one).")] = 0,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on. Anything but loopback requires the token printed at start."),
    ] = "127.0.0.1",
    as_json: Annotated[
        bool, typer.Option("--json/--no-json", help="Print {url, host, port, tokenRequired} as one JSON line.")
    ] = False,
) -> None:
    """Serve the dashboard until Ctrl-C: flows, analyses, production, tests, with live updates from the bus."""
    import json
    import secrets

    from perceo.errors import ConfigError
    from perceo_cli.dashboard.app import create_app
    from perceo_cli.dashboard.data import DashboardData

    app_ctx = app_context(ctx)
    config = app_ctx.config
    if not config.project.id:
        raise ConfigError("no Perceo project here: run `perceo init` first", details={"where": "project.id"})
    loopback = _is_loopback(host)
    token = None if loopback else secrets.token_urlsafe(24)
    backend = app_ctx.backend
    backend.project()  # fail now (store, API key) rather than on the first page; builds the services once
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    url = f"http://{shown_host}:{bound_port}/" + (f"?token={token}" if token else "")
    allowed = ["127.0.0.1", "localhost", "::1"] if loopback else ["*"]
    app = create_app(
        DashboardData(backend),
        project_id=config.project.id,
        bus=backend.event_bus(),
        allowed_hosts=allowed,
        token=token,
    )
    server = _server(app)
    if as_json:
        app_ctx.output.out.file.write(
            json.dumps({"url": url, "host": host, "port": bound_port, "tokenRequired": token is not None}) + "\n"
        )
        app_ctx.output.out.file.flush()
    else:
        app_ctx.output.text(f"Perceo dashboard: {url}", markup=False)
    app_ctx.output.info("Ctrl-C to stop" + ("" if loopback else "; anyone with the URL's token can read the project"))
    if open_browser:
        threading.Thread(target=_open_when_ready, args=(server, url), daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    app_ctx.output.info("dashboard stopped")
    raise typer.Exit(ExitStatus.OK)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    from perceo.errors import PerceoError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PerceoError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _server(app: object) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
        access_log=False,
        server_header=False,
    )
    return uvicorn.Server(config)


def _open_when_ready(server: uvicorn.Server, url: str) -> None:
    import webbrowser

    deadline = time.monotonic() + OPEN_WAIT_S
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if server.started:
        webbrowser.open(url)
