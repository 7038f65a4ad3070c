"""Set one value in a JSON5 document in place, keeping its comments, order and layout.

The `json5` package parses but cannot write a document back with its comments, so `perceo config set`
edits the text: a small scanner finds where each value starts and ends, and only the edited value (or
the new member) is rewritten. The caller re-parses the result and checks it holds exactly the data
it expects; `DocumentEditError` (or a mismatch) makes it fall back to rewriting plain JSON.

The scanner runs only on text that `json5` has already accepted, so it stays lenient.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import json5

_LINE_BREAKS = "\n\r\u2028\u2029"


class DocumentEditError(Exception):
    """The document's layout is beyond what the in-place editor handles."""


@dataclass
class Node:
    kind: Literal["object", "array", "scalar"]
    start: int
    end: int
    members: list[Member] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)


@dataclass
class Member:
    key: str
    key_start: int
    value: Node
    #: Offset of the comma after the value, when there is one.
    comma: int | None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> DocumentEditError:
        return DocumentEditError(f"{what} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self) -> None:
        """Skip whitespace and comments."""
        text, size = self.text, len(self.text)
        while self.pos < size:
            char = text[self.pos]
            if char.isspace() or char == "\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                ends = [i for i in (text.find(c, self.pos) for c in _LINE_BREAKS) if i >= 0]
                self.pos = min(ends) + 1 if ends else size
            elif text.startswith("/*", self.pos):
                close = text.find("*/", self.pos + 2)
                if close < 0:
                    raise self.fail("unterminated comment")
                self.pos = close + 2
            else:
                return

    def document(self) -> Node:
        root = self.value()
        self.skip()
        if self.pos != len(self.text):
            raise self.fail("trailing content")
        return root

    def value(self) -> Node:
        self.skip()
        char = self.peek()
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        start = self.pos
        if char in "\"'":
            self.string()
        else:
            self.primitive()
        return Node("scalar", start, self.pos)

    def string(self) -> str:
        quote, start = self.text[self.pos], self.pos
        index = self.pos + 1
        while index < len(self.text):
            char = self.text[index]
            if char == "\\":
                index += 2
                continue
            if char == quote:
                self.pos = index + 1
                decoded = json5.loads(self.text[start : self.pos])
                if not isinstance(decoded, str):
                    raise self.fail("string expected")
                return decoded
            index += 1
        raise self.fail("unterminated string")

    def primitive(self) -> str:
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in ",:[]{}\"'/" or char.isspace():
                break
            self.pos += 1
        if self.pos == start:
            raise self.fail("value expected")
        return self.text[start : self.pos]

    def expect(self, char: str) -> None:
        self.skip()
        if self.peek() != char:
            raise self.fail(f"{char!r} expected")
        self.pos += 1

    def object(self) -> Node:
        node = Node("object", self.pos, self.pos)
        self.pos += 1
        while True:
            self.skip()
            if self.peek() == "}":
                break
            key_start = self.pos
            key = self.string() if self.peek() in "\"'" else self.primitive()
            self.expect(":")
            value = self.value()
            self.skip()
            comma = None
            if self.peek() == ",":
                comma = self.pos
                self.pos += 1
            node.members.append(Member(key, key_start, value, comma))
            if comma is None:
                self.skip()
                if self.peek() != "}":
                    raise self.fail("'}' expected")
        self.pos += 1
        node.end = self.pos
        return node

    def array(self) -> Node:
        node = Node("array", self.pos, self.pos)
        self.pos += 1
        while True:
            self.skip()
            if self.peek() == "]":
                break
            node.items.append(self.value())
            self.skip()
            if self.peek() == ",":
                self.pos += 1
            elif self.peek() != "]":
                raise self.fail("']' expected")
        self.pos += 1
        node.end = self.pos
        return node


def scan(text: str) -> Node:
    """The value spans of a JSON5 document `json5` accepts."""
    return _Scanner(text).document()


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset`."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def set_in_document(text: str, path: Sequence[str], value: Any) -> str:
    """Return `text` with the value at `path` set to `value`, everything else untouched."""
    if not path:
        raise DocumentEditError("empty path")
    root = scan(text)
    editor = _Editor(text, root)
    node = root
    for depth, key in enumerate(path):
        if node.kind != "object":
            return editor.replace(node, _nest(path[depth:], value))
        member = next((m for m in reversed(node.members) if m.key == key), None)
        if member is None:
            return editor.insert(node, key, _nest(path[depth + 1 :], value))
        node = member.value
    return editor.replace(node, value)


def _nest(path: Sequence[str], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


class _Editor:
    def __init__(self, text: str, root: Node) -> None:
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.unit = self._indent_unit(root)

    def _indent_unit(self, root: Node) -> str:
        if root.kind == "object" and root.members and self._first_on_line(root.members[0].key_start):
            unit = self._line_indent(root.members[0].key_start)[len(self._line_indent(root.start)) :]
            if unit:
                return unit
        return "  "

    def _line_start(self, offset: int) -> int:
        return max(self.text.rfind(c, 0, offset) for c in "\n\r") + 1

    def _line_indent(self, offset: int) -> str:
        start = self._line_start(offset)
        line = self.text[start:offset]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def _first_on_line(self, offset: int) -> bool:
        return not self.text[self._line_start(offset) : offset].strip(" \t\ufeff")

    def _line_end(self, offset: int) -> int:
        ends = [i for i in (self.text.find(c, offset) for c in _LINE_BREAKS) if i >= 0]
        return min(ends) if ends else len(self.text)

    def render(self, value: Any, indent: str) -> str:
        compact = json.dumps(value, ensure_ascii=False)
        if isinstance(value, list) and not any(isinstance(item, dict | list) for item in value) and len(compact) <= 80:
            return compact
        return json.dumps(value, indent=self.unit, ensure_ascii=False).replace("\n", self.newline + indent)

    def replace(self, node: Node, value: Any) -> str:
        indent = self._line_indent(node.start)
        return self.text[: node.start] + self.render(value, indent) + self.text[node.end :]

    def insert(self, obj: Node, key: str, value: Any) -> str:
        text, nl = self.text, self.newline
        outer = self._line_indent(obj.start)
        if not obj.members:
            inner_text = text[obj.start + 1 : obj.end - 1]
            member = f"{json.dumps(key, ensure_ascii=False)}: {self.render(value, outer + self.unit)}"
            if not inner_text.strip():
                return f"{text[: obj.start]}{{{nl}{outer}{self.unit}{member}{nl}{outer}}}{text[obj.end :]}"
            return f"{text[: obj.start + 1]}{nl}{outer}{self.unit}{member}{text[obj.start + 1 :]}"
        last = obj.members[-1]
        multiline = any(c in text[obj.start : last.key_start] for c in "\n\r")
        if not multiline:
            member = f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
            if last.comma is not None:
                return f"{text[: last.comma + 1]} {member}{text[last.comma + 1 :]}"
            return f"{text[: last.value.end]}, {member}{text[last.value.end :]}"
        indent = self._line_indent(last.key_start) if self._first_on_line(last.key_start) else outer + self.unit
        member = f"{json.dumps(key, ensure_ascii=False)}: {self.render(value, indent)}"
        anchor = last.comma + 1 if last.comma is not None else last.value.end
        line_end = self._line_end(anchor)
        rest = text[anchor:line_end].strip()
        # A comment closing the last member's line belongs to that member: insert after it.
        at = line_end if not rest or rest.startswith("//") else anchor
        if last.comma is not None:
            return f"{text[:at]}{nl}{indent}{member},{text[at:]}"
        end = last.value.end
        return f"{text[:end]},{text[end:at]}{nl}{indent}{member}{text[at:]}"
