"""What the flow graph indexes and keeps unique, said once for both engines.

Each adapter renders these into its own DDL (Neo4j: `CREATE CONSTRAINT … IF NOT EXISTS`; FalkorDB:
`CREATE INDEX FOR …` plus `GRAPH.CONSTRAINT CREATE … UNIQUE`), so the two schemas cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    """A set of node properties: unique together (a natural key) or only indexed for lookups."""

    label: str
    properties: tuple[str, ...]

    @property
    def name(self) -> str:
        """A stable identifier, e.g. `flow_project_id_name`."""
        snake = "_".join(_snake(p) for p in self.properties)
        return f"{_snake(self.label)}_{snake}"


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


#: Identity and natural keys. Ids are unique across projects; names and routes are unique per project;
#: a step's order is unique per flow.
UNIQUE_KEYS: tuple[Key, ...] = (
    Key("Project", ("id",)),
    Key("Persona", ("id",)),
    Key("Persona", ("projectId", "name")),
    Key("Flow", ("id",)),
    Key("Flow", ("projectId", "name")),
    Key("Step", ("id",)),
    Key("Step", ("flowId", "order")),
    Key("Page", ("projectId", "route")),
    Key("ChangeAnalysis", ("id",)),
    # coordinator
    Key("TestRun", ("id",)),
    Key("Prediction", ("id",)),
    Key("FlowMetrics", ("projectId", "flowId", "day")),
    # analyzer: one insight per subject and day (key = "<subject>@<day>")
    Key("Insight", ("id",)),
    Key("Insight", ("projectId", "key")),
    Key("AlertRule", ("id",)),
    Key("AlertRule", ("projectId", "name")),
)

#: Lookups every query starts from: all of a project's nodes of one label.
LOOKUP_INDEXES: tuple[Key, ...] = (
    Key("Persona", ("projectId",)),
    Key("Flow", ("projectId",)),
    Key("Step", ("projectId",)),
    Key("Step", ("flowId",)),
    Key("Page", ("projectId",)),
    Key("ChangeAnalysis", ("projectId",)),
    # coordinator
    Key("TestRun", ("projectId",)),
    Key("Prediction", ("projectId",)),
    Key("FlowMetrics", ("projectId",)),
    # analyzer
    Key("Insight", ("projectId",)),
    Key("AlertRule", ("projectId",)),
)


def indexed_properties() -> list[tuple[str, str]]:
    """Every (label, property) that needs a single-property index, in a stable order."""
    seen: dict[tuple[str, str], None] = {}
    for key in (*UNIQUE_KEYS, *LOOKUP_INDEXES):
        for prop in key.properties:
            seen[(key.label, prop)] = None
    return list(seen)
