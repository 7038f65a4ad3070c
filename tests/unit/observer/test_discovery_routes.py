"""Route conventions, URL matching and framework detection on in-memory snapshots."""

from __future__ import annotations

import json

import pytest

from perceo.observer.discovery import detect_framework, discover
from perceo.observer.discovery.patterns import RouteMatcher, clean_url
from perceo.observer.model import DiscoveryResult
from perceo.observer.snapshot import RepoSnapshot

PAGE = "export default function Page() { return null; }\n"


def run(files: dict[str, str], **deps: str) -> DiscoveryResult:
    manifest = {"name": "t", "dependencies": deps} if deps else None
    if manifest is not None:
        files = {"package.json": json.dumps(manifest), **files}
    return discover(RepoSnapshot.from_files(files))


def pages(result: DiscoveryResult) -> dict[str, list[str]]:
    return {r.route: r.entry_files for r in result.routes if r.kind == "page"}


# -- matching ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/article/{}", "/article/:slug"),
        ("/article/intro", "/article/intro"),
        ("/article/other", "/article/:slug"),
        ("/", "/"),
        ("/docs/a/b", "/docs/*"),
        ("/docs", "/docs"),
        ("/en/pricing", "/:lang?/pricing"),
        ("/pricing", "/:lang?/pricing"),
        ("/unknown/deep/path", None),
    ],
)
def test_urls_match_the_most_specific_route(target: str, expected: str | None) -> None:
    matcher = RouteMatcher(["/", "/article/:slug", "/article/intro", "/docs", "/docs/*", "/:lang?/pricing"])
    assert matcher.match(target) == expected


def test_root_url_only_matches_the_root_route() -> None:
    assert RouteMatcher(["/*", "/users/:id"]).match("/") is None
    assert RouteMatcher(["/", "/*"]).match("/") == "/"


@pytest.mark.parametrize(
    ("raw", "base", "expected"),
    [
        ("/cart?from=nav#top", None, "/cart"),
        ("https://example.com/x", None, None),
        ("mailto:help@example.com", None, None),
        ("//cdn.example.com/x", None, None),
        ("#reviews", None, None),
        ("{}/x", None, None),
        ("billing", "/settings", "/settings/billing"),
        ("../cart", "/shop/item", "/shop/cart"),
        ("billing", None, None),
        ("/a/./b/", None, "/a/b"),
    ],
)
def test_urls_found_in_code_are_cleaned(raw: str, base: str | None, expected: str | None) -> None:
    assert clean_url(raw, base) == expected


# -- Next.js ---------------------------------------------------------------------------------------------------


def test_next_intercepting_routes_render_at_the_intercepted_url() -> None:
    result = run(
        {
            "app/feed/page.tsx": PAGE,
            "app/feed/(..)photo/[id]/page.tsx": PAGE,
            "app/photo/[id]/page.tsx": PAGE,
            "app/shop/@modal/(...)login/page.tsx": PAGE,
            "app/login/page.tsx": PAGE,
        },
        next="14",
    )
    assert pages(result) == {
        "/feed": ["app/feed/page.tsx"],
        "/photo/:id": ["app/photo/[id]/page.tsx", "app/feed/(..)photo/[id]/page.tsx"],
        "/login": ["app/login/page.tsx", "app/shop/@modal/(...)login/page.tsx"],
    }


def test_next_root_app_folder_wins_and_pages_router_coexists() -> None:
    result = run({"app/page.tsx": PAGE, "pages/legacy.tsx": PAGE, "pages/_app.tsx": PAGE}, next="14")
    assert pages(result) == {"/": ["app/page.tsx"], "/legacy": ["pages/legacy.tsx"]}


# -- Remix ------------------------------------------------------------------------------------------------------


def test_remix_v1_nested_folders() -> None:
    result = run(
        {
            "app/root.tsx": PAGE,
            "app/routes/index.tsx": PAGE,
            "app/routes/users.tsx": PAGE,
            "app/routes/users/index.tsx": PAGE,
            "app/routes/users/$userId.tsx": PAGE,
            "app/routes/__auth.tsx": PAGE,
            "app/routes/__auth/login.tsx": PAGE,
            "app/routes/blog.$slug.tsx": PAGE,
        },
        **{"@remix-run/react": "^1.19.3"},
    )
    assert pages(result) == {
        "/": ["app/routes/index.tsx"],
        "/users": ["app/routes/users/index.tsx"],
        "/users/:userId": ["app/routes/users/$userId.tsx"],
        "/login": ["app/routes/__auth/login.tsx"],
        "/blog/:slug": ["app/routes/blog.$slug.tsx"],
    }
    by_route = {r.route: r.layout_files for r in result.routes}
    assert by_route["/users/:userId"] == ["app/root.tsx", "app/routes/users.tsx"]
    assert by_route["/login"] == ["app/root.tsx", "app/routes/__auth.tsx"]


def test_react_router_v7_routes_config_file() -> None:
    result = run(
        {
            "app/root.tsx": PAGE,
            "app/routes.ts": """
            import { type RouteConfig, index, layout, prefix, route } from "@react-router/dev/routes";
            import { flatRoutes } from "@react-router/fs-routes";
            export default [
              index("./home.tsx"),
              route("about", "./about.tsx"),
              layout("./auth/layout.tsx", [route("login", "./auth/login.tsx")]),
              ...prefix("concerts", [index("./concerts/home.tsx"), route(":city", "./concerts/city.tsx")]),
              route("files/*", "./files.tsx"),
              ...(await flatRoutes()),
            ] satisfies RouteConfig;
        """,
            "app/home.tsx": PAGE,
            "app/about.tsx": PAGE,
            "app/auth/layout.tsx": PAGE,
            "app/auth/login.tsx": PAGE,
            "app/concerts/home.tsx": PAGE,
            "app/concerts/city.tsx": PAGE,
            "app/files.tsx": PAGE,
            "app/routes/blog.$slug.tsx": PAGE,
        },
        **{"react-router": "^7.1.0", "@react-router/dev": "^7.1.0"},
    )
    assert pages(result) == {
        "/": ["app/home.tsx"],
        "/about": ["app/about.tsx"],
        "/login": ["app/auth/login.tsx"],
        "/concerts": ["app/concerts/home.tsx"],
        "/concerts/:city": ["app/concerts/city.tsx"],
        "/files/*": ["app/files.tsx"],
        "/blog/:slug": ["app/routes/blog.$slug.tsx"],
    }
    login = next(r for r in result.routes if r.route == "/login")
    assert login.layout_files == ["app/root.tsx", "app/auth/layout.tsx"]


# -- code routers ----------------------------------------------------------------------------------------------


def test_react_router_use_routes_object_config_and_hash_router() -> None:
    result = run(
        {
            "index.html": "",
            "src/App.tsx": """
            import { useRoutes } from "react-router-dom";
            import Home from "./Home";
            import * as Pages from "./pages";
            export default function App() {
              return useRoutes([
                { path: "/", element: <Home /> },
                { path: "/team/:id?", element: <Pages.Team /> },
                { path: "/legacy", element: <Navigate to="/" /> },
              ]);
            }
        """,
            "src/Home.tsx": PAGE,
            "src/pages/index.ts": 'export { Team } from "./Team";\n',
            "src/pages/Team.tsx": "export function Team() { return null; }\n",
        },
        react="18",
        **{"react-router-dom": "6"},
    )
    # `* as Pages` cannot name one file without type information: the barrel is the entry
    assert pages(result) == {"/": ["src/Home.tsx"], "/team/:id?": ["src/pages/index.ts"]}


def test_angular_module_routing_with_for_root() -> None:
    result = run(
        {
            "src/app/app-routing.module.ts": """
            import { NgModule } from "@angular/core";
            import { RouterModule } from "@angular/router";
            import { OrdersComponent } from "./orders/orders.component";
            @NgModule({
              imports: [RouterModule.forRoot([
                { path: "orders", component: OrdersComponent, children: [
                  {
                    path: ":id",
                    loadComponent: () => import("./orders/order.component").then((m) => m.OrderComponent),
                  },
                ] },
                { path: "**", loadComponent: () => import("./not-found.component") },
              ])],
            })
            export class AppRoutingModule {}
        """,
            "src/app/orders/orders.component.ts": "export class OrdersComponent {}\n",
            "src/app/orders/order.component.ts": "export class OrderComponent {}\n",
            "src/app/not-found.component.ts": "export default class NotFoundComponent {}\n",
        },
        **{"@angular/core": "17"},
    )
    assert pages(result) == {
        "/orders": ["src/app/orders/orders.component.ts"],
        "/orders/:id": ["src/app/orders/order.component.ts"],
        "/*": ["src/app/not-found.component.ts"],
    }


def test_vue_file_based_router_plugin_uses_page_files() -> None:
    result = run(
        {
            "index.html": "",
            "src/App.vue": "<template><RouterView /></template>",
            "src/pages/index.vue": "<template>home</template>",
            "src/pages/users/[id].vue": "<template>user</template>",
        },
        vue="3",
        **{"unplugin-vue-router": "0.8"},
    )
    assert pages(result) == {"/": ["src/pages/index.vue"], "/users/:id": ["src/pages/users/[id].vue"]}


# -- detection -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"package.json": '{"dependencies": {"@remix-run/react": "2.8.0", "react": "18"}}'}, "remix"),
        ({"package.json": '{"dependencies": {"react-router": "7", "@react-router/dev": "7"}}'}, "remix"),
        ({"package.json": '{"dependencies": {"react": "18", "react-router-dom": "6"}}'}, "react-router"),
        ({"package.json": '{"dependencies": {"react": "18"}}'}, "react"),
        ({"package.json": '{"dependencies": {"next": "14", "react": "18"}}'}, "nextjs"),
        ({"package.json": '{"dependencies": {"react": "18"}}', "next.config.mjs": "export default {}"}, "nextjs"),
        ({"package.json": '{"name": "x"}', "next.config.mjs": "export default {}"}, "nextjs"),
        ({"next.config.ts": "export default {}"}, "nextjs"),
        ({"package.json": '{"devDependencies": {"nuxt": "3", "vue": "3"}}'}, "nuxt"),
        ({"package.json": '{"dependencies": {"vue": "3", "vue-router": "4"}}'}, "vue"),
        ({"package.json": '{"devDependencies": {"@sveltejs/kit": "2"}}'}, "sveltekit"),
        ({"package.json": '{"dependencies": {"@angular/core": "17"}}'}, "angular"),
        ({"remix.config.js": "module.exports = {}"}, "remix"),
        ({"src/routes/+page.svelte": ""}, "sveltekit"),
        ({"app/dashboard/page.tsx": ""}, "nextjs"),
        ({"README.md": ""}, "unknown"),
        ({"package.json": "{ not json"}, "unknown"),
    ],
)
def test_framework_detection(files: dict[str, str], expected: str) -> None:
    assert detect_framework(RepoSnapshot.from_files(files)) == expected


def test_detection_in_a_sub_folder_app() -> None:
    snapshot = RepoSnapshot.from_files({"apps/web/package.json": '{"dependencies": {"next": "14"}}'})
    assert detect_framework(snapshot, "apps/web") == "nextjs"
    assert detect_framework(snapshot) == "unknown"


def test_invalid_package_json_is_a_warning_naming_the_file() -> None:
    result = run({"package.json": "{ nope", "app/page.tsx": PAGE})
    assert any("package.json" in w for w in result.warnings)
    assert pages(result) == {"/": ["app/page.tsx"]}


def test_links_to_api_routes_are_neither_edges_nor_warnings() -> None:
    result = run(
        {
            "app/page.tsx": 'import Link from "next/link";\n'
            'export default () => <><a href="/api/export.csv">CSV</a><Link href="/nowhere">x</Link></>;\n',
            "app/api/export.csv/route.ts": "export async function GET() {}\n",
        },
        next="14",
    )
    assert result.navigation == []
    assert result.warnings == ["1 navigation target(s) match no route: /nowhere"]
