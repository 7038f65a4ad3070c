"""Which framework an app uses, from its package.json dependencies, config files and folder layout.

Order matters: meta-frameworks before the libraries they depend on (Remix and Next.js apps depend on
`react`; Nuxt on `vue`), so a Remix v2 app is never classified as plain React.
"""

from __future__ import annotations

import re

from perceo.observer.project import PackageJson, ProjectLayout

FRAMEWORKS = ("nextjs", "remix", "react-router", "react", "vue", "nuxt", "sveltekit", "angular", "unknown")

_CONFIG_FILES: list[tuple[str, tuple[str, ...]]] = [
    ("nextjs", ("next.config.js", "next.config.mjs", "next.config.cjs", "next.config.ts", "next.config.mts")),
    ("nuxt", ("nuxt.config.ts", "nuxt.config.js", "nuxt.config.mjs")),
    (
        "remix",
        ("remix.config.js", "remix.config.mjs", "remix.config.cjs", "react-router.config.ts", "react-router.config.js"),
    ),
    ("sveltekit", ("svelte.config.js", "svelte.config.mjs", "svelte.config.ts")),
    ("angular", ("angular.json", "project.json")),
]

_REMIX_PACKAGES = ("@react-router/dev", "@react-router/fs-routes", "@react-router/node", "@react-router/serve")


def detect_in_layout(layout: ProjectLayout, app_root: str = "") -> str:
    """Meta-framework dependencies first, then config files, then the view libraries, then folder layout."""
    package = layout.package(app_root)
    deps = package.dependencies if package is not None else {}
    strong = _meta_framework(deps)
    if strong is not None:
        return strong
    for framework, names in _CONFIG_FILES:
        for name in names:
            path = f"{app_root}/{name}" if app_root else name
            if path in layout.file_set:
                if name == "project.json" and not _is_angular_project_json(layout, path):
                    continue
                return framework
    weak = _view_library(deps)
    if weak is not None:
        return weak
    return _from_layout(layout, app_root)


def _meta_framework(deps: dict[str, str]) -> str | None:
    if "next" in deps:
        return "nextjs"
    if "nuxt" in deps or "nuxt3" in deps:
        return "nuxt"
    if any(name.startswith("@remix-run/") for name in deps) or any(name in deps for name in _REMIX_PACKAGES):
        return "remix"
    if "@sveltejs/kit" in deps:
        return "sveltekit"
    if "@angular/core" in deps or "@angular/router" in deps:
        return "angular"
    return None


def _view_library(deps: dict[str, str]) -> str | None:
    if "vue" in deps or "vue-router" in deps:
        return "vue"
    if "react-router-dom" in deps or "react-router" in deps:
        return "react-router"
    if "react" in deps or "react-dom" in deps:
        return "react"
    return None


def _is_angular_project_json(layout: ProjectLayout, path: str) -> bool:
    try:
        return "@angular" in layout.snapshot.read_text(path)
    except (OSError, KeyError):
        return False


def _from_layout(layout: ProjectLayout, app_root: str) -> str:
    """No package.json hints: recognise the folder conventions themselves."""
    prefix = f"{app_root}/" if app_root else ""
    page = re.compile(re.escape(prefix) + r"(src/)?app/(.+/)?page\.(tsx|ts|jsx|js)$")
    pages = re.compile(re.escape(prefix) + r"(src/)?pages/.+\.(tsx|jsx)$")
    svelte = re.compile(re.escape(prefix) + r"src/routes/(.+/)?\+page\.svelte$")
    remix = re.compile(re.escape(prefix) + r"app/(root\.(tsx|jsx)|routes/.+\.(tsx|jsx))$")
    for path in layout.files:
        if not path.startswith(prefix):
            continue
        if page.match(path):
            return "nextjs"
        if svelte.match(path):
            return "sveltekit"
        if remix.match(path):
            return "remix"
        if pages.match(path):
            return "nextjs"
    return "unknown"


def remix_major_version(package: PackageJson | None) -> int | None:
    """Major version of the Remix packages (1 means the nested-folder route convention by default)."""
    if package is None:
        return None
    for name in ("@remix-run/dev", "@remix-run/react", "@remix-run/node", "@remix-run/serve"):
        version = package.dependencies.get(name)
        if version:
            match = re.search(r"(\d+)", version)
            if match:
                return int(match.group(1))
    if any(name in package.dependencies for name in _REMIX_PACKAGES):
        return 7
    return None
