"""The shape of a JS/TS repository: package.json files, workspaces, tsconfig/jsconfig path aliases.

Everything is read from a `RepoSnapshot`, so it describes the same commit as the facts do.
Broken JSON is reported as a warning naming the file and skipped: one bad package.json must not stop
discovery of the rest of a monorepo.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from perceo.observer.snapshot import RepoSnapshot

_TSCONFIG_NAMES = ("tsconfig.json", "jsconfig.json")


@dataclass(frozen=True, slots=True)
class PackageJson:
    dir: str  # "" for the repository root
    data: dict[str, Any]

    @property
    def name(self) -> str | None:
        name = self.data.get("name")
        return name if isinstance(name, str) else None

    @property
    def dependencies(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for key in ("peerDependencies", "optionalDependencies", "devDependencies", "dependencies"):
            section = self.data.get(key)
            if isinstance(section, dict):
                merged.update({str(k): str(v) for k, v in section.items()})
        return merged


@dataclass(slots=True)
class PathAliases:
    """Resolved `compilerOptions.baseUrl`/`paths` of one tsconfig (after `extends`), repo-relative."""

    config: str
    base_url: str | None = None
    #: (pattern, targets) with targets repo-relative; patterns keep their single `*`.
    paths: list[tuple[str, list[str]]] = field(default_factory=list)


def join(base: str, relative: str) -> str | None:
    """`base`/`relative` normalised as a repo-relative POSIX path; None when it leaves the repository."""
    if relative.startswith("/"):
        return None
    if "//" not in relative and "/." not in relative and not relative.endswith("/"):
        # the common shapes `./x/y`, `../../x`, `x/y` without posixpath's general normalisation
        parts = base.split("/") if base else []
        pieces = relative.split("/")
        index = 0
        while index < len(pieces) and pieces[index] in (".", ".."):
            if pieces[index] == "..":
                if not parts:
                    return None
                parts.pop()
            index += 1
        rest = pieces[index:]
        if all(piece not in ("", ".", "..") for piece in rest):
            return "/".join(parts + rest)
    joined = posixpath.normpath(posixpath.join(base, relative)) if base else posixpath.normpath(relative)
    if joined == ".":
        return ""
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def parent_dir(path: str) -> str:
    return posixpath.dirname(path)


def _named(path: str, name: str) -> bool:
    return path == name or path.endswith("/" + name)


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """A workspace glob (`apps/*`, `packages/**`) as a regex over directory paths."""
    pattern = pattern.strip().strip("/")
    if pattern.startswith("./"):
        pattern = pattern[2:]
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("^" + "".join(out) + "$")


class ProjectLayout:
    """Package manifests, workspaces and path aliases of one snapshot."""

    def __init__(self, snapshot: RepoSnapshot, files: list[str] | None = None) -> None:
        self.snapshot = snapshot
        self.files = files if files is not None else snapshot.files()
        self.file_set = frozenset(self.files)
        self.warnings: list[str] = []
        self._packages: dict[str, PackageJson | None] = {}
        self._aliases: dict[str, PathAliases | None] = {}
        self._nearest_alias: dict[str, PathAliases | None] = {}
        self._nearest_package: dict[str, PackageJson | None] = {}
        # `endswith` first: a large repository has a hundred thousand paths and a handful of manifests
        self.package_dirs = sorted(
            parent_dir(f)
            for f in self.files
            if f.endswith("package.json") and _named(f, "package.json") and "node_modules/" not in f
        )
        configs = [f for f in self.files if f.endswith("config.json") and any(_named(f, n) for n in _TSCONFIG_NAMES)]
        #: directory -> its tsconfig.json, else its jsconfig.json
        self._config_dirs = {
            parent_dir(f): f for f in sorted(configs, key=lambda f: not _named(f, "tsconfig.json"), reverse=True)
        }

    # -- package.json ----------------------------------------------------------------------------------

    def package(self, directory: str) -> PackageJson | None:
        """The package.json in `directory` (repo-relative, "" for the root), if any and valid."""
        if directory in self._packages:
            return self._packages[directory]
        path = posixpath.join(directory, "package.json") if directory else "package.json"
        result: PackageJson | None = None
        if path in self.file_set:
            data = self._read_json(path, lenient=False)
            if isinstance(data, dict):
                result = PackageJson(directory, data)
        self._packages[directory] = result
        return result

    def nearest_package(self, directory: str) -> PackageJson | None:
        """The package.json of the package `directory` belongs to (walking up)."""
        if directory in self._nearest_package:
            return self._nearest_package[directory]
        found = self.package(directory)
        if found is None and directory:
            found = self.nearest_package(parent_dir(directory))
        self._nearest_package[directory] = found
        return found

    @cached_property
    def workspace_dirs(self) -> list[str]:
        """Directories of workspace packages (npm/yarn `workspaces`, pnpm-workspace.yaml, lerna.json)."""
        patterns = self._workspace_patterns()
        if not patterns:
            return []
        include = [glob_to_regex(p) for p in patterns if not p.startswith("!")]
        exclude = [glob_to_regex(p[1:]) for p in patterns if p.startswith("!")]
        return [
            d
            for d in self.package_dirs
            if d
            and "node_modules" not in d.split("/")
            and any(r.match(d) for r in include)
            and not any(r.match(d) for r in exclude)
        ]

    @cached_property
    def workspace_packages(self) -> dict[str, str]:
        """Workspace package name -> its directory."""
        packages: dict[str, str] = {}
        for directory in self.workspace_dirs:
            package = self.package(directory)
            if package is not None and package.name:
                packages.setdefault(package.name, directory)
        return packages

    def _workspace_patterns(self) -> list[str]:
        patterns: list[str] = []
        root = self.package("")
        if root is not None:
            workspaces = root.data.get("workspaces")
            if isinstance(workspaces, dict):
                workspaces = workspaces.get("packages")
            if isinstance(workspaces, list):
                patterns.extend(str(p) for p in workspaces)
        if "pnpm-workspace.yaml" in self.file_set:
            import yaml  # imported when needed: most repositories have no pnpm workspace

            try:
                data = yaml.safe_load(self.snapshot.read_text("pnpm-workspace.yaml"))
            except yaml.YAMLError as exc:
                self.warnings.append(f"pnpm-workspace.yaml: invalid YAML ({exc.__class__.__name__})")
                data = None
            if isinstance(data, dict) and isinstance(data.get("packages"), list):
                patterns.extend(str(p) for p in data["packages"])
        if "lerna.json" in self.file_set:
            data = self._read_json("lerna.json", lenient=False)
            if isinstance(data, dict) and isinstance(data.get("packages"), list):
                patterns.extend(str(p) for p in data["packages"])
        return patterns

    # -- tsconfig / jsconfig ----------------------------------------------------------------------------

    @property
    def config_files(self) -> dict[str, str]:
        """directory -> the tsconfig.json (else jsconfig.json) in it."""
        return dict(self._config_dirs)

    def aliases_for(self, directory: str) -> PathAliases | None:
        """Path aliases of the nearest tsconfig.json/jsconfig.json at or above `directory`."""
        if directory in self._nearest_alias:
            return self._nearest_alias[directory]
        config = self._config_dirs.get(directory)
        if config is not None:
            found = self.aliases(config)
        elif directory:
            found = self.aliases_for(parent_dir(directory))
        else:
            found = None
        self._nearest_alias[directory] = found
        return found

    def aliases(self, config_path: str) -> PathAliases | None:
        if config_path in self._aliases:
            return self._aliases[config_path]
        self._aliases[config_path] = None  # guards against `extends` cycles
        options = self._compiler_options(config_path, depth=0)
        result: PathAliases | None = None
        if options is not None:
            base_url, paths, paths_dir = options
            if base_url is None and not paths:
                base_url, paths, paths_dir = self._from_references(config_path)
            result = PathAliases(config_path, base_url)
            anchor = base_url if base_url is not None else paths_dir
            for pattern, targets in paths.items():
                resolved = [t for t in (join(anchor or "", target) for target in targets) if t is not None]
                result.paths.append((pattern, resolved))
            # TypeScript picks the pattern with the longest prefix before `*`.
            result.paths.sort(key=lambda item: len(item[0].split("*", 1)[0]), reverse=True)
        self._aliases[config_path] = result
        return result

    def _compiler_options(
        self, config_path: str, depth: int
    ) -> tuple[str | None, dict[str, list[str]], str | None] | None:
        """(baseUrl, paths, dir paths are relative to) after applying `extends`, all repo-relative."""
        if depth > 8:
            return None
        data = self._read_json(config_path, lenient=True)
        if not isinstance(data, dict):
            return None
        config_dir = parent_dir(config_path)
        base_url: str | None = None
        paths: dict[str, list[str]] = {}
        paths_dir: str | None = None
        extends = data.get("extends")
        for parent_spec in [extends] if isinstance(extends, str) else (extends or []):
            if not isinstance(parent_spec, str):
                continue
            parent_path = self._extends_path(config_dir, parent_spec)
            if parent_path is None:
                continue
            inherited = self._compiler_options(parent_path, depth + 1)
            if inherited is None:
                continue
            if inherited[0] is not None:
                base_url = inherited[0]
            if inherited[1]:
                paths, paths_dir = inherited[1], inherited[2]
        options = data.get("compilerOptions")
        if isinstance(options, dict):
            if isinstance(options.get("baseUrl"), str):
                base_url = join(config_dir, options["baseUrl"])
            if isinstance(options.get("paths"), dict):
                paths = {
                    str(k): [str(t) for t in v if isinstance(t, str)]
                    for k, v in options["paths"].items()
                    if isinstance(v, list)
                }
                paths_dir = config_dir
        return base_url, paths, paths_dir

    def _from_references(self, config_path: str) -> tuple[str | None, dict[str, list[str]], str | None]:
        """A solution-style tsconfig (`files: []` + `references`): take aliases from the referenced configs."""
        data = self._read_json(config_path, lenient=True)
        config_dir = parent_dir(config_path)
        references = data.get("references") if isinstance(data, dict) else None
        for reference in references if isinstance(references, list) else []:
            target = reference.get("path") if isinstance(reference, dict) else None
            if not isinstance(target, str):
                continue
            path = join(config_dir, target)
            if path is None:
                continue
            if path not in self.file_set:
                path = posixpath.join(path, "tsconfig.json") if path else "tsconfig.json"
            if path not in self.file_set:
                continue
            options = self._compiler_options(path, depth=1)
            if options is not None and (options[0] is not None or options[1]):
                return options
        return None, {}, None

    def _extends_path(self, config_dir: str, spec: str) -> str | None:
        candidates: list[str] = []
        if spec.startswith("."):
            base = join(config_dir, spec)
            if base is None:
                return None
            candidates = [base, base + ".json", posixpath.join(base, "tsconfig.json")]
        else:
            # A workspace package (`@acme/tsconfig/base.json`); packages in node_modules are not in the repo.
            for name, directory in self.workspace_packages.items():
                if spec == name or spec.startswith(name + "/"):
                    rest = spec[len(name) :].lstrip("/") or "tsconfig.json"
                    base = posixpath.join(directory, rest)
                    candidates = [base, base + ".json"]
                    break
        return next((c for c in candidates if c in self.file_set), None)

    # -- helpers -------------------------------------------------------------------------------------

    def _read_json(self, path: str, *, lenient: bool) -> Any:
        try:
            text = self.snapshot.read_text(path)
        except (OSError, KeyError):
            return None
        try:
            return json.loads(text)
        except ValueError:
            if not lenient:
                self.warnings.append(f"{path}: invalid JSON, ignored")
                return None
        try:
            import json5  # only for configs plain JSON cannot read (comments, trailing commas)

            return json5.loads(text)
        except ValueError as exc:
            self.warnings.append(f"{path}: invalid JSON ({exc}), ignored")
            return None
