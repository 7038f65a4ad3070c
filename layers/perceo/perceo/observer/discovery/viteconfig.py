"""Path aliases declared in an app's Vite config (`resolve.alias`), as (prefix, repo-relative folder) pairs.

Both spellings are read: an object (`{ "@": fileURLToPath(new URL("./src", import.meta.url)) }`,
`{ "~components": path.resolve(__dirname, "src/components") }`) and an array of `{ find, replacement }`.
A value counts when it is a string or a call whose last string argument is a relative path; regex `find`s
and computed values are skipped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from typing import Any

import tree_sitter

from perceo.observer.facts.script import Extractor
from perceo.observer.project import ProjectLayout, join

_CONFIG_NAMES = ("vite.config.ts", "vite.config.mts", "vite.config.js", "vite.config.mjs")
_ALIAS_QUERY = """
(pair key: [(property_identifier) (string)] @key value: [(object) (array)] @value)
"""


def vite_aliases(layout: ProjectLayout, extractor: Callable[[], Extractor], app_root: str) -> list[tuple[str, str]]:
    for name in _CONFIG_NAMES:
        path = posixpath.join(app_root, name) if app_root else name
        if path in layout.file_set:
            return _aliases_in(layout, extractor(), path, app_root)
    return []


def _aliases_in(layout: ProjectLayout, extractor: Extractor, path: str, app_root: str) -> list[tuple[str, str]]:
    language = extractor.languages["ts"]
    try:
        source = layout.snapshot.read_bytes(path)
    except (OSError, KeyError):
        return []
    tree = language.parser.parse(source)
    query = tree_sitter.Query(language.language, _ALIAS_QUERY)
    aliases: list[tuple[str, str]] = []
    for _index, captures in tree_sitter.QueryCursor(query).matches(tree.root_node):
        key = captures["key"][0]
        if key.text is None or key.text.decode().strip("\"'") != "alias":
            continue
        value = extractor.value(captures["value"][0])
        for find, replacement in _pairs(value):
            target = join(app_root, replacement.removeprefix("/"))
            if target is not None:
                aliases.append((find, target))
    # longest prefix first, so `@components` wins over `@`
    return sorted(aliases, key=lambda item: len(item[0]), reverse=True)


def _pairs(value: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if isinstance(value, dict) and value.get("$") == "o":
        for find, replacement in (value.get("p") or {}).items():
            target = _path_of(replacement)
            if target is not None:
                pairs.append((find, target))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item.get("$") == "o":
                props = item.get("p") or {}
                find, target = props.get("find"), _path_of(props.get("replacement"))
                if isinstance(find, str) and target is not None:
                    pairs.append((find, target))
    return pairs


def _path_of(value: Any) -> str | None:
    """`"./src"`, `fileURLToPath(new URL("./src", import.meta.url))`, `path.resolve(__dirname, "src")`."""
    if isinstance(value, str):
        return value if not value.startswith(("http:", "https:")) else None
    if isinstance(value, dict) and value.get("$") == "c":
        strings = [a for a in value.get("a") or [] if isinstance(a, str)]
        if strings:
            return strings[-1]
        for arg in value.get("a") or []:
            found = _path_of(arg)
            if found is not None:
                return found
    return None
