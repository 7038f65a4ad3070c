"""Per-file fact extraction: imports, bindings, navigation targets and route-config trees."""

from __future__ import annotations

import json

import pytest

from perceo.observer.facts.model import FileFacts, fact_kind
from perceo.observer.facts.script import Extractor

EXTRACTOR = Extractor()


def facts(kind: str, source: str) -> FileFacts:
    return EXTRACTOR.extract(kind, source.encode())


def test_every_import_form_is_recorded_with_its_kind() -> None:
    found = facts(
        "tsx",
        """
        import React, { useState as useLocalState } from "react";
        import type { User } from "./types";
        import "./side-effect.css";
        import styles from "./page.module.scss";
        export * from "./barrel";
        export { default as Button, Size } from "./Button";
        const Page = lazy(() => import("./pages/Page"));
        const config = require("../config");
        async function later() { await import(`./locale/en`); }
        export const routes = [{ path: "/", element: <Page /> }];
    """,
    )
    assert found.imports == [
        ("react", "import"),
        ("./types", "type"),
        ("./side-effect.css", "side"),
        ("./page.module.scss", "import"),
        ("./barrel", "reexport"),
        ("./Button", "reexport"),
        ("./pages/Page", "dynamic"),
        ("../config", "require"),
        ("./locale/en", "dynamic"),
    ]
    assert found.bindings["useLocalState"] == ("react", "useState")
    assert found.bindings["Page"] == ("./pages/Page", "default")
    assert found.reexports == {"Button": ("./Button", "default"), "Size": ("./Button", "Size")}
    assert found.star_exports == ["./barrel"]
    assert found.has_default_export is False  # `default as Button` exports Button, not a default


def test_default_exports_in_every_spelling_are_noticed() -> None:
    assert facts("ts", "const A = 1;\nexport { A as default };\n").has_default_export
    assert facts("ts", 'export { default } from "./Page";\n').has_default_export
    assert facts("tsx", "export default function Page() { return <div />; }\n").has_default_export
    resource_route = "export interface Props { a: string }\nexport async function loader() {}\n"
    assert not facts("ts", resource_route).has_default_export


def test_dynamic_imports_with_unknown_parts_are_not_imports() -> None:
    found = facts("ts", "const load = (name: string) => import(`./locales/${name}.json`);\n")
    assert found.imports == []


def test_navigation_targets_keep_template_placeholders_and_lines() -> None:
    found = facts(
        "tsx",
        """
        export default function Page({ slug }) {
          const router = useRouter();
          router.push(`/article/${slug}`);
          router.replace("/login?next=/me");
          navigate("/cart", { replace: true });
          redirect(303, "/checkout");
          items.push("/not-navigation");
          "text".replace("/a", "/b");
          return <Link href={"/products/" + slug}>x</Link>;
        }
    """,
    )
    assert found.nav == [
        ("/article/{}", "push", 4),
        ("/login?next=/me", "replace", 5),
        ("/cart", "navigate", 6),
        ("/checkout", "redirect", 7),
        ("/products/{}", "link", 10),
    ]


def test_jsx_link_kinds_follow_the_element_and_attribute() -> None:
    found = facts(
        "tsx",
        """
        const A = () => <a href="/about">About</a>;
        const B = () => <NavLink to={{ pathname: "/team" }}>Team</NavLink>;
        const C = () => <Link href={{ pathname: "/help" }}>Help</Link>;
    """,
    )
    assert found.nav == [("/about", "href", 2), ("/team", "to", 3), ("/help", "link", 4)]


def test_route_arrays_are_captured_outermost_with_their_variable_name() -> None:
    found = facts(
        "tsx",
        """
        export const routes = [
          { path: "/", element: <Shell />, children: [{ index: true, element: <Home /> }] },
          { path: "/admin", loadChildren: () => import("./admin").then((m) => m.ADMIN_ROUTES) },
        ];
        const menu = [{ path: "/", label: "Home" }];
    """,
    )
    assert [(r["k"], r["n"], r["x"]) for r in found.routes] == [("array", "routes", True), ("array", "menu", False)]
    shell = found.routes[0]["v"][0]["p"]
    assert shell["element"] == {"$": "j", "n": "Shell"}
    assert shell["children"][0]["p"]["index"] is True
    assert found.routes[0]["v"][1]["p"]["loadChildren"] == {"$": "m", "s": "./admin", "n": "ADMIN_ROUTES"}


def test_jsx_route_trees_keep_nesting_and_wrapped_elements() -> None:
    found = facts(
        "tsx",
        """
        export const App = () => (
          <Routes>
            <Route path="/" element={<Layout />}>
              <Route index element={<RequireAuth><Home /></RequireAuth>} />
            </Route>
          </Routes>
        );
    """,
    )
    (tree,) = found.routes
    assert tree["k"] == "jsx"
    child = tree["v"]["c"][0]
    assert child["p"]["index"] is True
    assert child["p"]["element"] == {"$": "j", "n": "RequireAuth", "c": [{"$": "j", "n": "Home"}]}


def test_vue_single_file_component_script_template_and_style() -> None:
    found = facts(
        "vue",
        """<template>
  <RouterLink :to="`/products/${id}`">Open</RouterLink>
  <router-link to="/cart">Cart</router-link>
  <button @click="router.push('/checkout')">Buy</button>
  <a href="#top">Top</a>
</template>

<script setup lang="ts">
import { useRouter } from "vue-router";
import Card from "@/components/Card.vue";
const router = useRouter();
</script>

<style scoped lang="scss" src="./theme.scss"></style>
<style>@import "@/styles/base.css";</style>
""",
    )
    assert found.imports == [
        ("vue-router", "import"),
        ("@/components/Card.vue", "import"),
        ("./theme.scss", "style"),
        ("@/styles/base.css", "style"),
    ]
    assert found.nav == [("/products/{}", "to", 2), ("/cart", "to", 3), ("/checkout", "push", 4), ("#top", "href", 5)]
    assert found.bindings == {}  # identifiers are only resolved for files that declare routes


def test_svelte_component_markup_expressions_and_module_script() -> None:
    found = facts(
        "svelte",
        """<script context="module">
  export const prerender = true;
</script>
<script lang="ts">
  import { goto } from "$app/navigation";
  import Nav from "$lib/Nav.svelte";
</script>
<a href="/products/{product.id}">{product.name}</a>
<a href={`/cart`}>Cart</a>
<button on:click={() => goto("/checkout")}>Buy</button>
""",
    )
    assert ("$lib/Nav.svelte", "import") in found.imports
    assert found.nav == [("/products/{}", "href", 8), ("/cart", "href", 9), ("/checkout", "navigate", 10)]


def test_angular_component_urls_inline_templates_and_router_calls() -> None:
    found = facts(
        "ts",
        """
        @Component({
          selector: "app-x",
          templateUrl: "./x.component.html",
          styleUrls: ["./x.component.scss"],
        })
        export class XComponent {
          constructor(private router: Router) {}
          go(id: string) { this.router.navigate(["/orders", id]); }
        }
        @Component({ selector: "app-y", template: `<a [routerLink]="['/help']">Help</a>` })
        export class YComponent {}
    """,
    )
    assert ("./x.component.html", "template") in found.imports
    assert ("./x.component.scss", "style") in found.imports
    assert ("/orders/{}", "navigate", 9) in found.nav
    assert ("/help", "routerLink", 11) in found.nav


def test_angular_html_templates_yield_router_links() -> None:
    found = facts(
        "html",
        """<nav>
  <a routerLink="/dashboard">Dashboard</a>
  <a [routerLink]="['/users', user.id]">{{ user.name }}</a>
  <a routerLink="/orders/{{ order.id }}">Order</a>
</nav>""",
    )
    assert found.nav == [
        ("/dashboard", "routerLink", 2),
        ("/users/{}", "routerLink", 3),
        ("/orders/{}", "routerLink", 4),
    ]


def test_stylesheets_contribute_their_imports() -> None:
    found = facts("css", '@import "./reset.css";\n@use "sass:math";\n@import url("https://fonts.example.com/x");\n')
    assert found.imports == [("./reset.css", "style"), ("sass:math", "style")]


def test_facts_round_trip_through_their_compact_json_form() -> None:
    original = facts(
        "tsx",
        'import a from "./a";\nexport const routes = [{ path: "/", element: <A /> }];\n'
        'export default () => <Link href="/x" />;\n',
    )
    stored = json.loads(json.dumps(original.to_json()))
    assert FileFacts.from_json(stored).to_json() == json.loads(json.dumps(original.to_json()))
    with pytest.raises(ValueError):
        FileFacts.from_json([[], {}, {}, [], "not a list", [], 0, [], []])


def test_vue_templates_record_component_tags_for_auto_imports() -> None:
    found = facts(
        "vue", "<template><LazyProductCard /><base-badge>x</base-badge><div /><router-link to='/' /></template>"
    )
    assert found.tags == ["LazyProductCard", "base-badge", "router-link"]


def test_only_source_files_outside_dependency_folders_have_a_fact_kind() -> None:
    assert fact_kind("src/App.tsx") == "tsx"
    assert fact_kind("src/types.d.ts") is None
    assert fact_kind("node_modules/react/index.js") is None
    assert fact_kind("apps/web/.next/server/page.js") is None
    assert fact_kind("src/App.vue") == "vue"
    assert fact_kind("README.md") is None


def test_route_builders_stand_for_their_route_and_toast_redirects_are_redirects() -> None:
    # React Router 7's typed `href(pattern, params)`, React Router's `generatePath`, remix-toast's redirects.
    found = facts(
        "tsx",
        """
        export const action = async () => {
          return redirectWithSuccess(href('/tasks'), { message: 'Task created' });
        };
        export const other = () => redirect(`${href('/users')}?${params}`);
        export default function Row({ task }) {
          navigate(generatePath('/projects/:id', { id }));
          return <Link to={href('/tasks/:task', { task: task.id })}>Edit</Link>;
        }
        const notARoute = href(someVariable);
        throw await redirectWithError(href('/sign-in'), 'Sign in first');
    """,
    )
    assert found.nav == [
        ("/tasks", "redirect", 3),
        ("/users?{}", "redirect", 5),
        ("/projects/:id", "navigate", 7),
        ("/tasks/:task", "to", 8),
        ("/sign-in", "redirect", 11),
    ]
