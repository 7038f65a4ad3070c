"""Route patterns (`/`, `/users/:id`, `/lang/:lang?`, `/docs/*`) and matching URLs found in code against them.

Syntax used in every result: `:name` a dynamic segment, `:name?` an optional one, `*` a catch-all (one or
more segments, always last). A framework whose catch-all may also be empty (`[[...slug]]`) gets two
entries: the parent URL and the `*` one.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
DYNAMIC = "{}"


def join_route(*parts: str) -> str:
    """Join path pieces into a normalised pattern: leading `/`, no trailing or doubled `/`."""
    segments = [s for part in parts for s in part.split("/") if s]
    return "/" + "/".join(segments)


def clean_url(target: str, source_route: str | None = None) -> str | None:
    """The path part of a URL template found in code, or None for external, hash-only and unusable links.

    Query strings and hashes are stripped; relative targets (`settings`, `../cart`) are resolved against
    the route they were found in, when that route is known.
    """
    target = target.strip()
    if target.startswith(("#/", "/#/")):  # a hash-routed URL (`#/users`, `/#/users`): the route is the fragment
        target = target[target.index("#") + 1 :]
    if not target or target.startswith(("#", "//", "?")) or _SCHEME.match(target):
        return None
    for mark in ("?", "#"):
        cut = target.find(mark)
        if cut >= 0:
            target = target[:cut]
    if target.startswith(DYNAMIC):
        return None  # `${base}/x`: the start of the URL is unknown
    if not target.startswith("/"):
        if source_route is None:
            return None
        base = source_route if source_route.endswith("/") else source_route + "/"
        target = posixpath.normpath(posixpath.join(base, target))
        if target.startswith("//"):
            target = target[1:]
    segments = [s for s in target.split("/") if s and s != "."]
    return "/" + "/".join(segments)


def _segment_score(pattern: str, segment: str) -> int | None:
    """How well one URL segment fits one pattern segment (higher is more specific), None if it cannot."""
    dynamic = DYNAMIC in segment or segment.startswith(":")
    if pattern.startswith(":"):
        return 2
    if dynamic:
        return None
    if pattern.endswith("?") and pattern[:-1] == segment:
        return 3
    return 4 if pattern == segment else None


class RouteMatcher:
    """Matches cleaned URLs (`/article/{}`) to the most specific route pattern of one app."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = sorted(set(patterns))
        self._split = {p: [s for s in p.split("/") if s] for p in self._patterns}
        self._memo: dict[str, str | None] = {}
        # Patterns by their first segment when it is literal; the rest are tried for every URL.
        self._by_first: dict[str, list[str]] = {}
        self._open: list[str] = []
        self._bounds: dict[str, tuple[int, float]] = {}
        for pattern, parts in self._split.items():
            required = sum(1 for part in parts if not part.endswith("?") and part != "*")
            self._bounds[pattern] = (
                required + (1 if "*" in parts else 0),
                float("inf") if "*" in parts else len(parts),
            )
            first = parts[0] if parts else ""
            if first and not first.startswith(":") and first != "*" and not first.endswith("?"):
                self._by_first.setdefault(first, []).append(pattern)
            else:
                self._open.append(pattern)

    def match(self, url: str) -> str | None:
        if url in self._memo:
            return self._memo[url]
        segments = [s for s in url.split("/") if s]
        first = segments[0] if segments else ""
        if DYNAMIC in first or first.startswith(":"):
            candidates = self._patterns
        else:
            candidates = [*self._by_first.get(first, ()), *self._open]
        best: tuple[int, int, str] | None = None
        count = len(segments)
        for pattern in candidates:
            low, high = self._bounds[pattern]
            if count < low or count > high:
                continue
            score = self._score(self._split[pattern], segments)
            if score is None:
                continue
            ranked = (0 if "*" in self._split[pattern] else 1, score, pattern)
            if best is None or ranked[:2] > best[:2] or (ranked[:2] == best[:2] and pattern < best[2]):
                best = ranked
        result = best[2] if best is not None else None
        self._memo[url] = result
        return result

    def _score(self, pattern: list[str], segments: list[str]) -> int | None:
        if not pattern:
            return 1 if not segments else None
        if pattern[-1] == "*":
            head = pattern[:-1]
            if len(segments) <= len(head):
                return None
            score = self._score_fixed(head, segments[: len(head)])
            return None if score is None else score
        return self._score_fixed(pattern, segments)

    def _score_fixed(self, pattern: list[str], segments: list[str]) -> int | None:
        if not pattern:
            return 1 if not segments else None
        head = pattern[0]
        optional = head.endswith("?")
        if segments:
            fit = _segment_score(head, segments[0])
            if fit is not None:
                rest = self._score_fixed(pattern[1:], segments[1:])
                if rest is not None:
                    return fit + rest
        if optional:
            return self._score_fixed(pattern[1:], segments)
        return None
