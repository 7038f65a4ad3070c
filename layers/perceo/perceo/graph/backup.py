"""Backups on a Cypher graph: read every node and edge of one project, and write a whole project in one query.

The export reads every node that carries the project's id (and the Project node itself), whatever its label, and
every edge leaving one of them: a label or relationship type the export format does not know stops the export
(`UnknownRecordTypeError`) instead of leaving it out. An edge to another project's node would be a tenant leak
and stops it too.

The restore is one query, so one transaction on both engines: with `replace` it first deletes the project's
nodes, then creates each label's nodes (`FOREACH … CREATE … SET n = row`, which also runs for an empty list) and
each (type, from label, to label) group of edges, whose ends it finds by their key properties. Labels, types and
key names come from the allow-list in `perceo.backup.format`, never from the file.

A write that fails half-way must not happen after the delete: FalkorDB 4.16 rolls a failed query back, but when
the query had deleted nodes it restores their edges with the wrong ends (tests/integration/graph pins what we
saw). So everything a unique key could refuse is checked before the write: the file's own keys by `read_export`,
ids taken by another project here by `_taken_ids` (ConflictError, nothing written). Only a concurrent write of
the same ids between the check and the write can still make the write fail.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from perceo.backup.format import (
    EDGE_TYPES,
    NODE_KEYS,
    EdgeRecord,
    NodeRecord,
    NodeRef,
    ProjectExport,
    UnknownRecordTypeError,
    edges_by_shape,
    node_id,
)
from perceo.errors import ConflictError
from perceo.graph.mapping import Row

EXPORT_NODES = """
MATCH (n)
WHERE n.projectId = $projectId OR (n:Project AND n.id = $projectId)
RETURN labels(n) AS labels, properties(n) AS props
"""

EXPORT_EDGES = """
MATCH (a)-[r]->(b)
WHERE a.projectId = $projectId OR (a:Project AND a.id = $projectId)
RETURN labels(a) AS fromLabels, properties(a) AS fromProps, type(r) AS type, properties(r) AS props,
       labels(b) AS toLabels, properties(b) AS toProps
"""

PROJECT_NODES = """
MATCH (n)
WHERE n.projectId = $projectId OR (n:Project AND n.id = $projectId)
RETURN count(n) AS nodes
"""

#: The head of a replacing restore (not a statement of its own: the creates follow its WITH).
_DELETE_PROJECT_NODES = """
OPTIONAL MATCH (n)
WHERE n.projectId = $projectId OR (n:Project AND n.id = $projectId)
WITH collect(n) AS doomed
FOREACH (n IN doomed | DETACH DELETE n)
WITH count(*) AS done
"""


class BackupRecords(ABC):
    @abstractmethod
    def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    @abstractmethod
    def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    def export_project(self, project_id: str) -> ProjectExport:
        """Every node and edge of the project, as export records (unsorted; keys are not in the graph)."""
        export = ProjectExport(project_id=project_id)
        for row in self._read(EXPORT_NODES, {"projectId": project_id}):
            label = _label(row["labels"])
            props = dict(row["props"])
            export.nodes.append(NodeRecord(record="node", type=label, id=node_id(label, props), properties=props))
        for row in self._read(EXPORT_EDGES, {"projectId": project_id}):
            kind = row["type"]
            if kind not in EDGE_TYPES:
                raise UnknownRecordTypeError(
                    f"the graph holds {kind} edges, which the export format does not know", details={"type": kind}
                )
            source, target = _ref(row["fromLabels"], row["fromProps"]), _ref(row["toLabels"], row["toProps"])
            for end, props in ((source, row["fromProps"]), (target, row["toProps"])):
                owner = props.get("id") if end.type == "Project" else props.get("projectId")
                if owner != project_id:
                    raise ConflictError(
                        f"a {kind} edge of project {project_id} reaches another project's {end.type}",
                        details={"projectId": project_id, "type": kind},
                    )
            export.edges.append(
                EdgeRecord.model_validate(
                    {"record": "edge", "type": kind, "from": source, "to": target, "properties": dict(row["props"])}
                )
            )
        return export

    def project_exists(self, project_id: str) -> bool:
        """True when the graph holds the Project node or any node carrying the project's id."""
        rows = self._read(PROJECT_NODES, {"projectId": project_id})
        return bool(rows) and int(rows[0]["nodes"]) > 0

    def restore_project(self, export: ProjectExport, *, replace: bool) -> None:
        """Write the whole export in one query (deleting the project's nodes first when `replace`). ConflictError,
        with nothing written, when a node id of the file belongs to another project here."""
        self._refuse_taken_ids(export)
        query, params = restore_statement(export, replace=replace)
        self._write(query, params)

    def _refuse_taken_ids(self, export: ProjectExport) -> None:
        ids: dict[str, list[str]] = {}
        for node in export.nodes:
            if NODE_KEYS[node.type] == ("id",) and node.type != "Project":
                ids.setdefault(node.type, []).append(node.id)
        for label, wanted in sorted(ids.items()):
            query = (
                f"MATCH (n:{label}) WHERE n.id IN $ids AND NOT coalesce(n.projectId, '') = $projectId "
                "RETURN n.id AS id LIMIT 5"
            )
            taken = [row["id"] for row in self._read(query, {"ids": wanted, "projectId": export.project_id})]
            if taken:
                raise ConflictError(
                    f"{len(taken)}+ {label} id(s) of the file belong to another project in this store "
                    f"(e.g. {taken[0]}): restore into a store without it, or delete that project first",
                    details={"label": label, "ids": ", ".join(taken)},
                )


def restore_statement(export: ProjectExport, *, replace: bool) -> tuple[str, dict[str, Any]]:
    """The one query (and its parameters) that writes the export: each label's nodes, then each (type, from label,
    to label) group of edges, after deleting the project's nodes when `replace`."""
    params: dict[str, Any] = {"projectId": export.project_id}
    clauses = [_DELETE_PROJECT_NODES] if replace else []
    by_label: dict[str, list[dict[str, Any]]] = {}
    keys: dict[tuple[str, str], dict[str, Any]] = {}
    for node in export.nodes:
        by_label.setdefault(node.type, []).append(node.properties)
        keys[(node.type, node.id)] = node.properties
    for label in sorted(by_label):
        params[f"n_{label}"] = by_label[label]
        clauses.append(f"FOREACH (row IN $n_{label} | CREATE (n:{label}) SET n = row)")
    for index, ((kind, source, target), edges) in enumerate(sorted(edges_by_shape(export.edges).items())):
        params[f"e_{index}"] = [
            {"a": _key_values(keys, e.from_), "b": _key_values(keys, e.to), "p": e.properties} for e in edges
        ]
        clauses.append(
            f"FOREACH (row IN $e_{index} | MERGE (a:{source} {{{_match(source, 'a')}}}) "
            f"MERGE (b:{target} {{{_match(target, 'b')}}}) CREATE (a)-[r:{kind}]->(b) SET r = row.p)"
        )
    return "\n".join(clauses), params


def _label(labels: list[str]) -> str:
    known = [label for label in labels if label in NODE_KEYS]
    if len(known) != 1 or len(labels) != 1:
        raise UnknownRecordTypeError(
            f"the graph holds a node labelled {':'.join(labels)}, which the export format does not know",
            details={"labels": ":".join(labels)},
        )
    return known[0]


def _ref(labels: list[str], props: Mapping[str, Any]) -> NodeRef:
    label = _label(labels)
    return NodeRef(type=label, id=node_id(label, props))


def _key_values(keys: Mapping[tuple[str, str], Mapping[str, Any]], ref: NodeRef) -> dict[str, Any]:
    props = keys[(ref.type, ref.id)]
    values = {name: props[name] for name in NODE_KEYS[ref.type]}
    if ref.type != "Project":
        values["projectId"] = props["projectId"]
    return values


def _match(label: str, side: str) -> str:
    names = [*NODE_KEYS[label], *([] if label == "Project" else ["projectId"])]
    return ", ".join(f"{name}: row.{side}.{name}" for name in names)
