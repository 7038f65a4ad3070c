"""Discovery on realistic apps committed to real git repositories, one per framework, plus monorepos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from apps import ALL_SINGLE_APP_BUILDERS, AppSpec, build_monorepo, git_commit_all

from perceo.observer.discovery import discover
from perceo.observer.model import DiscoveryResult
from perceo.observer.snapshot import RepoSnapshot


def _discover_committed(root: Path) -> DiscoveryResult:
    git_commit_all(root)
    with RepoSnapshot.at_ref(root, "HEAD") as snapshot:
        return discover(snapshot)


@pytest.fixture(params=sorted(ALL_SINGLE_APP_BUILDERS))
def built_app(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[AppSpec, DiscoveryResult]:
    builder: Callable[[Path], AppSpec] = ALL_SINGLE_APP_BUILDERS[request.param]
    spec = builder(tmp_path)
    return spec, _discover_committed(tmp_path)


def test_framework_is_detected(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    spec, result = built_app
    assert result.framework == spec.framework
    assert [(app.root, app.framework) for app in result.apps] == [("", spec.framework)]


def test_page_routes_are_exactly_the_expected_set_with_their_entry_files(
    built_app: tuple[AppSpec, DiscoveryResult],
) -> None:
    spec, result = built_app
    pages = {route.route: route.entry_files for route in result.routes if route.kind == "page"}
    assert pages == spec.pages


def test_api_routes_are_reported_separately_from_pages(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    spec, result = built_app
    api = {route.route: route.entry_files for route in result.routes if route.kind == "api"}
    assert api == spec.api


def test_layout_files_wrap_routes_outermost_first(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    spec, result = built_app
    layouts = {route.route: route.layout_files for route in result.routes if route.kind == "page"}
    for route, expected in spec.layouts.items():
        assert layouts[route] == expected, route


def test_navigation_edges_link_pages_through_components_and_template_urls(
    built_app: tuple[AppSpec, DiscoveryResult],
) -> None:
    spec, result = built_app
    own = {(e.source, e.target) for e in result.navigation if not e.from_layout}
    assert spec.edges <= own, sorted(spec.edges - own)


def test_links_in_layouts_count_for_every_wrapped_route(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    spec, result = built_app
    from_layout = {(e.source, e.target) for e in result.navigation if e.from_layout}
    assert spec.layout_edges <= from_layout, sorted(spec.layout_edges - from_layout)


def test_every_edge_joins_two_known_page_routes_and_names_its_file(
    built_app: tuple[AppSpec, DiscoveryResult],
) -> None:
    spec, result = built_app
    pages = {route.route for route in result.routes if route.kind == "page"}
    for edge in result.navigation:
        assert edge.source in pages and edge.target in pages, edge
        assert edge.source != edge.target
        assert (spec.root / edge.file).is_file()
        assert edge.line is not None and edge.line >= 1


def test_imports_resolve_aliases_index_files_and_styles(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    spec, result = built_app
    for file, expected in spec.imports.items():
        assert expected <= set(result.imports.get(file, [])), (file, result.imports.get(file))


def test_external_packages_are_recorded_per_file(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    spec, result = built_app
    for file, expected in spec.packages.items():
        assert expected <= set(result.packages.get(file, [])), (file, result.packages.get(file))


def test_no_warnings_on_a_clean_app(built_app: tuple[AppSpec, DiscoveryResult]) -> None:
    _spec, result = built_app
    assert result.warnings == []


def test_nextjs_links_to_external_sites_and_hashes_are_ignored(tmp_path: Path) -> None:
    spec = ALL_SINGLE_APP_BUILDERS["nextjs-app"](tmp_path)
    result = _discover_committed(tmp_path)
    product_page = "src/app/products/[id]/page.tsx"
    edges_from_product_page = {(e.target, e.kind) for e in result.navigation if e.file == product_page}
    # the page holds `#reviews`, an https link, a Link back to /products; only the last is an edge
    assert edges_from_product_page == {("/products", "link")}
    assert not any(e.file == "src/app/_drafts/page.tsx" for e in result.navigation)
    assert spec.pages["/products/:id"][0] == product_page


@pytest.mark.parametrize("manager", ["pnpm", "npm"])
def test_monorepo_discovers_each_workspace_app_without_prefixing(tmp_path: Path, manager: str) -> None:
    spec = build_monorepo(tmp_path, manager=manager)
    result = _discover_committed(tmp_path)

    assert {app.root: app.framework for app in result.apps} == spec.apps
    assert result.framework == "mixed"
    for app, expected in spec.pages_by_app.items():
        pages = {r.route: r.entry_files for r in result.routes if r.app == app and r.kind == "page"}
        assert pages == expected, app
    for file, expected in spec.imports.items():
        assert expected <= set(result.imports.get(file, [])), file
    assert spec.edges <= {(e.source, e.target) for e in result.navigation}
    # workspace libraries are import targets, not apps
    assert "packages/ui" not in {app.root for app in result.apps}


def test_monorepo_routes_can_be_prefixed_per_app_when_configured(tmp_path: Path) -> None:
    build_monorepo(tmp_path)
    git_commit_all(tmp_path)
    with RepoSnapshot.at_ref(tmp_path, "HEAD") as snapshot:
        result = discover(snapshot, route_prefixes={"apps/admin": "/admin"})

    admin = {r.route for r in result.routes if r.app == "apps/admin"}
    web = {r.route for r in result.routes if r.app == "apps/web"}
    assert admin == {"/admin", "/admin/users", "/admin/users/:userId"}
    assert "/products" in web
    assert ("/admin", "/admin/users") in {(e.source, e.target) for e in result.navigation}


def test_forcing_a_framework_overrides_detection(tmp_path: Path) -> None:
    ALL_SINGLE_APP_BUILDERS["react-router"](tmp_path)
    git_commit_all(tmp_path)
    with RepoSnapshot.at_ref(tmp_path, "HEAD") as snapshot:
        result = discover(snapshot, framework="nextjs")
    assert [app.framework for app in result.apps] == ["nextjs"]
    # the Vite app's src/pages folder is now read with the Next.js pages-router convention
    assert {"/Cart", "/Login", "/products/ProductList"} <= {r.route for r in result.routes}
    assert {r.framework for r in result.routes} == {"nextjs"}
