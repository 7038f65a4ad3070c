"""Dotted key paths (`observer.ci.parallelism`, `observer.watch.paths[0]`) over the config schema and data.

Key paths use the file's camelCase names. They are checked against the model, so `perceo config get`
and `set` reject a typo with a suggestion instead of printing nothing or writing a dead key.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo

from perceo.config.model import PerceoConfig
from perceo.errors import ConfigError

Segment = str | int

_PART = re.compile(r"([^\[\]]*)((?:\[\d+\])*)")
_INDEX = re.compile(r"\[(\d+)\]")


def parse_key_path(key_path: str) -> list[Segment]:
    """`observer.watch.paths[0]` (or `observer.watch.paths.0`) → `["observer", "watch", "paths", 0]`."""
    segments: list[Segment] = []
    for part in key_path.strip().split("."):
        match = _PART.fullmatch(part)
        if match is None or not (match.group(1) or match.group(2)):
            raise ConfigError(
                f"invalid key path {key_path!r}: use dotted camelCase names, e.g. observer.ci.parallelism",
                details={"key": key_path},
            )
        name = match.group(1)
        if name:
            segments.append(int(name) if name.isdigit() else name)
        segments.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return segments


def format_key_path(segments: Sequence[Segment]) -> str:
    text = ""
    for segment in segments:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            text += f".{segment}" if text else segment
    return text


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated[...]` and `X | None` down to X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            if len(members) != 1:
                return Any
            annotation = members[0]
        else:
            return annotation


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


def suggest_key(model: type[BaseModel], wrong: str) -> str | None:
    """The key of `model` that `wrong` most likely meant (its camelCase form, or a close spelling)."""
    by_python_name = {name: info.alias or name for name, info in model.model_fields.items()}
    if wrong in by_python_name:
        return by_python_name[wrong]
    return next(iter(difflib.get_close_matches(wrong, list(_fields_by_key(model)), n=1)), None)


def _unknown_key(segments: Sequence[Segment], depth: int, model: type[BaseModel]) -> ConfigError:
    wrong = segments[depth]
    known = _fields_by_key(model)
    parent = format_key_path(segments[:depth])
    where = f"'{parent}'" if parent else "the top level"
    message = f"unknown config key '{format_key_path(segments[: depth + 1])}'"
    guess = suggest_key(model, str(wrong))
    if guess is not None:
        message += f" (did you mean '{format_key_path([*segments[:depth], guess])}'?)"
    else:
        message += f"; keys under {where}: {', '.join(known)}"
    return ConfigError(message, details={"key": format_key_path(segments), "known": list(known)})


def schema_at(segments: Sequence[Segment], root: type[BaseModel] = PerceoConfig) -> Any:
    """The (unwrapped) type the schema declares at `segments`; ConfigError when no such key exists."""
    annotation: Any = root
    for depth, segment in enumerate(segments):
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = _fields_by_key(annotation).get(segment) if isinstance(segment, str) else None
            if info is None:
                raise _unknown_key(segments, depth, annotation)
            annotation = info.annotation
        elif origin is dict:
            annotation = get_args(annotation)[1] if get_args(annotation) else Any
        elif origin is list:
            if not isinstance(segment, int):
                here = format_key_path(segments[:depth])
                raise ConfigError(f"'{here}' is a list: index it as {here}[0]", details={"key": here})
            annotation = get_args(annotation)[0] if get_args(annotation) else Any
        elif annotation is Any:
            return Any
        else:
            here = format_key_path(segments[:depth])
            raise ConfigError(
                f"unknown config key '{format_key_path(segments[: depth + 1])}': '{here}' is a single value",
                details={"key": format_key_path(segments)},
            )
    return _unwrap(annotation)


def model_at(segments: Sequence[Segment], root: type[BaseModel] = PerceoConfig) -> type[BaseModel] | None:
    """The section model at `segments`, or None when the path is not a section."""
    try:
        annotation = schema_at(segments, root)
    except ConfigError:
        return None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def is_secret_type(segments: Sequence[Segment], root: type[BaseModel] = PerceoConfig) -> bool:
    try:
        annotation = schema_at(segments, root)
    except ConfigError:
        return False
    return annotation in (SecretStr, SecretBytes)


def value_at(data: Any, segments: Sequence[Segment]) -> Any:
    """Walk dumped config data. A null section on the way gives None; a missing free-form key is an error."""
    current = data
    for depth, segment in enumerate(segments):
        if current is None:
            return None
        if isinstance(current, dict):
            key = str(segment)
            if key not in current:
                raise ConfigError(
                    f"'{format_key_path(segments[: depth + 1])}' is not set",
                    details={"key": format_key_path(segments)},
                )
            current = current[key]
        elif isinstance(current, list) and isinstance(segment, int):
            if segment >= len(current):
                raise ConfigError(
                    f"'{format_key_path(segments[:depth])}' has {len(current)} item(s); there is no [{segment}]",
                    details={"key": format_key_path(segments)},
                )
            current = current[segment]
        else:
            raise ConfigError(f"'{format_key_path(segments[:depth])}' has no key '{segment}'")
    return current


def path_exists(data: Any, segments: Sequence[Segment]) -> bool:
    current = data
    for segment in segments:
        if isinstance(current, dict) and str(segment) in current:
            current = current[str(segment)]
        elif isinstance(current, list) and isinstance(segment, int) and segment < len(current):
            current = current[segment]
        else:
            return False
    return True
