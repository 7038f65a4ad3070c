"""The flow graph on FalkorDB (the embedded store, `perceo local`, tests) through the `falkordb` client.

Every query runs with GRAPH.QUERY / GRAPH.RO_QUERY on one graph key (`graph_name`, default "perceo"); each
query is atomic on the server. Schema: a range index per (label, property) of `schema.py`, then a unique
constraint per key (`GRAPH.CONSTRAINT CREATE … UNIQUE`, which FalkorDB builds in the background).

Replies are read here (`_run`), not by the client's `QueryResult`: the queries return scalars, lists and maps
only, and the client's generic decoder (a function call per cell, OrderedDicts) took about as long as the query
itself for a page of flows. Anything else (a node, an edge, a path: no query here returns one) still goes
through the client's decoder.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis.exceptions
from falkordb.helpers import stringify_param_value

from perceo.errors import BackendUnavailableError, ConfigError, ConflictError
from perceo.graph.cypher import DEFAULT_BATCH_SIZE, CypherFlowGraph
from perceo.graph.mapping import Row
from perceo.graph.schema import UNIQUE_KEYS, indexed_properties
from perceo.models import now_ms

if TYPE_CHECKING:
    from falkordb import FalkorDB


DEFAULT_GRAPH_NAME = "perceo"
#: How an unavailable graph is named to clients (`BackendUnavailableError.dependency`).
GRAPH_DEPENDENCY = "the flow graph"
#: A query that takes longer than this is stuck; the embedded store answers in milliseconds. The default of
#: `flowGraph.timeoutS`; the cloud's functions use `GRAPH_TIMEOUT_S` (under API Gateway's 29 s).
SOCKET_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 5.0

#: Index DDL, one statement per (label, property); FalkorDB has no IF NOT EXISTS (see `_create_schema_item`).
INDEX_STATEMENTS: tuple[str, ...] = tuple(
    f"CREATE INDEX FOR (n:{label}) ON (n.{prop})" for label, prop in indexed_properties()
)

LIST_INDEXES = "CALL db.indexes() YIELD label, properties RETURN label, properties"

#: Every relationship type the queries use. FalkorDB 4.16 caches each query's plan, and a plan compiled while a type
#: did not exist yet in the graph keeps reading that type's edges as null afterwards: LIST_ANALYSES run before the
#: first AFFECTS edge existed later returned `{flowId, edge: null}` for every flow. The schema bootstrap therefore
#: makes each type exist once (an edge created and deleted at once; the type stays in the graph's schema).
RELATIONSHIP_TYPES = (
    "ABOUT", "AFFECTS", "CONNECTS_TO", "FOR_PERSONA", "HAS_FLOW", "HAS_METRICS", "HAS_PERSONA", "HAS_STEP",
    "LINKS_TO", "NEXT", "TESTS", "VISITS",
)  # fmt: skip
LIST_RELATIONSHIP_TYPES = "CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType"
REGISTER_RELATIONSHIP_TYPES = (
    "CREATE (a:SchemaProbe), (b:SchemaProbe) "
    + " ".join(f"CREATE (a)-[:{name}]->(b)" for name in RELATIONSHIP_TYPES)
    + " WITH a, b DETACH DELETE a, b"
)
LIST_CONSTRAINTS = "CALL db.constraints() YIELD type, label, properties RETURN type, label, properties"

#: FalkorDB's reply to a write that breaks a unique constraint. Its error replies carry no code (no `ERR`-style
#: first word) and no other field, so this fixed prefix is the one sign; tests/integration/graph pins it on the
#: real server. Every other FalkorDB error is told apart by the graph's state instead (see `_read`,
#: `_create_schema_item`).
_UNIQUE_VIOLATION_PREFIX = "unique constraint violation"


class FalkorFlowGraph(CypherFlowGraph):
    """FlowGraph on a FalkorDB server.

    `client` is a `falkordb.FalkorDB` (not closed by `close()`; its owner closes it) or a URL
    (`redis://`, `rediss://`, `falkor://`, `falkors://`, `unix://`), which this graph opens and closes, with
    `timeout_s` as each reply's time limit: a store that stops answering (frozen, partitioned) is a
    BackendUnavailableError after that long, never a wait without end.
    """

    def __init__(
        self,
        client: FalkorDB | str,
        graph_name: str = DEFAULT_GRAPH_NAME,
        *,
        username: str | None = None,
        password: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clock: Callable[[], int] = now_ms,
        timeout_s: float = SOCKET_TIMEOUT_S,
    ) -> None:
        super().__init__(batch_size=batch_size, clock=clock)
        if not graph_name:
            raise ValueError("graph_name must not be empty")
        if isinstance(client, str):
            self._client = _open(client, username=username, password=password, timeout_s=timeout_s)
            self._owns_client = True
        else:
            self._client = client
            self._owns_client = False
        self.graph_name = graph_name
        self._graph = self._client.select_graph(graph_name)

    # -- running queries

    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        try:
            return self._run("GRAPH.RO_QUERY", query, params)
        except redis.exceptions.ResponseError as error:
            if not self._graph_exists():
                return []  # the graph key does not exist yet: nothing has been written, so nothing to read
            raise _translated(error) from error
        except redis.exceptions.RedisError as error:
            raise _translated(error) from error

    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        try:
            return self._run("GRAPH.QUERY", query, params)
        except redis.exceptions.RedisError as error:
            raise _translated(error) from error

    def _graph_exists(self) -> bool:
        try:
            return bool(self._client.connection.exists(self.graph_name))
        except redis.exceptions.RedisError as error:
            raise _translated(error) from error

    def _run(self, command: str, query: str, params: Mapping[str, Any]) -> list[Row]:
        """One query in the compact reply format (what the client's own `query` sends), read into rows."""
        reply = self._graph.execute_command(command, self.graph_name, _with_params(query, params), "--compact")
        if reply and isinstance(reply[-1], redis.exceptions.ResponseError):
            raise reply[-1]  # a run-time error comes as the reply's last element
        if len(reply) < 3:
            return []  # statistics only: the query returns no columns
        header, records = reply[0], reply[1]
        names = [column[1] for column in header]
        cell = self._cell
        # Strings and integers (most cells) arrive as they are meant: the client always decodes replies to str.
        return [
            dict(zip(names, [value[1] if value[0] in _AS_IS else cell(value) for value in record], strict=True))
            for record in records
        ]

    def _cell(self, value: list[Any]) -> Any:
        """One value of a compact reply: [type, payload]."""
        kind, payload = value
        if kind in _AS_IS:
            return payload
        if kind == _NULL:
            return None
        if kind == _BOOLEAN:
            return payload == "true"
        if kind == _DOUBLE:
            return float(payload)
        if kind == _ARRAY:
            return [self._cell(item) for item in payload]
        if kind == _MAP:
            return {key: self._cell(item) for key, item in zip(payload[::2], payload[1::2], strict=True)}
        from falkordb.query_result import parse_scalar

        return _plain(parse_scalar(value, self._graph))  # nodes, edges, paths, points, temporal values

    # -- schema and lifecycle

    def ensure_schema(self) -> None:
        """Create the missing range indexes and unique constraints. Idempotent and cheap when all exist."""
        indexed = self._indexed()
        for (label, prop), statement in zip(indexed_properties(), INDEX_STATEMENTS, strict=True):
            if (label, prop) not in indexed:
                self._create_schema_item(functools.partial(self._has_index, label, prop), self._graph.query, statement)
        known = {row["relationshipType"] for row in self._read(LIST_RELATIONSHIP_TYPES, {})}
        if not set(RELATIONSHIP_TYPES) <= known:
            self._write(REGISTER_RELATIONSHIP_TYPES, {})
        constrained = self._constrained()
        for key in UNIQUE_KEYS:
            if (key.label, key.properties) not in constrained:
                self._create_schema_item(
                    functools.partial(self._has_constraint, key.label, key.properties),
                    self._client.connection.execute_command,
                    "GRAPH.CONSTRAINT", "CREATE", self.graph_name,
                    "UNIQUE", "NODE", key.label, "PROPERTIES", len(key.properties), *key.properties,
                )  # fmt: skip

    def _has_index(self, label: str, prop: str) -> bool:
        return (label, prop) in self._indexed()

    def _has_constraint(self, label: str, properties: tuple[str, ...]) -> bool:
        return (label, properties) in self._constrained()

    def _indexed(self) -> set[tuple[str, str]]:
        return {(row["label"], prop) for row in self._read(LIST_INDEXES, {}) for prop in row["properties"]}

    def _constrained(self) -> set[tuple[str, tuple[str, ...]]]:
        return {
            (row["label"], tuple(row["properties"]))
            for row in self._read(LIST_CONSTRAINTS, {})
            if row["type"] == "UNIQUE"
        }

    def ping(self) -> bool:
        try:
            return bool(self._client.connection.ping())
        except redis.exceptions.RedisError:
            return False

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    @staticmethod
    def _create_schema_item(exists: Callable[[], bool], run: Callable[..., object], *args: object) -> None:
        """Run one CREATE INDEX/CONSTRAINT. Another process may have made the same one a moment ago (FalkorDB has
        no IF NOT EXISTS): a refusal is fine when the item exists now, and raised when it does not."""
        try:
            run(*args)
        except redis.exceptions.ResponseError:
            if not exists():
                raise


def _open(url: str, *, username: str | None, password: str | None, timeout_s: float) -> FalkorDB:
    from falkordb import FalkorDB

    extra: dict[str, Any] = {}
    if username:
        extra["username"] = username
    if password:
        extra["password"] = password
    try:
        # The client asks the server for INFO while it is built (cluster/sentinel detection): this connects.
        return FalkorDB.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=min(CONNECT_TIMEOUT_S, timeout_s), **extra
        )
    except ValueError as error:  # the message names the scheme problem, never the password
        raise ConfigError(
            f"flowGraph.uri is not a valid FalkorDB/Redis URL: {error}", details={"key": "flowGraph.uri"}
        ) from None
    except redis.exceptions.RedisError as error:
        where = urlsplit(url)
        shown = f"{where.hostname}:{where.port or 6379}" if where.hostname else where.path or "the configured socket"
        raise BackendUnavailableError(
            f"the flow graph (FalkorDB) at {shown} cannot be reached", dependency=GRAPH_DEPENDENCY
        ) from error


#: Value types of FalkorDB's compact reply format (`falkordb.query_result.ResultSetScalarTypes`).
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _MAP = 1, 2, 3, 4, 5, 6, 10
_AS_IS = (_STRING, _INTEGER)


def _with_params(query: str, params: Mapping[str, Any]) -> str:
    """The query behind a `CYPHER name=value …` header, as the client writes parameters (strings quoted and
    escaped by the client's own `stringify_param_value`)."""
    if not params:
        return query
    header = " ".join(f"`{name}`={stringify_param_value(value)}" for name, value in params.items())
    return f"CYPHER {header} {query}"


def _plain(value: Any) -> Any:
    """OrderedDicts (FalkorDB maps) to dicts, recursively, so rows look the same as Neo4j's."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _translated(error: redis.exceptions.RedisError) -> Exception:
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        return BackendUnavailableError(
            f"the flow graph (FalkorDB) cannot be reached: {type(error).__name__}", dependency=GRAPH_DEPENDENCY
        )
    if isinstance(error, redis.exceptions.ResponseError) and str(error).startswith(_UNIQUE_VIOLATION_PREFIX):
        return ConflictError(f"the flow graph refused a duplicate: {error}")
    return error
