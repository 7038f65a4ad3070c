"""Packing repository text into a prompt within a token budget.

Truncation is by whole files and whole items, never mid-document: a JSON list keeps only the items that
fit and says how many it left out; a code context keeps only the files that fit and names the ones it
left out. Secret files are never read; secret-looking strings are redacted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from perceo.bootstrap.safety import fence_file, fence_text, is_secret_file, redact_secrets

#: A rough, deterministic token count: about four characters per token for code and English.
CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


@dataclass
class PackedText:
    text: str
    tokens: int
    included: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)
    secret_files: list[str] = field(default_factory=list)
    redactions: int = 0

    @property
    def truncated(self) -> bool:
        return bool(self.omitted)


def pack_lines(lines: Sequence[str], budget_tokens: int, *, what: str, limit_name: str) -> PackedText:
    """Whole lines while they fit, then one marker line saying how many were left out."""
    kept: list[str] = []
    used = 0
    for line in lines:
        cost = estimate_tokens(line) + 1
        if used + cost > budget_tokens:
            break
        kept.append(line)
        used += cost
    omitted = list(lines[len(kept) :])
    if omitted:
        kept.append(f"[... {len(omitted)} more {what} not shown: {limit_name} reached]")
    text = fence_text("\n".join(kept) if kept else "None")
    return PackedText(text=text, tokens=estimate_tokens(text), included=list(lines[: len(kept)]), omitted=omitted)


def pack_json_items(
    items: Sequence[dict[str, Any]], budget_tokens: int, *, what: str, limit_name: str
) -> tuple[PackedText, list[int]]:
    """A JSON array of the items that fit (whole items only), plus a marker line when some were left out.

    Returns the packed text and the indexes of the items left out, so callers can keep them unchanged.
    """
    kept: list[dict[str, Any]] = []
    used = 2
    omitted: list[int] = []
    for index, item in enumerate(items):
        cost = estimate_tokens(json.dumps(item, ensure_ascii=False)) + 1
        if used + cost > budget_tokens:
            omitted.append(index)
            continue
        kept.append(item)
        used += cost
    text = json.dumps(kept, ensure_ascii=False, indent=1)
    if omitted:
        text += f"\n[... {len(omitted)} more {what} not shown: {limit_name} reached]"
    text = fence_text(text)
    return PackedText(text=text, tokens=estimate_tokens(text)), omitted


ReadText = Callable[[str], str | None]


def pack_code(paths: Sequence[str], read_text: ReadText, budget_tokens: int, *, limit_name: str) -> PackedText:
    """The files in `paths` (most important first), each fenced as untrusted repository data.

    A file that does not fit is left out whole and named in a closing marker. Only when not even the first
    file fits is it cut, at a line boundary, with a marker saying so (never a JSON file: those are left out).
    """
    blocks: list[str] = []
    packed = PackedText(text="", tokens=0)
    used = 0
    for path in paths:
        if is_secret_file(path):
            packed.secret_files.append(path)
            continue
        raw = read_text(path)
        if raw is None:
            continue
        content, redactions = redact_secrets(raw)
        block = fence_file(path, content)
        cost = estimate_tokens(block)
        if used + cost <= budget_tokens:
            blocks.append(block)
            packed.included.append(path)
            packed.redactions += redactions
            used += cost
            continue
        if not blocks and not path.endswith(".json"):
            head = _head_within(content, budget_tokens - 50)
            if head:
                block = fence_file(path, head + f"\n[... rest of {path} not shown: {limit_name} reached]")
                blocks.append(block)
                packed.included.append(path)
                packed.redactions += redactions
                used += estimate_tokens(block)
                continue
        packed.omitted.append(path)
    if packed.omitted:
        shown = ", ".join(packed.omitted[:10]) + (" ..." if len(packed.omitted) > 10 else "")
        blocks.append(f"[... {len(packed.omitted)} more files not shown: {limit_name} reached: {shown}]")
    packed.text = "\n\n".join(blocks) if blocks else "(no source files available)"
    packed.tokens = estimate_tokens(packed.text)
    return packed


def _head_within(content: str, budget_tokens: int) -> str:
    kept: list[str] = []
    used = 0
    for line in content.splitlines():
        cost = estimate_tokens(line) + 1
        if used + cost > budget_tokens:
            break
        kept.append(line)
        used += cost
    return "\n".join(kept)
