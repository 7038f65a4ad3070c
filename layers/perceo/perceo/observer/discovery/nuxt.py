"""Nuxt routes: `pages/` (or `app/pages/` in Nuxt 4) with `index`, `[id]`, `[[id]]`, `[...slug]`, groups
and parent pages that wrap a same-named folder; `server/api/` and `server/routes/` handlers as API routes.
The same file convention serves Vue apps using unplugin-vue-router / vite-plugin-pages."""

from __future__ import annotations

import re

from perceo.observer.discovery.context import AppScan, is_test_or_story, split_name
from perceo.observer.discovery.patterns import join_route
from perceo.observer.facts.model import CALL_TAG
from perceo.observer.model import RouteEntry

_PAGE_EXTS = frozenset({"vue", "tsx", "jsx", "ts", "js"})
_SERVER_EXTS = frozenset({"ts", "js", "mjs", "mts"})
_METHOD_SUFFIX = re.compile(r"\.(get|post|put|patch|delete|head|options)$")
_FILE_ROUTER_PACKAGES = ("unplugin-vue-router", "vite-plugin-pages")


def discover_nuxt(scan: AppScan) -> list[RouteEntry]:
    src = "app" if scan.under("app/pages") else ""
    prefix = f"{src}/" if src else ""
    layouts = [
        f
        for f in (scan.first_existing([f"{prefix}app.vue"]), scan.first_existing([f"{prefix}layouts/default.vue"]))
        if f
    ]
    routes = _page_routes(scan, f"{prefix}pages", layouts)
    routes.extend(_server_routes(scan))
    return routes


def file_based_vue_routes(scan: AppScan) -> list[RouteEntry] | None:
    """Routes of a Vue app that uses a file-based router plugin, else None."""
    package = scan.layout.package(scan.root)
    if package is None or not any(name in package.dependencies for name in _FILE_ROUTER_PACKAGES):
        return None
    pages = "src/pages" if scan.under("src/pages") else "src/views"
    root = scan.first_existing(["src/App.vue"])
    return _page_routes(scan, pages, [root] if root else [])


def _segment(part: str) -> str:
    if part == "index":
        return ""
    if part.startswith("(") and part.endswith(")"):
        return ""
    if part.startswith("[...") and part.endswith("]"):
        return "*"
    if part.startswith("[[") and part.endswith("]]"):
        return ":" + part[2:-2] + "?"
    return re.sub(r"\[([^\]]+)\]", r":\1", part)


def _page_routes(scan: AppScan, pages_dir: str, top_layouts: list[str]) -> list[RouteEntry]:
    files = [
        f
        for f in scan.under(pages_dir)
        if split_name(f.rsplit("/", 1)[-1])[1] in _PAGE_EXTS and not is_test_or_story(f.rsplit("/", 1)[-1])
    ]
    stems = {split_name(f)[0]: f for f in files}  # "users/[id]" -> "users/[id].vue"
    routes: list[RouteEntry] = []
    for rel in files:
        stem = split_name(rel)[0]
        parts = stem.split("/")
        # A page `users.vue` next to a folder `users/` is a parent that wraps the folder's pages.
        if any(other.startswith(stem + "/") for other in stems) and f"{stem}/index" in stems:
            continue
        parents = [
            scan.path(f"{pages_dir}/{stems['/'.join(parts[:i])]}")
            for i in range(1, len(parts))
            if "/".join(parts[:i]) in stems
        ]
        url = join_route(*[_segment(p) for p in parts])
        routes.append(scan.entry(url, "page", [scan.path(f"{pages_dir}/{rel}")], [*top_layouts, *parents]))
    return routes


def _server_routes(scan: AppScan) -> list[RouteEntry]:
    routes: list[RouteEntry] = []
    for base, url_prefix in (("server/api", "/api"), ("server/routes", "/")):
        for rel in scan.under(base):
            stem, ext = split_name(rel)
            if ext not in _SERVER_EXTS:
                continue
            stem = _METHOD_SUFFIX.sub("", stem)
            url = join_route(url_prefix, *[_segment(p) for p in stem.split("/")])
            routes.append(scan.entry(url, "api", [scan.path(f"{base}/{rel}")], []))
    return routes


def auto_imported_components(scan: AppScan) -> dict[str, list[str]]:
    """file -> component files its template uses without importing them: Nuxt's `components/` folder, or
    unplugin-vue-components in a Vue app. Tags are matched as Nuxt names them (`components/base/Button.vue`
    is `<BaseButton>` or `<base-button>`, with an optional `Lazy` prefix)."""
    package = scan.layout.package(scan.root)
    if scan.app.framework == "nuxt":
        folders, nested_names = ["app/components", "components"], True
    elif package is not None and "unplugin-vue-components" in package.dependencies:
        folders, nested_names = ["src/components"], False
    else:
        folders, nested_names = [], False
    registry: dict[str, str] = global_components(scan)
    functions = _auto_imported_functions(scan) if scan.app.framework == "nuxt" else {}
    for folder in folders:
        for rel in scan.under(folder):
            *dirs, filename = rel.split("/")
            stem, ext = split_name(filename)
            if ext not in _PAGE_EXTS or is_test_or_story(filename):
                continue
            name = _nuxt_component_name(dirs, stem) if nested_names else _pascal(stem)
            registry.setdefault(name, scan.path(f"{folder}/{rel}"))
    if not registry and not functions:
        return {}
    edges: dict[str, list[str]] = {}
    for path in scan.tagged_files:
        facts = scan.facts.get(path)
        if facts is None or not facts.tags:
            continue
        targets = []
        for tag in facts.tags:
            if tag.startswith(CALL_TAG):
                called = functions.get(tag[len(CALL_TAG) :])
                if called is not None and called != path:
                    targets.append(called)
                continue
            name = _pascal(tag)
            found = registry.get(name) or (registry.get(name[4:]) if name.startswith("Lazy") else None)
            if found is not None and found != path:
                targets.append(found)
        if targets:
            edges[path] = sorted(set(targets))
    return edges


def _auto_imported_functions(scan: AppScan) -> dict[str, str]:
    """Function name -> file, for what Nuxt auto-imports: the top-level modules of `composables/` and `utils/`."""
    found: dict[str, str] = {}
    for folder in ("app/composables", "composables", "app/utils", "utils"):
        for rel in scan.under(folder):
            if "/" in rel or split_name(rel)[1] not in ("ts", "js", "mjs", "mts"):
                continue
            path = scan.path(f"{folder}/{rel}")
            facts = scan.facts.get(path)
            for name in facts.local_names if facts is not None else []:
                found.setdefault(name, path)
    return found


def global_components(scan: AppScan) -> dict[str, str]:
    """Pascal-case tag name -> component file, for components registered globally (`Vue.component("svg-icon",
    SvgIcon)`, `app.component("SvgIcon", SvgIcon)` in an entry or a plugin), which templates use without an
    import."""
    registry: dict[str, str] = {}
    for path in scan.route_config_files:
        facts = scan.facts.get(path)
        if facts is None:
            continue
        for record in facts.routes:
            if record.get("k") != "component" or not isinstance(record.get("n"), str):
                continue
            ident = (record.get("v") or {}).get("n")
            binding = facts.bindings.get(ident) if isinstance(ident, str) else None
            target = scan.resolver.resolve_file(path, binding[0]) if binding is not None else None
            if target is not None:
                registry.setdefault(_pascal(record["n"]), target)
    return registry


def _split_case(text: str) -> list[str]:
    words: list[str] = []
    for chunk in re.split(r"[/\-_.\s]+", text):
        words.extend(w for w in re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z]+|[A-Z]+|\d+", chunk) if w)
    return words


def _pascal(text: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in _split_case(text))


def _nuxt_component_name(dirs: list[str], stem: str) -> str:
    stem = re.sub(r"\.(client|server)$", "", stem)
    if stem.lower() == "index":
        stem = ""
    prefix = [word for d in dirs for word in _split_case(d)]
    file_words = _split_case(stem)
    name_words: list[str] = []
    while prefix and prefix[0].lower() != (file_words[0].lower() if file_words else ""):
        name_words.append(prefix.pop(0))
    return _pascal("-".join(name_words)) + _pascal("-".join(file_words))
