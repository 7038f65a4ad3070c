"""Impact: changed files -> affected routes (with chains) -> impacted flows. Pure functions over hand-made graphs."""

from __future__ import annotations

from perceo.models import ChangedFile, ChangeSet, FlowView
from perceo.observer.impact import affected_routes, impacted_flows, is_global_file
from perceo.observer.manifests import ManifestChange
from perceo.observer.model import AppInfo, DiscoveryResult, RouteEntry
from perceo.observer.routematch import routes_match


def _route(route: str, entry: str, layouts: tuple[str, ...] = (), app: str = "") -> RouteEntry:
    return RouteEntry(route=route, framework="nextjs", entry_files=[entry], layout_files=list(layouts), app=app)


def _app() -> DiscoveryResult:
    """A small Next.js app: a root layout, a dashboard layout, a shared Button, a date util used by one page."""
    return DiscoveryResult(
        framework="nextjs",
        routes=[
            _route("/", "app/page.tsx", ("app/layout.tsx",)),
            _route("/cart", "app/cart/page.tsx", ("app/layout.tsx",)),
            _route("/dashboard", "app/dashboard/page.tsx", ("app/layout.tsx", "app/dashboard/layout.tsx")),
            _route(
                "/dashboard/settings", "app/dashboard/settings/page.tsx", ("app/layout.tsx", "app/dashboard/layout.tsx")
            ),
        ],
        imports={
            "app/page.tsx": ["components/Hero.tsx"],
            "app/cart/page.tsx": ["components/CartList.tsx"],
            "components/CartList.tsx": ["components/Button.tsx", "lib/money.ts"],
            "app/dashboard/page.tsx": ["components/Button.tsx", "lib/dates.ts"],
            "app/dashboard/settings/page.tsx": ["components/Form.tsx"],
            "components/Form.tsx": ["components/Button.tsx"],
            "components/Button.tsx": ["lib/cn.ts"],
        },
        packages={
            "lib/dates.ts": ["date-fns"],
            "lib/money.ts": ["dinero.js"],
            "components/Button.tsx": ["clsx", "react"],
        },
    )


def _changes(*files: ChangedFile) -> ChangeSet:
    return ChangeSet(base_sha="a" * 40, head_sha="b" * 40, files=list(files))


def _by_route(result: list) -> dict:  # type: ignore[type-arg]
    return {a.route: a for a in result}


def test_shared_component_change_affects_every_route_that_imports_it_with_the_chain() -> None:
    result = _by_route(affected_routes(_changes(ChangedFile(path="lib/cn.ts", status="modified")), _app()))

    assert set(result) == {"/cart", "/dashboard", "/dashboard/settings"}
    settings = result["/dashboard/settings"]
    assert settings.files == ["lib/cn.ts"]
    assert settings.reasons[0].chain == [
        "lib/cn.ts",
        "components/Button.tsx",
        "components/Form.tsx",
        "app/dashboard/settings/page.tsx",
    ]
    assert settings.reasons[0].kind == "import"
    assert settings.distance == 3
    assert result["/dashboard"].distance == 2
    assert result["/cart"].reasons[0].chain == [
        "lib/cn.ts",
        "components/Button.tsx",
        "components/CartList.tsx",
        "app/cart/page.tsx",
    ]


def test_routes_come_nearest_first() -> None:
    result = affected_routes(_changes(ChangedFile(path="lib/cn.ts", status="modified")), _app())
    assert [(a.route, a.distance) for a in result] == [("/dashboard", 2), ("/cart", 3), ("/dashboard/settings", 3)]


def test_entry_file_change_is_an_entry_reason_at_distance_zero() -> None:
    result = affected_routes(_changes(ChangedFile(path="app/cart/page.tsx", status="modified")), _app())
    assert [(a.route, a.distance, a.reasons[0].kind, a.reasons[0].chain) for a in result] == [
        ("/cart", 0, "entry", ["app/cart/page.tsx"])
    ]


def test_layout_change_affects_only_the_routes_under_it() -> None:
    result = _by_route(
        affected_routes(_changes(ChangedFile(path="app/dashboard/layout.tsx", status="modified")), _app())
    )
    assert set(result) == {"/dashboard", "/dashboard/settings"}
    assert all(a.reasons[0].kind == "layout" for a in result.values())


def test_root_layout_change_affects_every_route() -> None:
    result = affected_routes(_changes(ChangedFile(path="app/layout.tsx", status="modified")), _app())
    assert {a.route for a in result} == {"/", "/cart", "/dashboard", "/dashboard/settings"}


def test_several_changed_files_reaching_one_route_are_all_listed_nearest_reason_first() -> None:
    change = _changes(
        ChangedFile(path="lib/cn.ts", status="modified"),
        ChangedFile(path="lib/dates.ts", status="modified"),
    )
    dashboard = _by_route(affected_routes(change, _app()))["/dashboard"]
    assert dashboard.files == ["lib/cn.ts", "lib/dates.ts"]
    assert [r.changed_file for r in dashboard.reasons] == ["lib/dates.ts", "lib/cn.ts"]
    assert dashboard.distance == 1


def test_file_nothing_imports_affects_no_route() -> None:
    change = _changes(
        ChangedFile(path="README.md", status="modified"), ChangedFile(path="lib/unused.ts", status="added")
    )
    assert affected_routes(change, _app()) == []


def test_deleted_file_is_looked_up_in_the_base_import_graph() -> None:
    base = _app()
    base.imports["app/cart/page.tsx"] = ["components/CartList.tsx", "components/Coupon.tsx"]
    result = affected_routes(_changes(ChangedFile(path="components/Coupon.tsx", status="deleted")), _app(), base)
    assert [(a.route, a.reasons[0].chain) for a in result] == [
        ("/cart", ["components/Coupon.tsx", "app/cart/page.tsx"])
    ]


def test_deleted_page_affects_the_route_that_only_exists_at_base() -> None:
    base = _app()
    base.routes.append(_route("/promo", "app/promo/page.tsx", ("app/layout.tsx",)))
    result = affected_routes(_changes(ChangedFile(path="app/promo/page.tsx", status="deleted")), _app(), base)
    assert [(a.route, a.reasons[0].kind) for a in result] == [("/promo", "entry")]


def test_rename_is_reported_under_the_new_path_with_the_old_path_in_the_base_chain() -> None:
    base = _app()
    base.imports["components/CartList.tsx"] = ["components/Btn.tsx", "lib/money.ts"]
    base.imports["app/dashboard/page.tsx"] = ["components/Btn.tsx", "lib/dates.ts"]
    base.imports["components/Form.tsx"] = ["components/Btn.tsx"]
    change = _changes(ChangedFile(path="components/Button.tsx", status="renamed", old_path="components/Btn.tsx"))

    result = _by_route(affected_routes(change, _app(), base))

    assert set(result) == {"/cart", "/dashboard", "/dashboard/settings"}
    for route in result.values():
        assert route.files == ["components/Button.tsx"]
        assert all(r.changed_file == "components/Button.tsx" for r in route.reasons)
    # head chains start at the new path; the base chain (old path) is the same length, head wins ties by order
    assert result["/dashboard"].reasons[0].chain[0] in ("components/Button.tsx", "components/Btn.tsx")


def test_lockfile_bump_of_one_package_affects_only_its_importers() -> None:
    change = _changes(ChangedFile(path="package-lock.json", status="modified"))
    manifests = {"package-lock.json": ManifestChange(path="package-lock.json", packages=frozenset({"date-fns"}))}

    result = affected_routes(change, _app(), manifest_changes=manifests)

    assert [(a.route, a.reasons[0].kind, a.reasons[0].chain) for a in result] == [
        ("/dashboard", "dependency", ["package-lock.json", "lib/dates.ts", "app/dashboard/page.tsx"])
    ]
    assert result[0].files == ["package-lock.json"]


def test_manifest_without_a_per_package_diff_counts_as_global() -> None:
    change = _changes(ChangedFile(path="package.json", status="modified"))
    assert len(affected_routes(change, _app())) == 4
    global_change = {"package.json": ManifestChange(path="package.json", global_change=True)}
    assert len(affected_routes(change, _app(), manifest_changes=global_change)) == 4
    scripts_only = {"package.json": ManifestChange(path="package.json")}
    assert affected_routes(change, _app(), manifest_changes=scripts_only) == []


def _monorepo() -> DiscoveryResult:
    return DiscoveryResult(
        framework="nextjs",
        apps=[
            AppInfo(root="apps/web", name="web", framework="nextjs"),
            AppInfo(root="apps/admin", name="admin", framework="nextjs"),
        ],
        routes=[
            _route("/", "apps/web/app/page.tsx", app="apps/web"),
            _route("/pricing", "apps/web/app/pricing/page.tsx", app="apps/web"),
            _route("/users", "apps/admin/app/users/page.tsx", app="apps/admin"),
        ],
        imports={"apps/web/app/pricing/page.tsx": ["packages/ui/Price.tsx"]},
        packages={"packages/ui/Price.tsx": ["dinero.js"], "apps/admin/app/users/page.tsx": ["dinero.js"]},
    )


def test_global_files_are_scoped_to_their_app_in_a_monorepo() -> None:
    web_env = affected_routes(_changes(ChangedFile(path="apps/web/.env.production", status="modified")), _monorepo())
    assert {a.route for a in web_env} == {"/", "/pricing"}
    assert all(a.reasons[0].kind == "global" for a in web_env)
    admin_cfg = affected_routes(
        _changes(ChangedFile(path="apps/admin/next.config.mjs", status="modified")), _monorepo()
    )
    assert {a.route for a in admin_cfg} == {"/users"}
    root_ts = affected_routes(_changes(ChangedFile(path="tsconfig.base.json", status="modified")), _monorepo())
    assert {a.route for a in root_ts} == {"/", "/pricing", "/users"}


def test_package_bump_in_a_workspace_manifest_reaches_only_files_under_it() -> None:
    manifests = {
        "packages/ui/package.json": ManifestChange(path="packages/ui/package.json", packages=frozenset({"dinero.js"}))
    }
    change = _changes(ChangedFile(path="packages/ui/package.json", status="modified"))
    result = affected_routes(change, _monorepo(), manifest_changes=manifests)
    assert [(a.route, a.reasons[0].chain) for a in result] == [
        ("/pricing", ["packages/ui/package.json", "packages/ui/Price.tsx", "apps/web/app/pricing/page.tsx"])
    ]


def test_global_file_names() -> None:
    for path in (
        "tsconfig.json",
        "apps/web/next.config.mjs",
        ".env",
        ".env.local",
        "app/globals.css",
        "pages/_app.tsx",
        "src/middleware.ts",
        "vite.config.ts",
        "tailwind.config.js",
    ):
        assert is_global_file(path), path
    for path in ("src/env.ts", "components/Button.tsx", "README.md", "styles/button.css", "lib/config.ts"):
        assert not is_global_file(path), path


# Flows


def _flow(name: str, pages: list[str], priority: str = "medium", **kwargs: object) -> FlowView:
    return FlowView(
        id=name.lower().replace(" ", "-"), project_id="p1", name=name, pages=pages, priority=priority, **kwargs
    )  # type: ignore[arg-type]


def test_flows_visiting_an_affected_route_are_impacted_with_their_reasons() -> None:
    affected = affected_routes(
        _changes(ChangedFile(path="lib/dates.ts", status="modified", additions=3, deletions=1)), _app()
    )
    flows = [
        _flow("Checkout", ["/", "/cart"], "critical"),
        _flow("Review dashboard", ["/", "/dashboard", "/dashboard/settings"], "high"),
    ]

    impacted = impacted_flows(affected, flows)

    assert [f.name for f in impacted] == ["Review dashboard"]
    flow = impacted[0]
    assert flow.affected_pages == ["/dashboard"]
    assert flow.reasons[0].route == "/dashboard"
    assert flow.reasons[0].chain == ["lib/dates.ts", "app/dashboard/page.tsx"]
    assert 0 < flow.risk_score <= 1 and 0 < flow.confidence <= 1


def test_root_route_matches_only_the_root_page_never_every_path() -> None:
    affected = affected_routes(_changes(ChangedFile(path="app/page.tsx", status="modified")), _app())
    flows = [_flow("Home", ["/"]), _flow("Cart only", ["/cart"]), _flow("Settings", ["/dashboard/settings"])]
    assert [f.name for f in impacted_flows(affected, flows)] == ["Home"]


def test_flow_names_never_match_by_keyword() -> None:
    # The first Perceo matched "cart" in the flow name against the path; only routes count now.
    affected = affected_routes(_changes(ChangedFile(path="app/dashboard/page.tsx", status="modified")), _app())
    flows = [_flow("Cart and dashboard keywords", ["/cart"])]
    assert impacted_flows(affected, flows) == []


def test_flow_confidence_is_the_maximum_over_its_pages() -> None:
    change = _changes(
        ChangedFile(path="lib/cn.ts", status="modified"), ChangedFile(path="app/cart/page.tsx", status="modified")
    )
    affected = affected_routes(change, _app())
    flow = impacted_flows(affected, [_flow("Settings then cart", ["/dashboard/settings", "/cart"])])[0]
    assert flow.confidence == 1.0  # /cart's entry file changed, even though /dashboard/settings is 3 hops away


def test_dynamic_routes_match_flow_pages_by_pattern() -> None:
    assert routes_match("/users/[id]", "/users/:id")
    assert routes_match("/users/:id", "/users/42")
    assert routes_match("/docs/[...slug]", "/docs/a/b/c")
    assert routes_match("/shop/[[...slug]]", "/shop")
    assert not routes_match("/users/[id]", "/users/42/edit")
    assert not routes_match("/", "/users")
    assert not routes_match("/user", "/users")
    assert routes_match("/cart/", "/cart?step=2")


def test_inactive_flows_are_not_impacted_and_entry_point_stands_in_for_missing_pages() -> None:
    affected = affected_routes(_changes(ChangedFile(path="app/cart/page.tsx", status="modified")), _app())
    flows = [
        _flow("Old checkout", ["/cart"], is_active=False),
        _flow("Quick buy", [], entry_point="/cart"),
    ]
    assert [f.name for f in impacted_flows(affected, flows)] == ["Quick buy"]


def test_impacted_flows_are_sorted_riskiest_first() -> None:
    affected = affected_routes(_changes(ChangedFile(path="app/layout.tsx", status="modified")), _app())
    flows = [
        _flow("Low one", ["/"], "low"),
        _flow("Critical one", ["/cart"], "critical"),
        _flow("Mid", ["/"], "medium"),
    ]
    assert [f.name for f in impacted_flows(affected, flows)] == ["Critical one", "Mid", "Low one"]


def test_traffic_raises_a_flows_risk_when_metrics_are_known() -> None:
    affected = affected_routes(_changes(ChangedFile(path="app/cart/page.tsx", status="modified")), _app())
    flows = [_flow("Busy", ["/cart"]), _flow("Quiet", ["/cart"])]
    without = {f.name: f.risk_score for f in impacted_flows(affected, flows)}
    with_traffic = {f.name: f.risk_score for f in impacted_flows(affected, flows, {"busy": 5000, "quiet": 0})}
    assert without["Busy"] == without["Quiet"]
    assert with_traffic["Busy"] > with_traffic["Quiet"] == without["Quiet"]


def test_optional_segments_and_catch_alls_in_discovery_syntax() -> None:
    assert routes_match("/lang/:lang?", "/lang")
    assert routes_match("/lang/:lang?", "/lang/en")
    assert not routes_match("/lang/:lang?", "/lang/en/x")
    assert routes_match("/docs/*", "/docs/a/b")
    assert not routes_match("/docs/*", "/blog/a")
