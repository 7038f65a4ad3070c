"""Issue 13, class 6: hash routing. The routes of an app whose router keeps the route in the URL's fragment carry
`hash: true` (URL `/#/path`), so do the navigation edges between them, and the flows' steps open `/#/path`."""

from __future__ import annotations

import json

import pytest

from perceo.bootstrap.model import StepDraft
from perceo.bootstrap.pagecode import hashed_step_urls, page_url
from perceo.models import ExpectedState, StepAction
from perceo.observer.discovery import discover
from perceo.observer.discovery.patterns import clean_url
from perceo.observer.model import DiscoveryResult
from perceo.observer.snapshot import RepoSnapshot

PAGE = "export default function Page() { return null; }\n"
VUE_PAGE = "<template><div>page</div></template>\n"


def run(files: dict[str, str], **deps: str) -> DiscoveryResult:
    return discover(RepoSnapshot.from_files({"package.json": json.dumps({"name": "t", "dependencies": deps}), **files}))


def hashed(result: DiscoveryResult) -> dict[str, tuple[bool, str]]:
    return {r.route: (r.hash, r.url) for r in result.routes if r.kind == "page"}


REACT_ROUTES = """
import { Link } from "react-router-dom";
import Home from "./Home";
import Users from "./Users";
export const routes = [
  { path: "/", element: <Home /> },
  { path: "/users", element: <Users /> },
];
"""
REACT_HOME = (
    'import { Link } from "react-router-dom";\nexport default function Home() { return <Link to="/users">u</Link> }\n'
)


@pytest.mark.parametrize(
    ("main", "hash_routing"),
    [
        (
            'import { createHashRouter, RouterProvider } from "react-router-dom";\n'
            'import { routes } from "./routes";\nconst router = createHashRouter(routes);\n',
            True,
        ),
        (
            'import { createBrowserRouter } from "react-router-dom";\n'
            'import { routes } from "./routes";\nconst router = createBrowserRouter(routes);\n',
            False,
        ),
    ],
)
def test_react_create_hash_router_marks_every_route_and_edge(main: str, hash_routing: bool) -> None:
    result = run(
        {
            "index.html": "",
            "src/main.tsx": main,
            "src/routes.tsx": REACT_ROUTES,
            "src/Home.tsx": REACT_HOME,
            "src/Users.tsx": PAGE,
        },
        react="18",
        **{"react-router-dom": "6"},
    )
    prefix = "/#" if hash_routing else ""
    assert hashed(result) == {"/": (hash_routing, f"{prefix}/"), "/users": (hash_routing, f"{prefix}/users")}
    [edge] = [e for e in result.navigation if e.source == "/"]
    assert (edge.target, edge.hash) == ("/users", hash_routing)


def test_react_hash_router_component_around_a_routes_tree() -> None:
    result = run(
        {
            "index.html": "",
            "src/index.tsx": (
                'import { HashRouter } from "react-router-dom";\nimport App from "./App";\n'
                "root.render(<HashRouter><App /></HashRouter>);\n"
            ),
            "src/App.tsx": (
                'import { Routes, Route } from "react-router-dom";\nimport Home from "./Home";\n'
                'import Users from "./Users";\nexport default function App() { return (<Routes>'
                '<Route path="/" element={<Home />} /><Route path="/users" element={<Users />} /></Routes>); }\n'
            ),
            "src/Home.tsx": 'export default function Home() { return <a href="#/users">users</a> }\n',
            "src/Users.tsx": PAGE,
        },
        react="18",
        **{"react-router-dom": "6"},
    )
    assert hashed(result) == {"/": (True, "/#/"), "/users": (True, "/#/users")}
    # a plain `href="#/users"` is a link to the route /users in a hash-routed app
    assert [(e.source, e.target, e.kind, e.hash) for e in result.navigation] == [("/", "/users", "href", True)]


@pytest.mark.parametrize(
    ("router", "hash_routing"),
    [
        ("createRouter({ history: createWebHashHistory(), routes })", True),
        ("createRouter({ history: createWebHistory(), routes })", False),
    ],
)
def test_vue_router_4_web_hash_history(router: str, hash_routing: bool) -> None:
    result = run(
        {
            "index.html": "",
            "src/router/index.ts": (
                'import { createRouter, createWebHashHistory, createWebHistory } from "vue-router";\n'
                'import Home from "../views/Home.vue";\n'
                'const routes = [{ path: "/", component: Home }, { path: "/about", component: () => '
                'import("../views/About.vue") }];\n'
                f"export default {router};\n"
            ),
            "src/views/Home.vue": VUE_PAGE,
            "src/views/About.vue": VUE_PAGE,
        },
        vue="3",
        **{"vue-router": "4"},
    )
    assert {route: flag for route, (flag, _url) in hashed(result).items()} == {
        "/": hash_routing,
        "/about": hash_routing,
    }


@pytest.mark.parametrize(
    ("options", "hash_routing"),
    [("mode: 'hash',", True), ("", True), ("mode: 'history',", False)],  # Vue Router 2/3 default to hash
)
def test_vue_router_2_mode_hash(options: str, hash_routing: bool) -> None:
    result = run(
        {
            "index.html": "",
            "src/router/index.js": (
                'import Vue from "vue";\nimport Router from "vue-router";\nimport Home from "@/views/Home.vue";\n'
                "Vue.use(Router);\n"
                f'export default new Router({{\n  {options}\n  routes: [{{ path: "/", component: Home }}],\n}});\n'
            ),
            "src/views/Home.vue": VUE_PAGE,
        },
        vue="2",
        **{"vue-router": "3"},
    )
    assert hashed(result) == {"/": (hash_routing, "/#/" if hash_routing else "/")}


@pytest.mark.parametrize(
    ("config", "hash_routing"),
    [
        ("provideRouter(routes, withHashLocation())", True),
        ("RouterModule.forRoot(routes, { useHash: true })", True),
        ("provideRouter(routes)", False),
    ],
)
def test_angular_use_hash_and_with_hash_location(config: str, hash_routing: bool) -> None:
    result = run(
        {
            "src/main.ts": (
                'import { appConfig } from "./app/app.config";\nbootstrapApplication(AppComponent, appConfig);\n'
            ),
            "src/app/app.config.ts": (
                'import { provideRouter, withHashLocation, RouterModule } from "@angular/router";\n'
                'import { routes } from "./app.routes";\n'
                f"export const appConfig = {{ providers: [{config}] }};\n"
            ),
            "src/app/app.routes.ts": (
                'import { Routes } from "@angular/router";\nimport { OrdersComponent } from "./orders.component";\n'
                'export const routes: Routes = [{ path: "orders", component: OrdersComponent }];\n'
            ),
            "src/app/orders.component.ts": "export class OrdersComponent {}\n",
        },
        **{"@angular/core": "17", "@angular/router": "17"},
    )
    assert hashed(result) == {"/orders": (hash_routing, "/#/orders" if hash_routing else "/orders")}


def test_file_system_routers_never_route_in_the_fragment() -> None:
    result = run(
        {"app/page.tsx": PAGE, "app/notes.tsx": "// createHashRouter is only a word in a comment here\n"},
        next="14",
    )
    assert hashed(result) == {"/": (False, "/")}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("#/users", "/users"), ("/#/users/4?tab=a", "/users/4"), ("#top", None), ("/docs#intro", "/docs")],
)
def test_hash_urls_in_code_name_the_route_in_their_fragment(raw: str, expected: str | None) -> None:
    assert clean_url(raw) == expected


def test_steps_of_a_hash_routed_app_open_hashed_urls() -> None:
    assert page_url("/users/:id", True).startswith("/#/users/")
    assert page_url("/users", False) == "/users"
    steps = [
        StepDraft(
            order=1,
            name="Open users",
            actions=[StepAction(type="navigate", target="/users", value="/users")],
            expected_state=ExpectedState(url="/users"),
        ),
        StepDraft(
            order=2,
            name="Leave",
            actions=[
                StepAction(type="navigate", target="https://example.com/x"),
                StepAction(type="assert", target="url", value="/#/done"),
                StepAction(type="click", target="a[href='/x']"),
            ],
        ),
    ]
    first, second = hashed_step_urls(steps)
    assert (first.actions[0].target, first.actions[0].value, first.expected_state.url) == (
        "/#/users",
        "/#/users",
        "/#/users",
    )
    assert [(a.type, a.target, a.value) for a in second.actions] == [
        ("navigate", "https://example.com/x", None),
        ("assert", "url", "/#/done"),
        ("click", "a[href='/x']", None),
    ]
