"""The shared Cypher stays in the subset both engines run, is parameter-only and is scoped by project."""

from __future__ import annotations

import re

import pytest

from perceo.graph import queries
from perceo.graph.falkor import INDEX_STATEMENTS
from perceo.graph.neo4j import SCHEMA_STATEMENTS
from perceo.graph.schema import LOOKUP_INDEXES, UNIQUE_KEYS, indexed_properties

QUERIES = {
    name: value
    for name, value in vars(queries).items()
    if name.isupper() and not name.startswith("_") and isinstance(value, str)
}
#: The only queries that are not about one project.
UNSCOPED = {"LIST_PROJECTS", "PING"}


def test_there_is_a_query_for_every_part_of_the_port() -> None:
    assert len(QUERIES) >= 25


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_no_query_uses_what_only_one_engine_understands(name: str) -> None:
    text = QUERIES[name]
    forbidden = {
        "datetime()": r"\bdatetime\s*\(",
        "EXISTS { } subquery": r"\bEXISTS\s*\{",
        "COUNT { } subquery": r"\bCOUNT\s*\{",
        "CALL { } subquery": r"\bCALL\s*\{",
        "regex match": r"=~",
        "APOC": r"\bapoc\.",
        "elementId()/id()": r"\b(elementId|id)\s*\(",
    }
    found = [what for what, pattern in forbidden.items() if re.search(pattern, text, re.IGNORECASE)]
    assert found == [], f"{name} uses {found}"


@pytest.mark.parametrize("name", sorted(set(QUERIES) - UNSCOPED))
def test_every_query_is_scoped_by_project_id(name: str) -> None:
    assert "$projectId" in QUERIES[name]


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_queries_take_values_as_parameters_not_literals(name: str) -> None:
    """No string literals (the only way a value could have been pasted in) other than none at all."""
    assert not re.search(r"'[^']*'|\"[^\"]*\"", QUERIES[name]), name


def test_every_batch_write_unwinds_its_rows() -> None:
    for name in ("UPSERT_PERSONAS", "UPSERT_FLOWS", "UPSERT_PAGES", "UPSERT_PAGE_LINKS"):
        assert "UNWIND $rows AS row" in QUERIES[name], name
    for name in ("REPLACE_STEPS", "SET_FLOW_PAGES"):
        assert "UNWIND range(0, size($flows) - 1) AS i" in QUERIES[name], name


def test_both_engines_get_the_same_keys_and_indexes() -> None:
    neo4j_names = [name for name, _ in SCHEMA_STATEMENTS]
    assert len(neo4j_names) == len(set(neo4j_names)) == len(UNIQUE_KEYS) + len(LOOKUP_INDEXES)
    for key in UNIQUE_KEYS:
        props = ", ".join(f"n.{p}" for p in key.properties)
        head = f"FOR (n:{key.label}) REQUIRE"
        assert any(head in s and props in s and "IS UNIQUE" in s for _, s in SCHEMA_STATEMENTS), key
    assert all("IF NOT EXISTS" in statement for _, statement in SCHEMA_STATEMENTS)
    expected = tuple(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})" for label, prop in indexed_properties())
    assert INDEX_STATEMENTS == expected
    assert ("Step", "order") in indexed_properties() and ("Page", "route") in indexed_properties()
