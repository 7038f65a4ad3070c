"""Symbol-level impact: a change to some exports of a module affects only the files that import those exports.

Issue 13, class 10. For a modified JavaScript/TypeScript module that other files import:

1. **What changed.** `git diff -U0` gives the changed lines on both sides; tree-sitter parses the module at base
   and at head, and the top-level statements that hold changed lines are the changed declarations
   (`changed_exports`). A changed local declaration (a helper) counts through every declaration that refers to it,
   until nothing new is reached; a changed `export { a as b }` counts for `b`. The result is the set of *exported
   names* whose code changed (a removed export counts too), each with the first changed line.
2. **Who uses it.** For each importer (the reverse import graph of head), the file's facts say which names it takes
   from the module: `import { a, b as c }` → `a`, `b`; a default import → `default`; `export { a } from` and
   `export * from` re-export names through a barrel, whose own importers are looked at in turn (`symbol_scope`).
   An importer that imports a changed name is affected from there on, as a whole file (the usual import chain).

It is conservative: the whole file counts (file-level impact, as without this module) when only comments and
blank lines changed (no claim that a change does nothing), when top-level code that is no declaration changed
(side effects at import time, `module.exports`), a side-effect import changed, the module has no ES exports,
either side does not parse, a blob cannot be read, or an importer takes the module as a whole (`import * as X`,
`import()` and `lazy()`, `require()`, a side-effect import, an auto-imported component, or a specifier that does
not resolve to the module). Only modified script modules are looked at: added, deleted and renamed files, route
files, route tables, Vue and Svelte components stay file-level.

tree-sitter is imported only when a change has a candidate module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from perceo.observer.facts.model import FileFacts, fact_kind

if TYPE_CHECKING:
    import tree_sitter

    from perceo.models import ChangeSet
    from perceo.observer.changes import Git
    from perceo.observer.impactgraph import HeadTree

#: Script kinds whose declarations are read (Vue and Svelte components stay file-level).
SCRIPT_KINDS = frozenset({"ts", "tsx", "js"})
#: Importer walks longer than this fall back to file level (a barrel maze).
MAX_WALK = 5_000
#: Import kinds that take a module as a whole.
_WHOLE_MODULE_KINDS = frozenset({"side", "dynamic", "require", "template", "style"})
_DECLARATIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "class_declaration",
        "abstract_class_declaration",
        "interface_declaration",
        "type_alias_declaration",
        "enum_declaration",
        "lexical_declaration",
        "variable_declaration",
        "internal_module",
        "module",
        "ambient_declaration",
        "function_signature",
    }
)
_IDENTIFIERS = frozenset({"identifier", "type_identifier", "shorthand_property_identifier"})
_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_COMMONJS = re.compile(rb"\bmodule\.exports\b|^\s*exports\.\w+\s*=", re.M)


# ---------------------------------------------------------------------------------------------------------
# what changed in a module


@dataclass
class _Statement:
    start: int  # 1-based first line
    end: int  # 1-based last line
    kind: str  # decl | import | side_import | reexport | export_clause | other | comment
    node: Any
    #: local names it declares
    declares: set[str] = field(default_factory=set)
    #: exported name -> local name it exports (`default` for `export default <expression>`)
    exports: dict[str, str] = field(default_factory=dict)
    #: re-exports: exported name -> imported name (`*` for `export *`)
    reexports: dict[str, str] = field(default_factory=dict)
    _refs: set[str] | None = None

    def refs(self) -> set[str]:
        if self._refs is None:
            self._refs = _identifiers(self.node)
        return self._refs


_PARSERS: dict[str, tree_sitter.Parser] = {}


def _parser(kind: str) -> tree_sitter.Parser:
    parser = _PARSERS.get(kind)
    if parser is None:
        import tree_sitter

        if kind == "js":
            import tree_sitter_javascript

            language = tree_sitter.Language(tree_sitter_javascript.language())
        else:
            import tree_sitter_typescript

            maker = tree_sitter_typescript.language_tsx if kind == "tsx" else tree_sitter_typescript.language_typescript
            language = tree_sitter.Language(maker())
        parser = _PARSERS[kind] = tree_sitter.Parser(language)
    return parser


def _text(node: Any) -> str:
    return bytes(node.text or b"").decode("utf-8", "replace")


def _identifiers(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _IDENTIFIERS:
            found.add(_text(current))
        stack.extend(current.named_children)
    return found


def _declared(node: Any) -> set[str]:
    """Local names a declaration introduces (`const { a, b: [c] } = x` → a, c)."""
    if node.type == "ambient_declaration":
        return set().union(*(_declared(child) for child in node.named_children)) if node.named_children else set()
    if node.type in ("lexical_declaration", "variable_declaration"):
        names: set[str] = set()
        for declarator in node.named_children:
            if declarator.type != "variable_declarator":
                continue
            target = declarator.child_by_field_name("name")
            if target is None:
                continue
            if target.type == "identifier":
                names.add(_text(target))
            else:  # a destructuring pattern: the identifiers it binds (keys of `{ a: b }` are not bound)
                names |= _pattern_names(target)
        return names
    name = node.child_by_field_name("name")
    return {_text(name)} if name is not None else set()


def _pattern_names(pattern: Any) -> set[str]:
    names: set[str] = set()
    stack = [pattern]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "shorthand_property_identifier_pattern"):
            names.add(_text(current))
        elif current.type == "pair_pattern":
            value = current.child_by_field_name("value")
            if value is not None:
                stack.append(value)
            continue
        stack.extend(current.named_children)
    return names


def _statement(node: Any) -> _Statement:
    start, end = node.start_point[0] + 1, node.end_point[0] + 1
    if node.type == "comment":
        return _Statement(start, end, "comment", node)
    if node.type == "import_statement":
        clause = next((c for c in node.named_children if c.type == "import_clause"), None)
        if clause is None:
            return _Statement(start, end, "side_import", node)
        # a changed import changes what its local names stand for in the code that uses them
        return _Statement(start, end, "import", node, declares=_identifiers(clause))
    if node.type in _DECLARATIONS:
        return _Statement(start, end, "decl", node, declares=_declared(node))
    if node.type != "export_statement":
        return _Statement(start, end, "other", node)
    return _export_statement(node, start, end)


def _export_statement(node: Any, start: int, end: int) -> _Statement:
    is_default = any(child.type == "default" for child in node.children)
    clause = next((c for c in node.named_children if c.type == "export_clause"), None)
    if node.child_by_field_name("source") is not None:
        if clause is not None:
            return _Statement(start, end, "reexport", node, reexports=_clause_names(clause))
        namespace = next((c for c in node.named_children if c.type == "namespace_export"), None)
        if namespace is None or not namespace.named_children:
            return _Statement(start, end, "reexport", node, reexports={"*": "*"})
        return _Statement(start, end, "reexport", node, reexports={_text(namespace.named_children[-1]): "*"})
    declaration = node.child_by_field_name("declaration")
    if declaration is not None:
        declares = _declared(declaration)
        exports = {"default": next(iter(declares), "default")} if is_default else {n: n for n in declares}
        return _Statement(start, end, "decl", node, declares=declares, exports=exports)
    value = node.child_by_field_name("value")
    if is_default and value is not None:
        local = _text(value) if value.type == "identifier" else "default"
        return _Statement(start, end, "decl", node, exports={"default": local})
    if clause is not None:
        return _Statement(start, end, "export_clause", node, exports=_clause_names(clause))
    return _Statement(start, end, "other", node)  # `export = x`, `export as namespace X`


def _clause_names(clause: Any) -> dict[str, str]:
    """`{ a, b as c }` → {"a": "a", "c": "b"} (exported name -> the name it stands for)."""
    names: dict[str, str] = {}
    for item in clause.named_children:
        name, alias = item.child_by_field_name("name"), item.child_by_field_name("alias")
        if name is not None:
            names[_text(alias or name)] = _text(name)
    return names


class _Changes:
    """Changed exported names and changed local names, each with the first changed line that reaches it."""

    def __init__(self) -> None:
        self.exports: dict[str, int] = {}
        self.locals: dict[str, int] = {}
        #: a changed line is in a statement (not only in comments and blank lines)
        self.touched = False

    def export(self, name: str, line: int) -> None:
        self.exports[name] = min(line, self.exports.get(name, line))

    def local(self, name: str, line: int) -> bool:
        if name in self.locals:
            return False
        self.locals[name] = line
        return True


def changed_exports(source: bytes, kind: str, lines: Iterable[int]) -> dict[str, int] | None:
    """Exported names whose code holds one of `lines` (1-based) directly or through the local declarations they
    refer to, each with the first such line; None when the change cannot be pinned to exports (see the module
    docstring)."""
    return changed_code(source, kind, lines)[0]


def changed_code(source: bytes, kind: str, lines: Iterable[int]) -> tuple[dict[str, int] | None, bool]:
    """`changed_exports`, and whether the lines touch any code at all (not only comments and blank lines)."""
    wanted = sorted(set(lines))
    if not wanted:
        return {}, False
    if _COMMONJS.search(source):
        return None, True
    tree = _parser(kind).parse(source)
    if tree.root_node.has_error:
        return None, True
    statements = [_statement(node) for node in tree.root_node.named_children]
    if not any(s.exports or s.reexports for s in statements):
        return None, True  # no ES exports: importers take it for its side effects
    changes = _Changes()
    if not _touched(statements, wanted, changes) or not _propagate(statements, changes):
        return None, True
    touched = changes.touched
    for statement in statements:  # `export { a as b }` and `export default a` of a changed local
        for exported, local in statement.exports.items():
            if local in changes.locals:
                changes.export(exported, changes.locals[local])
    return changes.exports, touched


def _touched(statements: list[_Statement], wanted: list[int], changes: _Changes) -> bool:
    """Mark what the statements holding changed lines declare and export; False when one is no declaration."""
    index = 0
    for statement in statements:  # both lists are in line order
        while index < len(wanted) and wanted[index] < statement.start:
            index += 1
        hit = next((line for line in wanted[index:] if line <= statement.end), None)
        if hit is None or statement.kind == "comment":
            continue
        changes.touched = True
        if statement.kind in ("other", "side_import") or "*" in statement.reexports:
            return False
        for exported in [*statement.reexports, *statement.exports]:
            changes.export(exported, hit)
        for local in statement.declares:
            changes.local(local, hit)
    return True


def _propagate(statements: list[_Statement], changes: _Changes) -> bool:
    """A changed local changes every declaration that refers to it, and so on; False when top-level code that is
    no declaration refers to one (an import-time side effect with a changed value)."""
    pending = set(changes.locals)
    while pending:
        reached: set[str] = set()
        for statement in statements:
            if statement.kind not in ("decl", "other"):
                continue
            refs = statement.refs()
            if pending.isdisjoint(refs):
                continue
            if statement.kind == "other":
                return False
            line = min(changes.locals[name] for name in pending & refs)
            for exported in statement.exports:
                changes.export(exported, line)
            reached.update(local for local in statement.declares if changes.local(local, line))
        pending = reached
    return True


def hunk_lines(diff: bytes) -> dict[str, tuple[set[int], set[int]]]:
    """`git diff -U0` output → path -> (changed lines at base, changed lines at head)."""
    out: dict[str, tuple[set[int], set[int]]] = {}
    current: tuple[set[int], set[int]] | None = None
    for line in diff.split(b"\n"):
        if line.startswith(b"+++ "):
            target = line[4:]
            if target == b"/dev/null":
                current = None
                continue
            path = target[2:] if target.startswith(b"b/") else target
            current = out.setdefault(path.decode("utf-8", "surrogateescape"), (set(), set()))
            continue
        if current is None or not line.startswith(b"@@"):
            continue
        match = _HUNK.match(line)
        if match is None:
            continue
        old_start, old_count = int(match.group(1)), int(match.group(2) or b"1")
        new_start, new_count = int(match.group(3)), int(match.group(4) or b"1")
        current[0].update(range(old_start, old_start + old_count))
        current[1].update(range(new_start, new_start + new_count))
    return out


# ---------------------------------------------------------------------------------------------------------
# who uses it


@dataclass(frozen=True)
class SymbolSeed:
    """An importer that takes changed names from the module (directly or through barrels): from here on the
    change counts as a change to this file."""

    file: str
    #: files from the changed module to `file`, `file` excluded (the module first, then the barrels)
    via: tuple[str, ...]
    #: the changed names it imports (as the last file of `via` exports them), or () when it takes the whole module
    symbols: tuple[str, ...]


@dataclass
class SymbolScope:
    """Where a change to some exports of one module goes."""

    changed_file: str
    #: exported name -> first changed line (at head; at base for a removed export)
    symbols: dict[str, int]
    seeds: list[SymbolSeed]


@dataclass(frozen=True)
class _Use:
    names: frozenset[str] | None  # names imported; None: the whole module
    passthrough: tuple[tuple[str, str], ...]  # (name at the module, name the importer exports it as); `*` for all


def importer_use(facts: FileFacts | None, resolve: Callable[[str], str | None], target: str) -> _Use:
    """What an importer takes from `target`: the names it imports and the names it re-exports."""
    whole = _Use(None, ())
    if facts is None:
        return whole
    specs = {spec for spec, _kind in facts.imports if resolve(spec) == target}
    if not specs:
        return whole  # the edge comes from elsewhere (an auto-imported component): no names to go by
    if any(kind in _WHOLE_MODULE_KINDS for spec, kind in facts.imports if spec in specs):
        return whole
    names = {name for spec in specs for name in facts.imported.get(spec, ())}
    if "*" in names:
        return whole
    passthrough = [(name, exported) for exported, (spec, name) in facts.reexports.items() if spec in specs]
    if any(name == "*" for name, _exported in passthrough):
        return whole  # `export * as ns from`: the namespace as a whole
    if any(spec in specs for spec in facts.star_exports):
        passthrough.append(("*", "*"))
    return _Use(frozenset(names), tuple(passthrough))


def symbol_scope(
    changed_file: str,
    symbols: Mapping[str, int],
    importers: Mapping[str, Sequence[str]],
    facts: Callable[[str], FileFacts | None],
    resolve: Callable[[str, str], str | None],
    stop: Callable[[str], bool],
) -> SymbolScope | None:
    """The importers that take a changed name from `changed_file`, through barrels; None when the walk is too
    long. `stop(file)` is true for files that count as a whole when a changed name reaches them through a
    re-export (route files)."""
    seeds: list[SymbolSeed] = []
    queue: list[tuple[str, dict[str, str], tuple[str, ...]]] = [(changed_file, {n: n for n in symbols}, ())]
    seen: set[tuple[str, frozenset[str]]] = set()
    steps = 0
    while queue:
        module, names, via = queue.pop(0)  # names: exported name at `module` -> changed name it stands for
        key = (module, frozenset(names))
        if key in seen:
            continue
        seen.add(key)
        chain = (*via, module)
        for importer in importers.get(module, ()):
            steps += 1
            if steps > MAX_WALK:
                return None
            if importer in chain:
                continue
            use = importer_use(facts(importer), functools.partial(resolve, importer), module)
            if use.names is None:
                seeds.append(SymbolSeed(importer, chain, ()))
                continue
            hit = sorted(names[n] for n in use.names & names.keys())
            if hit:
                seeds.append(SymbolSeed(importer, chain, tuple(dict.fromkeys(hit))))
                continue
            onward: dict[str, str] = {}
            for name, exported in use.passthrough:
                if name == "*":
                    onward.update({n: names[n] for n in names if n != "default"})
                elif name in names:
                    onward[exported] = names[name]
            if not onward:
                continue
            if stop(importer):
                seeds.append(SymbolSeed(importer, chain, tuple(dict.fromkeys(sorted(onward.values())))))
            else:
                queue.append((importer, onward, chain))
    return SymbolScope(changed_file, dict(symbols), seeds)


def is_candidate(path: str) -> bool:
    """A module whose declarations this reads (TypeScript and JavaScript; not declaration files)."""
    return fact_kind(path) in SCRIPT_KINDS


# ---------------------------------------------------------------------------------------------------------
# a change's scopes


def symbol_scopes(
    change_set: ChangeSet, head: HeadTree, git: Git, read_base: Callable[[str], bytes | None]
) -> dict[str, SymbolScope]:
    """The symbol scope of every modified script module of the change that other files import (see the module
    docstring); a module left out counts as a whole file. `read_base(path)` is the module's content at base."""
    graph = head.graph
    route_files = {f for route in graph.routes for f in route.files}
    tables = {f for route in graph.routes for f in route.config_files}
    candidates = [
        c.path
        for c in change_set.files
        if c.status == "modified"
        and is_candidate(c.path)
        and c.path not in route_files
        and c.path not in tables
        and c.path in graph.files
    ]
    if not candidates:
        return {}
    importers: dict[str, list[str]] = {}
    for source, targets in graph.imports.items():
        for target in targets:
            importers.setdefault(target, []).append(source)
    candidates = [path for path in candidates if importers.get(path)]
    if not candidates:
        return {}
    refs = [change_set.base_sha] if change_set.working_tree else [change_set.base_sha, change_set.head_sha]
    diff = git.run(
        "diff", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", *refs, "--", *candidates
    )
    if diff.returncode != 0:
        return {}
    hunks = hunk_lines(diff.stdout)
    scopes: dict[str, SymbolScope] = {}
    for path in candidates:
        old_lines, new_lines = hunks.get(path, (set(), set()))
        kind = fact_kind(path)
        if kind is None or not (old_lines or new_lines):
            continue
        try:
            new_source = head.snapshot.read_bytes(path)
        except (OSError, KeyError):
            continue
        old_source = read_base(path) if old_lines else b""
        if old_source is None:
            continue
        new_changed, new_touched = changed_code(new_source, kind, new_lines)
        old_changed, old_touched = changed_code(old_source, kind, old_lines)
        if new_changed is None or old_changed is None or not (new_touched or old_touched):
            continue  # not pinned to exports; or only comments and blank lines changed: no claim, the whole file
        scope = symbol_scope(
            path,
            {**old_changed, **new_changed},
            importers,
            head.facts_of,
            lambda importer, spec: head.resolver.resolve(importer, spec).file,
            lambda file: file in route_files or file in tables,
        )
        if scope is not None:
            scopes[path] = scope
    return scopes
