"""The local API Gateway on the wire: a stdlib `ThreadingHTTPServer` on loopback in front of `Gateway.handle`."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from perceo_cli.local.apigw.gateway import Gateway
from perceo_cli.local.apigw.messages import MAX_PAYLOAD_BYTES, GatewayRequest

logger = logging.getLogger(__name__)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "perceo-local-apigw"
    # Headers and body go out in separate writes; with Nagle on, the body waits for the client's delayed ACK
    # (about 40 ms on Linux) on every keep-alive request.
    disable_nagle_algorithm = True
    gateway: Gateway  # set on the per-server subclass

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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        logger.debug("http: " + format, *args)


class ApiServer:
    """The gateway behind a ThreadingHTTPServer on loopback; `url` is the stage's invoke URL."""

    def __init__(self, gateway: Gateway, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("GatewayRequestHandler", (_RequestHandler,), {"gateway": gateway})
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
