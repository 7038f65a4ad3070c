"""The local API Gateway on the wire: a stdlib `ThreadingHTTPServer` on loopback in front of `Gateway.handle`."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from perceo_cli.local.apigw.gateway import Gateway
from perceo_cli.local.apigw.messages import MAX_PAYLOAD_BYTES, GatewayRequest, GatewayResponse

logger = logging.getLogger(__name__)

#: `error.code` of the answers the HTTP server makes itself, before the gateway sees the request.
_ERROR_CODES = {
    400: "bad_request",
    413: "payload_too_large",
    414: "uri_too_long",
    431: "request_header_fields_too_large",
    501: "not_implemented",
    505: "http_version_not_supported",
}


#: Requests under this path go to the local cloud itself (never a stage's route: stages are named `[A-Za-z0-9_]+`).
CONTROL_PREFIX = "/_local/"


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "perceo-local-apigw"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's delayed ACK
    # (about 40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    gateway: Gateway  # set on the per-server subclass
    control: Callable[[GatewayRequest], GatewayResponse] | None = None

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as error:
            self.send_error(400, str(error))
            return
        request = GatewayRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        started = time.perf_counter()
        control = type(self).control
        if control is not None and urlsplit(self.path).path.startswith(CONTROL_PREFIX):
            response = control(request)
        else:
            response = self.gateway.handle(request)
        logger.info(
            "%s %s -> %s (%.1f ms)",
            request.method,
            urlsplit(request.target).path,
            response.status,
            (time.perf_counter() - started) * 1000,
        )
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES + 1:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > MAX_PAYLOAD_BYTES:
            # Read (and drop) it so the connection stays usable; the gateway answers 413 from the size alone.
            remaining = length
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            return b"\0" * (MAX_PAYLOAD_BYTES + 1)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, made-up ones) goes to the gateway too, which answers 405 with `Allow`,
        # instead of the stdlib's 501 HTML page.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the stdlib answers itself (a malformed request line, a header line over 64 KiB or over 100 headers:
        431, a bad body length), as a JSON error of the API's shape rather than an HTML page."""
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        said = f"{phrase}: {message}" if message and message != phrase else phrase
        body = json.dumps(
            {"error": {"code": _ERROR_CODES.get(code, "bad_request"), "message": said, "details": {}}},
            separators=(",", ":"),
        ).encode("utf-8")
        self.log_error("code %d, message %s", code, message)
        self.send_response(code, phrase)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug("http: " + format, *args)


class ApiServer:
    """The gateway behind a ThreadingHTTPServer on loopback; `url` is the stage's invoke URL."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        control: Callable[[GatewayRequest], GatewayResponse] | None = None,
    ) -> None:
        # `control` answers the local cloud's own requests (`/_local/…`, e.g. firing a schedule now), not the API's.
        attributes: dict[str, Any] = {"gateway": gateway, "control": staticmethod(control) if control else None}
        handler = type("GatewayRequestHandler", (_RequestHandler,), attributes)
        self.gateway = gateway
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/{self.gateway.api.stage}"

    def start(self) -> ApiServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-apigw", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
