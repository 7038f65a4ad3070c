"""A small real web app on loopback for synthetic runs: pages, a link, a form, and a cart without a checkout button
(the known reason one flow fails). Served by the standard library's threading HTTP server, stopped after the test."""

from __future__ import annotations

import html
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from falkordb import FalkorDB

from perceo.coordinator.synthetic import find_chromium
from perceo.errors import RunnerNotInstalledError
from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.local.server import ServerProcess

PAGES = {
    "/": "<h1>Shoe shop</h1><a id='to-products' href='/products'>All products</a>",
    "/products": (
        "<h1>Products</h1><ul><li class='product'>Runner 42</li></ul>"
        "<form action='/search' method='get'><input name='q' id='q'>"
        "<button id='go' type='submit'>Search</button></form>"
        "<a id='to-cart' href='/cart'>Cart</a>"
    ),
    "/cart": "<h1>Your cart</h1><p id='empty'>Your cart is empty</p>",
}


class ShopHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        parts = urlsplit(self.path)
        if parts.path == "/search":
            query = html.escape(parse_qs(parts.query).get("q", [""])[0])
            body = f"<h1 id='results'>Results for {query}</h1>"
        elif parts.path in PAGES:
            body = PAGES[parts.path]
        else:
            self.send_error(404)
            return
        data = f"<!doctype html><html><head><title>Shop</title></head><body>{body}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet test output
        pass


@pytest.fixture
def shop_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)
    thread = threading.Thread(target=server.serve_forever, name="shop-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium; the browser tests skip (saying why) only when there is none."""
    try:
        return find_chromium(os.environ)
    except RunnerNotInstalledError as error:
        pytest.skip(f"no Chromium binary on this machine: {error.message}")


@pytest.fixture
def flow_graph(falkordb_server: ServerProcess) -> Iterator[FalkorFlowGraph]:
    """FalkorFlowGraph on the session's FalkorDB server, a fresh graph key per test."""
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    name = f"coordinator-test-{uuid.uuid4().hex[:12]}"
    graph = FalkorFlowGraph(client, name)
    graph.ensure_schema()
    try:
        yield graph
    finally:
        client.connection.delete(name)
        client.close()
