"""A strict-mode JSON schema from a pydantic model, for `response_format={"type": "json_schema", ...}`.

OpenAI's strict structured output accepts a subset of JSON Schema: every object closed
(`additionalProperties: false`) with every property listed in `required`, no `default`, and `$ref`
without sibling keywords. Optional fields stay optional through their type (`anyOf [..., null]`).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from pydantic import BaseModel

JsonSchema = dict[str, Any]

_SCHEMA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DROPPED_KEYWORDS = ("default", "title", "discriminator")


def strict_json_schema(model: type[BaseModel]) -> JsonSchema:
    """The strict-compatible JSON schema of `model` (by alias: the names the model validates).

    Raises TypeError for shapes strict mode cannot express: a non-object root, free-form dicts.
    """
    return copy.deepcopy(_strict_schema(model))


def response_format(schema_name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The `response_format` argument of a chat completion asking for `model` as strict JSON."""
    if not _SCHEMA_NAME.match(schema_name):
        raise ValueError(f"schema name {schema_name!r} must match {_SCHEMA_NAME.pattern}")
    return {
        "type": "json_schema",
        "json_schema": {"name": schema_name, "strict": True, "schema": strict_json_schema(model)},
    }


@functools.cache
def _strict_schema(model: type[BaseModel]) -> JsonSchema:
    schema = model.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, JsonSchema] = schema.get("$defs", {})
    strict = _strictify(schema, defs, path="$")
    if strict.get("type") != "object":
        raise TypeError(f"{model.__name__}: structured output needs an object at the root")
    return strict


def _strictify(node: JsonSchema, defs: dict[str, JsonSchema], path: str) -> JsonSchema:
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:
        # `$ref` may not have sibling keywords in strict mode: inline the definition under them.
        merged = {**_resolve(ref, defs), **{k: v for k, v in node.items() if k != "$ref"}}
        return _strictify(merged, defs, path)
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        merged = {**all_of[0], **{k: v for k, v in node.items() if k != "allOf"}}
        return _strictify(merged, defs, path)

    out: JsonSchema = {}
    for key, value in node.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key in ("properties", "$defs"):
            out[key] = {name: _strictify(sub, defs, f"{path}.{name}") for name, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf"):
            # Strict mode knows `anyOf`; pydantic's `oneOf` (discriminated unions) means the same for a closed set.
            out["anyOf" if key == "oneOf" else key] = [_strictify(sub, defs, path) for sub in value]
        elif key == "items" and isinstance(value, dict):
            out[key] = _strictify(value, defs, f"{path}[]")
        else:
            out[key] = value

    if out.get("type") == "object" or "properties" in out:
        extra = out.get("additionalProperties", False)
        if extra is not False:
            raise TypeError(f"structured output cannot express a free-form object at {path}: give it fields")
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
        out.setdefault("properties", {})
    return out


def _resolve(ref: str, defs: dict[str, JsonSchema]) -> JsonSchema:
    prefix = "#/$defs/"
    if not ref.startswith(prefix) or ref[len(prefix) :] not in defs:
        raise TypeError(f"cannot resolve schema reference {ref}")
    return defs[ref[len(prefix) :]]
