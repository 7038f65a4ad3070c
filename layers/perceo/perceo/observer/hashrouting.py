"""Hash routing: apps whose router keeps the route in the URL's fragment (`https://host/#/users/42`).

Read from the few files that set the router up (the app's route tables and its entry and root modules):

- React Router: `createHashRouter(...)`, `<HashRouter>`, `createHashHistory()` (history 4/5);
- Vue Router 4: `createWebHashHistory()`; Vue Router 2/3: `new VueRouter({ mode: 'hash' })`, and `new Router({...})`
  without `mode: 'history'` (hash is its default);
- Angular: `RouterModule.forRoot(routes, { useHash: true })`, `withHashLocation()`, `HashLocationStrategy`.

The routes of such an app carry `hash: true` (`RouteEntry.hash`); their URL is `/#` + the route (`route_url`),
and so are the navigation edges between them and the `navigate` steps of their flows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: Frameworks whose router can route in the fragment (file-system routers cannot).
HASH_CAPABLE = frozenset({"react-router", "react", "vue", "angular"})

#: Calls and options that set hash routing up (a name only imported is not enough: `createWebHashHistory(`).
HASH_ROUTING = re.compile(
    r"\b(?:createWebHashHistory|createHashHistory|createHashRouter|withHashLocation)\s*\(|<HashRouter\b"
    r"|useHash\s*:\s*true|useClass\s*:\s*HashLocationStrategy\b|mode\s*:\s*['\"]hash['\"]"
)
_VUE_ROUTER_NEW = re.compile(r"new\s+(?:VueRouter|Router)\s*\(")
_VUE_HISTORY_MODE = re.compile(r"^\s*mode\s*:\s*['\"](?:history|abstract)['\"]", re.M)
#: Entry and root modules that set a router up, relative to the app root.
SETUP_FILES = tuple(
    f"{folder}{stem}.{ext}"
    for folder in ("src/", "")
    for stem in ("main", "index", "App", "app", "router", "routes", "router/index", "app/app.config", "app/app.module")
    for ext in ("tsx", "ts", "jsx", "js", "mjs")
) + ("src/app/app-routing.module.ts", "src/app/app.routes.ts")


def uses_hash_routing(text: str) -> bool:
    """True when this file sets up routing in the URL's fragment (`/#/login`): a hash history or location, or
    vue-router 2/3 (`new VueRouter({...})`), whose default mode is hash unless `mode: 'history'` is set."""
    if HASH_ROUTING.search(text):
        return True
    return bool(_VUE_ROUTER_NEW.search(text)) and not _VUE_HISTORY_MODE.search(text)


def setup_candidates(app_root: str, files: Iterable[str], route_config_files: Iterable[str]) -> list[str]:
    """The files of an app to read for its routing mode: its route tables, then its entry and root modules."""
    present = set(files)
    prefix = app_root + "/" if app_root else ""
    setup = [prefix + name for name in SETUP_FILES if prefix + name in present]
    return list(dict.fromkeys([*route_config_files, *setup]))


def route_url(route: str, hash_routing: bool) -> str:
    """The URL path a browser shows for a route: the route itself, or `/#` + the route under hash routing."""
    return f"/#{route}" if hash_routing else route
