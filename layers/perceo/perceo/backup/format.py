"""The export file: versioned JSON Lines, one record per line, in a deterministic order.

```
{"exportedAt":1733616000000,"format":"perceo-export","projectId":"p1","version":1}     header (line 1)
{"id":"f1","properties":{...},"record":"node","type":"Flow"}                            nodes, by (type, id)
{"from":{"id":"f1","type":"Flow"},"properties":{},"record":"edge","to":{...},"type":"HAS_STEP"}   edges, sorted
{"id":"k1","properties":{...},"record":"apiKey","type":"ApiKey"}                         keys' metadata, by id
{"counts":{"apiKey":1,"edge":30,"node":12},"record":"end"}                               trailer (last line)
```

Every line is a JSON object with sorted keys and no spaces, so two exports of the same data are byte-identical
from line 2 on; only the header's `exportedAt` differs (it is the one line a round-trip comparison skips). The
trailer's counts make a file cut at a line boundary an error instead of a smaller project. API keys are exported
as metadata only: never their hash, never their last use.

`read_export` validates a whole file before anything is written: the header, each record's shape (pydantic), that
every record belongs to the header's project, that no node is there twice, that every edge joins two nodes of the
file, and the trailer. The first problem is an `ExportFileError` naming its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError

from perceo.errors import ValidationFailed
from perceo.models.common import EntityId, EpochMs, Model, ProjectId
from perceo.models.vocab import Scope

FORMAT = "perceo-export"
VERSION = 1

#: Every node label a project's data is stored under, with the properties that identify one of its nodes within
#: the project (its record id is their values joined by "/"). An exported label missing here stops the export
#: (`UnknownRecordTypeError`), so a new label cannot be left out of backups silently.
NODE_KEYS: Mapping[str, tuple[str, ...]] = {
    "AlertRule": ("id",),
    "ChangeAnalysis": ("id",),
    "Flow": ("id",),
    "FlowMetrics": ("flowId", "day"),
    "Insight": ("id",),
    "Page": ("route",),
    "Persona": ("id",),
    "Prediction": ("id",),
    "Project": ("id",),
    "Step": ("id",),
    "TestRun": ("id",),
}
#: Every relationship type between a project's nodes.
EDGE_TYPES: tuple[str, ...] = (
    "ABOUT", "AFFECTS", "CONNECTS_TO", "FOR_PERSONA", "HAS_FLOW", "HAS_METRICS", "HAS_PERSONA", "HAS_STEP",
    "LINKS_TO", "NEXT", "TESTS", "VISITS",
)  # fmt: skip

NodeLabel = Literal[
    "AlertRule", "ChangeAnalysis", "Flow", "FlowMetrics", "Insight", "Page", "Persona", "Prediction", "Project",
    "Step", "TestRun",
]  # fmt: skip
EdgeType = Literal[
    "ABOUT", "AFFECTS", "CONNECTS_TO", "FOR_PERSONA", "HAS_FLOW", "HAS_METRICS", "HAS_PERSONA", "HAS_STEP",
    "LINKS_TO", "NEXT", "TESTS", "VISITS",
]  # fmt: skip

Scalar = StrictBool | StrictInt | StrictFloat | StrictStr
#: What a graph property can hold (maps are stored as JSON strings; null properties do not exist).
PropertyValue = Scalar | list[Scalar]
Properties = dict[Annotated[str, Field(min_length=1, max_length=200)], PropertyValue]
RecordId = Annotated[str, Field(min_length=1, max_length=4096)]


class UnknownRecordTypeError(ValidationFailed):
    """The graph holds a label or relationship type the export format does not know."""


class ExportFileError(ValidationFailed):
    """An export file that cannot be imported: where (line) and why."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}", details={"line": line})
        self.line = line
        self.reason = message


class Header(Model):
    format: Literal["perceo-export"]
    version: int
    project_id: ProjectId
    exported_at: EpochMs


class NodeRef(Model):
    type: NodeLabel
    id: RecordId


class NodeRecord(Model):
    record: Literal["node"]
    type: NodeLabel
    id: RecordId
    properties: Properties


class EdgeRecord(Model):
    record: Literal["edge"]
    type: EdgeType
    from_: NodeRef = Field(alias="from")
    to: NodeRef
    properties: Properties


class ApiKeyMetadata(Model):
    """A key as an export holds it: what it was for, never its secret (hash) nor its last use."""

    name: str = Field(min_length=1, max_length=200)
    prefix: str = Field(min_length=12, max_length=12)
    scopes: list[Scope] = Field(min_length=1)
    created_by: str | None = None
    created_at: EpochMs
    expires_at: EpochMs | None = None
    revoked_at: EpochMs | None = None
    revoked_by: str | None = None
    revocation_reason: str | None = None


class ApiKeyRecord(Model):
    record: Literal["apiKey"]
    type: Literal["ApiKey"]
    id: EntityId
    properties: ApiKeyMetadata


class EndRecord(Model):
    record: Literal["end"]
    counts: dict[Literal["node", "edge", "apiKey"], Annotated[int, Field(ge=0)]]


Record = Annotated[NodeRecord | EdgeRecord | ApiKeyRecord | EndRecord, Field(discriminator="record")]
_RECORD: TypeAdapter[NodeRecord | EdgeRecord | ApiKeyRecord | EndRecord] = TypeAdapter(Record)


@dataclass
class ProjectExport:
    """A project's records, validated and in export order."""

    project_id: str
    nodes: list[NodeRecord] = field(default_factory=list)
    edges: list[EdgeRecord] = field(default_factory=list)
    api_keys: list[ApiKeyRecord] = field(default_factory=list)

    def sort(self) -> None:
        self.nodes.sort(key=lambda n: (n.type, n.id))
        self.edges.sort(key=_edge_order)
        self.api_keys.sort(key=lambda k: k.id)

    def counts(self) -> dict[str, int]:
        return {"node": len(self.nodes), "edge": len(self.edges), "apiKey": len(self.api_keys)}


def _edge_order(edge: EdgeRecord) -> tuple[str, str, str, str, str, str]:
    return (edge.type, edge.from_.type, edge.from_.id, edge.to.type, edge.to.id, _line(edge.properties))


def node_id(label: str, properties: Mapping[str, Any]) -> str:
    """The record id of a node: its key properties' values joined by '/'."""
    return "/".join(str(properties.get(name, "")) for name in NODE_KEYS[label])


def _line(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def export_lines(export: ProjectExport, *, exported_at: int) -> Iterator[str]:
    """The file's lines (without newlines): header, nodes, edges, keys, trailer."""
    export.sort()
    header = Header(format=FORMAT, version=VERSION, project_id=export.project_id, exported_at=exported_at)
    yield _line(header.model_dump(mode="json", by_alias=True))
    for record in (*export.nodes, *export.edges, *export.api_keys):
        yield _line(record.model_dump(mode="json", by_alias=True, exclude_none=True))
    yield _line(EndRecord(record="end", counts=export.counts()).model_dump(mode="json"))


def read_export(lines: Iterable[str]) -> tuple[Header, ProjectExport]:
    """Parse and validate a whole export (see the module docstring). ExportFileError names the first bad line."""
    reader = _Reader()
    number = 0
    for number, raw in enumerate(lines, start=1):
        reader.add(number, raw.rstrip("\r\n"))
    return reader.finish(number)


class _Reader:
    """One pass over the lines, then the checks that need the whole file."""

    def __init__(self) -> None:
        self.header: Header | None = None
        self.export: ProjectExport | None = None
        self.end: EndRecord | None = None
        self.where: dict[tuple[str, str], int] = {}
        self.edge_lines: list[int] = []

    def add(self, number: int, text: str) -> None:
        if self.end is not None:
            raise ExportFileError(number, "a record after the end record")
        data = _json_object(number, text)
        if self.header is None or self.export is None:
            self.header = _header(number, data)
            self.export = ProjectExport(project_id=self.header.project_id)
            return
        try:
            record = _RECORD.validate_python(data)
        except ValidationError as error:
            raise ExportFileError(number, _problems(error)) from None
        if isinstance(record, NodeRecord):
            _check_node(number, record, self.header.project_id)
            ref = (record.type, record.id)
            if ref in self.where:
                raise ExportFileError(number, f"{record.type} '{record.id}' is already on line {self.where[ref]}")
            self.where[ref] = number
            self.export.nodes.append(record)
        elif isinstance(record, EdgeRecord):
            self.export.edges.append(record)
            self.edge_lines.append(number)
        elif isinstance(record, ApiKeyRecord):
            self.export.api_keys.append(record)
        else:
            self.end = record

    def finish(self, last: int) -> tuple[Header, ProjectExport]:
        header, export = self.header, self.export
        if header is None or export is None:
            raise ExportFileError(1, "the file is empty (no perceo-export header)")
        for line, edge in zip(self.edge_lines, export.edges, strict=True):
            for end_ref in (edge.from_, edge.to):
                if (end_ref.type, end_ref.id) not in self.where:
                    raise ExportFileError(line, f"{edge.type} refers to {end_ref.type} '{end_ref.id}', not in the file")
        if self.end is None:
            raise ExportFileError(last + 1, "no end record: the file is cut short")
        if dict(self.end.counts) != export.counts():
            counted, held = dict(self.end.counts), export.counts()
            raise ExportFileError(last, f"the end record counts {counted}, the file holds {held}")
        _check_unique_keys(export, self.where)
        if ("Project", header.project_id) not in self.where:
            raise ExportFileError(last, f"the file holds no Project node for {header.project_id}")
        return header, export


def _json_object(number: int, text: str) -> dict[str, Any]:
    if not text.strip():
        raise ExportFileError(number, "an empty line")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ExportFileError(number, f"not JSON ({error.msg}); is the file cut short?") from None
    if not isinstance(data, dict):
        raise ExportFileError(number, "not a JSON object")
    return data


def _check_unique_keys(export: ProjectExport, where: Mapping[tuple[str, str], int]) -> None:
    """No two nodes of the file share a key the graph keeps unique (a name per project, a step order per flow)."""
    from perceo.graph.schema import UNIQUE_KEYS  # the schema's own list: the file is held to what the graph holds

    for key in UNIQUE_KEYS:
        seen: dict[tuple[Any, ...], str] = {}
        for node in export.nodes:
            if node.type != key.label:
                continue
            values = tuple(_hashable(node.properties.get(name)) for name in key.properties)
            if values in seen:
                line = where[(node.type, node.id)]
                names = ", ".join(key.properties)
                raise ExportFileError(line, f"{node.type} '{node.id}' has the same ({names}) as '{seen[values]}'")
            seen[values] = node.id


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _header(number: int, data: dict[str, Any]) -> Header:
    if data.get("format") != FORMAT:
        raise ExportFileError(number, f"not a Perceo export (the first line must be a {FORMAT!r} header)")
    if data.get("version") != VERSION:
        raise ExportFileError(
            number, f"unsupported export version {data.get('version')!r} (this perceo reads version {VERSION})"
        )
    try:
        return Header.model_validate(data)
    except ValidationError as error:
        raise ExportFileError(number, _problems(error)) from None


def _check_node(number: int, node: NodeRecord, project_id: str) -> None:
    props = node.properties
    owner = props.get("id") if node.type == "Project" else props.get("projectId")
    if owner != project_id:
        raise ExportFileError(number, f"{node.type} '{node.id}' belongs to project {owner!r}, not {project_id!r}")
    missing = [name for name in NODE_KEYS[node.type] if not isinstance(props.get(name), str | int)]
    if missing:
        raise ExportFileError(number, f"{node.type} '{node.id}' lacks its key properties {missing}")
    if node_id(node.type, props) != node.id:
        raise ExportFileError(number, f"{node.type} id '{node.id}' does not match its properties")


def _problems(error: ValidationError) -> str:
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where or 'record'}: {first['msg']}{more}"


def rehome(export: ProjectExport, project_id: str) -> ProjectExport:
    """The same records moved to another project id (`--into`): every `projectId` and the Project node's id."""
    if project_id == export.project_id:
        return export
    moved = ProjectExport(project_id=project_id, api_keys=list(export.api_keys))

    def node(record: NodeRecord) -> NodeRecord:
        props = dict(record.properties)
        if record.type == "Project":
            props["id"] = project_id
        elif "projectId" in props:
            props["projectId"] = project_id
        return record.model_copy(update={"properties": props, "id": node_id(record.type, props)})

    def ref(target: NodeRef) -> NodeRef:
        return NodeRef(type="Project", id=project_id) if target.type == "Project" else target

    moved.nodes = [node(n) for n in export.nodes]
    moved.edges = [e.model_copy(update={"from_": ref(e.from_), "to": ref(e.to)}) for e in export.edges]
    return moved


def project_name(export: ProjectExport) -> str | None:
    for node in export.nodes:
        if node.type == "Project":
            name = node.properties.get("name")
            return name if isinstance(name, str) else None
    return None


def edges_by_shape(edges: Sequence[EdgeRecord]) -> dict[tuple[str, str, str], list[EdgeRecord]]:
    """Edges grouped by (type, from label, to label): one write clause each."""
    groups: dict[tuple[str, str, str], list[EdgeRecord]] = {}
    for edge in edges:
        groups.setdefault((edge.type, edge.from_.type, edge.to.type), []).append(edge)
    return groups
