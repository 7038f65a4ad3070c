"""Backups on a Cypher graph: read every node and edge of one project, and write a whole project in one query.

The export reads every node that carries the project's id (and the Project node itself), whatever its label, and
every edge leaving one of them: a label or relationship type the export format does not know stops the export
(`UnknownRecordTypeError`) instead of leaving it out. An edge to another project's node would be a tenant leak
and stops it too.

The restore is one query, so one transaction on both engines: with `replace` it first deletes the project's
nodes, then creates each label's nodes (`FOREACH … CREATE … SET n = row`, which also runs for an empty list) and
each (type, from label, to label) group of edges, whose ends it finds by their key properties. A refused write
(a unique key already taken) leaves the graph as it was. Labels, types and key names come from the allow-list in
`perceo.backup.format`, never from the file.
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

DELETE_PROJECT_NODES = """
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
            export.nodes.append(NodeRecord(record="node", type=label, id=node_id(label, props), properties=props))  # type: ignore[arg-type]
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

    def restore_project(self, export: ProjectExport, *, replace: bool) -> None:
        """Write the whole export in one query (deleting the project's nodes first when `replace`)."""
        params: dict[str, Any] = {"projectId": export.project_id}
        clauses = [DELETE_PROJECT_NODES] if replace else []
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
        self._write("\n".join(clauses), params)


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
    return NodeRef(type=label, id=node_id(label, props))  # type: ignore[arg-type]


def _key_values(keys: Mapping[tuple[str, str], Mapping[str, Any]], ref: NodeRef) -> dict[str, Any]:
    props = keys[(ref.type, ref.id)]
    values = {name: props[name] for name in NODE_KEYS[ref.type]}
    if ref.type != "Project":
        values["projectId"] = props["projectId"]
    return values


def _match(label: str, side: str) -> str:
    names = [*NODE_KEYS[label], *([] if label == "Project" else ["projectId"])]
    return ", ".join(f"{name}: row.{side}.{name}" for name in names)
