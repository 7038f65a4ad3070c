"""The markup lexer: templates are HTML-like, not JavaScript, so a small tag/attribute scanner is enough.

It serves Vue/Svelte templates, Angular `.html` files and inline templates; the extractor (`script`) turns the
attributes it yields into navigation facts and parses bound expressions with tree-sitter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

BLOCK = re.compile(r"<(script|style)\b([^>]*)>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
ATTR_SRC = re.compile(r"\bsrc\s*=\s*(['\"])(.*?)\1", re.IGNORECASE)
ATTR_LANG = re.compile(r"\blang\s*=\s*(['\"])(.*?)\1", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@(?:import|use|forward)\s+(?:url\()?\s*(['\"])([^'\"]+)\1", re.IGNORECASE)
_TAG_START = re.compile(r"<([A-Za-z][\w.:-]*)")
COMPONENT_TAG = re.compile(r"<([A-Z][A-Za-z0-9]*|[a-z][a-z0-9]*(?:-[a-z0-9]+)+)[\s/>]")
_ATTR_NAME = re.compile(r"[^\s=/>\"']+")
_UNQUOTED = re.compile(r"[^\s>]+")
_INTERPOLATION = re.compile(r"\{\{.*?\}\}|\{[^{}]*\}")


def scan_attributes(text: str) -> Iterator[tuple[str, str, str, bool, int]]:
    """(tag, attribute name, raw value, value was an unquoted `{expression}`, line) for every attribute."""
    pos = 0
    length = len(text)
    while True:
        start = text.find("<", pos)
        if start < 0:
            return
        if text.startswith("<!--", start):
            end = text.find("-->", start)
            pos = length if end < 0 else end + 3
            continue
        match = _TAG_START.match(text, start)
        if match is None:
            pos = start + 1
            continue
        tag = match.group(1)
        i = match.end()
        while i < length:
            while i < length and text[i].isspace():
                i += 1
            if i >= length or text[i] == ">" or text.startswith("/>", i):
                break
            if text[i] == "{":  # svelte shorthand `{href}` or spread
                i = _matching_brace(text, i) + 1
                continue
            name_match = _ATTR_NAME.match(text, i)
            if name_match is None:
                i += 1
                continue
            line = text.count("\n", 0, i) + 1
            value, bound, i = _attribute_value(text, name_match.end())
            if value is not None:
                yield tag, name_match.group(0), value, bound, line
        pos = i


def _attribute_value(text: str, i: int) -> tuple[str | None, bool, int]:
    """(value, written as an unquoted `{expression}`, position after it) of the attribute whose name ends at `i`."""
    length = len(text)
    while i < length and text[i].isspace():
        i += 1
    if i >= length or text[i] != "=":
        return None, False, i
    i += 1
    while i < length and text[i].isspace():
        i += 1
    if i >= length:
        return None, False, i
    quote = text[i]
    if quote in "\"'":
        close = text.find(quote, i + 1)
        close = length if close < 0 else close
        return text[i + 1 : close], False, close + 1
    if quote == "{":
        close = _matching_brace(text, i)
        return text[i + 1 : close], True, close + 1
    value_match = _UNQUOTED.match(text, i)
    raw = value_match.group(0) if value_match else ""
    return raw, False, i + (len(raw) or 1)


def single_brace_pair(value: str) -> bool:
    """`"{url}"`: a whole attribute value that is one Svelte expression."""
    return value.startswith("{") and value.endswith("}") and value.count("{") == 1 and not value.startswith("{{")


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


def interpolated(value: str) -> str | None:
    """A static attribute value with `{x}` / `{{ x }}` interpolations turned into `{}`."""
    value = value.strip()
    if not value:
        return None
    return _INTERPOLATION.sub("{}", value)
