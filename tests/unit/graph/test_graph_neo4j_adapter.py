"""How Neo4jFlowGraph drives the official driver.

A real Neo4j cannot run here (no server package, no Docker), and FalkorDB's Bolt listener rejects Neo4j's
schema DDL, so these tests use `create_autospec(neo4j.Driver)` for what only a real Neo4j would show:
read routing, the database name, the schema statements and error translation. The query path itself runs
against the real driver in tests/integration/graph (marked `neo4j_driver`).
"""

from __future__ import annotations

from typing import Any
from unittest.mock import create_autospec

import neo4j
import neo4j.exceptions
import pytest
from neo4j import RoutingControl

from perceo.errors import BackendUnavailableError, ConfigError, ConflictError
from perceo.graph.neo4j import SCHEMA_STATEMENTS, SHOW_CONSTRAINTS, SHOW_INDEXES, Neo4jFlowGraph


class Record:
    """The one method of neo4j.Record the adapter uses."""

    def __init__(self, **values: Any) -> None:
        self.values = values

    def data(self) -> dict[str, Any]:
        return dict(self.values)


def driver_answering(*answers: list[Record]) -> Any:
    driver = create_autospec(neo4j.Driver, instance=True)
    driver.execute_query.side_effect = [(list(records), None, []) for records in answers]
    return driver


def test_reads_go_to_the_named_database_with_read_routing() -> None:
    driver = driver_answering([])
    graph = Neo4jFlowGraph(driver, database="perceo-prod")

    assert graph.get_project("p1") is None

    _, kwargs = driver.execute_query.call_args
    assert kwargs == {"database_": "perceo-prod", "routing_": RoutingControl.READ}
    assert driver.execute_query.call_args.args[1] == {"projectId": "p1"}


def test_writes_use_write_routing() -> None:
    driver = driver_answering([Record(flow={"id": "f1", "projectId": "p1", "name": "Checkout"})])
    graph = Neo4jFlowGraph(driver, database="neo4j", clock=lambda: 77)

    from perceo.models import FlowUpdate

    updated = graph.update_flow("p1", "f1", FlowUpdate(priority="high"))

    assert updated is not None and updated.id == "f1"
    assert driver.execute_query.call_args.kwargs["routing_"] == RoutingControl.WRITE
    assert driver.execute_query.call_args.args[1]["props"] == {"priority": "high", "updatedAt": 77}


def test_schema_bootstrap_creates_only_what_is_missing() -> None:
    present = [name for name, _ in SCHEMA_STATEMENTS[:3]]
    missing = SCHEMA_STATEMENTS[3:]
    driver = driver_answering(
        [Record(name=present[0]), Record(name=present[1])],
        [Record(name=present[2]), Record(name="someone_elses_index")],
        *([] for _ in missing),
    )

    Neo4jFlowGraph(driver).ensure_schema()

    queries = [c.args[0] for c in driver.execute_query.call_args_list]
    assert queries[:2] == [SHOW_CONSTRAINTS, SHOW_INDEXES]
    assert queries[2:] == [statement for _, statement in missing]


def test_batch_upserts_are_split_into_batches_of_batch_size() -> None:
    from perceo.models import Persona

    rows = [Record(persona={"id": f"x{n}", "projectId": "p1", "name": f"P{n}"}) for n in range(5)]
    driver = driver_answering(rows[:2], rows[2:4], rows[4:])
    graph = Neo4jFlowGraph(driver, batch_size=2)

    stored = graph.upsert_personas("p1", [Persona(project_id="p1", name=f"P{n}") for n in range(5)])

    assert [p.id for p in stored] == [f"x{n}" for n in range(5)]
    assert [len(c.args[1]["rows"]) for c in driver.execute_query.call_args_list] == [2, 2, 1]


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (neo4j.exceptions.ServiceUnavailable("down"), BackendUnavailableError),
        (neo4j.exceptions.SessionExpired("gone"), BackendUnavailableError),
        (neo4j.exceptions.ConstraintError("dup"), ConflictError),
        (neo4j.exceptions.AuthError("no"), ConfigError),
    ],
)
def test_driver_errors_become_domain_errors(raised: Exception, expected: type[Exception]) -> None:
    driver = create_autospec(neo4j.Driver, instance=True)
    driver.execute_query.side_effect = raised

    with pytest.raises(expected):
        Neo4jFlowGraph(driver).list_projects()


def test_ping_is_false_when_the_database_does_not_answer() -> None:
    driver = create_autospec(neo4j.Driver, instance=True)
    driver.execute_query.side_effect = neo4j.exceptions.ServiceUnavailable("down")

    assert Neo4jFlowGraph(driver).ping() is False


def test_a_uri_needs_credentials_and_a_neo4j_scheme() -> None:
    with pytest.raises(ValueError, match="auth"):
        Neo4jFlowGraph("neo4j+s://db.example.io")
    with pytest.raises(ValueError, match="http"):
        Neo4jFlowGraph("http://db.example.io", auth=("u", "p"))


def test_close_closes_only_a_driver_it_opened() -> None:
    given = create_autospec(neo4j.Driver, instance=True)
    Neo4jFlowGraph(given).close()
    given.close.assert_not_called()

    opened = Neo4jFlowGraph("bolt://127.0.0.1:7687", auth=("u", "p"))  # the driver connects lazily
    assert opened._owns_driver is True
    opened.close()
