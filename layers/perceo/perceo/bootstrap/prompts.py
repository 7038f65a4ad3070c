"""The bootstrap prompts: files shipped in the package under `bootstrap/prompts/<name>/{system,user}.md`.

Placeholders are `{{name}}`. Rendering fails loudly on a missing or unknown variable, so a prompt and
the code that fills it cannot drift apart silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

PROMPT_NAMES = ("flows-from-graph", "personas-assign", "personas-refine", "steps")
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z][A-Za-z0-9_]*)\}\}")


@dataclass(frozen=True)
class RenderedPrompt:
    name: str
    system: str
    user: str


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(_PLACEHOLDER.findall(self.system) + _PLACEHOLDER.findall(self.user))

    def render(self, **values: str) -> RenderedPrompt:
        missing = self.variables - values.keys()
        unknown = values.keys() - self.variables
        if missing or unknown:
            raise ValueError(f"prompt {self.name}: missing {sorted(missing)}, unknown {sorted(unknown)}")

        def fill(text: str) -> str:
            # One pass: a value that itself contains `{{x}}` (repository text) is never expanded.
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        return RenderedPrompt(self.name, fill(self.system).strip() + "\n", fill(self.user).strip() + "\n")


@cache
def load_prompt(name: str) -> PromptTemplate:
    """The prompt `name` (one of PROMPT_NAMES), read from the installed package."""
    if name not in PROMPT_NAMES:
        raise ValueError(f"unknown prompt {name!r}")
    folder = resources.files("perceo.bootstrap").joinpath("prompts", name)
    return PromptTemplate(
        name=name,
        system=folder.joinpath("system.md").read_text(encoding="utf-8"),
        user=folder.joinpath("user.md").read_text(encoding="utf-8"),
    )
