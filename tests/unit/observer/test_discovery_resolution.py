"""Import resolution against an in-memory snapshot: relative paths, aliases, package.json imports, workspaces."""

from __future__ import annotations

import json

import pytest

from perceo.observer.discovery import discover
from perceo.observer.imports import ImportResolver, package_name
from perceo.observer.project import ProjectLayout
from perceo.observer.snapshot import RepoSnapshot


def resolver(files: dict[str, str], aliases: dict[str, list[tuple[str, str]]] | None = None) -> ImportResolver:
    return ImportResolver(ProjectLayout(RepoSnapshot.from_files(files)), aliases)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("./Button", "src/components/Button.tsx"),
        ("./forms", "src/components/forms/index.ts"),
        ("../lib/util.js", "src/lib/util.ts"),
        ("../lib/legacy", "src/lib/legacy.cjs"),
        ("./Card.vue", "src/components/Card.vue"),
        ("./styles.module.css", "src/components/styles.module.css"),
        ("./missing", None),
        ("../../../outside", None),
    ],
)
def test_relative_specifiers_resolve_extensions_and_index_files(spec: str, expected: str | None) -> None:
    files = {
        "src/components/Button.tsx": "",
        "src/components/forms/index.ts": "",
        "src/lib/util.ts": "",
        "src/lib/legacy.cjs": "",
        "src/components/Card.vue": "",
        "src/components/styles.module.css": "",
        "src/components/Page.tsx": "",
    }
    assert resolver(files).resolve_file("src/components/Page.tsx", spec) == expected


def test_tsconfig_paths_are_inherited_through_extends_and_resolved_from_the_defining_config() -> None:
    files = {
        "tsconfig.base.json": '{ "compilerOptions": { "baseUrl": ".", "paths": { "@ui/*": ["packages/ui/*"] } } }',
        "apps/web/tsconfig.json": """{
            // paths here are relative to this file's folder, baseUrl comes from the base config
            "extends": "../../tsconfig.base.json",
        }""",
        "apps/shop/tsconfig.json": '{ "extends": "../../tsconfig.base.json",'
        ' "compilerOptions": { "paths": { "@/*": ["./src/*"] } } }',
        "packages/ui/Button.tsx": "",
        "apps/shop/src/cart.ts": "",
        "apps/web/page.tsx": "",
        "apps/shop/src/page.tsx": "",
    }
    r = resolver(files)
    assert r.resolve_file("apps/web/page.tsx", "@ui/Button") == "packages/ui/Button.tsx"
    # apps/shop overrides `paths`: they are resolved against the inherited baseUrl (the repo root)
    assert r.resolve_file("apps/shop/src/page.tsx", "@/cart") is None
    assert r.resolve_file("apps/shop/src/page.tsx", "@ui/Button") is None


def test_paths_without_base_url_are_relative_to_the_config_that_declares_them() -> None:
    files = {
        "tsconfig.json": '{ "compilerOptions": { "paths": { "~/*": ["./app/*"], "config": ["./app/config.ts"] } } }',
        "app/utils/date.ts": "",
        "app/config.ts": "",
        "app/routes/index.tsx": "",
    }
    r = resolver(files)
    assert r.resolve_file("app/routes/index.tsx", "~/utils/date") == "app/utils/date.ts"
    assert r.resolve_file("app/routes/index.tsx", "config") == "app/config.ts"


def test_base_url_resolves_bare_specifiers_inside_the_project_before_packages() -> None:
    files = {
        "jsconfig.json": '{ "compilerOptions": { "baseUrl": "src" } }',
        "src/components/Nav.jsx": "",
        "src/pages/index.jsx": "",
    }
    r = resolver(files)
    assert r.resolve_file("src/pages/index.jsx", "components/Nav") == "src/components/Nav.jsx"
    assert r.resolve("src/pages/index.jsx", "react").package == "react"


def test_package_json_imports_map_hash_specifiers() -> None:
    files = {
        "package.json": json.dumps(
            {
                "name": "app",
                "imports": {
                    "#db": {"node": "./src/db/node.ts", "default": "./src/db/browser.ts"},
                    "#utils/*": "./src/utils/*.ts",
                },
            }
        ),
        "src/db/node.ts": "",
        "src/db/browser.ts": "",
        "src/utils/slug.ts": "",
        "src/index.ts": "",
    }
    r = resolver(files)
    assert r.resolve_file("src/index.ts", "#utils/slug") == "src/utils/slug.ts"
    assert r.resolve_file("src/index.ts", "#db") == "src/db/browser.ts"


def test_workspace_packages_resolve_to_source_even_when_manifests_point_at_build_output() -> None:
    files = {
        "package.json": json.dumps({"name": "root", "workspaces": {"packages": ["packages/*"]}}),
        "packages/ui/package.json": json.dumps(
            {"name": "@acme/ui", "main": "dist/index.js", "exports": {"./button": "./dist/button.mjs"}}
        ),
        "packages/ui/src/index.tsx": "",
        "packages/ui/src/button.tsx": "",
        "packages/plain/package.json": json.dumps({"name": "plain"}),
        "packages/plain/index.js": "",
        "apps/web/page.tsx": "",
    }
    r = resolver(files)
    assert r.resolve_file("apps/web/page.tsx", "@acme/ui") == "packages/ui/src/index.tsx"
    assert r.resolve_file("apps/web/page.tsx", "@acme/ui/button") == "packages/ui/src/button.tsx"
    assert r.resolve_file("apps/web/page.tsx", "plain") == "packages/plain/index.js"


def test_framework_aliases_apply_inside_their_app_only() -> None:
    files = {"web/src/lib/api.ts": "", "web/src/routes/page.ts": "", "other/page.ts": ""}
    r = resolver(files, {"web": [("$lib", "web/src/lib")]})
    assert r.resolve_file("web/src/routes/page.ts", "$lib/api") == "web/src/lib/api.ts"
    assert r.resolve_file("other/page.ts", "$lib/api") is None


def test_query_suffixes_are_stripped_before_resolving() -> None:
    files = {"app/styles/app.css": "", "app/root.tsx": "", "app/icons/logo.svg": ""}
    r = resolver(files)
    assert r.resolve_file("app/root.tsx", "./styles/app.css?url") == "app/styles/app.css"
    assert r.resolve_file("app/root.tsx", "./icons/logo.svg?react") == "app/icons/logo.svg"


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("react", "react"),
        ("react-dom/client", "react-dom"),
        ("lodash/fp", "lodash"),
        ("@scope/pkg", "@scope/pkg"),
        ("@scope/pkg/deep/path", "@scope/pkg"),
        ("node:fs", None),
        ("fs", None),
        ("path/posix", None),
        ("./local", None),
        ("$app/navigation", None),
        ("#internal", None),
        ("@/components/x", None),
        ("~/utils", None),
        ("virtual:pwa", None),
    ],
)
def test_external_package_names(spec: str, name: str | None) -> None:
    assert package_name(spec) == name


def test_import_graph_and_packages_in_a_discovery_result() -> None:
    snapshot = RepoSnapshot.from_files(
        {
            "package.json": json.dumps({"name": "x", "dependencies": {"react": "18", "react-router-dom": "6"}}),
            "index.html": "<div id=root></div>",
            "src/main.tsx": 'import "./polyfills";\nimport { App } from "./App";\nimport "./main.css";\n',
            "src/polyfills.js": 'require("core-js/stable");\n',
            "src/App.tsx": 'import _ from "lodash/fp";\nexport * from "./routes";\nexport const App = () => null;\n',
            "src/routes.ts": "export const routes = [];\n",
            "src/main.css": '@import "./reset.css";\n',
            "src/reset.css": "",
        }
    )
    result = discover(snapshot)
    assert result.imports == {
        "src/main.tsx": ["src/App.tsx", "src/main.css", "src/polyfills.js"],
        "src/App.tsx": ["src/routes.ts"],
        "src/main.css": ["src/reset.css"],
    }
    assert result.packages == {"src/App.tsx": ["lodash"], "src/polyfills.js": ["core-js"]}


@pytest.mark.parametrize(
    "alias_config",
    [
        """{
      "@": fileURLToPath(new URL("./src", import.meta.url)),
      "~components": path.resolve(__dirname, "src/components"),
    }""",
        """[
      { find: "@", replacement: "/src" },
      { find: "~components", replacement: path.resolve(__dirname, "./src/components") },
      { find: /^~(.+)$/, replacement: "$1" },
    ]""",
    ],
)
def test_vite_resolve_aliases_are_followed(alias_config: str) -> None:
    snapshot = RepoSnapshot.from_files(
        {
            "package.json": json.dumps({"name": "x", "dependencies": {"react": "18"}}),
            "index.html": "",
            "vite.config.ts": 'import path from "node:path";\nimport { fileURLToPath, URL } from "node:url";\n'
            "export default defineConfig({ plugins: [react()], resolve: { alias: " + alias_config + " } });\n",
            "src/main.tsx": 'import { Hero } from "~components/Hero";\nimport { util } from "@/lib/util";\n',
            "src/components/Hero.tsx": "export const Hero = 1;\n",
            "src/lib/util.ts": "export const util = 1;\n",
        }
    )
    assert discover(snapshot).imports["src/main.tsx"] == ["src/components/Hero.tsx", "src/lib/util.ts"]


class _RecordingFiles(frozenset[str]):
    """A file set that records every membership question (and knows no file)."""

    asked: list[str]

    def __contains__(self, item: object) -> bool:
        self.asked.append(str(item))
        return False


@pytest.mark.parametrize(
    "base",
    [
        "src/lib/util",
        "src/lib/util.js",
        "src/lib/util.jsx",
        "src/lib/util.mjs",
        "src/lib/util.cjs",
        "src/lib/x.ts",
        "src/comp",
        "",
        "index",
        "src/a.b/c",
        "src/lib/util.json",
    ],
)
def test_candidate_bases_is_the_exact_inverse_of_the_candidates_file_for_probes(base: str) -> None:
    from perceo.observer.imports import candidate_bases

    resolver_ = resolver({"src/Page.tsx": ""})
    files = _RecordingFiles()
    files.asked = []
    resolver_.files = files
    assert resolver_.file_for(base) is None
    asked = files.asked
    assert asked, "file_for asked nothing"
    for candidate in asked:  # every probe of `base` maps back to it ...
        assert base in candidate_bases(candidate), candidate
    for candidate in asked:  # ... and every base of a probed path that probes it is found by file_for
        for other in candidate_bases(candidate):
            files.asked = []
            resolver_.file_for(other)
            assert candidate in files.asked, (other, candidate)


def test_a_resolution_reports_the_bases_it_probed() -> None:
    resolver_ = resolver(
        {
            "src/Page.tsx": "",
            "src/lib/cart.ts": "",
            "tsconfig.json": '{ "compilerOptions": { "baseUrl": ".", "paths": { "@/*": ["src/*"] } } }',
        }
    )
    found, probed = resolver_.resolve_probed("src/Page.tsx", "@/lib/cart")
    assert found.file == "src/lib/cart.ts" and probed == ("src/lib/cart",)
    found, probed = resolver_.resolve_probed("src/Page.tsx", "./missing")
    assert found.file is None and probed == ("src/missing",)
    assert resolver_.resolve_probed("src/Page.tsx", "https://cdn.example/x.js")[1] == ()


def test_links_built_by_a_paths_objects_helpers_are_navigation_edges() -> None:
    # bulletproof-react: `to={paths.auth.register.getHref(redirectTo)}` with `export const paths = {...}`.
    paths = """export const paths = {
  home: { path: '/', getHref: () => '/' },
  auth: {
    login: {
      path: '/auth/login',
      getHref: (redirectTo?: string) => `/auth/login${redirectTo ? `?redirectTo=${redirectTo}` : ''}`,
    },
  },
  discussion: { getHref: (id: string) => `/discussions/${id}` },
} as const;
"""
    snapshot = RepoSnapshot.from_files(
        {
            "package.json": json.dumps({"name": "x", "dependencies": {"next": "14", "react": "18"}}),
            "src/config/paths.ts": paths,
            "src/app/page.tsx": (
                "import { paths } from '../config/paths';\n"
                "export default function P() { const router = useRouter();\n"
                "  return <button onClick={() => router.push(paths.auth.login.getHref())}>Start</button> }\n"
            ),
            "src/app/auth/login/page.tsx": (
                "import Link from 'next/link';\nimport { paths } from '../../../config/paths';\n"
                "export default function L() { return <Link href={paths.discussion.getHref(id)}>x</Link> }\n"
            ),
            "src/app/discussions/[id]/page.tsx": (
                "import { paths } from '../../../config/paths';\n"
                "export default function D() { return <a href={paths.nowhere.getHref()}>y</a> }\n"
            ),
        }
    )

    result = discover(snapshot)

    edges = {(e.source, e.target, e.kind) for e in result.navigation}
    assert edges == {("/", "/auth/login", "push"), ("/auth/login", "/discussions/:id", "link")}
    assert not any("match no route" in w for w in result.warnings)  # an unresolved helper is no unknown URL
