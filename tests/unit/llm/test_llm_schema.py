"""Strict JSON schemas derived from pydantic models, as OpenAI's strict structured output requires."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, RootModel

from perceo.llm.schema import response_format, strict_json_schema
from perceo.models.common import Model


class Address(Model):
    street_name: str = Field(description="Street and number")
    city: str | None = None


class Customer(Model):
    full_name: str
    tier: Literal["free", "pro"] = "free"
    tags: list[str] = Field(default_factory=list)
    home: Address = Field(description="Where they live")
    previous: list[Address] = Field(default_factory=list)


def objects_in(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found.extend(objects_in(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(objects_in(value))
    return found


def test_every_object_is_closed_and_requires_all_its_properties() -> None:
    schema = strict_json_schema(Customer)

    objects = objects_in(schema)
    assert len(objects) >= 3  # root, the inlined `home`, and the Address definition
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])


def test_properties_use_the_camel_case_names_the_model_validates() -> None:
    schema = strict_json_schema(Customer)

    assert set(schema["properties"]) == {"fullName", "tier", "tags", "home", "previous"}
    assert Customer.model_validate({"fullName": "A", "home": {"streetName": "1 Main St", "city": None}})


def test_refs_with_sibling_keywords_are_inlined_and_defaults_dropped() -> None:
    schema = strict_json_schema(Customer)

    home = schema["properties"]["home"]
    assert "$ref" not in home
    assert home["description"] == "Where they live"
    assert set(home["properties"]) == {"streetName", "city"}
    assert "default" not in str(schema)
    assert schema["properties"]["previous"]["items"] == {"$ref": "#/$defs/Address"}


def test_optional_fields_stay_nullable() -> None:
    schema = strict_json_schema(Address)

    assert {"type": "null"} in schema["properties"]["city"]["anyOf"]


def test_free_form_dicts_cannot_be_expressed() -> None:
    class Loose(BaseModel):
        attributes: dict[str, str]

    with pytest.raises(TypeError, match=r"free-form object at \$.attributes"):
        strict_json_schema(Loose)


def test_a_non_object_root_is_refused() -> None:
    class Names(RootModel[list[str]]):
        pass

    with pytest.raises(TypeError, match="object at the root"):
        strict_json_schema(Names)


def test_response_format_asks_for_strict_json_schema_by_name() -> None:
    fmt = response_format("customer-v1", Customer)

    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "customer-v1"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == strict_json_schema(Customer)


def test_schema_names_outside_the_api_alphabet_are_refused() -> None:
    with pytest.raises(ValueError, match="schema name"):
        response_format("flows from graph", Customer)


def test_callers_get_a_copy_they_may_change() -> None:
    strict_json_schema(Customer)["properties"].clear()

    assert strict_json_schema(Customer)["properties"]
