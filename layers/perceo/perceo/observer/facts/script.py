"""The tree-sitter extractor: facts of scripts, of `<script>` blocks of `.vue`/`.svelte` files, and of bound
expressions in templates.

A handful of queries run in C and Python only visits the captured nodes. Route-config expressions become
JSON-shaped trees (`Extractor.value`) that the discovery modules read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import tree_sitter
import tree_sitter_javascript
import tree_sitter_typescript

from perceo.observer.facts.markup import (
    ATTR_LANG,
    ATTR_SRC,
    BLOCK,
    COMPONENT_TAG,
    CSS_IMPORT,
    interpolated,
    scan_attributes,
    single_brace_pair,
)
from perceo.observer.facts.model import CALL_REF, CALL_TAG, MAX_SOURCE_BYTES, FileFacts, Value

# ---------------------------------------------------------------------------------------------------------
# tree-sitter queries

_COMMON_PATTERNS = """
(import_statement source: (string) @src) @import
(export_statement source: (string) @src) @reexport
(call_expression function: (import) arguments: (arguments) @args) @dynamic
(call_expression function: (identifier) @fn arguments: (arguments . (string) @src) (#eq? @fn "require")) @require
(call_expression function: (identifier) @fn arguments: (arguments) @args
  (#any-of? @fn "navigate" "redirect" "permanentRedirect" "goto" "navigateTo" "push" "replace")) @navcall
(call_expression function: (identifier) @fn arguments: (arguments)  @args
  (#match? @fn "^redirect(With[A-Z][A-Za-z]*|Document)$")) @navcall
(call_expression function: (member_expression object: (_) @obj property: (property_identifier) @fn)
  arguments: (arguments) @args
  (#any-of? @fn "push" "replace" "navigate" "navigateByUrl" "redirect" "permanentRedirect" "navigateTo")) @navmember
(array (object (pair key: (property_identifier) @key (#eq? @key "path")))) @routearray
(variable_declarator name: (identifier)
  value: (object (pair key: (property_identifier) @key (#eq? @key "path"))) @routeobject)
(program (lexical_declaration (variable_declarator name: (identifier) value: (_) @constobject)))
(program (export_statement declaration: (lexical_declaration
  (variable_declarator name: (identifier) value: (_) @constobject))))
(call_expression function: (member_expression property: (property_identifier) @fn (#eq? @fn "component"))
  arguments: (arguments . (string) @gname . (identifier) @gvalue)) @globalcomp
(export_statement "default") @default
(export_specifier alias: (_) @alias (#eq? @alias "default")) @defaultalias
(pair key: (property_identifier) @key value: (_) @val
  (#any-of? @key "templateUrl" "styleUrl" "styleUrls" "template")) @component
(program [(function_declaration name: (identifier) @name) (class_declaration name: (_) @name)
          (lexical_declaration (variable_declarator name: (identifier) @name))
          (variable_declaration (variable_declarator name: (identifier) @name))
          (export_statement declaration: [(function_declaration name: (identifier) @name)
                                          (class_declaration name: (_) @name)
                                          (lexical_declaration (variable_declarator name: (identifier) @name))])])
"""

_JSX_PATTERNS = """
(jsx_attribute (property_identifier) @name (#any-of? @name "href" "to" "routerLink")) @jsxattr
(jsx_element open_tag: (jsx_opening_element name: (identifier) @name (#eq? @name "Route"))) @jsxroute
(jsx_self_closing_element name: (identifier) @name (#eq? @name "Route")) @jsxroute
(jsx_element open_tag: (jsx_opening_element name: (identifier) @name
  (jsx_attribute (property_identifier) @attr (#eq? @attr "path")) (#match? @name "^[A-Z][A-Za-z0-9]*Route$"))) @jsxroute
(jsx_self_closing_element name: (identifier) @name
  (jsx_attribute (property_identifier) @attr (#eq? @attr "path")) (#match? @name "^[A-Z][A-Za-z0-9]*Route$")) @jsxroute
"""

_CAPTURE_KINDS = (
    "import",
    "reexport",
    "dynamic",
    "require",
    "navcall",
    "navmember",
    "routearray",
    "routeobject",
    "globalcomp",
    "constobject",
    "default",
    "defaultalias",
    "component",
    "jsxattr",
    "jsxroute",
)

_NAV_CALL_KINDS = {
    "push": "push",
    "replace": "replace",
    "navigate": "navigate",
    "navigateByUrl": "navigate",
    "goto": "navigate",
    "navigateTo": "navigate",
    "redirect": "redirect",
    "permanentRedirect": "redirect",
}
#: Route builders whose first argument is a route pattern: React Router 7's typed `href("/users/:id", params)`,
#: React Router's `generatePath`. The call stands for that route.
_ROUTE_BUILDERS = frozenset({"href", "generatePath"})
_NAV_OBJECT = re.compile(r"(router|history|navigation|navigator|nav)$", re.IGNORECASE)
_LAZY_WRAPPERS = frozenset({"lazy", "React.lazy", "defineAsyncComponent", "loadable", "dynamic", "lazyWithPreload"})
_ROUTE_ELEMENT_NAMES = frozenset({"Route", "Fragment", "React.Fragment"})
_TREE_KINDS = {"routearray": "array", "routeobject": "object", "jsxroute": "jsx"}
_CUSTOM_ROUTE = re.compile(r"^[A-Z][A-Za-z0-9]*Route$")
_WRAPPERS = frozenset(
    {
        "parenthesized_expression",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
        "await_expression",
    }
)
_MAX_DEPTH = 24

UNKNOWN: dict[str, str] = {"$": "?"}


class _Language:
    def __init__(self, language: tree_sitter.Language, jsx: bool) -> None:
        self.language = language
        self.parser = tree_sitter.Parser(language)
        self.query = tree_sitter.Query(language, _COMMON_PATTERNS + (_JSX_PATTERNS if jsx else ""))
        self.language = language
        self._calls: tree_sitter.Query | None = None

    @property
    def calls(self) -> tree_sitter.Query:
        """Functions called by name; run on the scripts of Vue components only (auto-imported composables)."""
        if self._calls is None:
            self._calls = tree_sitter.Query(self.language, "(call_expression function: (identifier) @callee)")
        return self._calls


class _Languages(dict[str, _Language]):
    """tsx/ts/js parsers with their compiled queries, each made on first use (compiling a query takes tens of
    milliseconds: a warm run that parses two TypeScript files should not pay for all three)."""

    _MAKERS: dict[str, tuple[Callable[[], object], bool]] = {
        "tsx": (lambda: tree_sitter_typescript.language_tsx(), True),
        "ts": (lambda: tree_sitter_typescript.language_typescript(), False),
        "js": (lambda: tree_sitter_javascript.language(), True),
    }

    def __contains__(self, name: object) -> bool:
        return name in self._MAKERS

    def __missing__(self, name: str) -> _Language:
        make, jsx = self._MAKERS[name]
        language = self[name] = _Language(tree_sitter.Language(make()), jsx)
        return language


class Extractor:
    """Parsers and compiled queries for the script languages; one per process."""

    def __init__(self) -> None:
        self.languages = _Languages()
        self.parse_count = 0
        #: functions called by name in the scripts of the file being extracted (see `_component`)
        self._calls: list[str] = []
        Handler = Callable[[FileFacts, tree_sitter.Node, dict[str, list[tree_sitter.Node]], int], None]
        self._url_builders: dict[str, Callable[[tree_sitter.Node, int], str | None]] = {
            "binary_expression": self._url_concat,
            "new_expression": self._url_new,
            "object": self._url_object,
            "array": self._url_commands,
        }
        self._handlers: dict[str, Handler] = {
            "import": lambda f, n, c, o: self._import(f, n, c["src"][0]),
            "reexport": lambda f, n, c, o: self._reexport(f, n, c["src"][0]),
            "dynamic": lambda f, n, c, o: self._dynamic(f, n, c["args"][0]),
            "require": lambda f, n, c, o: f.imports.append((_string(c["src"][0]), "require")),
            "navcall": lambda f, n, c, o: self._nav_call(f, "navcall", c, o),
            "navmember": lambda f, n, c, o: self._nav_call(f, "navmember", c, o),
            "default": lambda f, n, c, o: self._default(f, n, o),
            "defaultalias": lambda f, n, c, o: setattr(f, "has_default_export", True),
            "component": lambda f, n, c, o: self._component_option(f, c, o),
            "jsxattr": lambda f, n, c, o: self._jsx_attribute(f, n, c["name"][0], o),
            "globalcomp": lambda f, n, c, o: self._global_component(f, n, c, o),
            "constobject": lambda f, n, c, o: self._path_constants(f, n, o),
        }

    # -- entry point ---------------------------------------------------------------------------------

    def extract(self, kind: str, data: bytes) -> FileFacts:
        facts = FileFacts()
        self._calls = []
        if len(data) > MAX_SOURCE_BYTES:
            return facts
        self.parse_count += 1
        if kind in self.languages:
            self._script(facts, kind, data, 0)
        elif kind in ("vue", "svelte"):
            self._component(facts, kind, data)
        elif kind == "html":
            self._markup(facts, data.decode("utf-8", "replace"), 0)
        elif kind == "css":
            self._stylesheet(facts, data.decode("utf-8", "replace"))
        for spec, name in facts.bindings.values():
            names = facts.imported.setdefault(spec, [])
            if name not in names:
                names.append(name)
        if not facts.routes:
            facts.bindings = {}  # only route configs resolve identifiers through bindings; keep the cache small
        return facts

    # -- scripts -------------------------------------------------------------------------------------

    def _script(self, facts: FileFacts, lang: str, data: bytes, line_offset: int, *, calls: bool = False) -> None:
        language = self.languages[lang]
        tree = language.parser.parse(data)
        if calls:
            found = tree_sitter.QueryCursor(language.calls).captures(tree.root_node).get("callee", [])
            self._calls.extend(_text(node) for node in found)
        cursor = tree_sitter.QueryCursor(language.query)
        route_ranges: list[tuple[int, int]] = []
        pending_routes: list[tuple[str, tree_sitter.Node]] = []
        for _index, captures in cursor.matches(tree.root_node):
            if "name" in captures and len(captures) == 1:
                facts.local_names.extend(_text(n) for n in captures["name"])
                continue
            kind = next((k for k in _CAPTURE_KINDS if k in captures), None)
            if kind is None:
                continue
            if kind in ("routearray", "routeobject", "jsxroute"):
                pending_routes.append((kind, captures[kind][0]))
            else:
                self._handlers[kind](facts, captures[kind][0], captures, line_offset)
        # Outermost route trees only: nested ones are children of those.
        pending_routes.sort(key=lambda item: (item[1].start_byte, -item[1].end_byte))
        for kind, node in pending_routes:
            if any(start <= node.start_byte and node.end_byte <= end for start, end in route_ranges):
                continue
            if kind == "routearray" and _inside_default_array(node):
                continue
            route_ranges.append((node.start_byte, node.end_byte))
            name, exported = _declared_name(node)
            facts.routes.append(
                {
                    "k": _TREE_KINDS[kind],
                    "n": name,
                    "x": exported,
                    "l": node.start_point.row + 1 + line_offset,
                    "v": self.value(node),
                }
            )

    def _import(self, facts: FileFacts, stmt: tree_sitter.Node, src: tree_sitter.Node) -> None:
        spec = _string(src)
        clause = next((c for c in stmt.named_children if c.type == "import_clause"), None)
        type_only = any(c.type == "type" for c in stmt.children)
        if clause is None:
            facts.imports.append((spec, "side"))
            return
        facts.imports.append((spec, "type" if type_only else "import"))
        for part in clause.named_children:
            if part.type == "identifier":
                facts.bindings[_text(part)] = (spec, "default")
            elif part.type == "namespace_import":
                ident = next((c for c in part.named_children if c.type == "identifier"), None)
                if ident is not None:
                    facts.bindings[_text(ident)] = (spec, "*")
            elif part.type == "named_imports":
                for item in part.named_children:
                    if item.type != "import_specifier":
                        continue
                    name = item.child_by_field_name("name")
                    alias = item.child_by_field_name("alias") or name
                    if name is not None and alias is not None:
                        facts.bindings[_text(alias)] = (spec, _text(name))

    def _reexport(self, facts: FileFacts, stmt: tree_sitter.Node, src: tree_sitter.Node) -> None:
        spec = _string(src)
        facts.imports.append((spec, "reexport"))
        clause = next((c for c in stmt.named_children if c.type == "export_clause"), None)
        if clause is None:
            namespace = next((c for c in stmt.named_children if c.type == "namespace_export"), None)
            if namespace is None:
                facts.star_exports.append(spec)
            else:
                ident = namespace.named_children[-1] if namespace.named_children else None
                if ident is not None:
                    facts.reexports[_text(ident)] = (spec, "*")
            return
        for item in clause.named_children:
            if item.type != "export_specifier":
                continue
            name = item.child_by_field_name("name")
            alias = item.child_by_field_name("alias") or name
            if name is None or alias is None:
                continue
            exported = _text(alias)
            facts.reexports[exported] = (spec, _text(name))
            if exported == "default":
                facts.has_default_export = True

    def _dynamic(self, facts: FileFacts, call: tree_sitter.Node, args: tree_sitter.Node) -> None:
        first = args.named_children[0] if args.named_children else None
        if first is None:
            return
        spec = self.url_template(first) if first.type == "template_string" else None
        if first.type == "string":
            spec = _string(first)
        if not spec or "{}" in spec:
            return
        facts.imports.append((spec, "dynamic"))
        name = _lazy_binding_name(call)
        if name is not None:
            facts.bindings.setdefault(name, (spec, _then_member(call) or "default"))

    def _global_component(
        self, facts: FileFacts, call: tree_sitter.Node, captures: dict[str, list[tree_sitter.Node]], offset: int
    ) -> None:
        """`Vue.component("svg-icon", SvgIcon)`, `app.component("SvgIcon", SvgIcon)`: a component registered
        globally, used in templates without an import (kept with the route trees, kind `component`)."""
        facts.routes.append(
            {
                "k": "component",
                "n": _string(captures["gname"][0]),
                "x": False,
                "l": call.start_point.row + 1 + offset,
                "v": {"$": "i", "n": _text(captures["gvalue"][0])},
            }
        )

    def _path_constants(self, facts: FileFacts, node: tree_sitter.Node, offset: int) -> None:
        """A top-level constant object holding URL paths (`export const paths = { home: { path: "/" } }`),
        which route tables reference (`path: paths.home.path`); kept with the route trees, kind `const`."""
        if _unwrap(node).type != "object":
            return
        raw = node.text or b""
        if len(raw) > 20_000 or not (b"'/" in raw or b'"/' in raw or b"`/" in raw):
            return
        name, exported = _declared_name(node)
        if name is None:
            return
        facts.routes.append(
            {
                "k": "const",
                "n": name,
                "x": exported,
                "l": node.start_point.row + 1 + offset,
                "v": self.value(_unwrap(node)),
            }
        )

    def _default(self, facts: FileFacts, stmt: tree_sitter.Node, line_offset: int) -> None:
        first = stmt.children[1] if len(stmt.children) > 1 else None
        if first is not None and first.type in ("interface_declaration", "type_alias_declaration"):
            return
        facts.has_default_export = True
        value = stmt.child_by_field_name("value")
        if value is None:
            return
        inner = _unwrap(value)
        if inner.type == "array" or (inner.type == "call_expression" and _routes_call(inner)):
            # `export default [...]`, or a convention helper: `export default flatRoutes()`, `autoRoutes()`
            facts.routes.append(
                {
                    "k": "default",
                    "n": "default",
                    "x": True,
                    "l": inner.start_point.row + 1 + line_offset,
                    "v": self.value(inner),
                }
            )

    def _component_option(self, facts: FileFacts, captures: dict[str, list[tree_sitter.Node]], offset: int) -> None:
        key = _text(captures["key"][0])
        value = _unwrap(captures["val"][0])
        if key == "template":
            if value.type in ("template_string", "string") and "<" in _text(value):
                self._markup(facts, _text(value)[1:-1], value.start_point.row + offset)
            return
        items = value.named_children if value.type == "array" else [value]
        for item in items:
            if item.type == "string":
                facts.imports.append((_relative(_string(item)), "template" if key == "templateUrl" else "style"))

    def _jsx_attribute(
        self, facts: FileFacts, attr: tree_sitter.Node, name_node: tree_sitter.Node, offset: int
    ) -> None:
        name = _text(name_node)
        value = attr.named_children[-1] if len(attr.named_children) > 1 else None
        if value is None:
            return
        if value.type == "jsx_expression":
            inner = value.named_children[0] if value.named_children else None
            if inner is None:
                return
            value = inner
        target = self.url_template(value)
        if target is None:
            return
        element = attr.parent
        tag = element.child_by_field_name("name") if element is not None else None
        tag_name = _text(tag) if tag is not None else ""
        if name == "routerLink":
            kind = "routerLink"
        elif name == "to":
            kind = "to"
        else:
            kind = "href" if tag_name == "a" else "link"
        facts.nav.append((target, kind, attr.start_point.row + 1 + offset))

    def _nav_call(self, facts: FileFacts, kind: str, captures: dict[str, list[tree_sitter.Node]], offset: int) -> None:
        fn = _text(captures["fn"][0])
        if kind == "navmember" and fn != "redirect" and fn != "permanentRedirect":
            obj = _text(captures["obj"][0]).replace("?", "").split(".")[-1]
            if not _NAV_OBJECT.search(obj) and obj not in ("$router", "Router"):
                return
        args = captures["args"][0]
        for arg in args.named_children:
            if arg.type == "number":
                continue
            target = self.url_template(arg)
            if target is None:
                return
            if kind == "navcall" and fn in ("push", "replace") and not target.startswith(("/", CALL_REF)):
                return
            if not (target.startswith(("/", "./", "../", CALL_REF)) or fn in ("navigate", "navigateTo")):
                return
            # `redirectWithSuccess(...)` (remix-toast), `redirectDocument(...)`: redirects too.
            nav_kind = _NAV_CALL_KINDS.get(fn, "redirect")
            facts.nav.append((target, nav_kind, captures[kind][0].start_point.row + 1 + offset))
            return

    # -- values --------------------------------------------------------------------------------------

    def url_template(self, node: tree_sitter.Node, depth: int = 0) -> str | None:
        """A URL literal with `{}` for dynamic parts (`/article/${slug}` -> `/article/{}`), else None."""
        node = _unwrap(node)
        t = node.type
        if depth > 6:
            return None
        if t == "string":
            return _string(node)
        if t == "template_string":
            return _template(node, _route_builder_pattern)
        if t == "call_expression" and (pattern := _route_builder_pattern(node)) is not None:
            return pattern
        if t == "call_expression" and depth == 0 and (ref := _member_call_ref(node)) is not None:
            return ref
        if t in ("identifier", "member_expression", "call_expression", "subscript_expression"):
            return "{}" if depth > 0 else None
        builder = self._url_builders.get(t)
        return builder(node, depth) if builder is not None else None

    def _url_concat(self, node: tree_sitter.Node, depth: int) -> str | None:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        op = node.child_by_field_name("operator")
        if left is None or right is None or op is None or _text(op) != "+":
            return None
        lhs = self.url_template(left, depth + 1)
        if lhs is None:
            return None
        rhs = self.url_template(right, depth + 1)
        return lhs + ("{}" if rhs is None else rhs)

    def _url_new(self, node: tree_sitter.Node, depth: int) -> str | None:
        """`new URL("/login", request.url)` -> `/login`."""
        ctor = node.child_by_field_name("constructor")
        args = node.child_by_field_name("arguments")
        if ctor is not None and _text(ctor) == "URL" and args is not None and args.named_children:
            return self.url_template(args.named_children[0], depth + 1)
        return None

    def _url_object(self, node: tree_sitter.Node, depth: int) -> str | None:
        """`{ pathname: "/x" }` (React Router) or `{ path: "/x" }` (Vue Router)."""
        for pair in node.named_children:
            if pair.type == "pair":
                key = pair.child_by_field_name("key")
                value = pair.child_by_field_name("value")
                if key is not None and value is not None and _key(key) in ("pathname", "path"):
                    return self.url_template(value, depth + 1)
        return None

    def _url_commands(self, node: tree_sitter.Node, depth: int) -> str | None:
        """Angular link parameters: `['/product', id]` -> `/product/{}`."""
        if depth > 0:
            return None
        pieces: list[str] = []
        for item in node.named_children:
            piece = self.url_template(item, depth + 1)
            if piece is None:
                if pieces:
                    break
                return None
            pieces.append(piece.strip("/") if pieces else piece.rstrip("/"))
        if not pieces:
            return None
        return "/".join(pieces) or "/"

    def value(self, node: tree_sitter.Node, depth: int = 0) -> Value:
        """A JSON-shaped picture of a config expression (see module docs of `routeconfig`)."""
        node = _unwrap(node)
        t = node.type
        if depth > _MAX_DEPTH:
            return UNKNOWN
        if t == "string":
            return _string(node)
        if t == "template_string":
            template = self.url_template(node)
            if template is not None and "{}" not in template:
                return template
            return {"$": "t", "v": template}
        if t == "number":
            return _number(_text(node))
        if t in ("true", "false", "null", "undefined"):
            return {"true": True, "false": False}.get(t)
        if t == "array":
            return [self._array_item(child, depth) for child in node.named_children if child.type != "comment"]
        if t == "object":
            return self._object(node, depth)
        if t in ("identifier", "member_expression", "shorthand_property_identifier"):
            return {"$": "i", "n": _dotted(node)}
        if t in ("arrow_function", "function_expression", "function"):
            return self._function(node, depth)
        if t == "call_expression":
            return self._call(node, depth)
        if t in ("jsx_element", "jsx_self_closing_element"):
            return self._jsx(node, depth)
        if t == "new_expression":
            return self._new(node, depth)
        return UNKNOWN

    def _new(self, node: tree_sitter.Node, depth: int) -> Value:
        """`new URL("./src", import.meta.url)` as a call to `new URL`."""
        ctor = node.child_by_field_name("constructor")
        args = node.child_by_field_name("arguments")
        return {
            "$": "c",
            "f": "new " + (_dotted(ctor) if ctor is not None else "?"),
            "a": [
                self.value(a, depth + 1)
                for a in (args.named_children if args is not None else [])
                if a.type != "comment"
            ],
        }

    def _array_item(self, child: tree_sitter.Node, depth: int) -> Value:
        if child.type == "spread_element" and child.named_children:
            return {"$": "s", "v": self.value(child.named_children[0], depth + 1)}
        return self.value(child, depth + 1)

    def _object(self, node: tree_sitter.Node, depth: int) -> Value:
        props: dict[str, Value] = {}
        spreads: list[Value] = []
        for child in node.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                value = child.child_by_field_name("value")
                if key is not None and value is not None:
                    props[_key(key)] = self.value(value, depth + 1)
            elif child.type == "shorthand_property_identifier":
                props[_text(child)] = {"$": "i", "n": _text(child)}
            elif child.type == "method_definition":
                name = child.child_by_field_name("name")
                if name is not None:
                    props[_key(name)] = self._function(child, depth)
            elif child.type == "spread_element" and child.named_children:
                spreads.append(self.value(child.named_children[0], depth + 1))
        result: dict[str, Value] = {"$": "o", "p": props}
        if spreads:
            result["s"] = spreads
        return result

    def _function(self, node: tree_sitter.Node, depth: int) -> Value:
        body = node.child_by_field_name("body")
        if body is None:
            return UNKNOWN
        if body.type != "statement_block":
            return self.value(body, depth + 1)
        # `lazy: async () => { const { Page } = await import("./page"); return { Component: Page }; }`: the module
        # imported is what the function resolves to
        found = _find_import_call(body)
        if found is not None:
            return self.value(found, depth + 1)
        for statement in body.named_children:
            if statement.type == "return_statement" and statement.named_children:
                return self.value(statement.named_children[0], depth + 1)
        return UNKNOWN

    def _call(self, node: tree_sitter.Node, depth: int) -> Value:
        fn = node.child_by_field_name("function")
        args = node.child_by_field_name("arguments")
        arg_nodes = args.named_children if args is not None else []
        if fn is None:
            return UNKNOWN
        if fn.type == "import":
            spec = self.url_template(arg_nodes[0]) if arg_nodes else None
            return {"$": "m", "s": spec, "n": None} if spec else UNKNOWN
        if fn.type == "member_expression":
            prop = fn.child_by_field_name("property")
            obj = fn.child_by_field_name("object")
            if prop is not None and obj is not None and _text(prop) == "then":
                inner = self.value(obj, depth + 1)
                if isinstance(inner, dict) and inner.get("$") == "m":
                    return {"$": "m", "s": inner["s"], "n": _then_member_of_args(arg_nodes)}
        name = _dotted(fn) if fn.type in ("identifier", "member_expression") else "?"
        return {"$": "c", "f": name, "a": [self.value(a, depth + 1) for a in arg_nodes if a.type != "comment"]}

    def _jsx(self, node: tree_sitter.Node, depth: int, wrap: int = 0) -> Value:
        opening = node if node.type == "jsx_self_closing_element" else node.child_by_field_name("open_tag")
        name_node = opening.child_by_field_name("name") if opening is not None else None
        name = _text(name_node) if name_node is not None else ""
        wrapper_of = None
        if name not in _ROUTE_ELEMENT_NAMES and _CUSTOM_ROUTE.match(name) and _has_path(opening):
            # a guard or wrapper route (`<PrivateRoute path component>`) declares a route like `<Route>`
            wrapper_of, name = name, "Route"
        if name not in _ROUTE_ELEMENT_NAMES:
            # Wrappers (`<RequireAuth><Dashboard /></RequireAuth>`, `<Suspense>`) keep a shallow list of children.
            if node.type != "jsx_element" or wrap >= 2:
                return {"$": "j", "n": name}
            inner = [
                self._jsx(c, depth + 1, wrap + 1)
                for c in node.named_children
                if c.type in ("jsx_element", "jsx_self_closing_element")
            ][:10]
            return {"$": "j", "n": name, "c": inner} if inner else {"$": "j", "n": name}
        props: dict[str, Value] = {}
        if opening is not None:
            for attr in opening.named_children:
                if attr.type != "jsx_attribute" or not attr.named_children:
                    continue
                key = _text(attr.named_children[0])
                if len(attr.named_children) == 1:
                    props[key] = True
                    continue
                raw = attr.named_children[-1]
                if raw.type == "jsx_expression":
                    props[key] = self.value(raw.named_children[0], depth + 1) if raw.named_children else None
                else:
                    props[key] = self.value(raw, depth + 1)
        children: list[Value] = []
        if node.type == "jsx_element":
            for child in node.named_children:
                if child.type in ("jsx_element", "jsx_self_closing_element"):
                    children.append(self._jsx(child, depth + 1))
        if wrapper_of is not None:
            return {"$": "j", "n": name, "p": props, "c": children, "w": wrapper_of}
        return {"$": "j", "n": name, "p": props, "c": children}

    # -- components and markup ----------------------------------------------------------------------

    def _component(self, facts: FileFacts, kind: str, data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        markup_parts: list[str] = []
        cursor = 0
        for match in BLOCK.finditer(text):
            markup_parts.append(text[cursor : match.start()])
            blank = "\n" * match.group(0).count("\n")
            markup_parts.append(blank)
            cursor = match.end()
            tag, attrs, body = match.group(1).lower(), match.group(2), match.group(3)
            src = ATTR_SRC.search(attrs)
            if src is not None:
                facts.imports.append((_relative(src.group(2)), "style" if tag == "style" else "import"))
            if tag == "script" and body.strip():
                lang_match = ATTR_LANG.search(attrs)
                lang = (lang_match.group(2) if lang_match else "js").lower()
                parser_lang = "tsx" if lang in ("tsx", "jsx") else "ts"
                offset = text.count("\n", 0, match.start(3))
                self._script(facts, parser_lang, body.encode(), offset, calls=kind == "vue")
            elif tag == "style":
                self._stylesheet(facts, body)
        markup_parts.append(text[cursor:])
        markup = "".join(markup_parts)
        self._markup(facts, markup, 0)
        if kind == "vue":
            tags = {m.group(1) for m in COMPONENT_TAG.finditer(markup)}
            # functions called without an import or a local definition: Nuxt's auto-imported composables and utils
            known = set(facts.bindings) | set(facts.local_names)
            tags.update(CALL_TAG + name for name in self._calls if name not in known and name[:1].islower())
            facts.tags = sorted(tags)
        facts.has_default_export = True

    def _markup(self, facts: FileFacts, text: str, line_offset: int) -> None:
        for tag, name, raw, braced, line in scan_attributes(text):
            lname = name.lower()
            line += line_offset
            framework_binding = lname.startswith((":", "v-bind:", "[", "@", "v-on:", "("))
            # Svelte writes expressions as `{expr}` or `"{expr}"`; Vue/Angular bindings are expressions as-is.
            bound = braced or framework_binding or single_brace_pair(raw)
            value = raw[1:-1] if not braced and not framework_binding and single_brace_pair(raw) else raw
            if lname.startswith(("@", "v-on:", "on:", "(")) or (lname.startswith("on") and bound):
                if value and any(word in value for word in ("push", "replace", "navigate", "goto")):
                    self._expression_nav(facts, value, line)
                continue
            plain = lname.lstrip(":").removeprefix("v-bind:").strip("[]")
            if plain not in ("href", "to", "routerlink"):
                continue
            if bound:
                target = self._expression_template(value)
            else:
                target = interpolated(value)
            if target is None:
                continue
            if plain == "routerlink":
                kind = "routerLink"
            elif plain == "to":
                kind = "to"
            else:
                kind = "href" if tag.lower() == "a" else "link"
            facts.nav.append((target, kind, line))

    def _expression_tree(self, expression: str) -> tuple[tree_sitter.Node, bytes] | None:
        source = ("(" + expression + ");").encode()
        tree = self.languages["ts"].parser.parse(source)
        statement = tree.root_node.named_children[0] if tree.root_node.named_children else None
        if statement is None or statement.type != "expression_statement" or not statement.named_children:
            return None
        return statement.named_children[0], source

    def _expression_template(self, expression: str) -> str | None:
        parsed = self._expression_tree(expression)
        return None if parsed is None else self.url_template(parsed[0])

    def _expression_nav(self, facts: FileFacts, expression: str, line: int) -> None:
        sub = FileFacts()
        self._script(sub, "ts", expression.encode(), line - 1)
        facts.nav.extend(sub.nav)

    def _stylesheet(self, facts: FileFacts, text: str) -> None:
        for match in CSS_IMPORT.finditer(text):
            spec = match.group(2)
            if spec.startswith(("http:", "https:", "//", "data:")):
                continue
            facts.imports.append((spec, "style"))


# ---------------------------------------------------------------------------------------------------------
# node helpers


def _text(node: tree_sitter.Node) -> str:
    raw = node.text
    return raw.decode("utf-8", "replace") if raw is not None else ""


def _string(node: tree_sitter.Node) -> str:
    raw = _text(node)
    if len(raw) >= 2 and raw[0] in "'\"`" and raw[-1] == raw[0]:
        raw = raw[1:-1]
    if "\\" in raw:
        raw = re.sub(r"\\(.)", r"\1", raw)
    return raw


def _member_call_ref(node: tree_sitter.Node) -> str | None:
    """`paths.auth.register.getHref(next)` -> `CALL_REF + "paths.auth.register.getHref"`: a URL helper on a constant
    object, resolved by the navigation graph against the constant (`export const paths = {...}`)."""
    fn = node.child_by_field_name("function")
    if fn is None or fn.type != "member_expression":
        return None
    current: tree_sitter.Node | None = fn
    while current is not None and current.type == "member_expression":
        prop = current.child_by_field_name("property")
        if prop is None or prop.type != "property_identifier":
            return None
        current = current.child_by_field_name("object")
    if current is None or current.type != "identifier":
        return None
    return CALL_REF + _dotted(fn)


def _route_builder_pattern(node: tree_sitter.Node) -> str | None:
    """`href("/tasks/:task", { task: id })` -> `/tasks/:task`: the route pattern a route builder is called with."""
    node = _unwrap(node)
    if node.type != "call_expression":
        return None
    fn = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    if fn is None or args is None or fn.type != "identifier" or _text(fn) not in _ROUTE_BUILDERS:
        return None
    first = args.named_children[0] if args.named_children else None
    if first is None or first.type != "string":
        return None
    pattern = _string(first)
    return pattern if pattern.startswith("/") else None


def _template(node: tree_sitter.Node, substitution: Callable[[tree_sitter.Node], str | None] | None = None) -> str:
    """The template's text with `{}` for each substitution; `substitution` may spell one out instead
    (`${href("/users")}?page=2` -> `/users?page=2`)."""
    if not node.named_children:
        return _text(node)[1:-1]
    parts: list[str] = []
    for child in node.named_children:
        if child.type == "template_substitution":
            inner = child.named_children[0] if child.named_children else None
            spelled = substitution(inner) if substitution is not None and inner is not None else None
            parts.append("{}" if spelled is None else spelled)
        elif child.type in ("string_fragment", "escape_sequence"):
            parts.append(_text(child))
    return "".join(parts)


def _key(node: tree_sitter.Node) -> str:
    if node.type == "string":
        return _string(node)
    return _text(node)


def _number(raw: str) -> int | float | str:
    try:
        return int(raw)
    except ValueError:
        try:
            return float(raw)
        except ValueError:
            return raw


def _dotted(node: tree_sitter.Node) -> str:
    return re.sub(r"\s+", "", _text(node)).replace("?.", ".")


def _unwrap(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.type in _WRAPPERS and node.named_children:
        node = node.named_children[0]
    return node


def _relative(spec: str) -> str:
    """Angular/Vue `src`/`templateUrl` values are paths relative to the file even without `./`."""
    if spec.startswith((".", "/", "@", "~", "#")) or ":" in spec:
        return spec
    return "./" + spec


def _declared_name(node: tree_sitter.Node) -> tuple[str | None, bool]:
    parent = node.parent
    while parent is not None and parent.type in _WRAPPERS:
        parent = parent.parent
    if parent is None:
        return None, False
    if parent.type == "variable_declarator":
        name = parent.child_by_field_name("name")
        declaration = parent.parent
        exported = (
            declaration is not None
            and declaration.parent is not None
            and (declaration.parent.type == "export_statement")
        )
        return (_text(name) if name is not None else None), exported
    if parent.type == "export_statement":
        return "default", True
    return None, False


def _routes_call(call: tree_sitter.Node) -> bool:
    fn = call.child_by_field_name("function")
    return fn is not None and fn.type == "identifier" and _text(fn).endswith("Routes")


def _has_path(opening: tree_sitter.Node | None) -> bool:
    if opening is None:
        return False
    for attr in opening.named_children:
        if attr.type == "jsx_attribute" and attr.named_children and _text(attr.named_children[0]) == "path":
            return True
    return False


def _inside_default_array(node: tree_sitter.Node) -> bool:
    """True when the array is the value of `export default` (recorded as a `default` route tree)."""
    parent = node.parent
    while parent is not None and parent.type in _WRAPPERS:
        parent = parent.parent
    return (
        parent is not None and parent.type == "export_statement" and any(c.type == "default" for c in parent.children)
    )


def _lazy_binding_name(call: tree_sitter.Node) -> str | None:
    """`const X = lazy(() => import("./X"))`, `const X = () => import("./X.vue")` -> `X`."""
    node = call.parent
    for _ in range(8):
        if node is None:
            return None
        if node.type == "variable_declarator":
            name = node.child_by_field_name("name")
            return _text(name) if name is not None and name.type == "identifier" else None
        if node.type == "call_expression":
            fn = node.child_by_field_name("function")
            fn_name = _dotted(fn) if fn is not None else ""
            if fn_name not in _LAZY_WRAPPERS and not fn_name.endswith(".then"):
                return None
        elif node.type not in (
            "arguments",
            "arrow_function",
            "member_expression",
            "statement_block",
            "return_statement",
            "parenthesized_expression",
            "await_expression",
        ):
            return None
        node = node.parent
    return None


def _then_member(call: tree_sitter.Node) -> str | None:
    """The export picked by `import("./x").then(m => m.Name)`."""
    member = call.parent
    if member is None or member.type != "member_expression":
        return None
    prop = member.child_by_field_name("property")
    outer = member.parent
    if prop is None or _text(prop) != "then" or outer is None or outer.type != "call_expression":
        return None
    args = outer.child_by_field_name("arguments")
    return _then_member_of_args(args.named_children if args is not None else [])


def _then_member_of_args(args: list[tree_sitter.Node]) -> str | None:
    if not args or args[0].type != "arrow_function":
        return None
    body = args[0].child_by_field_name("body")
    if body is not None and body.type == "member_expression":
        prop = body.child_by_field_name("property")
        return _text(prop) if prop is not None else None
    return None


def _find_import_call(node: tree_sitter.Node) -> tree_sitter.Node | None:
    stack = [node]
    visited = 0
    while stack and visited < 200:
        current = stack.pop()
        visited += 1
        if current.type == "call_expression":
            fn = current.child_by_field_name("function")
            if fn is not None and fn.type == "import":
                return current
        stack.extend(reversed(current.named_children))
    return None
