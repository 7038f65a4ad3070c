"""The navigation graph: which route links to which, from links and navigation calls found in code.

A link belongs to a route when it sits in one of the route's entry files or in a module they import
(transitively, stopping at other routes' entry files). Links in the route's layouts (and what they import)
count for every route wrapped by that layout, marked `from_layout`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from perceo.observer.discovery.patterns import RouteMatcher, clean_url, join_route
from perceo.observer.facts import FileFacts
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
    prefixes = prefixes or {}
    result = NavigationResult()
    all_entries = {f for r in routes for f in r.entry_files}
    apps: dict[str, list[RouteEntry]] = {}
    for route in routes:
        apps.setdefault(route.app, []).append(route)
    seen: set[tuple[str, str, str, str, int | None]] = set()
    for app, app_routes in apps.items():
        prefix = prefixes.get(app, "")
        pages = [r for r in app_routes if r.kind == "page"]
        matcher = RouteMatcher(r.route for r in pages)
        layout_closures: dict[tuple[str, ...], list[str]] = {}
        for route in pages:
            stop = all_entries.difference(route.entry_files)
            own = _closure(route.entry_files, imports, stop)
            key = tuple(route.layout_files)
            if key not in layout_closures:
                layout_closures[key] = _closure(route.layout_files, imports, all_entries)
            wrapped = [f for f in layout_closures[key] if f not in set(own)]
            for files, from_layout in ((own, False), (wrapped, True)):
                for path in files:
                    file_facts = facts.get(path)
                    if file_facts is None:
                        continue
                    for target, kind, line in file_facts.nav:
                        relative_base = route.route if kind in _RELATIVE_KINDS else None
                        url = clean_url(target, relative_base)
                        if url is None:
                            continue
                        matched = matcher.match(url)
                        if matched is None:
                            result.unmatched.setdefault(url, path)
                            continue
                        if matched == route.route:
                            continue
                        source = join_route(prefix, route.route) if prefix else route.route
                        target_route = join_route(prefix, matched) if prefix else matched
                        edge_key = (source, target_route, kind, path, line)
                        if edge_key in seen:
                            continue
                        seen.add(edge_key)
                        result.edges.append(NavEdge(
                            source=source, target=target_route, kind=kind,
                            file=path, line=line, from_layout=from_layout))
    result.edges.sort(key=lambda e: (e.source, e.target, e.file, e.line or 0, e.kind))
    return result


def _closure(start: Iterable[str], imports: Mapping[str, list[str]], stop: set[str]) -> list[str]:
    ordered: list[str] = []
    visited: set[str] = set()
    stack = list(start)
    while stack and len(ordered) < _MAX_CLOSURE:
        current = stack.pop()
        if current in visited:
            continue
        visited.add(current)
        ordered.append(current)
        for target in imports.get(current, ()):
            if target not in visited and target not in stop:
                stack.append(target)
    return ordered
