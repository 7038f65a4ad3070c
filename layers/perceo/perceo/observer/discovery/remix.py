"""Remix and React Router v7 (framework mode) routes.

Three sources, in order: an `app/routes.ts` config (`route`, `index`, `layout`, `prefix`, `flatRoutes()`);
else the v2 flat-routes convention in `app/routes/` (dots are segments, `$param`, `_index`, pathless `_layout`,
trailing `_` to escape nesting, folders with a `route.tsx`); else, for Remix 1, nested folders.
`app/root.tsx` wraps every route. Route modules without a default export are resource (API) routes.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from perceo.observer.discovery.context import AppScan, is_test_or_story, split_name
from perceo.observer.discovery.detect import remix_major_version
from perceo.observer.discovery.patterns import join_route
from perceo.observer.model import RouteEntry

_ROUTE_EXTS = frozenset({"tsx", "ts", "jsx", "js", "mdx", "md"})
_ROUTES_CONFIG = ("routes.ts", "routes.js", "routes.mts", "routes.mjs")


@dataclass
class _Module:
    """One route module: its id (name in the convention), URL pieces, nesting and file."""

    id: str
    file: str
    url: str
    index: bool = False
    pathless: bool = False
    children: list[_Module] = field(default_factory=list)


def discover_remix(scan: AppScan) -> list[RouteEntry]:
    app_dir = _app_directory(scan)
    root_file = scan.first_existing([f"{app_dir}/root.{ext}" for ext in ("tsx", "jsx", "ts", "js")])
    top_layouts = [root_file] if root_file else []
    config = scan.first_existing([f"{app_dir}/{name}" for name in _ROUTES_CONFIG])
    if config is not None:
        modules = _from_config(scan, app_dir, config)
    else:
        package = scan.layout.package(scan.root)
        major = remix_major_version(package)
        nested = major == 1 and not _v2_convention_enabled(scan)
        modules = _file_modules(scan, f"{app_dir}/routes", nested=nested)
    return _entries(scan, modules, top_layouts)


def _app_directory(scan: AppScan) -> str:
    for name in (
        "remix.config.js",
        "remix.config.mjs",
        "remix.config.cjs",
        "react-router.config.ts",
        "react-router.config.js",
    ):
        if scan.exists(name):
            match = re.search(r"appDirectory\s*:\s*['\"]([^'\"]+)['\"]", _read(scan, name))
            if match:
                return match.group(1).strip("./") or "app"
    return "app"


def _read(scan: AppScan, name: str) -> str:
    try:
        return scan.snapshot.read_text(scan.path(name))
    except (OSError, KeyError):  # unreadable (a warning says so) or gone
        return ""


def _v2_convention_enabled(scan: AppScan) -> bool:
    for name in ("remix.config.js", "remix.config.mjs", "remix.config.cjs"):
        if scan.exists(name):
            return bool(re.search(r"v2_routeConvention\s*:\s*true", _read(scan, name)))
    return False


# -- file conventions ---------------------------------------------------------------------------------------


def _split_flat(name: str) -> list[str]:
    """`users.$id[.json]._index` -> [`users`, `$id[.json]`, `_index`] (dots inside [] are escaped)."""
    parts: list[str] = []
    current = ""
    depth = 0
    for char in name:
        if char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _url_piece(segment: str, *, v1: bool) -> tuple[str, bool, bool]:
    """(URL segment or "", is index, is pathless) for one raw segment."""
    if segment == "_index" or (v1 and segment == "index"):
        return "", True, False
    if (v1 and segment.startswith("__")) or (not v1 and segment.startswith("_")):
        return "", False, True
    if segment.endswith("_") and not v1:
        segment = segment[:-1]
    optional = segment.startswith("(") and segment.endswith(")")
    if optional:
        segment = segment[1:-1]
    literal = re.sub(r"\[([^\]]*)\]", r"\1", segment)
    if segment == "$":
        return "*", False, False
    if segment.startswith("$"):
        return ":" + segment[1:] + ("?" if optional else ""), False, False
    return literal + ("?" if optional else ""), False, False


def _file_modules(scan: AppScan, routes_dir: str, *, nested: bool) -> list[_Module]:
    modules: list[_Module] = []
    for rel in scan.under(routes_dir):
        parts = rel.split("/")
        stem, ext = split_name(parts[-1])
        if ext not in _ROUTE_EXTS or is_test_or_story(parts[-1]):
            continue
        if nested:
            route_id = "/".join([*parts[:-1], stem])
        elif len(parts) == 1:
            route_id = stem
        elif len(parts) == 2 and stem == "route":
            route_id = parts[0]
        else:
            continue  # a file colocated in a route folder
        modules.append(_module_for(scan.path(f"{routes_dir}/{rel}"), route_id, v1=nested))
    return _nest(modules, separator="/" if nested else ".")


def _auto_modules(scan: AppScan, routes_dir: str) -> list[_Module]:
    """react-router-auto-routes (and remix-flat-routes' hybrid folders): folders and dotted names are segments,
    `_layout` is its folder's layout, `index` its folder's own module, `_index` an index route, `_x` pathless,
    `$p` a parameter; files and folders starting with `+` are colocated modules, not routes."""
    modules: list[_Module] = []
    for rel in scan.under(routes_dir):
        parts = rel.split("/")
        stem, ext = split_name(parts[-1])
        if ext not in _ROUTE_EXTS or is_test_or_story(parts[-1]) or any(p.startswith("+") for p in parts):
            continue
        folders = parts[:-1]
        if stem in ("_layout", "index") and folders:
            route_id = "/".join(folders)
            if stem == "index" and scan.exists(f"{routes_dir}/{route_id}/_layout.{ext}"):
                route_id += "/_index"
        else:
            route_id = "/".join([*folders, stem])
        modules.append(_module_for(scan.path(f"{routes_dir}/{rel}"), route_id, v1=False))
    by_key = {tuple(_segments(m.id)): m for m in modules}
    roots: list[_Module] = []
    for module in sorted(modules, key=lambda m: m.id):
        pieces = _segments(module.id)
        parent = next(
            (by_key[tuple(pieces[:cut])] for cut in range(len(pieces) - 1, 0, -1) if tuple(pieces[:cut]) in by_key),
            None,
        )
        (parent.children if parent is not None else roots).append(module)
    return roots


def _segments(route_id: str) -> list[str]:
    return [s for part in route_id.split("/") for s in _split_flat(part)]


def _module_for(file: str, route_id: str, *, v1: bool) -> _Module:
    raw_segments = [s for part in route_id.split("/") for s in _split_flat(part)]
    pieces: list[str] = []
    index = pathless = False
    for position, raw in enumerate(raw_segments):
        piece, is_index, is_pathless = _url_piece(raw, v1=v1)
        last = position == len(raw_segments) - 1
        index = is_index and last
        pathless = is_pathless and last
        if piece:
            pieces.append(piece)
    return _Module(id=route_id, file=file, url=join_route(*pieces), index=index, pathless=pathless)


def _nest(modules: list[_Module], separator: str) -> list[_Module]:
    """Attach each module to the longest other module id that prefixes it at a separator."""
    by_id = {m.id: m for m in modules}
    roots: list[_Module] = []
    for module in sorted(modules, key=lambda m: m.id):
        parent: _Module | None = None
        pieces = _split_flat(module.id) if separator == "." else module.id.split("/")
        for cut in range(len(pieces) - 1, 0, -1):
            candidate = by_id.get(separator.join(pieces[:cut]))
            if candidate is not None:
                parent = candidate
                break
        (parent.children if parent is not None else roots).append(module)
    return roots


# -- routes.ts ------------------------------------------------------------------------------------------------


def _from_config(scan: AppScan, app_dir: str, config: str) -> list[_Module]:
    facts = scan.facts.get(config)
    tree = next((r["v"] for r in facts.routes if r["k"] == "default"), None) if facts is not None else None
    if isinstance(tree, dict) and tree.get("$") == "c":
        tree = [tree]  # `export default flatRoutes()` / `autoRoutes()`
    if not isinstance(tree, list):
        scan.warnings.append(f"{config}: no `export default [...]` route config found")
        return []
    counter = [0]
    return _config_items(scan, app_dir, tree, "", counter)


def _config_items(scan: AppScan, app_dir: str, items: list[Any], prefix: str, counter: list[int]) -> list[_Module]:
    modules: list[_Module] = []
    for item in items:
        if isinstance(item, dict) and item.get("$") == "s":
            item = item.get("v")
            if isinstance(item, list):
                modules.extend(_config_items(scan, app_dir, item, prefix, counter))
                continue
        if not isinstance(item, dict) or item.get("$") != "c":
            continue
        fn = str(item.get("f", "")).rsplit(".", 1)[-1]
        args = item.get("a") or []
        counter[0] += 1
        if fn == "autoRoutes":  # react-router-auto-routes
            options = args[0] if args and isinstance(args[0], dict) else {}
            root_dir = (options.get("p") or {}).get("routesDir", "routes")
            modules.extend(_prefixed(m, prefix) for m in _auto_modules(scan, f"{app_dir}/{root_dir}"))
        elif fn == "flatRoutes":
            options = args[0] if args and isinstance(args[0], dict) else {}
            root_dir = (options.get("p") or {}).get("rootDirectory", "routes")
            for module in _file_modules(scan, f"{app_dir}/{root_dir}", nested=False):
                modules.append(_prefixed(module, prefix))
        elif fn == "prefix" and args and isinstance(args[0], str):
            children = args[1] if len(args) > 1 and isinstance(args[1], list) else []
            modules.extend(_config_items(scan, app_dir, children, join_route(prefix, args[0]), counter))
        elif fn in ("route", "index", "layout"):
            configured = _config_module(scan, app_dir, fn, args, prefix, counter[0])
            if configured is not None:
                modules.append(configured)
    return modules


def _config_module(scan: AppScan, app_dir: str, fn: str, args: list[Any], prefix: str, n: int) -> _Module | None:
    if fn == "route":
        path, file_arg, rest = (args[0] if args else None), (args[1] if len(args) > 1 else None), args[2:]
    else:
        path, file_arg, rest = None, (args[0] if args else None), args[1:]
    if not isinstance(file_arg, str):
        return None
    file = scan.path(posixpath.normpath(posixpath.join(app_dir, file_arg)))
    url = join_route(prefix, path) if isinstance(path, str) else join_route(prefix)
    module = _Module(id=f"config-{n}", file=file, url=url, index=fn == "index", pathless=fn == "layout")
    children = next((r for r in rest if isinstance(r, list)), None)
    if children:
        module.children = _config_items(scan, app_dir, children, url if fn == "route" else prefix, [n * 1000])
    return module


def _prefixed(module: _Module, prefix: str) -> _Module:
    if not prefix:
        return module
    module.url = join_route(prefix, module.url)
    module.children = [_prefixed(child, prefix) for child in module.children]
    return module


# -- routes ------------------------------------------------------------------------------------------------


def _entries(scan: AppScan, modules: list[_Module], top_layouts: list[str]) -> list[RouteEntry]:
    routes: list[RouteEntry] = []

    def visit(module: _Module, layouts: list[str]) -> None:
        kind = _kind(scan, module.file)
        if module.children:
            wrapped = [*layouts, module.file]
            for child in module.children:
                visit(child, wrapped)
            renders_own_url = not module.pathless and not any(c.index or c.url == module.url for c in module.children)
            if renders_own_url:
                routes.append(scan.entry(module.url, kind, [module.file], layouts if kind == "page" else []))
            return
        if module.pathless:
            return
        routes.append(scan.entry(module.url, kind, [module.file], layouts if kind == "page" else []))

    for module in modules:
        visit(module, list(top_layouts))
    return routes


def _kind(scan: AppScan, file: str) -> str:
    facts = scan.facts.get(file)
    if facts is None or file.endswith((".md", ".mdx")):
        return "page"
    return "page" if facts.has_default_export else "api"
