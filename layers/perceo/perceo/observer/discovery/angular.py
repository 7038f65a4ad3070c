"""Angular routes: `Routes` arrays (`provideRouter(routes)`, `RouterModule.forRoot/forChild`), with
`component`, `loadComponent` and `loadChildren`. The root component (the one with `<router-outlet>`)
wraps every route."""

from __future__ import annotations

from perceo.observer.discovery.codeconfig import RouteConfigReader
from perceo.observer.discovery.context import AppScan
from perceo.observer.model import RouteEntry

_ROOT_COMPONENTS = ["src/app/app.component.ts", "src/app/app.ts", "src/app/app-component.ts"]


def discover_angular(scan: AppScan) -> list[RouteEntry]:
    root = scan.first_existing(_ROOT_COMPONENTS)
    return RouteConfigReader(scan, "angular", root_layouts=[root] if root else []).routes()
