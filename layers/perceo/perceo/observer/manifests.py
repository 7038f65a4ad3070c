"""Dependency manifests and lockfiles, diffed per package.

A lockfile that changes is not a reason to call every page at risk: the bump of one package matters to the files
that import it. `diff_manifest(path, old, new)` returns the package names a change touches:

- `package.json`: packages added, removed or changed in `dependencies`, `devDependencies`, `peerDependencies`,
  `optionalDependencies`, `overrides` and `resolutions`. A change to a key that changes how the app builds or
  resolves modules (`type`, `exports`, `browserslist`…) is global instead; metadata keys (`scripts`, `version`…)
  change nothing at run time.
- `package-lock.json`/`npm-shrinkwrap.json` (v1–v3), `yarn.lock` (v1 and Berry) and `pnpm-lock.yaml`: packages whose
  locked entry changed, plus every package that depends on one of them (transitively, through `dependencies` and
  `optionalDependencies`), so that a bump of a transitive dependency reaches the direct dependency the code imports.

A file we cannot parse is reported as global: over-reporting beats a silent miss.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

PACKAGE_MANIFESTS = frozenset({"package.json"})
LOCKFILES = frozenset(
    {"package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "bun.lock"}
)
DEPENDENCY_FILES = PACKAGE_MANIFESTS | LOCKFILES

_DEPENDENCY_SECTIONS = (
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
    "overrides",
    "resolutions",
)
#: package.json keys that do not change what the app does at run time.
_METADATA_KEYS = frozenset(
    {
        "name",
        "version",
        "description",
        "scripts",
        "keywords",
        "author",
        "contributors",
        "maintainers",
        "license",
        "repository",
        "bugs",
        "homepage",
        "funding",
        "private",
        "files",
        "publishConfig",
        "engines",
        "packageManager",
        "workspaces",
        "volta",
        "prettier",
        "eslintConfig",
        "lint-staged",
        "husky",
        "jest",
        "peerDependenciesMeta",
    }
)


@dataclass(frozen=True)
class ManifestChange:
    """What a change to one dependency file means: these packages changed, or (global) everything may have."""

    path: str
    packages: frozenset[str] = field(default_factory=frozenset)
    global_change: bool = False

    @property
    def scope(self) -> str:
        """The directory whose files the change can reach ("" for the repository root)."""
        parent = str(PurePosixPath(self.path).parent)
        return "" if parent == "." else parent


def is_dependency_file(path: str) -> bool:
    return PurePosixPath(path).name in DEPENDENCY_FILES


def diff_manifest(path: str, old: bytes | None, new: bytes | None) -> ManifestChange:
    """The packages a change of a manifest or lockfile touches (None content: the file does not exist there)."""
    name = PurePosixPath(path).name
    try:
        if name in PACKAGE_MANIFESTS:
            return _diff_package_json(path, old, new)
        if name in ("package-lock.json", "npm-shrinkwrap.json"):
            return _diff_locked(path, _npm_lock(old), _npm_lock(new))
        if name == "yarn.lock":
            return _diff_locked(path, _yarn_lock(old), _yarn_lock(new))
        if name == "pnpm-lock.yaml":
            return _diff_locked(path, _pnpm_lock(old), _pnpm_lock(new))
    except (ValueError, TypeError, AttributeError):
        pass
    return ManifestChange(path=path, global_change=True)


def _diff_package_json(path: str, old: bytes | None, new: bytes | None) -> ManifestChange:
    before: dict[str, Any] = json.loads(old) if old else {}
    after: dict[str, Any] = json.loads(new) if new else {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise ValueError("package.json is not an object")
    packages: set[str] = set()
    for section in _DEPENDENCY_SECTIONS:
        a, b = before.get(section) or {}, after.get(section) or {}
        packages |= {name for name in a.keys() | b.keys() if a.get(name) != b.get(name)}
    other_keys = (before.keys() | after.keys()) - set(_DEPENDENCY_SECTIONS) - _METADATA_KEYS
    global_change = any(before.get(key) != after.get(key) for key in other_keys)
    return ManifestChange(path=path, packages=frozenset(packages), global_change=global_change)


@dataclass
class LockedPackages:
    """A lockfile reduced to what impact needs: each package's locked entries, and who depends on whom."""

    #: package name -> a comparable fingerprint of all its locked entries
    entries: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    #: package name -> names of the packages it depends on
    depends_on: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add(self, name: str, fingerprint: str, dependencies: Iterable[str] = ()) -> None:
        self.entries[name].add(fingerprint)
        self.depends_on[name].update(dependencies)


def _diff_locked(path: str, before: LockedPackages, after: LockedPackages) -> ManifestChange:
    names = before.entries.keys() | after.entries.keys()
    changed = {n for n in names if before.entries.get(n, set()) != after.entries.get(n, set())}
    dependents: dict[str, set[str]] = defaultdict(set)
    for graph in (before, after):
        for name, deps in graph.depends_on.items():
            for dep in deps:
                dependents[dep].add(name)
    return ManifestChange(path=path, packages=frozenset(_upward_closure(changed, dependents)))


def _upward_closure(changed: set[str], dependents: Mapping[str, set[str]]) -> set[str]:
    reached = set(changed)
    frontier = list(changed)
    while frontier:
        for parent in dependents.get(frontier.pop(), ()):
            if parent not in reached:
                reached.add(parent)
                frontier.append(parent)
    return reached


def _fingerprint(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _npm_package_name(key: str) -> str | None:
    marker = "node_modules/"
    position = key.rfind(marker)
    return key[position + len(marker) :] if position >= 0 else None


def _npm_lock(content: bytes | None) -> LockedPackages:
    locked = LockedPackages()
    if not content:
        return locked
    data = json.loads(content)
    packages: dict[str, Any] = data.get("packages") or {}
    if packages:  # lockfileVersion 2 and 3
        for key, entry in packages.items():
            name = _npm_package_name(key)
            if name is None or not isinstance(entry, dict):
                continue  # the root ("") and workspace folders: their own package.json says what they need
            deps = [*(entry.get("dependencies") or {}), *(entry.get("optionalDependencies") or {})]
            locked.add(
                name, _fingerprint({k: entry.get(k) for k in ("version", "resolved", "integrity", "link")}), deps
            )
        return locked
    _npm_v1(data.get("dependencies") or {}, locked)  # lockfileVersion 1: nested "dependencies"
    return locked


def _npm_v1(dependencies: Mapping[str, Any], locked: LockedPackages) -> None:
    for name, entry in dependencies.items():
        if not isinstance(entry, dict):
            continue
        locked.add(name, _fingerprint([entry.get("version"), entry.get("integrity")]), (entry.get("requires") or {}))
        _npm_v1(entry.get("dependencies") or {}, locked)


def _descriptor_name(descriptor: str) -> str:
    """`@scope/pkg@^1.0.0` -> `@scope/pkg`, `pkg@npm:1.2.3` -> `pkg`."""
    descriptor = descriptor.strip().strip('"').strip("'")
    at = descriptor.find("@", 1)
    return descriptor[:at] if at > 0 else descriptor


_YARN_DEP_LINE = re.compile(r'^\s+(?:"([^"]+)"|([^\s:"]+)):?\s')


def _yarn_lock(content: bytes | None) -> LockedPackages:
    """yarn.lock v1 (its own format) and Berry (YAML): blocks keyed by descriptors, split by indentation."""
    locked = LockedPackages()
    if not content:
        return locked
    for key, body in _top_level_blocks(content.decode("utf-8", "replace")):
        if key.startswith("__metadata"):
            continue
        names = {_descriptor_name(d) for d in key.rstrip(":").split(",") if d.strip()}
        deps: list[str] = []
        in_deps = False
        for line in body:
            stripped = line.strip()
            if line.startswith("  ") and not line.startswith("    "):
                in_deps = stripped.rstrip(":") in ("dependencies", "optionalDependencies")
            elif in_deps and (match := _YARN_DEP_LINE.match(line)):
                deps.append(match.group(1) or match.group(2))
        fingerprint = "\n".join(body)
        for name in names:
            locked.add(name, fingerprint, deps)
    return locked


def _top_level_blocks(text: str) -> Iterable[tuple[str, list[str]]]:
    key: str | None = None
    body: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            if key is not None:
                yield key, body
            key, body = line.strip(), []
        else:
            body.append(line.rstrip())
    if key is not None:
        yield key, body


def _pnpm_package_name(key: str) -> str:
    """`/@scope/pkg@1.0.0(react@18.2.0)` (v6), `pkg@1.0.0` (v9) or `/pkg/1.0.0` (v5) -> the package name."""
    key = str(key).strip("'\"").lstrip("/").split("(", 1)[0]
    at = key.find("@", 1)
    if at > 0:
        return key[:at]
    parts = key.split("/")
    return "/".join(parts[:-1]) if len(parts) > 1 else key


def _pnpm_lock(content: bytes | None) -> LockedPackages:
    locked = LockedPackages()
    if not content:
        return locked
    import yaml  # only pnpm lockfiles need it: `ci analyze` starts faster without

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(content, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise ValueError(f"pnpm-lock.yaml is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("pnpm-lock.yaml is not a mapping")
    for section in ("packages", "snapshots"):
        for key, entry in (data.get(section) or {}).items():
            entry = entry if isinstance(entry, dict) else {}
            deps = [*(entry.get("dependencies") or {}), *(entry.get("optionalDependencies") or {})]
            locked.add(_pnpm_package_name(key), f"{section}:{key}:{_fingerprint(entry)}", deps)
    importers: dict[str, Any] = dict(data.get("importers") or {})
    if "dependencies" in data or "devDependencies" in data:  # v5 single-project lockfile
        importers["."] = data
    for importer in importers.values():
        for section in ("dependencies", "devDependencies", "optionalDependencies"):
            for name, spec in ((importer or {}).get(section) or {}).items():
                locked.add(name, f"direct:{_fingerprint(spec)}")
    return locked
