"""Next.js routes: the app router (`app/`, `src/app/`) and the pages router (`pages/`, `src/pages/`)."""

from __future__ import annotations

import re

from perceo.observer.discovery.context import AppScan, is_test_or_story, split_name
from perceo.observer.discovery.patterns import join_route
from perceo.observer.model import RouteEntry

_PAGE_EXTS = frozenset({"tsx", "ts", "jsx", "js", "mdx"})
#: Wrapping files of a segment folder, outermost first.
_APP_LAYOUT_STEMS = ("layout", "template", "error", "loading", "not-found")
_INTERCEPT = re.compile(r"^(\(\.\)|(?:\(\.\.\))+|\(\.\.\.\))(.+)$")
_PAGES_SPECIAL = frozenset({"_app", "_document", "_error"})


def discover_nextjs(scan: AppScan) -> list[RouteEntry]:
    routes: list[RouteEntry] = []
    app_dir = next((d for d in ("app", "src/app") if scan.under(d)), None)
    if app_dir is not None:
        routes.extend(_app_router(scan, app_dir))
    pages_dir = next((d for d in ("pages", "src/pages") if scan.under(d)), None)
    if pages_dir is not None:
        routes.extend(_pages_router(scan, pages_dir))
    return routes


def dynamic_segment(segment: str) -> list[str]:
    """Bracket syntax shared by Next.js and Nuxt: one pattern segment, or two variants for `[[...x]]`."""
    if segment.startswith("[[...") and segment.endswith("]]"):
        return ["", "*"]
    if segment.startswith("[...") and segment.endswith("]"):
        return ["*"]
    if segment.startswith("[[") and segment.endswith("]]"):
        return [":" + segment[2:-2] + "?"]
    return [re.sub(r"\[([^\]]+)\]", r":\1", segment)]


def _expand(segments: list[list[str]]) -> list[str]:
    urls = [""]
    for options in segments:
        urls = [u + "/" + o if o else u for u in urls for o in options]
    return [join_route(u) for u in urls]


def _app_router(scan: AppScan, app_dir: str) -> list[RouteEntry]:
    files = scan.under(app_dir)
    present = set(files)
    routes: list[RouteEntry] = []
    # Pages in parallel slots and intercepting folders come after a route's own page.
    for rel in sorted(files, key=lambda f: ("/@" in "/" + f or "(." in f, f)):
        *dirs, filename = rel.split("/")
        stem, ext = split_name(filename)
        if ext not in _PAGE_EXTS or stem not in ("page", "route"):
            continue
        if any(d.startswith("_") for d in dirs):
            continue  # private folders are not routable
        url_segments = _app_url_segments(dirs)
        if url_segments is None:
            continue
        layouts: list[str] = []
        for depth in range(len(dirs) + 1):
            folder = "/".join(dirs[:depth])
            for layout_stem in _APP_LAYOUT_STEMS:
                for layout_ext in ("tsx", "jsx", "ts", "js"):
                    candidate = f"{folder}/{layout_stem}.{layout_ext}" if folder else f"{layout_stem}.{layout_ext}"
                    if candidate in present:
                        layouts.append(scan.path(f"{app_dir}/{candidate}"))
                        break
        kind = "api" if stem == "route" else "page"
        for url in _expand(url_segments):
            routes.append(scan.entry(url, kind, [scan.path(f"{app_dir}/{rel}")], layouts if kind == "page" else []))
    return routes


def _app_url_segments(dirs: list[str]) -> list[list[str]] | None:
    segments: list[list[str]] = []
    for folder in dirs:
        if folder.startswith("@"):
            continue  # parallel route slot: renders at its parent's URL
        intercept = _INTERCEPT.match(folder)
        if intercept is not None:
            marker, rest = intercept.group(1), intercept.group(2)
            if marker == "(...)":
                segments = []
            elif marker != "(.)":
                levels = marker.count("(..)")
                segments = segments[:-levels] if levels <= len(segments) else []
            segments.append(dynamic_segment(rest))
            continue
        if folder.startswith("(") and folder.endswith(")"):
            continue  # route group
        segments.append(dynamic_segment(folder))
    return segments


def _pages_router(scan: AppScan, pages_dir: str) -> list[RouteEntry]:
    files = scan.under(pages_dir)
    layouts = [scan.path(f"{pages_dir}/{name}") for name in _special_files(files, ("_document", "_app"))]
    routes: list[RouteEntry] = []
    for rel in files:
        *dirs, filename = rel.split("/")
        stem, ext = split_name(filename)
        if ext not in _PAGE_EXTS or is_test_or_story(filename):
            continue
        if not dirs and stem in _PAGES_SPECIAL:
            continue
        is_api = bool(dirs) and dirs[0] == "api"
        parts = [*dirs, stem]
        if parts[-1] == "index":
            parts = parts[:-1]
        urls = _expand([dynamic_segment(p) for p in parts])
        entry = [scan.path(f"{pages_dir}/{rel}")]
        for url in urls:
            routes.append(scan.entry(url, "api" if is_api else "page", entry, [] if is_api else layouts))
    return routes


def _special_files(files: list[str], stems: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for stem in stems:
        for ext in ("tsx", "jsx", "ts", "js"):
            if f"{stem}.{ext}" in files:
                found.append(f"{stem}.{ext}")
                break
    return found
