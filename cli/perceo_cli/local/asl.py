"""State machine definitions: read `statemachines/*.asl.json`, fill `${Placeholders}` (the template's
DefinitionSubstitutions), and read back what the tests and the local cloud need (the task order:
`perceo.bootstrap.stages` says which task runs which stage).

The substitution is textual, like CloudFormation's: every `${Name}` is replaced by its value. A placeholder
without a value is an error that names it, so a definition never reaches Step Functions half-filled.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from perceo.errors import ConfigError

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def placeholders(text: str) -> set[str]:
    """The `${Name}` placeholders in a definition's text."""
    return set(PLACEHOLDER.findall(text))


def substitute(text: str, substitutions: Mapping[str, str], *, source: str = "definition") -> str:
    """`text` with every `${Name}` replaced; ConfigError naming the placeholders that have no value."""
    missing = sorted(placeholders(text) - set(substitutions))
    if missing:
        raise ConfigError(
            f"{source}: no substitution for {', '.join('${' + name + '}' for name in missing)}",
            details={"missing": missing},
        )
    return PLACEHOLDER.sub(lambda match: str(substitutions[match.group(1)]), text)


def load_definition(path: Path, substitutions: Mapping[str, str]) -> dict[str, Any]:
    """The definition at `path`, substituted and parsed."""
    text = substitute(path.read_text(encoding="utf-8"), substitutions, source=str(path))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}: invalid JSON after substitution: {error.msg}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: a state machine definition is a JSON object")
    return document


def main_path(definition: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The states met from `StartAt` following `Next` (never `Catch`), entering Map/Parallel branches in place."""
    states: Mapping[str, Any] = definition["States"]
    seen: list[tuple[str, dict[str, Any]]] = []
    name: str | None = definition["StartAt"]
    while name is not None:
        if any(existing == name for existing, _ in seen):
            raise ConfigError(f"state machine loops back to '{name}' on its main path")
        state = states[name]
        seen.append((name, state))
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            seen += main_path(processor)
        elif state["Type"] == "Parallel":
            for branch in state["Branches"]:
                seen += main_path(branch)
        name = state.get("Next")
    return seen


def task_resources(definition: Mapping[str, Any]) -> list[str]:
    """The `Resource` of each Task on the main path, in order."""
    return [state["Resource"] for _, state in main_path(definition) if state["Type"] == "Task"]


def all_states(definition: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every state, nested ones included."""
    out: list[tuple[str, dict[str, Any]]] = []
    for name, state in definition["States"].items():
        out.append((name, state))
        if state["Type"] == "Map":
            out += all_states(state.get("ItemProcessor") or state["Iterator"])
        elif state["Type"] == "Parallel":
            for branch in state["Branches"]:
                out += all_states(branch)
    return out
