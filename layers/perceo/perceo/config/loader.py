"""Load, layer, resolve and validate `.perceo/config.json`; set one value in it.

Rules (the same for the CLI and anything else that reads a project's config):

- The base file is `PERCEO_CONFIG_PATH` (absolute, or relative to the project directory) when set, else
  `<project>/.perceo/config.json`. A missing default file means "all defaults"; a missing file that
  `PERCEO_CONFIG_PATH` names explicitly is an error. An empty file is an empty object.
- When `PERCEO_ENV` is `local` (any case) or `NODE_ENV` is `development`, `config.local.json` from the
  base file's folder is deep-merged on top: objects merge key by key, arrays replace, scalars and null
  overwrite.
- Files are JSON5: comments, trailing commas, single quotes and unquoted keys are fine. Duplicate keys
  are an error (one of them would be silently lost).
- In string values, `${VAR}` is replaced by the environment variable (also inside longer strings);
  `$${VAR}` is a literal `${VAR}`. A string starting with `file:` is replaced by that file's content
  (path relative to the config file's folder, `~` expanded, `${VAR}` allowed in the path, trailing
  line breaks stripped; the content itself is not interpolated).
- Every problem is a `ConfigError` naming the file, the camelCase key path and the reason, one line per
  problem, all problems at once.

`set_config_value` edits the base file only (never `config.local.json`). It keeps the file's comments and
layout by editing the text in place; if the result does not re-parse to exactly the expected data (a
layout the editor does not handle), it rewrites the file as plain JSON, losing comments, and says so
(`ConfigChange.comments_kept`).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import json5
from pydantic import ValidationError

from perceo.config.jsonedit import DocumentEditError, Node, line_and_column, scan, set_in_document
from perceo.config.keypaths import (
    Segment,
    format_key_path,
    model_at,
    parse_key_path,
    path_exists,
    schema_at,
    suggest_key,
    value_at,
)
from perceo.config.model import PerceoConfig
from perceo.config.validation import describe_error
from perceo.errors import ConfigError

logger = logging.getLogger(__name__)

CONFIG_DIR = ".perceo"
CONFIG_FILE = "config.json"
LOCAL_CONFIG_FILE = "config.local.json"
CONFIG_PATH_VARIABLE = "PERCEO_CONFIG_PATH"


@dataclass(frozen=True)
class LoadedConfig:
    config: PerceoConfig
    #: The base file (it may not exist: then the config is all defaults).
    path: Path
    #: The files merged, base first.
    sources: list[Path]
    #: The merged file contents before `${VAR}`/`file:` resolution (so it holds no resolved secret).
    raw: dict[str, Any]


@dataclass(frozen=True)
class ConfigChange:
    """What `set_config_value` did."""

    path: Path
    key: str
    #: The value the base file held before (as written, unresolved), or None when `had_value` is False.
    old: Any
    had_value: bool
    new: Any
    #: False when the file had to be rewritten as plain JSON, dropping its comments.
    comments_kept: bool
    #: `config.local.json` when it is active and sets the same key, so the effective value differs.
    overridden_by: Path | None


@dataclass(frozen=True)
class _Layer:
    path: Path
    data: dict[str, Any]


# --- where the files are -------------------------------------------------------------------------------


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def config_file_path(project_dir: Path, *, env: Mapping[str, str] | None = None) -> Path:
    """The base config file for `project_dir` (whether or not it exists)."""
    return _base_path(Path(project_dir), _environ(env))[0]


def local_overrides_enabled(env: Mapping[str, str] | None = None) -> bool:
    environ = _environ(env)
    return (
        environ.get("PERCEO_ENV", "").strip().lower() == "local" or environ.get("NODE_ENV", "").strip() == "development"
    )


def _base_path(project_dir: Path, env: Mapping[str, str]) -> tuple[Path, bool]:
    override = env.get(CONFIG_PATH_VARIABLE, "").strip()
    if override:
        path = Path(override).expanduser()
        return (path if path.is_absolute() else project_dir / path), True
    return project_dir / CONFIG_DIR / CONFIG_FILE, False


def _shown(path: Path, project_dir: Path) -> str:
    """A path as the user thinks of it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


# --- reading and parsing -------------------------------------------------------------------------------

# json5 raises a bare ValueError whose text is the only carrier of the position and the duplicate key.
_JSON5_POSITION = re.compile(r"<string>:(\d+) (.*) at column (\d+)", re.DOTALL)
_JSON5_DUPLICATE = re.compile(r'Duplicate key "(.*)" found in object', re.DOTALL)


def _read_text(path: Path, shown: str) -> str | None:
    """The file's text, or None when it does not exist."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ConfigError(f"{shown}: is a directory, not a config file", details={"file": shown}) from None
    except OSError as error:
        raise ConfigError(f"{shown}: cannot read: {error.strerror}", details={"file": shown}) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{shown}: not UTF-8 text (byte {error.start})", details={"file": shown}) from None


def parse_document(text: str, shown: str) -> dict[str, Any]:
    """Parse a JSON5 config document; `shown` names the file in errors."""
    if not text.strip():
        return {}
    try:
        data = json5.loads(text, allow_duplicate_keys=False)
    except ValueError as error:
        raise _syntax_error(str(error), text, shown) from None
    except RecursionError:
        raise ConfigError(f"{shown}: nested too deeply", details={"file": shown}) from None
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise ConfigError(f"{shown}: the top level must be an object {{...}}, not {kind}", details={"file": shown})
    return data


def _readable_reason(reason: str) -> str:
    reason = reason.replace('"\n"', "line break").replace('"\r"', "line break").replace('"\t"', "tab")
    return reason[:1].lower() + reason[1:]


def _syntax_error(message: str, text: str, shown: str) -> ConfigError:
    position = _JSON5_POSITION.fullmatch(message)
    if position is not None:
        line, column = int(position.group(1)), int(position.group(3))
        reason = _readable_reason(position.group(2))
        return ConfigError(
            f"{shown}:{line}:{column}: invalid JSON: {reason}",
            details={"file": shown, "line": line, "column": column, "reason": reason},
        )
    duplicate = _JSON5_DUPLICATE.fullmatch(message)
    if duplicate is not None:
        found = _find_duplicate_key(text)
        if found is not None:
            segments, offset = found
            line, column = line_and_column(text, offset)
            key = format_key_path(segments)
            return ConfigError(
                f"{shown}:{line}:{column}: duplicate key '{key}'",
                details={"file": shown, "line": line, "column": column, "key": key},
            )
        return ConfigError(f"{shown}: duplicate key '{duplicate.group(1)}'", details={"file": shown})
    return ConfigError(f"{shown}: invalid JSON: {_readable_reason(message)}", details={"file": shown})


def _find_duplicate_key(text: str) -> tuple[list[Segment], int] | None:
    try:
        root = scan(text)
    except (DocumentEditError, ValueError):
        return None
    return _duplicate_in(root, [])


def _duplicate_in(node: Node, path: list[Segment]) -> tuple[list[Segment], int] | None:
    seen: set[str] = set()
    for member in node.members:
        if member.key in seen:
            return [*path, member.key], member.key_start
        seen.add(member.key)
    for member in node.members:
        found = _duplicate_in(member.value, [*path, member.key])
        if found is not None:
            return found
    for index, item in enumerate(node.items):
        found = _duplicate_in(item, [*path, index])
        if found is not None:
            return found
    return None


def _read_document(path: Path, project_dir: Path) -> tuple[str, dict[str, Any]] | None:
    shown = _shown(path, project_dir)
    text = _read_text(path, shown)
    return None if text is None else (text, parse_document(text, shown))


def _missing_explicit_file(path: Path, project_dir: Path, env: Mapping[str, str]) -> ConfigError:
    shown = _shown(path, project_dir)
    return ConfigError(
        f"{shown}: config file not found ({CONFIG_PATH_VARIABLE}={env.get(CONFIG_PATH_VARIABLE, '').strip()})",
        details={"file": shown},
    )


def _local_layer(base: Path, project_dir: Path, env: Mapping[str, str]) -> list[_Layer]:
    if not local_overrides_enabled(env):
        return []
    local = base.parent / LOCAL_CONFIG_FILE
    document = _read_document(local, project_dir)
    return [] if document is None else [_Layer(local, document[1])]


# --- merging and resolving -----------------------------------------------------------------------------


def deep_merge(base: Any, override: Any) -> Any:
    """Objects merge key by key; anything else in `override` (arrays, scalars, null) replaces `base`."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def _merge_layers(layers: Sequence[_Layer]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = deep_merge(merged, layer.data)
    return merged


_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FILE_PREFIX = "file:"


class _Resolver:
    """Resolves `${VAR}` and `file:` in string values, collecting every problem with its key path.

    Not strict (used by `set` to validate before writing): a missing variable or file is left as written,
    since it may exist only where the config is used (CI, a teammate's machine).
    """

    def __init__(self, env: Mapping[str, str], folder: Path, *, strict: bool) -> None:
        self.env = env
        self.folder = folder
        self.strict = strict
        self.problems: list[tuple[list[Segment], str]] = []

    def resolve(self, value: Any, path: list[Segment]) -> Any:
        if isinstance(value, dict):
            return {key: self.resolve(item, [*path, key]) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, [*path, index]) for index, item in enumerate(value)]
        if isinstance(value, str):
            return self._string(value, path)
        return value

    def _string(self, value: str, path: list[Segment]) -> str:
        if value.startswith(FILE_PREFIX):
            reference = self._interpolate(value[len(FILE_PREFIX) :], path)
            return value if reference is None else self._read_file(reference, value, path)
        interpolated = self._interpolate(value, path)
        return value if interpolated is None else interpolated

    def _interpolate(self, text: str, path: list[Segment]) -> str | None:
        failed = False

        def substitute(match: re.Match[str]) -> str:
            nonlocal failed
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if not _VARIABLE_NAME.fullmatch(name):
                self.problems.append(
                    (path, f"'${{{name}}}' is not a valid variable reference (write $${{...}} for a literal ${{...}})")
                )
                failed = True
            elif name in self.env:
                return self.env[name]
            elif self.strict:
                self.problems.append((path, f"environment variable {name} is not set"))
                failed = True
            return match.group(0)

        result = _REFERENCE.sub(substitute, text)
        return None if failed else result

    def _read_file(self, reference: str, original: str, path: list[Segment]) -> str:
        file = Path(reference).expanduser()
        if not file.is_absolute():
            file = self.folder / file
        try:
            return file.read_text(encoding="utf-8").rstrip("\r\n")
        except FileNotFoundError:
            problem = f"file {reference} not found (looked for {file})"
        except IsADirectoryError:
            problem = f"file {reference} is a directory"
        except UnicodeDecodeError:
            problem = f"file {reference} is not UTF-8 text"
        except OSError as error:
            problem = f"cannot read file {reference}: {error.strerror}"
        if self.strict:
            self.problems.append((path, problem))
        return original


# --- validation ----------------------------------------------------------------------------------------


def _source_of(segments: Sequence[Segment], layers: Sequence[_Layer]) -> Path | None:
    """The last file that sets `segments` (or the longest prefix of it)."""
    for size in range(len(segments), 0, -1):
        for layer in reversed(layers):
            if path_exists(layer.data, segments[:size]):
                return layer.path
    return None


def _problems_error(
    problems: Sequence[tuple[Sequence[Segment], str]], layers: Sequence[_Layer], base: Path, project_dir: Path
) -> ConfigError:
    lines: list[str] = []
    items: list[dict[str, str]] = []
    for segments, reason in problems:
        shown = _shown(_source_of(segments, layers) or base, project_dir)
        key = format_key_path(segments) or "(top level)"
        lines.append(f"{shown}: {key}: {reason}")
        items.append({"file": shown, "key": key, "reason": reason})
    return ConfigError("\n".join(lines), details={"errors": items})


def _validation_problems(error: ValidationError) -> list[tuple[list[Segment], str]]:
    problems: list[tuple[list[Segment], str]] = []
    for detail in error.errors(include_url=False):
        segments: list[Segment] = list(detail["loc"])
        reason = describe_error(detail)
        if detail["type"] == "extra_forbidden" and segments and isinstance(segments[-1], str):
            parent = model_at(segments[:-1])
            guess = suggest_key(parent, segments[-1]) if parent is not None else None
            if guess is not None:
                reason += f" (did you mean '{guess}'?)"
        problems.append((segments, reason))
    return problems


def _build(
    raw: dict[str, Any],
    layers: Sequence[_Layer],
    base: Path,
    env: Mapping[str, str],
    project_dir: Path,
    *,
    strict: bool,
) -> PerceoConfig:
    resolver = _Resolver(env, base.parent, strict=strict)
    resolved = resolver.resolve(raw, [])
    if resolver.problems:
        raise _problems_error(resolver.problems, layers, base, project_dir)
    try:
        return PerceoConfig.model_validate(resolved)
    except ValidationError as error:
        raise _problems_error(_validation_problems(error), layers, base, project_dir) from None


# --- public API ----------------------------------------------------------------------------------------


def load_config(project_dir: Path, *, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, merge, resolve and validate the project's config. `env` defaults to `os.environ`."""
    environ = _environ(env)
    project_dir = Path(project_dir)
    base, explicit = _base_path(project_dir, environ)
    layers: list[_Layer] = []
    document = _read_document(base, project_dir)
    if document is not None:
        layers.append(_Layer(base, document[1]))
    elif explicit:
        raise _missing_explicit_file(base, project_dir, environ)
    layers += _local_layer(base, project_dir, environ)
    raw = _merge_layers(layers)
    config = _build(raw, layers, base, environ, project_dir, strict=True)
    return LoadedConfig(config=config, path=base, sources=[layer.path for layer in layers], raw=raw)


def parse_cli_value(raw_value: str) -> Any:
    """A command-line value: JSON when it parses (numbers, true/false/null, arrays, objects), else the string."""
    try:
        return json.loads(raw_value, parse_constant=_reject_constant)
    except ValueError:
        return raw_value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a config value")


def _with_value(data: dict[str, Any], path: Sequence[str], value: Any) -> dict[str, Any]:
    updated = copy.deepcopy(data)
    current = updated
    for depth, key in enumerate(path[:-1]):
        child = current.get(key)
        if child is not None and not isinstance(child, dict):
            # e.g. `analytics.credentials.propertyId` while the file holds `"credentials": "${GA4_KEY}"`
            whole = format_key_path(list(path[: depth + 1]))
            raise ConfigError(
                f"cannot set '{format_key_path(list(path))}': '{whole}' is not an object in the file; "
                f"set the whole value, e.g. perceo config set {whole} '{{...}}'",
                details={"key": format_key_path(list(path))},
            )
        if child is None:
            child = current[key] = {}
        current = child
    current[path[-1]] = value
    return updated


def _render(text: str | None, updated: dict[str, Any], path: Sequence[str], value: Any) -> tuple[str, bool]:
    """The new file text, and whether the old text's comments and layout were kept."""
    plain = json.dumps(updated, indent=2, ensure_ascii=False) + "\n"
    if text is None or not text.strip():
        return plain, True
    try:
        edited = set_in_document(text, path, value)
        if json5.loads(edited, allow_duplicate_keys=False) == updated:
            return edited, True
    except (DocumentEditError, ValueError, RecursionError):
        pass
    logger.warning("config file rewritten as plain JSON; its comments were not kept")
    return plain, False


def _write_atomically(path: Path, text: str, shown: str) -> None:
    target = path.resolve()  # through a symlink, not over it
    temporary: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        temporary = Path(name)
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        temporary.chmod(target.stat().st_mode & 0o7777 if target.exists() else 0o644)
        temporary.replace(target)
    except OSError as error:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise ConfigError(f"{shown}: cannot write: {error.strerror}", details={"file": shown}) from None


def set_config_value(
    project_dir: Path, key_path: str, raw_value: str, *, env: Mapping[str, str] | None = None
) -> ConfigChange:
    """Set one camelCase dotted key in the base config file, validating the whole result before writing.

    An invalid result raises `ConfigError` and leaves the file byte-identical.
    """
    environ = _environ(env)
    project_dir = Path(project_dir)
    segments = parse_key_path(key_path)
    if any(isinstance(segment, int) for segment in segments):
        whole = format_key_path(segments[: next(i for i, s in enumerate(segments) if isinstance(s, int))])
        raise ConfigError(
            f"cannot set an item inside a list ('{key_path}'): set the whole list, e.g. "
            f'perceo config set {whole} \'["a", "b"]\'',
            details={"key": key_path},
        )
    schema_at(segments)
    path = [str(segment) for segment in segments]
    key = format_key_path(segments)
    value = parse_cli_value(raw_value)

    base, explicit = _base_path(project_dir, environ)
    shown = _shown(base, project_dir)
    text = _read_text(base, shown)
    if text is None and explicit:
        raise _missing_explicit_file(base, project_dir, environ)
    data = parse_document(text or "", shown)
    had_value = path_exists(data, segments)
    old = value_at(data, segments) if had_value else None

    updated = _with_value(data, path, value)
    local = _local_layer(base, project_dir, environ)
    layers = [_Layer(base, updated), *local]
    _build(_merge_layers(layers), layers, base, environ, project_dir, strict=False)

    new_text, comments_kept = _render(text, updated, path, value)
    _write_atomically(base, new_text, shown)
    overridden_by = next((layer.path for layer in local if path_exists(layer.data, segments)), None)
    return ConfigChange(
        path=base,
        key=key,
        old=old,
        had_value=had_value,
        new=value,
        comments_kept=comments_kept,
        overridden_by=overridden_by,
    )


def save_config_value(
    project_dir: Path, key_path: str, raw_value: str, *, env: Mapping[str, str] | None = None
) -> Path:
    """`perceo config set KEY VALUE`: set the key in the base file and return that file's path."""
    return set_config_value(project_dir, key_path, raw_value, env=env).path
