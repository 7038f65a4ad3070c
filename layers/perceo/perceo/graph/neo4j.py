"""The flow graph on Neo4j (Aura in the cloud) through the official `neo4j` driver.

Each query is one `driver.execute_query` call (a managed transaction, retried by the driver on transient
errors), with `database_` set and read routing for reads, so Aura clusters send reads to followers.
Credentials come only from the arguments; nothing here has a default user or password.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import neo4j
import neo4j.exceptions
from neo4j import GraphDatabase, RoutingControl

from perceo.errors import BackendUnavailableError, ConfigError, ConflictError
from perceo.graph.cypher import DEFAULT_BATCH_SIZE, CypherFlowGraph
from perceo.graph.mapping import Row
from perceo.graph.schema import LOOKUP_INDEXES, UNIQUE_KEYS, Key
from perceo.models import now_ms

DEFAULT_DATABASE = "neo4j"
#: `neo4j+s` is what Aura hands out; `bolt` talks to a single server (and to FalkorDB's Bolt listener).
URI_SCHEMES = frozenset({"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"})


def _properties(key: Key) -> str:
    props = ", ".join(f"n.{prop}" for prop in key.properties)
    return props if len(key.properties) == 1 else f"({props})"


#: (name, statement) for every constraint and index; names are fixed so `ensure_schema` can skip existing ones.
SCHEMA_STATEMENTS: tuple[tuple[str, str], ...] = tuple(
    (f"{key.name}_unique", f"CREATE CONSTRAINT {key.name}_unique IF NOT EXISTS "
     f"FOR (n:{key.label}) REQUIRE {_properties(key)} IS UNIQUE")
    for key in UNIQUE_KEYS
) + tuple(
    (f"{key.name}_index", f"CREATE INDEX {key.name}_index IF NOT EXISTS "
     f"FOR (n:{key.label}) ON ({', '.join(f'n.{prop}' for prop in key.properties)})")
    for key in LOOKUP_INDEXES
)  # fmt: skip

SHOW_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name RETURN name"
SHOW_INDEXES = "SHOW INDEXES YIELD name RETURN name"


class Neo4jFlowGraph(CypherFlowGraph):
    """FlowGraph on Neo4j.

    `driver_or_uri` is a `neo4j.Driver` (its owner closes it) or a `neo4j+s://`, `neo4j://` or `bolt://` URI,
    for which `auth` (user, password) is required and `driver_config` goes to `GraphDatabase.driver`.
    `batch_size` bounds the rows of one UNWIND (keep it ≤100 against FalkorDB's Bolt listener).
    """

    def __init__(
        self,
        driver_or_uri: neo4j.Driver | str,
        auth: tuple[str, str] | None = None,
        database: str = DEFAULT_DATABASE,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        clock: Callable[[], int] = now_ms,
        driver_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, clock=clock)
        if not database:
            raise ValueError("database must not be empty")
        self.database = database
        if isinstance(driver_or_uri, str):
            scheme = urlsplit(driver_or_uri).scheme
            if scheme not in URI_SCHEMES:
                raise ValueError(f"a Neo4j URI starts with one of {', '.join(sorted(URI_SCHEMES))}://, not {scheme!r}")
            if auth is None:
                raise ValueError("a Neo4j URI needs auth=(user, password)")
            self._driver = GraphDatabase.driver(driver_or_uri, auth=auth, **dict(driver_config or {}))
            self._owns_driver = True
        else:
            self._driver = driver_or_uri
            self._owns_driver = False

    # -- running queries

    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        return self._run(query, params, RoutingControl.READ)

    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        return self._run(query, params, RoutingControl.WRITE)

    def _run(self, query: str, params: Mapping[str, Any], routing: RoutingControl) -> list[Row]:
        try:
            records, _, _ = self._driver.execute_query(query, dict(params), database_=self.database, routing_=routing)
        except neo4j.exceptions.ConstraintError as error:
            raise ConflictError(f"the flow graph refused a duplicate: {error.message}") from error
        except neo4j.exceptions.AuthError:
            raise ConfigError(
                "the flow graph (Neo4j) rejected the credentials: check flowGraph.username and flowGraph.password"
            ) from None
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired) as error:
            raise BackendUnavailableError(
                f"the flow graph (Neo4j) cannot be reached: {type(error).__name__}", dependency="the flow graph"
            ) from error
        return [record.data() for record in records]

    # -- schema and lifecycle

    def ensure_schema(self) -> None:
        """Create the missing constraints and indexes (`IF NOT EXISTS`, so concurrent cold starts are fine)."""
        existing = {row["name"] for row in self._read(SHOW_CONSTRAINTS, {})}
        existing |= {row["name"] for row in self._read(SHOW_INDEXES, {})}
        for name, statement in SCHEMA_STATEMENTS:
            if name not in existing:
                self._write(statement, {})

    def close(self) -> None:
        if self._owns_driver:
            self._driver.close()
