"""Fixtures for the analyzer on the real graph: a FalkorFlowGraph on the session's FalkorDB, a fresh graph key per
test, with an injected clock."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from analyzer_kit import SECRET, Clock, Receiver
from falkordb import FalkorDB

from perceo.analyzer.alerts import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from perceo.graph.falkor import FalkorFlowGraph
from perceo_cli.local.server import ServerProcess


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def graph(falkordb_server: ServerProcess, clock: Clock) -> Iterator[FalkorFlowGraph]:
    client = FalkorDB(host=falkordb_server.host, port=falkordb_server.port)
    name = f"analyzer-test-{uuid.uuid4().hex[:12]}"
    falkor = FalkorFlowGraph(client, name, clock=clock)
    falkor.ensure_schema()
    try:
        yield falkor
    finally:
        client.connection.delete(name)
        client.close()


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    """A signed-webhook receiver (checks the HMAC) and a Slack-like one, each an HTTP server on loopback."""
    made: dict[str, Receiver] = {"webhook": Receiver(secret=SECRET), "slack": Receiver()}
    servers = []
    for name, receiver in made.items():

        class Handler(BaseHTTPRequestHandler):
            target = receiver

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                me = self.target
                ok = me.secret is None or verify_signature(
                    me.secret, self.headers.get(TIMESTAMP_HEADER, ""), self.headers.get(SIGNATURE_HEADER, ""), raw
                )
                status = me.statuses.pop(0) if me.statuses else 200
                if not ok:
                    me.refused += 1
                    status = 401
                elif status == 200:
                    me.received.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook/{name}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    yield made
    for server in servers:
        server.shutdown()
        server.server_close()
