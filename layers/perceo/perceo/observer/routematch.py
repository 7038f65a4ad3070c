"""Route pattern matching: does a flow's page name an affected route?

Routes are compared segment by segment. A parameter segment (`:id`, `[id]`, `{id}`, `$id`, `<id>`) matches any
one segment, an optional one (`:lang?`, `[[lang]]`) one segment or none; a catch-all (`*`, `:path*`, `[...slug]`,
`[[...slug]]`, Remix's `$`) matches the rest, and an optional catch-all also its parent. Static segments must be
equal. Never a substring match: `/` matches only `/`.
"""

from __future__ import annotations

import re

_PARAM = re.compile(r"^(:.+|\[\[?[^.\]][^\]]*\]\]?|\{.+\}|\$.+|<.+>)$")
#: A query string; `?` that ends a segment (`:lang?`) marks an optional parameter instead.
_QUERY = re.compile(r"\?(?!/|$).*$")
_CATCH_ALL = re.compile(r"^(\*.*|:.+[*+]|\[\.\.\..+\]|\[\[\.\.\..+\]\]|\$)$")


def route_segments(route: str) -> tuple[str, ...]:
    """The path segments of a route or URL (query and fragment dropped, trailing slash ignored)."""
    path = _QUERY.sub("", route.split("#", 1)[0])
    return tuple(s for s in path.split("/") if s)


def _segment_kind(segment: str) -> str:
    if _CATCH_ALL.match(segment):
        return "rest"
    if _PARAM.match(segment):
        return "param"
    return "static"


def _variants(segments: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Optional segments (`:lang?`, `[[lang]]`) expanded: each present or absent (at most a few per route)."""
    variants: list[tuple[str, ...]] = [()]
    for segment in segments:
        optional = (segment.startswith(":") and segment.endswith("?")) or (
            segment.startswith("[[") and not segment.startswith("[[...")
        )
        if optional and len(variants) < 64:
            variants = [*variants, *[(*v, segment) for v in variants]]
        else:
            variants = [(*v, segment) for v in variants]
    return variants


def _fixed_match(left: tuple[str, ...], right: tuple[str, ...]) -> bool:
    for x, y in zip(left, right, strict=False):
        kx, ky = _segment_kind(x), _segment_kind(y)
        if "rest" in (kx, ky):
            return True
        if x != y and "param" not in (kx, ky):
            return False
    if len(left) == len(right):
        return True
    longer, shorter = (left, right) if len(left) > len(right) else (right, left)
    # an optional catch-all (`[[...slug]]`) also matches its parent path
    return len(longer) == len(shorter) + 1 and longer[-1].startswith("[[...")


def routes_match(a: str, b: str) -> bool:
    """True when two route patterns (or a pattern and a concrete path) can name the same page."""
    left, right = route_segments(a), route_segments(b)
    if left == right:
        return True
    return any(_fixed_match(x, y) for x in _variants(left) for y in _variants(right))
