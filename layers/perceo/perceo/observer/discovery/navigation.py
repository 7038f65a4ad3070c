"""The navigation graph: which route links to which, from links and navigation calls found in code.

A link belongs to a route when it sits in one of the route's entry files or in a module they import
(transitively, stopping at other routes' entry files). Links in the route's layouts (and what they import)
count for every route wrapped by that layout, marked `from_layout`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perceo.observer.discovery.patterns import RouteMatcher, clean_url, join_route
from perceo.observer.facts.model import CALL_REF, FileFacts
from perceo.observer.model import NavEdge, RouteEntry

#: Kinds whose relative targets are resolved against the current route (React Router / Angular semantics).
_RELATIVE_KINDS = frozenset({"to", "navigate", "routerLink", "link"})
_MAX_CLOSURE = 5000


@dataclass
class NavigationResult:
    edges: list[NavEdge] = field(default_factory=list)
    unmatched: dict[str, str] = field(default_factory=dict)  # url -> first file it was seen in


def build_navigation(
    routes: list[RouteEntry],
    facts: Mapping[str, FileFacts],
    imports: Mapping[str, list[str]],
    prefixes: Mapping[str, str] | None = None,
) -> NavigationResult:
    """Edges between route patterns of the same app; with `prefixes`, patterns are reported prefixed."""
    builder = _Builder(routes, facts, imports)
    apps: dict[str, list[RouteEntry]] = {}
    for route in routes:
        apps.setdefault(route.app, []).append(route)
    for app, app_routes in apps.items():
        builder.app(
            (prefixes or {}).get(app, ""),
            [r for r in app_routes if r.kind == "page"],
            [r.route for r in app_routes if r.kind == "api"],
        )
    builder.result.edges.sort(key=lambda e: (e.source, e.target, e.file, e.line or 0, e.kind))
    return builder.result


class _Builder:
    def __init__(
        self, routes: list[RouteEntry], facts: Mapping[str, FileFacts], imports: Mapping[str, list[str]]
    ) -> None:
        self.facts = facts
        self.imports = imports
        self.result = NavigationResult()
        # Walking imports stops at any file that belongs to a route (its page or a layout): a route config
        # that imports every page must not leak one route's links into all the others.
        self.route_files = {f for r in routes for f in (*r.entry_files, *r.layout_files)}
        self.relevant = _files_reaching_links(facts, imports, self.route_files)
        self._layout_closures: dict[str, list[str]] = {}
        self._api = RouteMatcher([])
        self._seen: set[tuple[str, str, str, str, int | None]] = set()

    def app(self, prefix: str, pages: list[RouteEntry], api_routes: list[str]) -> None:
        matcher = RouteMatcher(r.route for r in pages)
        self._api = RouteMatcher(api_routes)
        # Relative links in a layout are relative to the layout's own URL: the common prefix of what it wraps.
        wrapped_by: dict[str, list[str]] = {}
        for route in pages:
            for layout in route.layout_files:
                wrapped_by.setdefault(layout, []).append(route.route)
        layout_base = {layout: _common_prefix(urls) for layout, urls in wrapped_by.items()}
        for route in pages:
            own = _closure(
                route.entry_files, self.imports, self.relevant, self.route_files.difference(route.entry_files)
            )
            done = set(own)
            for path in own:
                self._links(prefix, matcher, route, path, route.route, from_layout=False)
            for layout in route.layout_files:
                for path in self._layout_closure(layout):
                    if path not in done:
                        done.add(path)
                        self._links(prefix, matcher, route, path, layout_base[layout], from_layout=True)

    def _resolve_ref(self, path: str, dotted: str) -> str | None:
        """`paths.auth.register.getHref` called in `path`: the URL its constant (`export const paths = {...}` in this
        file or one it imports) gives at that member, else None."""
        base, *members = dotted.split(".")
        if not members:
            return None
        value = _const_value(self.facts.get(path), base, exported=False)
        for imported in self.imports.get(path, ()) if value is None else ():
            value = _const_value(self.facts.get(imported), base, exported=True)
            if value is not None:
                break
        return _walk(value, members) if value is not None else None

    def _layout_closure(self, layout: str) -> list[str]:
        if layout not in self._layout_closures:
            self._layout_closures[layout] = _closure([layout], self.imports, self.relevant, self.route_files - {layout})
        return self._layout_closures[layout]

    def _links(
        self, prefix: str, matcher: RouteMatcher, route: RouteEntry, path: str, base: str, *, from_layout: bool
    ) -> None:
        file_facts = self.facts.get(path)
        if file_facts is None:
            return
        for raw, kind, line in file_facts.nav:
            target = self._resolve_ref(path, raw[len(CALL_REF) :]) if raw.startswith(CALL_REF) else raw
            if target is None:
                continue  # a helper call this graph cannot resolve: no edge, and no unknown URL either
            relative = not target.startswith("/")
            url = clean_url(target, base if kind in _RELATIVE_KINDS else None)
            if url is None:
                continue
            matched = matcher.match(url)
            if matched is None or (relative and matched.endswith("*")):
                if self._api.match(url) is None:  # links to API routes (downloads, sign-out) are not pages
                    self.result.unmatched.setdefault(url, path)
                continue
            if matched == route.route:
                continue
            source = join_route(prefix, route.route) if prefix else route.route
            target_route = join_route(prefix, matched) if prefix else matched
            key = (source, target_route, kind, path, line)
            if key in self._seen:
                continue
            self._seen.add(key)
            self.result.edges.append(
                NavEdge(
                    source=source,
                    target=target_route,
                    kind=kind,
                    file=path,
                    line=line,
                    from_layout=from_layout,
                    hash=route.hash,
                )
            )


_GLUED_SUFFIX = re.compile(r"(?<=[\w-])\{\}$")


def _const_value(facts: FileFacts | None, name: str, *, exported: bool) -> Any:
    for record in facts.routes if facts else []:
        if record.get("k") == "const" and record.get("n") == name and (record.get("x") or not exported):
            return record.get("v")
    return None


def _walk(value: Any, members: list[str]) -> str | None:
    """The URL at `members` of a constant's tree: a string, or a template (`/app/discussions/{}`); a function's
    tree is what it returns."""
    for member in members:
        if not isinstance(value, dict) or value.get("$") != "o":
            return None
        value = (value.get("p") or {}).get(member)
    if isinstance(value, dict) and value.get("$") == "t":
        value = value.get("v")
    if not isinstance(value, str):
        return None
    # `/auth/login${redirectTo ? `?redirectTo=…` : ''}`: a part glued to the last word is a query, not the path.
    return _GLUED_SUFFIX.sub("", value)


def _common_prefix(urls: list[str]) -> str:
    split = [[s for s in url.split("/") if s] for url in urls]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if any(p != parts[0] for p in parts):
            break
        common.append(parts[0])
    return "/" + "/".join(common)


def _files_reaching_links(
    facts: Mapping[str, FileFacts], imports: Mapping[str, list[str]], route_files: set[str]
) -> set[str]:
    """Files from which a file holding links is reachable without passing through another route's file.

    Walking only these keeps per-route closures small in large repositories where most modules link nowhere.
    """
    importers: dict[str, list[str]] = {}
    for source, targets in imports.items():
        for target in targets:
            importers.setdefault(target, []).append(source)
    relevant = {path for path, file_facts in facts.items() if file_facts.nav}
    stack = list(relevant)
    while stack:
        current = stack.pop()
        if current in route_files:
            continue  # a route's file is a starting point, never a way through
        for importer in importers.get(current, ()):
            if importer not in relevant:
                relevant.add(importer)
                stack.append(importer)
    return relevant


def _closure(start: Iterable[str], imports: Mapping[str, list[str]], relevant: set[str], stop: set[str]) -> list[str]:
    """Files reachable from `start` that can lead to links (`relevant`), not entering `stop`."""
    ordered: list[str] = []
    visited: set[str] = set()
    stack = [f for f in start if f in relevant]
    while stack and len(ordered) < _MAX_CLOSURE:
        current = stack.pop()
        if current in visited:
            continue
        visited.add(current)
        ordered.append(current)
        for target in imports.get(current, ()):
            if target not in visited and target not in stop and target in relevant:
                stack.append(target)
    return ordered
