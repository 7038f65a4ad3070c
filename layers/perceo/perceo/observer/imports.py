"""The module import graph: specifiers from file facts resolved to repository files or package names.

Resolution follows what bundlers and TypeScript do, in this order: relative paths; package.json `imports`
(`#subpath`); tsconfig/jsconfig `paths` and `baseUrl` (with `extends`); framework aliases (`@/`, `~/`,
`$lib`); workspace packages to their *source* files; anything else bare is an external package.
Candidates are checked against the snapshot's file list (a set), so resolution never touches the disk.

Every resolution also reports the paths it *probed* (the bases given to `file_for`): once the project's
configuration is fixed, a specifier resolves the same way in another commit unless a file was added or deleted at
one of the candidates of those bases (`candidate_bases` is the exact inverse). That is what lets the import
graph of a commit be derived from another commit's graph by re-resolving only the files that could notice.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from perceo.observer.facts.model import FileFacts
from perceo.observer.project import ProjectLayout, join

#: Extensions tried for a specifier without one, in bundler order.
RESOLVE_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".vue", ".svelte", ".json")
#: ESM TypeScript imports name the *output* file: `./x.js` means `./x.ts`.
_OUTPUT_TO_SOURCE = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}
_CONDITIONS = ("source", "development", "svelte", "import", "module", "browser", "default", "require", "node", "types")
_BUILD_DIRS = ("dist/", "build/", "lib/", "esm/", "cjs/", "out/")
#: package.json fields resolution reads (`name` through the workspace packages).
_RESOLUTION_FIELDS = ("imports", "exports", "source", "svelte", "module", "main", "types", "typings")

NODE_BUILTINS = frozenset(
    {
        "assert",
        "async_hooks",
        "buffer",
        "child_process",
        "cluster",
        "console",
        "constants",
        "crypto",
        "dgram",
        "diagnostics_channel",
        "dns",
        "domain",
        "events",
        "fs",
        "http",
        "http2",
        "https",
        "inspector",
        "module",
        "net",
        "os",
        "path",
        "perf_hooks",
        "process",
        "punycode",
        "querystring",
        "readline",
        "repl",
        "stream",
        "string_decoder",
        "sys",
        "timers",
        "tls",
        "trace_events",
        "tty",
        "url",
        "util",
        "v8",
        "vm",
        "wasi",
        "worker_threads",
        "zlib",
    }
)


def package_name(spec: str) -> str | None:
    """The npm package a bare specifier names (`lodash/fp` -> `lodash`, `@scope/pkg/x` -> `@scope/pkg`)."""
    if not spec or spec[0] in "./#~$\\" or ":" in spec or spec.startswith("@/"):
        return None
    parts = spec.split("/")
    if spec.startswith("@"):
        if len(parts) < 2 or not parts[1]:
            return None
        name = "/".join(parts[:2])
    else:
        name = parts[0]
    if name in NODE_BUILTINS or name.split("/")[0] in NODE_BUILTINS:
        return None
    return name


@dataclass(frozen=True, slots=True)
class Resolution:
    file: str | None = None
    package: str | None = None


_UNRESOLVED = Resolution()


class ImportResolver:
    """Resolves import specifiers of repository files. Results are memoised per (directory, specifier)."""

    def __init__(self, layout: ProjectLayout, app_aliases: Mapping[str, list[tuple[str, str]]] | None = None) -> None:
        self.layout = layout
        self.files = layout.file_set
        #: app root -> [(prefix such as `@/` or `$lib`, repo-relative target dir)], used after tsconfig paths.
        self.app_aliases = dict(app_aliases or {})
        self._app_roots = sorted(self.app_aliases, key=len, reverse=True)
        self._memo: dict[tuple[str, str], tuple[Resolution, tuple[str, ...]]] = {}
        self._contexts: dict[str, str] = {}
        self._probed: list[str] | None = None

    def resolve(self, importer: str, spec: str) -> Resolution:
        return self.resolve_probed(importer, spec)[0]

    def resolve_probed(self, importer: str, spec: str) -> tuple[Resolution, tuple[str, ...]]:
        """The resolution and the bases probed for it (see the module docstring)."""
        slash = importer.rfind("/")
        directory = importer[:slash] if slash >= 0 else ""
        # A relative specifier depends on the directory; any other only on the directory's resolution context
        # (its tsconfig, app and package), which many directories share.
        scope = directory if spec.startswith(".") else self._context(directory)
        key = (scope, spec)
        found = self._memo.get(key)
        if found is None:
            probed: list[str] = []
            self._probed = probed
            try:
                resolution = self._resolve(directory, spec)
            finally:
                self._probed = None
            found = (resolution, tuple(dict.fromkeys(probed)))
            self._memo[key] = found
        return found

    def _context(self, directory: str) -> str:
        context = self._contexts.get(directory)
        if context is None:
            aliases = self.layout.aliases_for(directory)
            package = self.layout.nearest_package(directory)
            app = next(
                (root for root in self._app_roots if not root or directory == root or directory.startswith(root + "/")),
                "",
            )
            context = "\0".join(("ctx", aliases.config if aliases else "", package.dir if package else "-", app))
            self._contexts[directory] = context
        return context

    def resolve_file(self, importer: str, spec: str) -> str | None:
        return self.resolve(importer, spec).file

    def context_signature(self) -> str:
        """A digest of everything besides file membership that resolution depends on: tsconfig/jsconfig aliases
        (after `extends`) by folder, the resolution fields of every package.json, workspace packages and the app
        aliases. Two resolvers with the same signature resolve a specifier alike wherever the files they probe
        exist alike (see `candidate_bases`)."""
        layout = self.layout
        configs = sorted(
            (directory, config, repr(layout.aliases(config))) for directory, config in layout.config_files.items()
        )
        packages = []
        for directory in layout.package_dirs:
            package = layout.package(directory)
            packages.append(
                [directory, None if package is None else {key: package.data.get(key) for key in _RESOLUTION_FIELDS}]
            )
        document = {
            "aliases": sorted(self.app_aliases.items()),
            "configs": configs,
            "packages": packages,
            "workspaces": sorted(layout.workspace_packages.items()),
        }
        encoded = json.dumps(document, sort_keys=True, default=repr, ensure_ascii=False)
        return hashlib.sha256(encoded.encode("utf-8", "surrogateescape")).hexdigest()

    # -- strategy --------------------------------------------------------------------------------------

    def _resolve(self, directory: str, spec: str) -> Resolution:
        spec = spec.split("?", 1)[0].split("#", 1)[0] if not spec.startswith("#") else spec.split("?", 1)[0]
        if not spec or spec.startswith(("http:", "https:", "//", "data:", "node:", "virtual:")):
            return _UNRESOLVED
        if spec.startswith("."):
            base = join(directory, spec)
            return Resolution(file=self.file_for(base)) if base is not None else _UNRESOLVED
        if spec.startswith("/"):
            return Resolution(file=self.file_for(spec.lstrip("/")))
        if spec.startswith("#"):
            return Resolution(file=self._package_imports(directory, spec))
        aliased = self._tsconfig(directory, spec)
        if aliased is not None:
            return Resolution(file=aliased)
        aliased = self._app_alias(directory, spec)
        if aliased is not None:
            return Resolution(file=aliased)
        workspace = self._workspace_package(spec)
        if workspace is not None:
            return workspace
        return Resolution(package=package_name(spec))

    def file_for(self, base: str | None) -> str | None:
        """A repository file for a path written without (or with an output) extension, or as a folder."""
        if base is None:
            return None
        if self._probed is not None:
            self._probed.append(base)
        files = self.files
        if base in files:
            return base
        for ext in RESOLVE_EXTENSIONS:
            if base + ext in files:
                return base + ext
        dot = base.rfind(".")
        if dot > base.rfind("/"):
            for source_ext in _OUTPUT_TO_SOURCE.get(base[dot:], ()):
                if base[:dot] + source_ext in files:
                    return base[:dot] + source_ext
        prefix = base + "/index" if base else "index"
        for ext in RESOLVE_EXTENSIONS:
            if prefix + ext in files:
                return prefix + ext
        return None

    def _tsconfig(self, directory: str, spec: str) -> str | None:
        aliases = self.layout.aliases_for(directory)
        if aliases is None:
            return None
        for pattern, targets in aliases.paths:
            star = pattern.find("*")
            if star < 0:
                if spec != pattern:
                    continue
                captured = ""
            else:
                prefix, suffix = pattern[:star], pattern[star + 1 :]
                if not (spec.startswith(prefix) and spec.endswith(suffix) and len(spec) >= len(prefix) + len(suffix)):
                    continue
                captured = spec[len(prefix) : len(spec) - len(suffix)]
            for target in targets:
                found = self.file_for(target.replace("*", captured, 1))
                if found is not None:
                    return found
            return None
        if aliases.base_url is not None:
            return self.file_for(join(aliases.base_url, spec))
        return None

    def _app_alias(self, directory: str, spec: str) -> str | None:
        for root in self._app_roots:
            if root and not (directory == root or directory.startswith(root + "/")):
                continue
            for prefix, target in self.app_aliases[root]:
                if spec == prefix or spec.startswith(prefix.rstrip("/") + "/"):
                    rest = spec[len(prefix.rstrip("/")) :].lstrip("/")
                    found = self.file_for(posixpath.join(target, rest) if rest else target)
                    if found is not None:
                        return found
            return None
        return None

    def _package_imports(self, directory: str, spec: str) -> str | None:
        package = self.layout.nearest_package(directory)
        if package is None:
            return None
        imports = package.data.get("imports")
        if not isinstance(imports, dict):
            return None
        target = _match_subpath(imports, spec)
        if target is None:
            return None
        return self._source_for(join(package.dir, target))

    def _workspace_package(self, spec: str) -> Resolution | None:
        for name, directory in self.layout.workspace_packages.items():
            if spec != name and not spec.startswith(name + "/"):
                continue
            subpath = spec[len(name) :].lstrip("/")
            package = self.layout.package(directory)
            data = package.data if package is not None else {}
            found = self._package_entry(directory, data, subpath)
            return Resolution(file=found, package=None if found else name)
        return None

    def _package_entry(self, directory: str, data: dict[str, Any], subpath: str) -> str | None:
        candidates: list[str] = []
        exports = data.get("exports")
        key = "./" + subpath if subpath else "."
        if isinstance(exports, str) and not subpath:
            candidates.append(exports)
        elif isinstance(exports, dict):
            if any(k.startswith(".") for k in exports):
                target = _match_subpath(exports, key)
            else:  # a conditions object for "."
                target = _pick_condition(exports) if not subpath else None
            if target is not None:
                candidates.append(target)
        if not subpath:
            candidates.extend(
                str(data[k])
                for k in ("source", "svelte", "module", "main", "types", "typings")
                if isinstance(data.get(k), str)
            )
            candidates.extend(["src/index", "index"])
        else:
            candidates.extend([subpath, "src/" + subpath])
        for candidate in candidates:
            found = self._source_for(join(directory, candidate))
            if found is not None:
                return found
        return None

    def _source_for(self, path: str | None) -> str | None:
        """The file a package target names, or its source twin when it points at build output."""
        if path is None:
            return None
        found = self.file_for(path)
        if found is not None:
            return found
        for build in _BUILD_DIRS:
            marker = "/" + build
            index = ("/" + path).find(marker)
            if index < 0:
                continue
            source = (path[:index] + "/src/" + path[index + len(build) :]).lstrip("/")
            stem = source
            for ext in (".d.ts", ".mjs", ".cjs", ".js"):
                if stem.endswith(ext):
                    stem = stem[: -len(ext)]
                    break
            found = self.file_for(stem)
            if found is not None:
                return found
        return None


def candidate_bases(path: str) -> list[str]:
    """Every base for which `ImportResolver.file_for(base)` checks whether `path` exists: the exact inverse of
    its candidate list (the path itself, the path without a resolved extension, the output name of a TypeScript
    source, and the folder of an `index` file). Adding or deleting `path` can change only resolutions that
    probed one of these."""
    bases = [path]
    for ext in RESOLVE_EXTENSIONS:
        if path.endswith(ext):
            bases.append(path[: -len(ext)])
    for output_ext, source_exts in _OUTPUT_TO_SOURCE.items():
        for source_ext in source_exts:
            if path.endswith(source_ext):
                bases.append(path[: -len(source_ext)] + output_ext)
    slash = path.rfind("/")
    name = path[slash + 1 :]
    if name.startswith("index") and name[len("index") :] in RESOLVE_EXTENSIONS:
        bases.append(path[:slash] if slash >= 0 else "")
    return bases


def _match_subpath(mapping: dict[str, Any], key: str) -> str | None:
    """Node's `exports`/`imports` matching: exact keys first, then the longest `*` pattern."""
    if key in mapping:
        return _pick_condition(mapping[key])
    best: tuple[int, str, Any] | None = None
    for pattern, target in mapping.items():
        star = pattern.find("*")
        if star < 0:
            continue
        prefix, suffix = pattern[:star], pattern[star + 1 :]
        if key.startswith(prefix) and key.endswith(suffix) and len(key) >= len(prefix) + len(suffix):
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), key[len(prefix) : len(key) - len(suffix)], target)
    if best is None:
        return None
    picked = _pick_condition(best[2])
    return picked.replace("*", best[1]) if picked is not None else None


def _pick_condition(target: Any) -> str | None:
    if isinstance(target, str):
        return target
    if isinstance(target, list):
        for item in target:
            picked = _pick_condition(item)
            if picked is not None:
                return picked
        return None
    if isinstance(target, dict):
        for condition in _CONDITIONS:
            if condition in target:
                picked = _pick_condition(target[condition])
                if picked is not None:
                    return picked
        for value in target.values():
            picked = _pick_condition(value)
            if picked is not None:
                return picked
    return None


@dataclass(slots=True)
class ImportGraph:
    #: file -> repository files it imports (resolved, sorted, without itself).
    imports: dict[str, list[str]]
    #: file -> external package names it imports (sorted).
    packages: dict[str, list[str]]
    #: file -> bases probed to resolve its specifiers (files resolved in this run; see `candidate_bases`).
    probes: dict[str, tuple[str, ...]] = field(default_factory=dict)


#: path -> [blob sha, resolved files, packages] from an earlier run in the same resolution context.
ResolvedFiles = Mapping[str, list[Any]]


def build_import_graph(
    facts: Mapping[str, FileFacts],
    resolver: ImportResolver,
    *,
    previous: ResolvedFiles | None = None,
    blob_sha: Callable[[str], str] | None = None,
) -> ImportGraph:
    """Resolve every file's import specifiers; unresolved relative imports are dropped silently.

    With `previous` (an earlier graph of the same resolution context) and `blob_sha`, a file whose content
    is unchanged keeps its earlier resolution instead of being resolved again.
    """
    imports: dict[str, list[str]] = {}
    packages: dict[str, list[str]] = {}
    probes: dict[str, tuple[str, ...]] = {}
    resolve = resolver.resolve_probed
    for path, file_facts in facts.items():
        if not file_facts.imports:
            continue
        earlier = previous.get(path) if previous is not None and blob_sha is not None else None
        if earlier is not None and blob_sha is not None and earlier[0] == blob_sha(path):
            if earlier[1]:
                imports[path] = earlier[1]
            if earlier[2]:
                packages[path] = earlier[2]
            continue
        targets: set[str] = set()
        names: set[str] = set()
        probed: list[str] = []
        for spec, _kind in file_facts.imports:
            found, bases = resolve(path, spec)
            probed += bases
            if found.file is not None:
                if found.file != path:
                    targets.add(found.file)
            elif found.package is not None:
                names.add(found.package)
        if targets:
            imports[path] = sorted(targets)
        if names:
            packages[path] = sorted(names)
        if probed:
            probes[path] = tuple(dict.fromkeys(probed)) if len(probed) > 1 else tuple(probed)
    return ImportGraph(imports, packages, probes)


def reverse_imports(imports: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    """file -> files that import it directly."""
    reverse: dict[str, set[str]] = {}
    for source, targets in imports.items():
        for target in targets:
            reverse.setdefault(target, set()).add(source)
    return reverse
