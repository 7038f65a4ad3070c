"""The dashboard's web app (Starlette): server-rendered pages, a JSON feed for the charts, and live bus events.

Safety, because flow names, commit messages, URLs and analytics data come from repositories and users:
- Jinja2 autoescapes every value; the page's script reads data only from JSON (`textContent`, never `innerHTML`
  with data); a strict Content-Security-Policy allows scripts, styles and requests from the page's own origin
  only (no inline script or style, no framing).
- The Host header must name the address the server listens on (no DNS rebinding from another site).
- Bound to anything but loopback, every request needs the token printed at start (`?token=` once, then an
  HttpOnly, SameSite=Strict cookie); requests that change something must come from the page's own origin.
- The API key of a cloud project stays in this process: the page talks to this server only.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from perceo.errors import PerceoError
from perceo_cli.dashboard.data import DashboardData

if TYPE_CHECKING:
    from perceo.bus.port import EventBus
    from perceo.models import PerceoEvent

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

HERE = Path(__file__).parent
TOKEN_COOKIE = "perceo_dashboard"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: A live connection sends a comment this often, so proxies and the browser keep it open.
HEARTBEAT_S = 15.0
#: Events kept for a slow page before the oldest are dropped.
EVENT_QUEUE = 100
VIEWS = (
    ("flows", "Flows"),
    ("analyses", "Analyses"),
    ("production", "Production"),
    ("tests", "Tests"),
    ("insights", "Insights"),
)
#: The buttons of the insights view: the path's action -> the status it sets.
INSIGHT_ACTIONS = {"acknowledge": "acknowledged", "resolve": "resolved"}


def _templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.0f}%"
    env.filters["num"] = lambda v, digits=0: "—" if v is None else f"{v:,.{digits}f}"
    env.filters["when"] = lambda ms: (
        "—" if not ms else dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    env.filters["short"] = lambda sha: (sha or "")[:10]
    env.filters["plural"] = lambda n, noun, many=None: f"{n} {noun if n == 1 else (many or noun + 's')}"
    return env


class Security(BaseHTTPMiddleware):
    """Security headers on every answer; the token check when bound beyond loopback; same-origin writes."""

    def __init__(self, app: Any, *, token: str | None) -> None:
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if self.token is not None:
            given = request.query_params.get("token")
            if given is not None and hmac.compare_digest(given.encode(), self.token.encode()):
                response: Response = RedirectResponse(request.url.remove_query_params("token"), status_code=303)
                response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
                return _harden(response)
            cookie = request.cookies.get(TOKEN_COOKIE, "")
            if not hmac.compare_digest(cookie.encode(), self.token.encode()):
                return _harden(PlainTextResponse("the dashboard's token is missing or wrong", status_code=401))
        if request.method not in ("GET", "HEAD") and not _same_origin(request):
            return _harden(PlainTextResponse("cross-origin request refused", status_code=403))
        return _harden(await call_next(request))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is not None and origin == f"{request.url.scheme}://{request.url.netloc}"


def _harden(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the page's own form posts
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


class Views:
    """The pages and feeds of one project's dashboard (each handler reads through `DashboardData`)."""

    def __init__(self, data: DashboardData, *, project_id: str, bus: EventBus | None) -> None:
        self.data = data
        self.project_id = project_id
        self.bus = bus
        self.env = _templates()

    def page(self, template: str, view: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        body = self.env.get_template(template).render(
            project_name=_safe(self.data.project_name, "project"),
            views=VIEWS,
            view=view,
            live=self.bus is not None,
            **values,
        )
        return HTMLResponse(body, status_code=status)

    async def names(self) -> dict[str, str]:
        return {f.id: f.name for f in await _run(self.data.flows)}

    async def flows(self, request: Request) -> Response:
        rows, notices = await _run(self.data.flow_rows)
        return self.page("flows.html", "flows", rows=rows, notices=notices)

    async def flow(self, request: Request) -> Response:
        try:
            flow = await _run(self.data.flow, request.path_params["flow_id"])
        except PerceoError as error:
            return self.page("missing.html", "flows", status=404, message=error.message)
        analyses, runs = await _run(self.data.history, flow.id)
        return self.page("flow.html", "flows", flow=flow, analyses=analyses, runs=runs)

    async def analyses(self, request: Request) -> Response:
        return self.page("analyses.html", "analyses", analyses=await _run(self.data.analyses, 20))

    async def production(self, request: Request) -> Response:
        series, notice = await _run(self.data.production)
        return self.page("production.html", "production", series=series, notice=notice)

    async def production_json(self, request: Request) -> Response:
        series, notice = await _run(self.data.production)
        return JSONResponse({"notice": notice, "series": [asdict(s) for s in series]})

    async def tests(self, request: Request) -> Response:
        summary, notice = await _run(self.data.tests)
        return self.page("tests.html", "tests", summary=summary, notice=notice, names=await self.names())

    async def insights(self, request: Request) -> Response:
        found = await _run(self.data.insights)
        return self.page(
            "insights.html", "insights", insights=found.value, notice=found.missing, names=await self.names()
        )

    async def insight_action(self, request: Request) -> Response:
        status = INSIGHT_ACTIONS.get(request.path_params["action"])
        if status is None:
            return PlainTextResponse("unknown action", status_code=404)
        try:
            await _run(self.data.set_insight_status, request.path_params["insight_id"], status)  # type: ignore[arg-type]
        except PerceoError as error:
            return self.page("missing.html", "insights", status=404, message=error.message)
        return RedirectResponse("/insights", status_code=303)

    async def events(self, request: Request) -> Response:
        if self.bus is None:
            return PlainTextResponse("no event bus for this project", status_code=404)
        return StreamingResponse(_event_stream(request, self.bus, self.project_id), media_type="text/event-stream")

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/flows", status_code=307)


def create_app(
    data: DashboardData,
    *,
    project_id: str,
    bus: EventBus | None = None,
    allowed_hosts: list[str],
    token: str | None = None,
) -> Starlette:
    """The app for one project. `allowed_hosts`: the Host header values accepted (the listen address's)."""
    views = Views(data, project_id=project_id, bus=bus)
    routes = [
        Route("/", views.home),
        Route("/flows", views.flows),
        Route("/flows/{flow_id}", views.flow),
        Route("/analyses", views.analyses),
        Route("/production", views.production),
        Route("/production.json", views.production_json),
        Route("/tests", views.tests),
        Route("/insights", views.insights),
        Route("/insights/{insight_id}/{action}", views.insight_action, methods=["POST"]),
        Route("/events", views.events),
        Route("/healthz", views.health),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts),
        Middleware(Security, token=token),
    ]
    return Starlette(routes=routes, middleware=middleware)


def _safe(read: Callable[[], str], default: str) -> str:
    try:
        return read()
    except PerceoError:
        return default


async def _run(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Backend calls block (graph, HTTP): run them off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def _event_stream(request: Request, bus: EventBus, project_id: str) -> AsyncIterator[bytes]:
    """Server-sent events: each bus event of the project as `{type, source, at, data}` (no secrets: bus events
    carry ids, names and figures), a heartbeat comment every `HEARTBEAT_S`, until the page goes away."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[PerceoEvent] = asyncio.Queue(maxsize=EVENT_QUEUE)

    def deliver(event: PerceoEvent) -> None:
        def put() -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

        loop.call_soon_threadsafe(put)

    subscription = await asyncio.to_thread(bus.subscribe, project_id, deliver)
    try:
        yield b": connected\n\n"
        while not await request.is_disconnected():
            try:
                event = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            payload = {"type": str(event.type), "source": event.source, "at": event.timestamp, "data": event.data}
            yield f"event: perceo\ndata: {json.dumps(payload, default=str)}\n\n".encode()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(subscription.close)
