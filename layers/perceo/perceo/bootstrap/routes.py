"""Route patterns as the bootstrap sees them: matching concrete paths, naming, and the navigation graph."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from perceo.observer.model import DiscoveryResult, NavEdge, RouteEntry

_PARAM = re.compile(r"^(:|\*|\[|\$|_\$|\{|<)")
_CLEAN_TARGET = re.compile(r"[?#].*$")


def segments(route: str) -> list[str]:
    return [s for s in route.split("/") if s]


def is_param(segment: str) -> bool:
    return bool(_PARAM.match(segment)) or segment.startswith("...")


def static_segments(route: str) -> list[str]:
    return [s.casefold() for s in segments(route) if not is_param(s)]


def has_params(route: str) -> bool:
    return any(is_param(s) for s in segments(route))


def is_optional(segment: str) -> bool:
    """An optional parameter (`:section?`, `[[section]]`): the route also serves the path without it."""
    return is_param(segment) and (segment.endswith("?") or segment.startswith("[["))


def has_required_params(route: str) -> bool:
    """Parameters a visitor must fill in; optional ones (`/settings/:section?`) do not count."""
    return any(is_param(s) and not is_optional(s) for s in segments(route))


def normalize_target(target: str) -> str | None:
    """A navigation target as a path (`/cart`), or None for external, hash-only or empty targets."""
    target = target.strip()
    if not target or target.startswith(("http:", "https:", "mailto:", "tel:", "#", "//", "javascript:")):
        return None
    target = _CLEAN_TARGET.sub("", target)
    # Template literals: `/products/${id}` -> `/products/:param`.
    target = re.sub(r"\$\{[^}]*\}", ":param", target)
    if not target.startswith("/"):
        target = "/" + target
    return target.rstrip("/") or "/"


def route_matches(pattern: str, path: str) -> bool:
    """True when the concrete (or pattern) `path` is served by route `pattern`."""
    if pattern == path:
        return True
    p_segs, t_segs = segments(pattern), segments(path)
    for i, p in enumerate(p_segs):
        if p.startswith("*") or p.startswith("[...") or p.startswith("[[...") or p.endswith("*"):
            return True
        if i >= len(t_segs):
            return all(is_optional(rest) for rest in p_segs[i:])
        if is_param(p) or is_param(t_segs[i]):
            continue
        if p.casefold() != t_segs[i].casefold():
            return False
    return len(p_segs) == len(t_segs)


def concrete_url(route: str) -> str:
    """A URL a test can open for a route pattern: parameters become `1`, catch-alls `example`, and optional
    parameters are left out."""
    parts = []
    for s in segments(route):
        if is_optional(s):
            continue
        if s.startswith("*") or s.startswith("[..."):
            parts.append("example")
        elif is_param(s):
            parts.append("1")
        else:
            parts.append(s)
    return "/" + "/".join(parts)


def title_of(route: str) -> str:
    """A human name for a route: `/settings/billing` -> `Billing`, `/` -> `Home`."""
    statics = [s for s in segments(route) if not is_param(s)]
    if not statics:
        return "Home"
    return statics[-1].replace("-", " ").replace("_", " ").strip().capitalize() or "Home"


def singular(word: str) -> str:
    word = word.replace("-", " ").replace("_", " ")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses") or word.endswith("xes") or word.endswith("ches") or word.endswith("shes"):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


@dataclass
class RouteGraph:
    """Page routes and the navigation between them, resolved to route patterns."""

    routes: list[RouteEntry]
    by_route: dict[str, RouteEntry]
    out_edges: dict[str, list[NavEdge]] = field(default_factory=lambda: defaultdict(list))
    links: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def build(cls, discovery: DiscoveryResult) -> RouteGraph:
        pages = [r for r in discovery.routes if r.kind == "page"]
        # Routes of several workspace apps can share a path: keep the first, discovery order is stable.
        by_route: dict[str, RouteEntry] = {}
        for entry in pages:
            by_route.setdefault(entry.route, entry)
        graph = cls(routes=list(by_route.values()), by_route=by_route)
        for edge in discovery.navigation:
            source = graph.resolve(edge.source)
            target_path = normalize_target(edge.target)
            target = graph.resolve(target_path) if target_path else None
            if source is None or target is None or source == target:
                continue
            graph.out_edges[source].append(edge.model_copy(update={"source": source, "target": target}))
            graph.links.add((source, target))
        return graph

    def resolve(self, path: str | None) -> str | None:
        """The route pattern serving `path` (exact first, then the most specific pattern)."""
        if path is None:
            return None
        path = path.rstrip("/") or "/"
        if path in self.by_route:
            return path
        candidates = [r for r in self.by_route if route_matches(r, path)]
        if not candidates:
            return None
        # Most static segments first, then fewest params: `/products/new` beats `/products/:id`.
        return max(candidates, key=lambda r: (len(static_segments(r)), -len(segments(r))))

    def links_from(self, route: str) -> list[str]:
        seen: list[str] = []
        for edge in self.out_edges.get(route, []):
            if edge.target not in seen:
                seen.append(edge.target)
        return seen

    def linked(self, source: str, target: str) -> bool:
        return (source, target) in self.links

    def linkers_of(self, target: str) -> list[str]:
        return sorted({s for s, t in self.links if t == target})

    def files_of(self, route: str) -> list[str]:
        entry = self.by_route.get(route)
        return entry.files if entry else []


def ordered_unique(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def page_set_key(pages: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(pages)))
