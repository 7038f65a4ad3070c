"""What discovery finds in a web app's code: routes, navigation edges and the module import graph."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from perceo.models.common import Model

RouteKind = Literal["page", "api"]
NavKind = Literal["link", "href", "push", "replace", "navigate", "redirect", "to", "routerLink"]


class RouteEntry(Model):
    """One route pattern (`/users/:id`, `/docs/*`) and the files that make it up."""

    route: str
    kind: RouteKind = "page"
    framework: str
    #: Repo-relative POSIX paths of the files that render this route (page component, route module).
    entry_files: list[str] = Field(default_factory=list)
    #: Layout/template/loading/error files that wrap this route, outermost first.
    layout_files: list[str] = Field(default_factory=list)
    #: Workspace app directory the route belongs to ("" for a single-app repo).
    app: str = ""
    #: Files that declare this route in code (route tables: `router.ts`, `app.routes.ts`, a `<Routes>` tree). They
    #: are not the route's code: a change to one affects the route only when its definition changed.
    config_files: list[str] = Field(default_factory=list)
    #: Fingerprint of the route's definition in those files (its path, component and options, and its parents'),
    #: compared between the base and head of a change; empty for file-system routes.
    definition: str = ""
    #: The app routes in the URL's fragment (`createHashRouter`, `<HashRouter>`, Vue `createWebHashHistory()` or
    #: `mode: 'hash'`, Angular `useHash: true`/`withHashLocation()`): the route's URL is `/#` + `route`.
    hash: bool = False

    @property
    def files(self) -> list[str]:
        return [*self.entry_files, *self.layout_files]

    @property
    def url(self) -> str:
        """The URL path a browser shows for this route (`/#/users/:id` under hash routing)."""
        return f"/#{self.route}" if self.hash else self.route


class NavEdge(Model):
    """A navigation from one route to another, found in code."""

    source: str
    target: str
    kind: NavKind
    file: str
    line: int | None = None
    #: True when the link sits in a layout (or something a layout imports) that wraps the source route.
    from_layout: bool = False
    #: The app routes in the URL's fragment: the edge's URLs are `/#` + source and `/#` + target.
    hash: bool = False


class AppInfo(Model):
    """A web app inside the repository (the root, or a workspace package)."""

    root: str  # "" for the repository root
    name: str
    framework: str


class DiscoveryResult(Model):
    framework: str
    apps: list[AppInfo] = Field(default_factory=list)
    routes: list[RouteEntry] = Field(default_factory=list)
    navigation: list[NavEdge] = Field(default_factory=list)
    #: file -> repo-relative files it imports (resolved, internal only).
    imports: dict[str, list[str]] = Field(default_factory=dict)
    #: file -> external package names it imports (`react`, `@scope/pkg`).
    packages: dict[str, list[str]] = Field(default_factory=dict)
    warnings: list[str] = Field(default_factory=list)
