"""What one file says (`FileFacts`) and which files have facts at all (`fact_kind`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Prefix of the `FileFacts.tags` entries that name a function a Vue component calls without importing it.
CALL_TAG = "fn:"
#: Prefix of a `FileFacts.nav` target that is a call of a URL helper on a constant (`ref:paths.auth.login.getHref`):
#: the navigation graph resolves it against that constant's tree (see `navigation`).
CALL_REF = "ref:"
#: Files larger than this are treated as generated (bundles) and not parsed.
MAX_SOURCE_BYTES = 1_000_000

_SCRIPT_KINDS = {
    ".ts": "ts",
    ".mts": "ts",
    ".cts": "ts",
    ".tsx": "tsx",
    ".js": "js",
    ".jsx": "js",
    ".mjs": "js",
    ".cjs": "js",
}
_OTHER_KINDS = {
    ".vue": "vue",
    ".svelte": "svelte",
    ".html": "html",
    ".css": "css",
    ".scss": "css",
    ".sass": "css",
    ".less": "css",
}
#: Folders whose files are build output or dependencies, never sources of facts.
SKIPPED_DIRS = frozenset(
    {"node_modules", ".next", ".nuxt", ".output", ".svelte-kit", ".turbo", ".vercel", ".angular", ".perceo", ".git"}
)

ImportKind = str  # import | type | side | reexport | dynamic | require | style | template
Value = Any  # JSON-shaped tree, see `Extractor.value`


def fact_kind(path: str) -> str | None:
    """The extension family facts are extracted for, or None for files without facts."""
    dot = path.rfind(".")
    if dot < 0:
        return None
    ext = path[dot:].lower()
    kind = _SCRIPT_KINDS.get(ext) or _OTHER_KINDS.get(ext)
    if kind is None:
        return None
    if path.endswith((".d.ts", ".d.mts", ".d.cts", ".min.js")):
        return None
    if "/." in path or path.startswith(".") or "node_modules/" in path:
        directory = path[: path.rfind("/") + 1]
        if any(f"/{name}/" in "/" + directory for name in SKIPPED_DIRS):
            return None
    return kind


@dataclass(slots=True)
class FileFacts:
    """What one file says about imports, navigation and routes."""

    #: (specifier, kind) in source order.
    imports: list[tuple[str, str]] = field(default_factory=list)
    #: local name -> (specifier, imported name: `default`, `*` or the export name); includes `lazy(() => import())`.
    bindings: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: exported name -> (specifier, imported name), from `export { a as b } from "x"`.
    reexports: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: specifiers of `export * from "x"`.
    star_exports: list[str] = field(default_factory=list)
    #: (url template with `{}` for dynamic parts, or a `CALL_REF` helper call; nav kind, line).
    nav: list[tuple[str, str, int]] = field(default_factory=list)
    #: route-config trees: {"k": array|object|jsx|default, "n": variable name, "x": exported, "l": line, "v": tree};
    #: also global component registrations: {"k": "component", "n": tag name, "v": {"$": "i", "n": identifier}},
    #: and top-level constant objects holding URL paths: {"k": "const", "n": name, "x": exported, "v": tree}.
    routes: list[dict[str, Any]] = field(default_factory=list)
    has_default_export: bool = False
    #: names declared at the top level of the module (functions, classes, variables).
    local_names: list[str] = field(default_factory=list)
    #: component tags used in a Vue template (`ProductCard`, `product-card`), for auto-imported components, and
    #: `fn:name` for functions its scripts call without importing or defining them (auto-imported composables).
    tags: list[str] = field(default_factory=list)
    #: specifier -> the names imported from it (`default`, `*` for a namespace, or the export name), for every
    #: file (`bindings` is kept for route configs only): what symbol-level impact reads.
    imported: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> list[Any]:
        return [
            self.imports,
            self.bindings,
            self.reexports,
            self.star_exports,
            self.nav,
            self.routes,
            int(self.has_default_export),
            self.local_names,
            self.tags,
            self.imported,
        ]

    @classmethod
    def from_json(cls, raw: list[Any]) -> FileFacts:
        """Facts from their cached form. Pairs and triples stay JSON lists (they unpack like tuples): warm
        runs load tens of thousands of entries and must not rebuild each one."""
        imports, bindings, reexports, star, nav, routes, has_default, local_names, tags, imported = raw
        if not (
            type(imports) is list
            and type(bindings) is dict
            and type(reexports) is dict
            and type(star) is list
            and type(nav) is list
            and type(routes) is list
            and type(local_names) is list
            and type(tags) is list
            and type(imported) is dict
        ):
            raise ValueError("facts entry has the wrong shape")
        return cls(imports, bindings, reexports, star, nav, routes, bool(has_default), local_names, tags, imported)
