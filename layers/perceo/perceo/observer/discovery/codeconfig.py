"""Routes declared in code: React Router (`<Route>` trees, `createBrowserRouter`/`useRoutes` objects, `lazy`),
Vue Router (route arrays with `children`, lazy `import()` components) and Angular (`Routes`, `loadChildren`,
`loadComponent`, `component`).

File facts carry every outermost route-looking array and `<Route>` tree as a JSON-shaped value tree. This
module interprets those trees: it resolves component identifiers through the file's imports (following
barrel re-exports), splices arrays referenced by name (`children: adminRoutes`, `...authRoutes`) or loaded
lazily (`loadChildren: () => import("./admin.routes").then(m => m.ADMIN_ROUTES)`), and nests descendant
`<Routes>` rendered under a `path="x/*"` route. Trees consumed that way are not roots.

A route table is not a layout: the files whose trees declare a route are its `config_files`, not part of its
code, and each route carries a fingerprint of its definition (its own options and its parents', without the
children) so that impact can tell which routes a change to a route table really touched.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from perceo.observer.discovery.context import AppScan, is_test_or_story
from perceo.observer.discovery.patterns import join_route
from perceo.observer.model import RouteEntry

Dialect = Literal["react", "vue", "angular"]

_COMPONENT_KEYS = ("element", "Component", "component", "lazy", "loadComponent", "render")
_ROUTEISH_KEYS = frozenset(
    {
        "element",
        "Component",
        "component",
        "components",
        "lazy",
        "loadComponent",
        "loadChildren",
        "children",
        "redirect",
        "redirectTo",
        "index",
        "errorElement",
    }
)
_FRAGMENTS = frozenset({"Fragment", "React.Fragment", ""})
_SWITCHES = frozenset({"Switch", "Routes"})
#: Identifiers that stand for the path the enclosing route matched (React Router v5 `useRouteMatch()`).
_MATCH_PATHS = frozenset({"path", "url", "match.path", "match.url", "routeMatch.path", "routeMatch.url"})
_PARAM = re.compile(r"^:(\w+)(\([^/]*\))?([?*+])?$")


@dataclass
class _Node:
    path: str | None
    index: bool = False
    components: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)
    #: The file whose route tree declares this node, and the fingerprint of the node's own definition.
    file: str = ""
    definition: str = ""
    #: React Router v5 `exact`: the component renders for this path only, never for paths below it.
    exact: bool = False
    #: The route redirects (Vue `redirect`, Angular `redirectTo`): with children, it is no page of its own.
    redirect: bool = False


@dataclass
class _Tree:
    file: str
    record: dict[str, Any]
    nodes: list[_Node] | None = None


def discover_react_router(scan: AppScan) -> list[RouteEntry]:
    return RouteConfigReader(scan, "react").routes()


def discover_vue(scan: AppScan) -> list[RouteEntry]:
    from perceo.observer.discovery.nuxt import file_based_vue_routes

    file_routes = file_based_vue_routes(scan)
    if file_routes is not None:
        return file_routes
    root = scan.first_existing(["src/App.vue", "App.vue"])
    return RouteConfigReader(scan, "vue", root_layouts=[root] if root else []).routes()


class RouteConfigReader:
    """Interprets the route-config trees found in one app's files."""

    def __init__(self, scan: AppScan, dialect: Dialect, root_layouts: list[str] | None = None) -> None:
        self.scan = scan
        self.dialect = dialect
        self.root_layouts = root_layouts or []
        self.trees: list[_Tree] = []
        self.by_file: dict[str, list[_Tree]] = {}
        for path in scan.route_config_files:
            facts = scan.facts.get(path)
            if facts is None or not facts.routes or is_test_or_story(path.rsplit("/", 1)[-1]):
                continue
            for record in facts.routes:
                if record.get("k") in ("component", "const"):
                    continue  # a global component registration (`nuxt.auto_imported_components`), path constants
                tree = _Tree(path, record)
                self.trees.append(tree)
                self.by_file.setdefault(path, []).append(tree)
        self.consumed: set[int] = set()
        self._converting: set[int] = set()
        self._layout_use: dict[str, int] = {}

    # -- public -------------------------------------------------------------------------------------------

    def routes(self) -> list[RouteEntry]:
        for tree in self.trees:
            self._convert(tree)
        roots = [t for t in self.trees if id(t) not in self.consumed and t.nodes and t.record.get("k") != "object"]
        self._layout_use = _layout_use([node for tree in roots for node in tree.nodes or []])
        entries: list[RouteEntry] = []
        for tree in roots:
            layouts = [f for f in self.root_layouts if f]
            for node in tree.nodes or []:
                self._flatten(node, "/", _unique(layouts), [tree.file], "", entries)
        return entries

    # -- tree conversion ----------------------------------------------------------------------------------

    def _convert(self, tree: _Tree) -> list[_Node]:
        if tree.nodes is not None:
            return tree.nodes
        if id(tree) in self._converting:
            return []
        self._converting.add(id(tree))
        value = tree.record.get("v")
        if tree.record.get("k") == "jsx":
            node = self._jsx_node(tree.file, value)
            nodes = [node] if node is not None else []
        elif tree.record.get("k") == "object":  # `const adminRoutes = { path, component, children }`
            props = value.get("p") if isinstance(value, dict) and value.get("$") == "o" else None
            node = self._object_node(tree.file, props) if isinstance(props, dict) else None
            nodes = [node] if node is not None else []
        else:
            nodes = self._items(tree.file, value if isinstance(value, list) else [])
        tree.nodes = nodes
        self._converting.discard(id(tree))
        return nodes

    def _items(self, file: str, items: list[Any]) -> list[_Node]:
        nodes: list[_Node] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            tag = item.get("$")
            if tag == "o":
                node = self._object_node(file, item.get("p") or {})
                if node is not None:
                    nodes.append(node)
            elif tag == "s":
                inner = item.get("v")
                if isinstance(inner, list):
                    nodes.extend(self._items(file, inner))
                elif isinstance(inner, dict) and inner.get("$") == "i":
                    nodes.extend(self._array_ref(file, str(inner.get("n"))))
            elif tag == "i":
                nodes.extend(self._array_ref(file, str(item.get("n"))))
            elif tag == "j" and item.get("n") == "Route":
                node = self._jsx_node(file, item)
                if node is not None:
                    nodes.append(node)
        return nodes

    def _object_node(self, file: str, props: dict[str, Any]) -> _Node | None:
        if not any(key in props for key in _ROUTEISH_KEYS):
            return None  # `{ path, label }` menus and the like
        path = self._path_value(file, props.get("path"))
        if isinstance(path, str) and "://" in path:
            return None  # a menu entry linking outside the app
        node = _Node(path=path if isinstance(path, str) else None, index=props.get("index") is True, file=file)
        node.redirect = "redirect" in props or "redirectTo" in props
        node.definition = _fingerprint({key: value for key, value in props.items() if key != "children"})
        for key in _COMPONENT_KEYS:
            if key in props:
                node.components.extend(self._component_files(file, props[key]))
        views = props.get("components")
        if isinstance(views, dict) and views.get("$") == "o":
            for view in (views.get("p") or {}).values():
                node.components.extend(self._component_files(file, view))
        children = props.get("children")
        if isinstance(children, list):
            node.children.extend(self._items(file, children))
            if children and not node.children:
                node.redirect = True  # a layout whose children are all links out of the app: no page
        elif isinstance(children, dict) and children.get("$") == "i":
            node.children.extend(self._array_ref(file, str(children.get("n"))))
        load_children = props.get("loadChildren")
        if isinstance(load_children, dict):
            node.children.extend(self._lazy_children(file, load_children))
        node.components = _unique(node.components)
        self._descendant_routes(file, node)
        return node

    def _jsx_node(self, file: str, value: Any) -> _Node | None:
        if not isinstance(value, dict) or value.get("$") != "j":
            return None
        props = value.get("p") or {}
        raw_path = props.get("path")
        path = _jsx_path(raw_path)
        if path is None:
            path = self._path_value(file, raw_path)
        node = _Node(path=path, index=props.get("index") is True, file=file)
        node.exact = props.get("exact") is True
        wrapped = [c.get("n") for c in value.get("c") or [] if isinstance(c, dict) and c.get("n") != "Route"]
        node.definition = _fingerprint([value.get("n"), props, wrapped])
        for key in _COMPONENT_KEYS:
            if key in props:
                node.components.extend(self._component_files(file, props[key]))
        for child in value.get("c") or []:
            self._jsx_child(file, node, child)
        node.components = _unique(node.components)
        self._descendant_routes(file, node)
        return node

    def _jsx_child(self, file: str, node: _Node, child: Any) -> None:
        if not isinstance(child, dict):
            return
        name = child.get("n")
        if name == "Route":
            sub = self._jsx_node(file, child)
            if sub is not None:
                node.children.append(sub)
        elif name in _FRAGMENTS or name in _SWITCHES:
            for grandchild in child.get("c") or []:
                self._jsx_child(file, node, grandchild)
        else:  # React Router v5: <Route path="/x"><Page /></Route>
            node.components.extend(self._component_files(file, child))

    def _descendant_routes(self, file: str, node: _Node) -> None:
        """`<Route path="app/*" element={<AppShell />}>` where AppShell renders its own `<Routes>`; in React
        Router v5, any route that is not `exact` renders its component for the paths below it, and the routes
        that component declares (`<Route path={`${match.path}/tab`}>`, `<PrivateRoute path="/x/new">`, absolute
        or relative to the match) are its children."""
        if self.dialect != "react" or node.path is None:
            return
        splat = node.path.endswith("*")
        if not splat and node.exact:
            return
        for component in node.components:
            if component == file:
                continue
            for tree in self.by_file.get(component, []):
                if tree.record.get("k") != "jsx" or id(tree) in self._converting:
                    continue
                self.consumed.add(id(tree))
                node.children.extend(self._convert(tree))
        if node.children and splat:
            node.path = node.path[:-1].rstrip("/") or "/"

    # -- references ----------------------------------------------------------------------------------------

    def _component_files(self, file: str, value: Any) -> list[str]:
        if not isinstance(value, dict):
            return []
        tag = value.get("$")
        if tag == "j":
            found = self._identifier_file(file, str(value.get("n", "")))
            out = [found] if found else []
            for child in value.get("c") or []:
                out.extend(self._component_files(file, child))
            return out
        if tag == "i":
            found = self._identifier_file(file, str(value.get("n", "")))
            return [found] if found else []
        if tag == "m":
            found = self._import_file(file, value.get("s"), value.get("n"))
            return [found] if found else []
        if tag == "c":
            out = []
            for arg in value.get("a") or []:
                out.extend(self._component_files(file, arg))
            return out
        return []

    def _path_value(self, file: str, raw: Any) -> str | None:
        """A route path: a string, or a constant from this module or another (`paths.app.users.path`,
        `ROUTES.settings`) when it holds a string."""
        if isinstance(raw, str):
            return raw
        if not isinstance(raw, dict) or raw.get("$") != "i" or not isinstance(raw.get("n"), str):
            return None
        base, *members = raw["n"].split(".")
        facts = self.scan.facts.get(file)
        if facts is None or not members:
            return None
        owner, name = file, base
        if base in facts.bindings:
            spec, imported = facts.bindings[base]
            target = self.scan.resolver.resolve_file(file, spec)
            if target is None or imported in ("*", "default"):
                return None
            owner, name = self._follow_export(target, imported, 0), imported
        owner_facts = self.scan.facts.get(owner)
        value: Any = next(
            (
                r.get("v")
                for r in (owner_facts.routes if owner_facts else [])
                if r.get("k") == "const" and r.get("n") == name
            ),
            None,
        )
        for member in members:
            if not isinstance(value, dict) or value.get("$") != "o":
                return None
            value = (value.get("p") or {}).get(member)
        return value if isinstance(value, str) else None

    def _identifier_file(self, file: str, name: str) -> str | None:
        base = name.split(".")[0]
        if not base or not (base[0].isupper() or self.dialect != "react"):
            return None  # lower-case JSX tags are DOM elements
        facts = self.scan.facts.get(file)
        if facts is None:
            return None
        if base in facts.bindings:
            spec, imported = facts.bindings[base]
            return self._import_file(file, spec, imported)
        if base in facts.local_names:
            return file
        return None

    def _import_file(self, file: str, spec: Any, member: Any) -> str | None:
        if not isinstance(spec, str):
            return None
        target = self.scan.resolver.resolve_file(file, spec)
        if target is None:
            return None
        return self._follow_export(target, member if isinstance(member, str) else "default", 0)

    def _follow_export(self, file: str, name: str, depth: int) -> str:
        """The file that really defines export `name` of `file`, through barrel re-exports."""
        facts = self.scan.facts.get(file)
        if facts is None or depth > 8 or name == "*":
            return file
        if name in facts.reexports:
            spec, imported = facts.reexports[name]
            target = self.scan.resolver.resolve_file(file, spec)
            return self._follow_export(target, imported, depth + 1) if target else file
        if name in facts.local_names or (name == "default" and facts.has_default_export):
            return file
        for spec in facts.star_exports:
            target = self.scan.resolver.resolve_file(file, spec)
            target_facts = self.scan.facts.get(target) if target else None
            if (
                target
                and target_facts is not None
                and (name in target_facts.local_names or name in target_facts.reexports)
            ):
                return self._follow_export(target, name, depth + 1)
        return file

    def _array_ref(self, file: str, name: str) -> list[_Node]:
        """Nodes of a route array referenced by identifier, in this file or imported."""
        facts = self.scan.facts.get(file)
        if facts is None:
            return []
        if name in facts.bindings:
            spec, imported = facts.bindings[name]
            target = self.scan.resolver.resolve_file(file, spec)
            if target is None:
                return []
            target = self._follow_export(target, imported, 0)
            return self._named_trees(target, imported)
        return self._named_trees(file, name)

    def _lazy_children(self, file: str, value: dict[str, Any]) -> list[_Node]:
        """`loadChildren: () => import("./x").then(m => m.ROUTES)` (or an NgModule with `forChild(routes)`)."""
        if value.get("$") != "m" or not isinstance(value.get("s"), str):
            return []
        target = self.scan.resolver.resolve_file(file, value["s"])
        if target is None:
            return []
        raw_member = value.get("n")
        member = raw_member if isinstance(raw_member, str) else "default"
        nodes = self._named_trees(target, member)
        if nodes:
            return nodes
        defined_in = self._follow_export(target, member, 0)
        candidates = self.by_file.get(defined_in, []) or self.by_file.get(target, [])
        out: list[_Node] = []
        for tree in candidates:
            self.consumed.add(id(tree))
            out.extend(self._convert(tree))
        return out

    def _named_trees(self, file: str, name: str) -> list[_Node]:
        out: list[_Node] = []
        for tree in self.by_file.get(file, []):
            record_name = tree.record.get("n")
            if record_name == name or (name == "default" and tree.record.get("k") == "default"):
                self.consumed.add(id(tree))
                out.extend(self._convert(tree))
        if not out and name == "default":
            # `const componentsRouter = { path, children }; export default componentsRouter`
            objects = [tree for tree in self.by_file.get(file, []) if tree.record.get("k") == "object"]
            if len(objects) == 1:
                self.consumed.add(id(objects[0]))
                out.extend(self._convert(objects[0]))
        return out

    # -- flattening -------------------------------------------------------------------------------------

    def _flatten(
        self,
        node: _Node,
        parent_url: str,
        layouts: list[str],
        configs: list[str],
        definition: str,
        out: list[RouteEntry],
    ) -> None:
        pathless = node.index or not node.path
        url = parent_url if pathless else self._join(parent_url, node.path or "")
        configs = _unique([*configs, node.file]) if node.file else configs
        definition = _fingerprint([definition, node.definition]) if definition else node.definition

        def entry() -> RouteEntry:
            outer = [f for f in layouts if f not in node.components]
            return self.scan.entry(url, "page", node.components, outer, config_files=configs, definition=definition)

        if node.children:
            child_layouts = _unique([*layouts, *node.components])
            for child in node.children:
                self._flatten(child, url, child_layouts, configs, definition, out)
            covered = any(c.index or not c.path or self._join(url, c.path) == url for c in node.children)
            shared_layout = any(self._layout_use.get(c, 0) > 1 for c in node.components)
            if node.components and not pathless and not covered and not node.redirect and not shared_layout:
                out.append(entry())
            return
        if node.components and not node.redirect:
            out.append(entry())

    def _join(self, parent: str, path: str) -> str:
        if path.startswith("/"):
            raw = path
        else:
            raw = parent.rstrip("/") + "/" + path
        return join_route(*[_normalise_segment(s) for s in raw.split("/") if s])


def _jsx_path(raw: Any) -> str | None:
    """A `<Route path>`: a string, or the matched path (`{path}`, `` `${match.path}/tab` ``) made relative."""
    if isinstance(raw, str):
        return raw
    if not isinstance(raw, dict):
        return None
    if raw.get("$") == "i" and raw.get("n") in _MATCH_PATHS:
        return ""
    template = raw.get("v") if raw.get("$") == "t" else None
    if isinstance(template, str) and template.startswith("{}") and "{}" not in template[2:]:
        return template[2:].lstrip("/")
    return None


def _normalise_segment(segment: str) -> str:
    """Vue `:id(\\d+)` -> `:id`, `:pathMatch(.*)*` -> `*`; Angular `**` -> `*`."""
    if segment in ("*", "**"):
        return "*"
    match = _PARAM.match(segment)
    if match is None:
        return segment
    name, regex, modifier = match.groups()
    if modifier in ("*", "+") or (regex is not None and ".*" in regex and modifier is None and name == "pathMatch"):
        return "*"
    return ":" + name + ("?" if modifier == "?" else "")


def _layout_use(nodes: list[_Node]) -> dict[str, int]:
    """component file -> how many route records with children render it: a layout shared by several route
    groups (vue-element-admin's `Layout`) is no page of its own under any of them."""
    counts: dict[str, int] = {}
    pending = list(nodes)
    while pending:
        node = pending.pop()
        if node.children:
            for component in node.components:
                counts[component] = counts.get(component, 0) + 1
            pending.extend(node.children)
    return counts


def _fingerprint(value: Any) -> str:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
