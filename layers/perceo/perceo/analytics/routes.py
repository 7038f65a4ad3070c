"""Visited URLs to the project's route patterns (`/article/abc` -> `/article/:slug`), and route tokens.

Matching follows the observer's rules (`perceo.observer.routematch.routes_match`: parameters match one segment,
optional segments one or none, catch-alls the rest). When several patterns match, the most specific wins: more
static segments first, then fewer catch-alls (`/article/new` beats `/article/:slug`, which beats `/:rest*`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from perceo.observer.routematch import route_segments, routes_match

#: How many distinct paths the mapper remembers; traffic repeats its paths, so a small cache answers most visits.
_CACHE_SIZE = 50_000


def _is_variable(segment: str) -> bool:
    return segment.startswith((":", "[", "{", "$", "<", "*"))


def _is_open_ended(segment: str) -> bool:
    """Optional or catch-all segments: the pattern matches paths of more than one length."""
    return (
        segment.startswith("*")
        or segment == "$"
        or segment.startswith("[[")
        or segment.startswith("[...")
        or (segment.startswith(":") and segment.endswith(("?", "*", "+")))
    )


#: An http(s) URL: group 1 is its path (empty when it has none), query and fragment left out. One C call per URL.
_HTTP_PATH = re.compile(r"https?://[^/?#]*([^?#]*)")


def path_of(url_or_path: str) -> str | None:
    """The path of a URL or path (query and fragment dropped, no trailing or doubled slashes), or None when there
    is none."""
    text = url_or_path.strip()
    if not text:
        return None
    url = _HTTP_PATH.match(text)
    if url is not None:
        text = url.group(1) or "/"
    elif not text.startswith("/"):
        parts = urlsplit(text)
        if not parts.scheme and not parts.netloc:
            return None
        text = parts.path or "/"
    else:
        text = text.split("?", 1)[0].split("#", 1)[0]
    if "//" in text or (text.endswith("/") and text != "/"):
        return "/" + "/".join(s for s in text.split("/") if s)
    return text


class RouteMapper:
    """Maps paths to the most specific matching route pattern. Remembers recent answers (paths repeat)."""

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = sorted(set(routes))
        fixed: dict[int, list[tuple[str, tuple[str | None, ...]]]] = {}
        open_ended: list[str] = []
        for route in sorted(self.routes, key=_specificity):
            segments = route_segments(route)
            if any(_is_open_ended(s) for s in segments):
                open_ended.append(route)
            else:
                # fixed-length patterns, most specific first: None stands for a parameter segment
                shape = tuple(None if _is_variable(s) else s for s in segments)
                fixed.setdefault(len(segments), []).append((route, shape))
        self._fixed = fixed
        self._open_ended = open_ended
        # compiled once: a path of n segments is looked up in a dict of the static patterns of that length, then
        # matched by one regex (an alternation of the others, most specific first: the first to match wins)
        self._static: dict[tuple[str, ...], str] = {}
        self._dynamic: dict[int, tuple[re.Pattern[str], list[str]]] = {}
        for length, shapes in fixed.items():
            branches: list[str] = []
            names: list[str] = []
            for route, shape in shapes:
                if None not in shape:
                    self._static.setdefault(shape, route)  # type: ignore[arg-type]
                    continue
                parts = ["[^/]*" if want is None else re.escape(want) for want in shape]
                branches.append(f"(?P<r{len(names)}>{'/'.join(parts)})")
                names.append(route)
            if branches:
                self._dynamic[length] = (re.compile("|".join(branches)), names)
        self._cache: dict[str, str | None] = {}

    def route_of(self, path: str) -> str | None:
        """The route pattern `path` visits, or None when no route matches."""
        cached = self._cache.get(path, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        found = self._match(path)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[path] = found
        return found

    def _match(self, path: str) -> str | None:
        segments = route_segments(path)
        found: list[str] = []
        static = self._static.get(segments)
        if static is not None:
            found.append(static)  # a fully static pattern beats every pattern with a parameter of that length
        else:
            dynamic = self._dynamic.get(len(segments))
            if dynamic is not None:
                hit = dynamic[0].fullmatch("/".join(segments))
                if hit is not None and hit.lastgroup is not None:
                    found.append(dynamic[1][int(hit.lastgroup[1:])])
        found += [route for route in self._open_ended if routes_match(route, path)]
        return min(found, key=_specificity) if found else None


_MISSING = object()


def _specificity(route: str) -> tuple[int, int, int, str]:
    segments = route_segments(route)
    static = sum(1 for s in segments if not _is_variable(s))
    open_ended = sum(1 for s in segments if _is_open_ended(s))
    return (-static, open_ended, -len(segments), route)


class RouteTokens:
    """Route patterns as small integers (1, 2, ...) for the aligner; 0 is a visit no route matched."""

    def __init__(self, routes: Iterable[str] = ()) -> None:
        self._ids: dict[str, int] = {}
        self._names: list[str] = [""]
        for route in routes:
            self.token(route)

    def token(self, route: str | None) -> int:
        if route is None:
            return 0
        found = self._ids.get(route)
        if found is None:
            found = self._ids[route] = len(self._names)
            self._names.append(route)
        return found

    def route(self, token: int) -> str | None:
        return self._names[token] if 0 < token < len(self._names) else None
