"""Finding tests, reading the URLs they visit, and mapping them to flows with evidence."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from perceo.config.model import FlowTestsSection
from perceo.errors import TestMappingError
from perceo.models import FlowView
from perceo_cli.coordinator.mapping import build_mapping, find_tests
from perceo_cli.coordinator.scan import discover_test_files, to_path

CART_SPEC = """import { test, expect } from '@playwright/test';
test.describe('cart', () => {
  test('adds an item @flow:checkout', async ({ page, baseURL }) => {
    await page.goto(`${baseURL}/products/${id}?ref=mail`);
    // await page.goto('/commented-out');
    await page.goto(baseURL + "/cart");
  });
  test('logs in', { tag: '@smoke' }, async ({ page }) => { await page.goto('http://localhost:3000/login'); });
});
"""
PY_TEST = '''import pytest

BASE = "http://localhost:8000"


def test_home(client):
    """Home page renders"""
    assert client.get("/").status_code == 200
    page.goto(f"{BASE}/products/{product_id}")
    token = os.environ.get("BASE_URL")
    requests.post(BASE + "/api/orders", json={"next": "/not-a-visit"})
'''
CY_SPEC = "describe('search', () => { it('finds shoes', () => { cy.visit('/search?q=shoe') }) })\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "e2e/cart.spec.ts": CART_SPEC,
            "tests/test_home.py": PY_TEST,
            "cypress/e2e/search.cy.js": CY_SPEC,
            "tests/test_unrelated.py": "def test_math():\n    assert 1 + 1 == 2\n",
            "node_modules/pkg/x.spec.js": "page.goto('/cart')\n",
            "src/app.ts": "fetch('/api/orders')\n",
        },
    )


def flows() -> list[FlowView]:
    return [
        FlowView(id="f-checkout", project_id="p", name="Checkout", pages=["/products/[id]", "/cart", "/checkout"]),
        FlowView(id="f-browse", project_id="p", name="Browse", pages=["/"], entry_point="/"),
        FlowView(id="f-search", project_id="p", name="Search", pages=["/search"]),
        FlowView(id="f-admin", project_id="p", name="Admin", pages=["/admin"]),
        FlowView(id="f-old", project_id="p", name="Old", pages=["/cart"], is_active=False),
    ]


def test_test_files_are_found_and_their_visits_read_with_lines(project: Path) -> None:
    files = {f.path: f for f in discover_test_files(project)}

    assert sorted(files) == [
        "cypress/e2e/search.cy.js",
        "e2e/cart.spec.ts",
        "tests/test_home.py",
        "tests/test_unrelated.py",
    ]
    assert [f.kind for f in files.values()] == ["cypress", "playwright", "pytest", "pytest"]
    cart = files["e2e/cart.spec.ts"]
    assert [(v.line, v.path, v.call) for v in cart.visits] == [
        (4, "/products/:param", "page.goto"), (6, "/cart", "page.goto"), (8, "/login", "page.goto"),
    ]  # fmt: skip
    assert [t.text for t in cart.titles] == ["cart", "adds an item @flow:checkout", "logs in @smoke"]
    home = files["tests/test_home.py"]
    assert [(v.line, v.path) for v in home.visits] == [(8, "/"), (9, "/products/:param"), (11, "/api/orders")]
    assert home.titles[0].text == "test_home Home page renders"


@pytest.mark.parametrize(
    ("body", "template", "path"),
    [
        ("/cart", False, "/cart"),
        ("/cart/", False, "/cart"),
        ("${base}/p/${id}#x", True, "/p/:param"),
        ("{BASE}/orders/{order.id}", True, "/orders/:param"),
        ("https://shop.example/a/b?c=d", False, "/a/b"),
        ("cart", False, None),
        ("//cdn.example/x.js", False, None),
        ("a sentence / with spaces", False, None),
    ],
)
def test_literals_become_route_like_paths(body: str, template: bool, path: str | None) -> None:
    assert to_path(body, template=template) == path


def test_urls_map_tests_to_flows_with_evidence_and_uncovered_flows_are_listed(project: Path) -> None:
    mapping = build_mapping(project, flows(), {}, discover_test_files(project), routes=["/login", "/api/orders"])

    evidence = sorted(link.evidence for link in mapping.links)
    assert evidence == [
        "cypress/e2e/search.cy.js:1 visits /search?q=shoe (route /search)",
        "e2e/cart.spec.ts:4 visits ${baseURL}/products/${id}?ref=mail (route /products/[id])",
        "e2e/cart.spec.ts:6 visits /cart (route /cart)",
        "tests/test_home.py:8 visits / (route /)",
        "tests/test_home.py:9 visits {BASE}/products/{product_id} (route /products/[id])",
    ]
    assert [f.name for f in mapping.uncovered] == ["Admin", "Old"]
    coverage = {f.name: (f.coverage, f.pages_visited) for f in mapping.flows}
    assert coverage["Checkout"] == (round(2 / 3, 4), ["/cart", "/products/[id]"])
    assert coverage["Browse"] == (1.0, ["/"])
    assert mapping.files_for(["f-checkout"]) == ["e2e/cart.spec.ts", "tests/test_home.py"]
    assert mapping.unmapped_files == ["tests/test_unrelated.py"]
    assert mapping.test_files == 4


def test_config_files_globs_and_tags_link_with_their_entry(project: Path) -> None:
    config = {
        "Admin": FlowTestsSection(tests=["tests/test_unrelated.py", "cypress/**/*.cy.js", "@flow:checkout"]),
        "Browse": FlowTestsSection(tests=["grep:Home page"]),
    }

    mapping = build_mapping(project, flows(), config, discover_test_files(project))

    admin = sorted((link.rule, link.file, link.line) for link in mapping.links if link.flow_name == "Admin")
    assert admin == [
        ("config-file", "tests/test_unrelated.py", None),
        ("config-glob", "cypress/e2e/search.cy.js", None),
        ("config-tag", "e2e/cart.spec.ts", 3),
    ]
    browse_tag = next(link for link in mapping.links if link.flow_name == "Browse" and link.rule == "config-tag")
    assert (browse_tag.file, browse_tag.line, browse_tag.grep) == ("tests/test_home.py", 6, "Home page")
    assert "from flows.Browse.tests entry 'grep:Home page'" in browse_tag.evidence
    assert [f.name for f in mapping.uncovered] == ["Old"]


def test_entries_that_name_nothing_are_one_error_listing_each(project: Path) -> None:
    config = {
        "Checkout": FlowTestsSection(tests=["e2e/missing.spec.ts", "e2e/**/*.nothing.ts", "@flow:nowhere"]),
        "Ghost": FlowTestsSection(tests=["e2e/cart.spec.ts"]),
        "Admin": FlowTestsSection(tests=["../outside.py"]),
    }

    with pytest.raises(TestMappingError) as caught:
        build_mapping(project, flows(), config, discover_test_files(project))

    assert caught.value.details["problems"] == [
        "flows.Checkout.tests: 'e2e/missing.spec.ts' is not a file",
        "flows.Checkout.tests: 'e2e/**/*.nothing.ts' matches no file",
        "flows.Checkout.tests: '@flow:nowhere' is in no test title",
        "flows.Ghost: the project has no flow named 'Ghost'",
        "flows.Admin.tests: '../outside.py' is not a file",
    ]


def test_greps_are_given_only_when_every_selected_link_is_a_tag(project: Path) -> None:
    config = {"Admin": FlowTestsSection(tests=["@flow:checkout"])}
    mapping = build_mapping(project, flows(), config, discover_test_files(project))

    assert mapping.greps_for(["f-admin"]) == ["@flow:checkout"]
    assert mapping.greps_for(["f-admin", "f-checkout"]) == []


def test_playwright_list_titles_replace_the_source_titles_when_playwright_is_there(project: Path) -> None:
    """A stand-in for the project's `node_modules/.bin/playwright` (no npm package here): a script that prints
    what `playwright test --list --reporter=json` prints, so the real subprocess path is exercised."""
    listing = {
        "config": {"rootDir": str(project / "e2e")},
        "suites": [{"title": "cart.spec.ts", "file": "cart.spec.ts", "specs": [], "suites": [
            {"title": "cart", "file": "cart.spec.ts", "specs": [
                {"title": "adds an item", "file": "cart.spec.ts", "line": 3, "tags": ["@flow:checkout"], "tests": []},
            ]}]}],
    }  # fmt: skip
    binary = project / "node_modules" / ".bin" / "playwright"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\nimport sys\nassert sys.argv[1:] == ['test', '--list', '--reporter=json']\n"
                      f"print({json.dumps(json.dumps(listing))})\n")  # fmt: skip
    binary.chmod(0o755)

    files, how = find_tests(project)

    cart = next(f for f in files if f.path == "e2e/cart.spec.ts")
    assert how == "playwright --list"
    assert [(t.line, t.text) for t in cart.titles] == [(3, "cart › adds an item @flow:checkout")]
    assert cart.visits  # visits still come from the source


def test_a_playwright_that_cannot_list_falls_back_to_the_source(project: Path) -> None:
    binary = project / "node_modules" / ".bin" / "playwright"
    binary.parent.mkdir(parents=True)
    binary.write_text(f"#!{sys.executable}\nimport sys\nsys.exit(1)\n")
    binary.chmod(0o755)

    files, how = find_tests(project)

    assert how == "source" and len(files) == 4


def test_a_plan_holds_the_selected_flows_files_or_all_files_with_past_durations(project: Path) -> None:
    from perceo.models import TestCase, TestRun
    from perceo_cli.coordinator.plan import plan_tests

    mapping = build_mapping(project, flows(), {}, discover_test_files(project))
    history = [
        TestRun(project_id="p", created_at=1, tests=[
            TestCase(id="x", name="x", file="e2e/cart.spec.ts", status="passed", duration_ms=900),
        ]),
        TestRun(project_id="p", created_at=2, tests=[
            TestCase(id="y", name="y", file="e2e/cart.spec.ts", status="passed", duration_ms=300),
            TestCase(id="z", name="z", file="e2e/cart.spec.ts", status="passed", duration_ms=200),
        ]),
    ]  # fmt: skip

    selected = plan_tests(mapping, flows(), ["f-search"], selection="flows", commit_sha="abc1234", history=history)
    everything = plan_tests(mapping, flows(), None, selection="all")

    assert selected.files == ["cypress/e2e/search.cy.js"]
    assert dict(selected.flow_names) == {"f-search": "Search"} and selected.commit_sha == "abc1234"
    assert selected.durations == {"e2e/cart.spec.ts": 500}
    assert everything.files == ["cypress/e2e/search.cy.js", "e2e/cart.spec.ts", "tests/test_home.py",
                                "tests/test_unrelated.py"]  # fmt: skip
    assert set(everything.flow_names) == {"f-checkout", "f-browse", "f-search", "f-admin", "f-old"}
