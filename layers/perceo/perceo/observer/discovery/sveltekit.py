"""SvelteKit routes: `src/routes/**/+page.svelte` (with `+page.ts`/`+page.server.ts`), `+server.ts` API
routes, `+layout*`/`+error.svelte` wrappers, groups `(x)`, `[param]`, `[[optional]]`, `[...rest]`, matchers."""

from __future__ import annotations

import re

from perceo.observer.discovery.context import AppScan
from perceo.observer.discovery.patterns import join_route
from perceo.observer.model import RouteEntry

_PAGE = re.compile(r"^\+page(@[^.]*)?\.(svelte|ts|js)$|^\+page\.server\.(ts|js)$")
_SERVER = re.compile(r"^\+server\.(ts|js)$")
_LAYOUT_ORDER = (
    "+layout.server.ts",
    "+layout.server.js",
    "+layout.ts",
    "+layout.js",
    "+layout.svelte",
    "+error.svelte",
)


def discover_sveltekit(scan: AppScan) -> list[RouteEntry]:
    routes_dir = "src/routes"
    files = scan.under(routes_dir)
    present = set(files)
    by_dir: dict[str, dict[str, list[str]]] = {}
    for rel in files:
        *dirs, name = rel.split("/")
        folder = "/".join(dirs)
        if _PAGE.match(name):
            by_dir.setdefault(folder, {}).setdefault("page", []).append(rel)
        elif _SERVER.match(name):
            by_dir.setdefault(folder, {}).setdefault("api", []).append(rel)
    routes: list[RouteEntry] = []
    for folder, kinds in sorted(by_dir.items()):
        dirs = folder.split("/") if folder else []
        url = join_route(*[_segment(d) for d in dirs])
        layouts: list[str] = []
        for depth in range(len(dirs) + 1):
            prefix = "/".join(dirs[:depth])
            for name in _LAYOUT_ORDER:
                candidate = f"{prefix}/{name}" if prefix else name
                if candidate in present:
                    layouts.append(scan.path(f"{routes_dir}/{candidate}"))
        if "page" in kinds:
            # the component first, then its load functions
            entries = sorted(kinds["page"], key=lambda p: (not p.endswith(".svelte"), p))
            routes.append(scan.entry(url, "page", [scan.path(f"{routes_dir}/{e}") for e in entries], layouts))
        if "api" in kinds:
            routes.append(scan.entry(url, "api", [scan.path(f"{routes_dir}/{e}") for e in kinds["api"]], []))
    return routes


def _segment(folder: str) -> str:
    if folder.startswith("(") and folder.endswith(")"):
        return ""
    if folder.startswith("[[") and folder.endswith("]]"):
        return ":" + folder[2:-2].split("=")[0] + "?"
    if folder.startswith("[...") and folder.endswith("]"):
        return "*"
    return re.sub(r"\[([^\]=]+)(=[^\]]*)?\]", r":\1", folder)
