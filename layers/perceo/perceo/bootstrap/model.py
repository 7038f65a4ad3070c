"""What the bootstrap pipeline passes between its stages, and what it asks of the LLM.

Everything here is JSON-serialisable (pydantic, camelCase on the wire): the cloud runs each stage as a
Step Functions task whose input and output are these models, and the CLI runs them in-process.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from perceo.models.common import Model
from perceo.models.entities import ExpectedState, StepAction
from perceo.models.vocab import ActionType, Priority

# --- LLM output schemas. Field names follow the first Perceo's prompts (flows, personas, refine, steps),
# plus the typed actions and priorities it never asked for. No length constraints: strict structured
# output rejects some keywords; the pipeline checks names, pages and counts itself.


class LLMFlow(Model):
    name: str
    description: str = ""
    pages: list[str] = Field(default_factory=list)
    connected_flow_ids: list[str] | None = None
    priority: Priority | None = None


class FlowsOutput(Model):
    flows: list[LLMFlow]


class LLMPersona(Model):
    name: str
    description: str = ""
    behaviors: list[str] = Field(default_factory=list)
    flow_names: list[str] = Field(default_factory=list)


class PersonasOutput(Model):
    personas: list[LLMPersona]


class RefineOutput(Model):
    flows: list[LLMFlow]
    personas: list[LLMPersona]


class LLMAction(Model):
    type: ActionType
    target: str | None = None
    value: str | None = None


class LLMStep(Model):
    step_number: int
    action: str
    expected_state: str = ""
    selectors: list[str] | None = None
    actions: list[LLMAction] | None = None


class StepsOutput(Model):
    steps: list[LLMStep]


# --- Drafts: what the pipeline proposes before it is reconciled with the stored graph.


class PersonaDraft(Model):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    behaviors: list[str] = Field(default_factory=list)
    source: Literal["auto_generated", "user_configured"] = "auto_generated"


class FlowDraft(Model):
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    #: Route patterns in journey order; the first is the entry point.
    pages: list[str] = Field(min_length=1)
    priority: Priority = "medium"
    #: Names of the personas that walk this flow.
    personas: list[str] = Field(default_factory=list)
    #: Names of related flows (stored as CONNECTS_TO edges to their ids).
    connected_flows: list[str] = Field(default_factory=list)
    trigger_conditions: list[str] = Field(default_factory=list)


class StepDraft(Model):
    order: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=200)
    actions: list[StepAction] = Field(default_factory=list)
    expected_state: ExpectedState = Field(default_factory=ExpectedState)


class PersonaSpec(Model):
    """A persona a user configures (`perceo init --personas FILE`)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    behaviors: list[str] = Field(default_factory=list)


ACTION_TYPE_WORDS: dict[ActionType, tuple[str, ...]] = {
    "navigate": ("navigate", "go to", "open", "visit", "load", "redirect"),
    "fill": ("fill", "type", "enter", "input", "select", "choose", "upload", "check the", "tick"),
    "click": ("click", "press", "tap", "submit", "toggle"),
    "hover": ("hover",),
    "scroll": ("scroll",),
    "wait": ("wait",),
    "screenshot": ("screenshot", "capture"),
    "assert": ("verify", "see", "confirm", "check", "assert", "expect", "should", "is shown", "displayed"),
}


def infer_action_type(text: str) -> ActionType:
    """The action type a free-text step most likely means (used when the model gave none)."""
    lowered = text.casefold()
    best: tuple[int, ActionType] | None = None
    for action_type, words in ACTION_TYPE_WORDS.items():
        for word in words:
            index = lowered.find(word)
            if index >= 0 and (best is None or index < best[0]):
                best = (index, action_type)
    return best[1] if best else "click"
