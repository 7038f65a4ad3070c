"""Selectors for the elements a page renders, read from its markup (JSX, Vue, Svelte, Angular and HTML templates).

A selector is only ever built from what the element will carry in the page: a test id as written (`data-test`
stays `data-test`), a role and an accessible name (a `<label for>`, a wrapping `<label>`, `aria-label`, a form
library's label that is bound to its control), a literal `id`, `name`, `formControlName` (Angular keeps it as an
attribute), `placeholder` or `type`. Bindings that leave no attribute behind (`v-model`, `[(ngModel)]`,
`bind:value`, `{expression}` values) never become selectors. A custom input component (`<BaseInput>`, `<Input>`)
is followed to the native element it renders when its file is imported: attributes it does not forward are
dropped. When nothing fits, the element has no selector and the step that needs it says `confidence: low`.

Every element records where it was written (`path:line`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

# hash routing is read as discovery reads it: one definition for routes, navigation edges and flow steps
from perceo.observer.hashrouting import uses_hash_routing as uses_hash_routing

#: One attribute: `name="v"`, `name='v'`, `name={"v"}`, `name={`v`}`, `name={expr}` (dynamic) or bare `name`.
_ATTR = re.compile(
    r"""([@:\[\]()#*\w.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|\{\s*`([^`$]*)`\s*\}|\{\s*["']([^"'{}]*)["']\s*\}"""
    r"""|(\{(?:[^{}]|\{[^{}]*\})*\})))?"""
)
#: A tag's attributes, allowing `{...}` expressions (one level of nesting) that contain `>` (`=>`).
_ATTRS = r"((?:[^<>{}]|\{(?:[^{}]|\{[^{}]*\})*\})*?)"
# Not `Switch`: React Router's `<Switch>` is no field; kebab-case `el-switch` is.
_INPUT_NAME = r"[\w.-]*(?:Input|TextField|Textarea|TextArea|Select|Checkbox|Radio|Combobox|DatePicker)(?:Autosize)?"
_KEBAB_INPUT = r"[a-z]+-(?:input|textarea|select|checkbox|switch|radio|date-picker|autocomplete|input-number)"
#: The tag name ends where its attributes start (`<c-input-group>` is not a `<c-input>`).
_END = r"(?=[\s/>])"
FIELD = re.compile(r"<(input|textarea|select|" + _INPUT_NAME + "|" + _KEBAB_INPUT + ")" + _END + _ATTRS + r"/?>", re.S)
BUTTON = re.compile(r"<(button|[\w.]*Button|[a-z]+-button)" + _END + _ATTRS + r">(.*?)</\1\s*>", re.S)
LINK = re.compile(r"<(a|Link|NuxtLink|RouterLink|router-link|nuxt-link)\b" + _ATTRS + r">(.*?)</\1\s*>", re.S)
HEADING = re.compile(r"<(h[1-3])\b[^>]*>(.*?)</\1>", re.S)
_LABEL_BLOCK = re.compile(r"<(label|Label|FormLabel|mat-label)\b" + _ATTRS + r">(.*?)</\1>", re.S)
_TEST_ATTRS = ("data-testid", "data-test-id", "data-test", "data-cy", "data-qa")
#: react-hook-form's `register('title')` gives the field `name="title"`, spread directly (`{...register('title')}`)
#: or handed to an input component that spreads it (`registration={register('title')}`).
_REGISTER = re.compile(r"""\bregister\(\s*["'](\w+)["']""")
_FORWARDS = re.compile(r"\{\s*\.\.\.\s*(?:props|rest|others|attrs|inputProps|field)\b|v-bind=\"\$attrs\"|\$\$restProps")
_NATIVE_FIELD = re.compile(r"<(input|textarea|select)\b" + _ATTRS + r"/?>", re.S)
_TAGS = re.compile(r"<[^>]*>")
_EXPR = re.compile(r"\{[^{}]*\}")
_CLICK_HANDLERS = (
    "onClick",
    "@click",
    "@click.native",
    "@click.native.prevent",
    "@click.prevent",
    "(click)",
    "on:click",
)
_SUBMIT_WORDS = re.compile(
    r"(?i)(?:submit|save|log\s*in|login|sign\s*in|signin|sign\s*up|signup|register|create|send|confirm|update|publish)"
)
#: Roles of native fields, by tag and `type`.
_CHECKABLE = frozenset({"checkbox", "radio"})
#: Text of an error state: never the check that a flow succeeded.
ERROR_TEXT = re.compile(
    r"\b(error|invalid|incorrect|wrong|failed|failure|denied|unauthori[sz]ed|forbidden|not found|unknown|expired)\b",
    re.I,
)


#: Text shown while a page loads: gone by the time a check runs.
_TRANSIENT_TEXT = re.compile(r"(?i)^\s*(?:loading|please wait|saving|submitting)\b|\.\.\.\s*$|…\s*$")


@dataclass(frozen=True)
class Element:
    """An element of the page: the selector that finds it (None when none can be derived) and where it is."""

    selector: str | None
    label: str
    kind: str  # text | checkbox | select | button | link
    source: str


def line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def attrs_of(raw: str) -> dict[str, str | None]:
    """Attributes as written: a literal value, "" for a bare attribute, None for a dynamic value (`{expr}`)."""
    out: dict[str, str | None] = {}
    for match in _ATTR.finditer(raw):
        name = match.group(1)
        if match.group(6) is not None:
            out.setdefault(name, None)
            continue
        literal = next((g for g in match.groups()[1:5] if g is not None), "")
        # Vue `:attr` / `v-bind:attr`, Angular `[attr]`, Svelte `attr={x}` hold expressions, not text.
        dynamic = name.startswith((":", "[", "v-bind:")) or name.startswith("(")
        out.setdefault(name, None if dynamic else literal.strip())
    register = _REGISTER.search(raw)
    if register:
        out.setdefault("name", register.group(1))
    return out


def visible_text(raw: str) -> str:
    """The text a user reads inside an element (template interpolation and JSX expressions left out)."""
    text = re.sub(r"\{\{.*?\}\}", " ", raw, flags=re.S)
    # Expressions first, innermost out (`{`Welcome ${user.name}`}`, `onChange={(e) => set(e.target.value)}`), so
    # an arrow's `>` never ends a tag early; then the tags.
    for _ in range(4):
        stripped = _EXPR.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    text = _TAGS.sub(" ", text)
    text = re.sub(r"\(\s*\)|\[\s*\]", " ", text)
    return html.unescape(re.sub(r"\s+", " ", text).strip())[:80]


def quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


_REGEX_SPECIAL = re.compile(r"[.*+?^${}()|\[\]\\/]")


def is_static(raw: str) -> bool:
    """The element's text is all written in the markup (no `{expression}` or `{{ interpolation }}` in it)."""
    return "{" not in raw


def role_selector(role: str, name: str, *, static: bool) -> str:
    """Playwright's role selector. Its `name` must equal the whole accessible name, so a name written in full is
    given as is; one that has a dynamic part at run time (`Project {id}`) is matched as a substring (`/Project/`)."""
    if static:
        return f'role={role}[name="{quote(name)}"]'
    pattern = _REGEX_SPECIAL.sub(r"\\\g<0>", name)
    return f"role={role}[name=/{pattern}/]"


def _literal(attrs: dict[str, str | None], name: str) -> str | None:
    value = attrs.get(name)
    if not value or "{" in value or "$" in value:
        return None
    return value


def test_id_selector(attrs: dict[str, str | None]) -> str | None:
    for attr in _TEST_ATTRS:
        value = _literal(attrs, attr)
        if value:
            return f'[{attr}="{quote(value)}"]'
    return None


@dataclass(frozen=True)
class RootElement:
    """What a custom input component renders: its native tag, and whether it forwards the attributes given to it."""

    tag: str
    type: str | None
    forwards: bool


ResolveComponent = Callable[[str], RootElement | None]


def component_root(text: str) -> RootElement | None:
    """The native field a component file renders, when it renders exactly one."""
    fields = list(_NATIVE_FIELD.finditer(text))
    if len(fields) != 1:
        return None
    attrs = attrs_of(fields[0].group(2))
    return RootElement(tag=fields[0].group(1), type=_literal(attrs, "type"), forwards=bool(_FORWARDS.search(text)))


class MarkupScanner:
    """Scans one file's markup into elements with selectors."""

    def __init__(self, text: str, path: str, resolve: ResolveComponent | None = None) -> None:
        self.text = text
        self.path = path
        self.resolve = resolve
        self._labels_by_id: dict[str, tuple[str, bool]] = {}
        self._label_spans: list[tuple[int, int, tuple[str, bool]]] = []
        for match in _LABEL_BLOCK.finditer(text):
            attrs = attrs_of(match.group(2))
            label = visible_text(match.group(3))
            if not label:
                continue
            # A label wrapping its field: the field's own markup is not the label's text.
            named = (label, is_static(FIELD.sub("", match.group(3))))
            target = _literal(attrs, "for") or _literal(attrs, "htmlFor")
            if target:
                self._labels_by_id[target] = named
            elif match.group(1) in ("label", "Label"):
                self._label_spans.append((match.start(), match.end(), named))
            else:
                # FormLabel (react-hook-form / shadcn) and mat-label are bound to the control after them.
                self._label_spans.append((match.start(), match.end() + 600, named))

    def source(self, index: int) -> str:
        return f"{self.path}:{line_of(self.text, index)}"

    def _label_for(self, attrs: dict[str, str | None], index: int) -> tuple[str, bool] | None:
        aria = _literal(attrs, "aria-label")
        if aria:
            return aria, True
        element_id = _literal(attrs, "id")
        if element_id and element_id in self._labels_by_id:
            return self._labels_by_id[element_id]
        inside = [label for start, end, label in self._label_spans if start < index < end]
        return inside[-1] if inside else None

    def fields(self) -> list[Element]:
        out: list[Element] = []
        for match in FIELD.finditer(self.text):
            attrs = attrs_of(match.group(2))
            if _FORWARDS.search(match.group(2)) and not any(_literal(attrs, a) for a in ("name", *_TEST_ATTRS)):
                continue  # a component's own field, filled in with what its users pass (seen where it is used)
            element = self._field(match.group(1), attrs, match.start())
            if element is not None and element not in out:
                out.append(element)
        return out

    def _field(self, tag: str, attrs: dict[str, str | None], index: int) -> Element | None:
        written_type = (_literal(attrs, "type") or "").casefold()
        if written_type in ("hidden", "submit", "button", "reset", "image"):
            return None
        native = tag in ("input", "textarea", "select")
        root = None if native or self.resolve is None else self.resolve(tag)
        rendered = tag if native else (root.tag if root else None)
        if root is not None and not root.forwards:
            # The component does not pass what it is given to its field: only what it writes itself counts.
            attrs = {"type": root.type} if root.type else {}
            written_type = (root.type or "").casefold()
        lowered = tag.casefold()
        kind = "text"
        if written_type in _CHECKABLE or "checkbox" in lowered or "radio" in lowered or "switch" in lowered:
            kind = "checkbox"
        elif "select" in lowered or "combobox" in lowered:
            kind = "select"
        named = self._label_for(attrs, index)
        label = named[0] if named else None
        model = next(
            (attrs[k] for k in ("v-model", "[(ngModel)]", "bind:value", "formControlName") if attrs.get(k)), None
        )
        name = _literal(attrs, "name") or _literal(attrs, "formControlName") or label or model or written_type
        name = (name or tag).rsplit(".", 1)[-1]
        source = self.source(index)
        selector = test_id_selector(attrs)
        if selector is None and named:
            role = {"checkbox": "radio" if written_type == "radio" else "checkbox", "select": "combobox"}.get(
                kind, "textbox"
            )
            selector = role_selector(role, named[0], static=named[1])
        if selector is None:
            selector = self._attribute_selector(attrs, rendered)
        return Element(selector=selector, label=name, kind=kind, source=source)

    @staticmethod
    def _attribute_selector(attrs: dict[str, str | None], rendered: str | None) -> str | None:
        prefix = rendered or ""
        element_id = _literal(attrs, "id")
        if element_id and re.fullmatch(r"[A-Za-z][\w-]*", element_id):
            return f"#{element_id}"
        name = _literal(attrs, "name")
        if name:
            return f'{prefix}[name="{quote(name)}"]'
        control = _literal(attrs, "formControlName")
        if control:
            # Angular leaves the directive's attribute on the element (HTML lower-cases its name).
            return f'{prefix}[formcontrolname="{quote(control)}"]'
        placeholder = _literal(attrs, "placeholder")
        if placeholder:
            return f'{prefix}[placeholder="{quote(placeholder)}"]'
        written_type = _literal(attrs, "type")
        if written_type:
            return f'{prefix or "input"}[type="{quote(written_type)}"]'
        return None

    def buttons(self, *, in_form: bool) -> list[tuple[Element, bool]]:
        """Buttons with whether each submits its form."""
        out: list[tuple[Element, bool]] = []
        for match in BUTTON.finditer(self.text):
            tag, attrs, label = match.group(1), attrs_of(match.group(2)), visible_text(match.group(3))
            native = tag == "button"
            written_type = (_literal(attrs, "native-type") or _literal(attrs, "type") or "").casefold()
            if written_type not in ("submit", "button", "reset"):
                written_type = ""  # a style (`<el-button type="primary">`), not the element's type
            handler = next((attrs.get(k) or "" for k in _CLICK_HANDLERS if k in attrs), None)
            # A form's button submits it (a native button without a type, `type`/`native-type="submit"`), and so
            # does a button whose handler or text says it sends the form (`@click="handleLogin"`, "Save").
            submit = (
                written_type == "submit"
                or (in_form and native and not written_type and handler is None)
                or (in_form and bool(_SUBMIT_WORDS.search(f"{handler or ''} {label}")))
            )
            selector = test_id_selector(attrs)
            if selector is None and label:
                selector = role_selector("button", label, static=is_static(match.group(3)))
            if selector is None:
                aria = _literal(attrs, "aria-label")
                if aria:
                    selector = role_selector("button", aria, static=True)
            if selector is None and submit and (native or written_type == "submit"):
                selector = 'button[type="submit"]'
            element = Element(
                selector=selector, label=label or "Submit", kind="button", source=self.source(match.start())
            )
            if (element, submit) not in out:
                out.append((element, submit))
        return out

    def links(self) -> list[tuple[str, Element]]:
        """Links as (raw target, element); the selector is role+name when the link has text."""
        out: list[tuple[str, Element]] = []
        for match in LINK.finditer(self.text):
            attrs = attrs_of(match.group(2))
            raw = match.group(2)
            href = _literal(attrs, "href") or _literal(attrs, "to") or _literal(attrs, "routerLink")
            if href is None:
                template = re.search(r"""(?:href|to|:to)=\{?\s*`([^`]*)`""", raw)
                href = template.group(1) if template else None
            if not href:
                continue
            text = visible_text(match.group(3))
            test_id = test_id_selector(attrs)
            named = role_selector("link", text, static=is_static(match.group(3))) if text else None
            selector = test_id or named
            out.append((href, Element(selector=selector, label=text, kind="link", source=self.source(match.start()))))
        return out

    def headings(self) -> list[Element]:
        out: list[Element] = []
        for match in HEADING.finditer(self.text):
            text = visible_text(match.group(2))
            if len(text) > 1 and not ERROR_TEXT.search(text) and not _TRANSIENT_TEXT.search(text):
                element = Element(
                    selector=role_selector("heading", text, static=is_static(match.group(2))),
                    label=text,
                    kind="heading",
                    source=self.source(match.start()),
                )
                if element not in out:
                    out.append(element)
        return out

    def test_ids(self) -> list[Element]:
        out: list[Element] = []
        pattern = re.compile(
            r"(?<![\w:-])("
            + "|".join(_TEST_ATTRS)
            + r""")\s*=\s*(?:"([\w:.-]+)"|'([\w:.-]+)'|\{\s*["'`]([\w:.-]+)["'`]\s*\})"""
        )
        for match in pattern.finditer(self.text):
            value = match.group(2) or match.group(3) or match.group(4)
            if ERROR_TEXT.search(value.replace("-", " ").replace("_", " ")):
                continue  # `data-testid="error-message"` shows a failure, never that the page is there
            element = Element(
                selector=f'[{match.group(1)}="{quote(value)}"]',
                label=value,
                kind="test-id",
                source=self.source(match.start()),
            )
            if element not in out:
                out.append(element)
        return out
