"""FalkorFlowGraph reads FalkorDB's compact replies itself: every value type comes out as the client would decode
it (maps as plain dicts), parameters survive quoting, and errors still reach the caller."""

from __future__ import annotations

import pytest
import redis.exceptions
from graph_testkit import wait_for_constraints

from perceo.errors import ConflictError
from perceo.graph.cypher import CypherFlowGraph
from perceo.graph.falkor import FalkorFlowGraph, _plain

VALUES = """
RETURN null AS nothing, 'Héllo "quoted" ✓' AS text, 9007199254740993 AS big, -7 AS negative, true AS yes,
  false AS no, 0.1 AS tenth, 1.0e300 AS huge, [1, 'a', [true, null], {k: [2.5]}] AS nested,
  {name: 'x', inner: {list: [1, 2], flag: false}, none: null} AS map, [] AS empty, {} AS bare
"""


def test_every_value_type_reads_as_the_client_decodes_it(graph: CypherFlowGraph) -> None:
    assert isinstance(graph, FalkorFlowGraph)
    graph._write("CREATE (:Probe {n: 1})", {})  # the graph key must exist for a read

    ours = graph._read(VALUES, {})
    theirs = graph._graph.ro_query(VALUES)

    names = [column[1] for column in theirs.header]
    assert ours == [{name: _plain(value) for name, value in zip(names, theirs.result_set[0], strict=True)}]
    assert ours[0]["big"] == 9007199254740993 and ours[0]["map"]["inner"] == {"list": [1, 2], "flag": False}
    assert type(ours[0]["map"]) is dict


def test_nodes_fall_back_to_the_clients_decoder(graph: CypherFlowGraph) -> None:
    graph._write("CREATE (:Probe {name: 'n1'})", {})

    rows = graph._read("MATCH (p:Probe) RETURN p AS node, labels(p) AS labels", {})

    assert rows[0]["labels"] == ["Probe"]
    assert rows[0]["node"].properties == {"name": "n1"}


@pytest.mark.parametrize("text", ["it's", 'say "hi"', "back\\slash", "new\nline", "ünï ✓", "$projectId", "{}"])
def test_string_parameters_arrive_as_sent(graph: CypherFlowGraph, text: str) -> None:
    rows = graph._write(
        "CREATE (p:Probe {text: $text, list: $list}) RETURN p.text AS text, p.list AS list",
        {"text": text, "list": [text, text]},
    )

    assert rows == [{"text": text, "list": [text, text]}]


def test_a_write_without_columns_gives_no_rows_and_errors_still_raise(graph: CypherFlowGraph) -> None:
    assert graph._write("CREATE (:Probe)", {}) == []
    with pytest.raises(redis.exceptions.ResponseError):
        graph._read("RETURN 1 / 0 AS boom", {})
    graph._write("CREATE INDEX FOR (n:Unique) ON (n.key)", {})
    graph._client.connection.execute_command(
        "GRAPH.CONSTRAINT", "CREATE", graph.graph_name, "UNIQUE", "NODE", "Unique", "PROPERTIES", 1, "key"
    )
    wait_for_constraints(graph)
    graph._write("CREATE (:Unique {key: 1})", {})
    with pytest.raises(ConflictError):
        graph._write("CREATE (:Unique {key: 1})", {})


def test_a_read_of_a_graph_never_written_is_empty_but_errors_on_a_written_one_raise(graph: CypherFlowGraph) -> None:
    assert graph._read("MATCH (p:Probe) RETURN p.n AS n", {}) == []  # no graph key yet: told by EXISTS, not text

    graph._write("CREATE (:Probe {n: 1})", {})

    with pytest.raises(redis.exceptions.ResponseError):
        graph._read("RETURN 1 / 0 AS boom", {})


def test_a_schema_item_another_process_just_made_is_accepted_and_a_failed_one_is_not(graph: CypherFlowGraph) -> None:
    assert isinstance(graph, FalkorFlowGraph)
    graph.ensure_schema()
    made_meanwhile = "CREATE INDEX FOR (n:Flow) ON (n.projectId)"  # what a concurrent ensure_schema would send

    graph._create_schema_item(lambda: graph._has_index("Flow", "projectId"), graph._graph.query, made_meanwhile)
    with pytest.raises(redis.exceptions.ResponseError):
        graph._create_schema_item(lambda: graph._has_index("Flow", "nope"), graph._graph.query, made_meanwhile)
