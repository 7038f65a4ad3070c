from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from perceo.models import ChangedFile, Flow, PerceoEvent, Persona
from perceo.models.common import Route
from perceo.models.vocab import PRIORITIES, SCOPES


def test_models_serialize_camel_case_and_accept_both_spellings() -> None:
    flow = Flow(project_id="p1", name="Checkout", entry_point="/cart")
    dumped = flow.model_dump(mode="json")
    assert dumped["projectId"] == "p1"
    assert dumped["entryPoint"] == "/cart"
    assert Flow.model_validate(dumped) == flow


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ChangedFile.model_validate({"path": "a.ts", "status": "added", "oops": 1})


def test_vocabularies_match_the_stored_values() -> None:
    assert PRIORITIES == ("critical", "high", "medium", "low")
    assert "workflows:start" in SCOPES and "project:admin" in SCOPES


def test_event_type_must_be_a_known_name() -> None:
    with pytest.raises(ValidationError):
        PerceoEvent.model_validate({"type": "observer.unknown", "source": "observer", "projectId": "p"})


@pytest.mark.parametrize("text", ["a\x01b", "\x01", "x\x1f"])
def test_names_and_routes_hold_no_control_characters(text: str) -> None:
    # U+0001 in a uniquely constrained property (a flow's name, a page's route) crashes the graph engine: no model
    # that reaches the graph lets one through, whichever door (CLI, bootstrap, API) it came in by
    with pytest.raises(ValidationError):
        Flow(project_id="p", name=text)
    with pytest.raises(ValidationError):
        Persona(project_id="p", name=text)
    with pytest.raises(ValidationError):
        TypeAdapter(Route).validate_python("/" + text)
    assert Flow(project_id="p", name="Line\tone\nline two").name == "Line\tone\nline two"
