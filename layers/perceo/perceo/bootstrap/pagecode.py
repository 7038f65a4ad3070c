"""What a page's code shows a user can do (fields, buttons, links, headings, test ids), and the test steps
that walk a flow's pages with it. No LLM: regular expressions over JSX, HTML, Vue, Svelte and Angular
templates, which is enough to name the fields to fill and the links to click."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from perceo.bootstrap.model import StepDraft
from perceo.bootstrap.routes import RouteGraph, concrete_url, normalize_target, title_of
from perceo.models.entities import ExpectedState, StepAction

_ATTR = re.compile(
    r"""([@:\[\]()\w.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|\{\s*`([^`]*)`\s*\}|\{\s*["']([^"'{}]*)["']\s*\}|\{([^{}]*)\})"""
)
#: A tag's attributes, allowing `{...}` expressions (with one level of nesting) that contain `>` (`=>`).
_ATTRS = r"((?:[^<>{}]|\{(?:[^{}]|\{[^{}]*\})*\})*?)"
_FIELD = re.compile(
    r"<(input|textarea|select|Input|TextField|Textarea|TextArea|Select|Checkbox|PasswordInput)\b" + _ATTRS + r"/?>",
    re.S,
)
_BUTTON = re.compile(r"<(button|Button)\b" + _ATTRS + r">(.*?)</\1>", re.S)
_SUBMIT_INPUT = re.compile(r"<input\b[^>]*type=[\"']submit[\"'][^>]*>", re.S)
_LINK = re.compile(r"<(a|Link|NuxtLink|RouterLink|router-link)\b" + _ATTRS + r">(.*?)</\1>", re.S)
_HEADING = re.compile(r"<(h1|h2)\b[^>]*>(.*?)</\1>", re.S)
_TEST_ID = re.compile(r"""data-(?:testid|test-id|test|cy)\s*=\s*["'{`]+([\w:.-]+)""")
_REGISTER = re.compile(r"""\bregister\(\s*["'](\w+)["']""")
_FORM = re.compile(r"<(form|Form)\b|onSubmit|handleSubmit|\(ngSubmit\)|@submit|on:submit|useActionState|formAction")
_TAGS = re.compile(r"<[^>]*>")
_EXPR = re.compile(r"\{[^{}]*\}")

ReadText = Callable[[str], str | None]

_SAMPLE_VALUES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("email", "e-mail", "mail"), "user@example.com"),
    (("password", "passwd", "pwd"), "Test-password-123"),
    (("first",), "Test"),
    (("last", "surname"), "User"),
    (("name", "fullname", "username", "user"), "Test User"),
    (("phone", "tel", "mobile"), "+15555550100"),
    (("search", "query", "q", "keyword"), "test"),
    (("quantity", "qty", "amount", "count", "number", "price"), "1"),
    (("zip", "postal", "postcode"), "94105"),
    (("address", "street"), "1 Main Street"),
    (("city",), "Springfield"),
    (("country",), "US"),
    (("card", "cc"), "4242 4242 4242 4242"),
    (("cvc", "cvv"), "123"),
    (("expiry", "exp"), "12/34"),
    (("url", "website", "link"), "https://example.com"),
    (("date",), "2030-01-01"),
    (("title", "subject"), "Test title"),
    (("description", "content", "body", "message", "comment", "note", "text", "bio"), "Test content"),
    (("code", "otp", "token"), "123456"),
)


@dataclass(frozen=True)
class Field_:
    selector: str
    label: str
    kind: str  # text | checkbox | select

    @property
    def sample_value(self) -> str:
        key = self.label.casefold().replace("-", "").replace("_", "").replace(" ", "")
        for words, value in _SAMPLE_VALUES:
            if any(w in key for w in words):
                return value
        return "test"


@dataclass(frozen=True)
class Button:
    selector: str
    text: str
    submit: bool


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass
class PageFacts:
    fields: list[Field_] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)
    has_form: bool = False

    def merge(self, other: PageFacts) -> None:
        for name in ("fields", "buttons", "links", "headings", "test_ids"):
            mine: list[object] = getattr(self, name)
            for item in getattr(other, name):
                if item not in mine:
                    mine.append(item)
        self.has_form = self.has_form or other.has_form


def _attrs(raw: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        name = match.group(1)
        value = next((g for g in match.groups()[1:] if g is not None), "")
        out.setdefault(name, value.strip())
    register = _REGISTER.search(raw)
    if register:
        out.setdefault("name", register.group(1))
    return out


def _visible_text(raw: str) -> str:
    # Template interpolation first (`{{ p.name }}` in Vue/Angular), then JSX expressions (`{p.name}`).
    text = re.sub(r"\{\{.*?\}\}", " ", raw, flags=re.S)
    text = _EXPR.sub(" ", _TAGS.sub(" ", text))
    text = re.sub(r"\(\s*\)|\[\s*\]", " ", text)  # what is left of `({orders.length})`
    return re.sub(r"\s+", " ", text).strip()[:80]


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _field_selector(tag: str, attrs: dict[str, str]) -> tuple[str, str] | None:
    native = tag.islower()
    prefix = tag if native else ""
    for attr in ("data-testid", "data-test-id", "data-cy"):
        if attrs.get(attr):
            return f'[{attr}="{_quote(attrs[attr])}"]', attrs.get("name") or attrs[attr]
    for attr in ("name", "formControlName", "v-model", "[(ngModel)]", "bind:value", "id", "placeholder"):
        value = attrs.get(attr)
        if not value or "{" in value:
            continue
        label = value.rsplit(".", 1)[-1]
        if attr == "id":
            return f"#{value}", label
        if attr in ("v-model", "[(ngModel)]", "bind:value"):
            return f'{prefix}[name="{_quote(label)}"]', label
        return f'{prefix}[{attr}="{_quote(value)}"]', label
    if attrs.get("type"):
        return f'{prefix or "input"}[type="{_quote(attrs["type"])}"]', attrs["type"]
    return None


def scan_page(text: str) -> PageFacts:
    """The interactive elements visible in one source file."""
    facts = PageFacts(has_form=bool(_FORM.search(text)))
    _scan_fields(text, facts)
    _scan_buttons(text, facts)
    _scan_links(text, facts)
    for match in _HEADING.finditer(text):
        heading = _visible_text(match.group(2))
        if heading and len(heading) > 1 and heading not in facts.headings:
            facts.headings.append(heading)
    for test_id in _TEST_ID.findall(text):
        if test_id not in facts.test_ids:
            facts.test_ids.append(test_id)
    return facts


def _scan_fields(text: str, facts: PageFacts) -> None:
    for match in _FIELD.finditer(text):
        tag, attrs = match.group(1), _attrs(match.group(2))
        kind_attr = attrs.get("type", "").casefold()
        if kind_attr in ("hidden", "submit", "button", "reset", "image"):
            continue
        found = _field_selector(tag, attrs)
        if not found:
            continue
        kind = "text"
        if kind_attr in ("checkbox", "radio") or tag == "Checkbox":
            kind = "checkbox"
        elif tag.casefold() == "select":
            kind = "select"
        f = Field_(selector=found[0], label=found[1], kind=kind)
        if f not in facts.fields:
            facts.fields.append(f)


def _scan_buttons(text: str, facts: PageFacts) -> None:
    for match in _BUTTON.finditer(text):
        attrs, label = _attrs(match.group(2)), _visible_text(match.group(3))
        test_id = attrs.get("data-testid")
        explicit_type = attrs.get("type", "").casefold()
        submit = explicit_type == "submit" or (facts.has_form and not explicit_type and "onClick" not in attrs)
        if test_id:
            selector = f'[data-testid="{_quote(test_id)}"]'
        elif label:
            selector = f'button:has-text("{_quote(label)}")'
        elif submit:
            selector = 'button[type="submit"]'
        else:
            continue
        button = Button(selector=selector, text=label or "Submit", submit=submit)
        if button not in facts.buttons:
            facts.buttons.append(button)
    if not any(b.submit for b in facts.buttons) and _SUBMIT_INPUT.search(text):
        facts.buttons.append(Button(selector='input[type="submit"]', text="Submit", submit=True))


def _scan_links(text: str, facts: PageFacts) -> None:
    for match in _LINK.finditer(text):
        attrs = _attrs(match.group(2))
        href = attrs.get("href") or attrs.get("to") or attrs.get(":to") or attrs.get("routerLink") or ""
        href = href.strip("`")
        target = normalize_target(href) if href and not href.startswith(("http", "mailto")) else None
        if target:
            link = Link(href=target, text=_visible_text(match.group(3)))
            if link not in facts.links:
                facts.links.append(link)


class PageReader:
    """Reads and scans the files of each route once (the page files and the components they import)."""

    def __init__(self, graph: RouteGraph, imports: dict[str, list[str]], read_text: ReadText) -> None:
        self.graph = graph
        self.imports = imports
        self.read_text = read_text
        self._file_facts: dict[str, PageFacts] = {}
        self._page_facts: dict[str, PageFacts] = {}

    def component_files(self, route: str, *, depth: int = 1) -> list[str]:
        """The route's own files, then the internal modules they import (`depth` levels), in order."""
        entry = self.graph.by_route.get(route)
        own = list(entry.entry_files) if entry else []
        seen = list(own)
        frontier = list(own)
        for _ in range(depth):
            nxt: list[str] = []
            for path in frontier:
                for dep in self.imports.get(path, []):
                    if dep not in seen and _is_ui_file(dep):
                        seen.append(dep)
                        nxt.append(dep)
            frontier = nxt
        return seen

    def file_facts(self, path: str) -> PageFacts:
        if path not in self._file_facts:
            text = self.read_text(path)
            self._file_facts[path] = scan_page(text) if text else PageFacts()
        return self._file_facts[path]

    def facts(self, route: str) -> PageFacts:
        if route not in self._page_facts:
            merged = PageFacts()
            for path in self.component_files(route):
                merged.merge(self.file_facts(path))
            self._page_facts[route] = merged
        return self._page_facts[route]


def _is_ui_file(path: str) -> bool:
    return path.endswith((".tsx", ".jsx", ".vue", ".svelte", ".html", ".astro", ".js", ".ts")) and not path.endswith(
        (".d.ts", ".test.ts", ".test.tsx", ".spec.ts", ".spec.tsx", ".config.ts", ".config.js")
    )


def _visible(facts: PageFacts) -> list[str]:
    if facts.headings:
        return [f'text="{_quote(facts.headings[0])}"']
    if facts.test_ids:
        return [f'[data-testid="{_quote(facts.test_ids[0])}"]']
    return []


def _link_to(graph: RouteGraph, facts: PageFacts, target_route: str) -> Link | None:
    for link in facts.links:
        if graph.resolve(link.href) == target_route:
            return link
    return None


#: Navigations that code makes (after a click or a submit), as opposed to a link a user clicks.
_PROGRAMMATIC = frozenset({"push", "replace", "navigate", "redirect"})


def _button_to(graph: RouteGraph, route: str, facts: PageFacts, target: str) -> Button | None:
    """The button that takes the user from `route` to `target` when code navigates there (`router.push` in a
    click handler, a redirect after a form action): the one whose text names the target, else the submit
    button, else the page's only button."""
    if not facts.buttons or not any(
        e.target == target and e.kind in _PROGRAMMATIC for e in graph.out_edges.get(route, [])
    ):
        return None
    words = set(title_of(target).casefold().split())
    named = next((b for b in facts.buttons if words & set(b.text.casefold().split())), None)
    if named is not None:
        return named
    submit = next((b for b in facts.buttons if b.submit), None)
    if submit is not None:
        return submit
    return facts.buttons[0] if len(facts.buttons) == 1 else None


def _link_selector(href: str) -> str:
    if ":param" in href:
        # A link built from data (`/products/${id}`): match its static prefix.
        return f'a[href^="{_quote(href.split(":param", 1)[0])}"]'
    return f'a[href="{_quote(href)}"]'


def heuristic_steps(pages: Sequence[str], reader: PageReader, *, max_steps: int) -> tuple[list[StepDraft], bool]:
    """Steps that walk `pages` in order using what their code shows. Returns (steps, truncated)."""
    graph = reader.graph
    steps: list[StepDraft] = []

    def add(name: str, actions: list[StepAction], expected: ExpectedState) -> None:
        steps.append(StepDraft(order=len(steps) + 1, name=name[:200], actions=actions, expected_state=expected))

    first = pages[0]
    add(
        f"Open {title_of(first)} ({first})",
        [StepAction(type="navigate", target=concrete_url(first), value=concrete_url(first))],
        ExpectedState(url=concrete_url(first), visible=_visible(reader.facts(first))),
    )
    for index, route in enumerate(pages):
        facts = reader.facts(route)
        nxt = pages[index + 1] if index + 1 < len(pages) else None
        arrive = ExpectedState(url=concrete_url(nxt), visible=_visible(reader.facts(nxt))) if nxt else ExpectedState()
        fields = facts.fields[:6]
        submit = next((b for b in facts.buttons if b.submit), None)
        link = _link_to(graph, facts, nxt) if nxt else None
        # The form is the way on when its submission leads to the next page (a redirect or push in code), when
        # no link does, and on the last page; otherwise the user follows the link and leaves the form alone.
        leads_on = nxt is not None and any(
            e.target == nxt and e.kind in _PROGRAMMATIC for e in graph.out_edges.get(route, [])
        )
        use_form = bool(fields) and (nxt is None or leads_on or (link is None and submit is not None))
        if use_form:
            add(
                "Fill in " + ", ".join(f.label for f in fields),
                [
                    StepAction(type="click", target=f.selector)
                    if f.kind == "checkbox"
                    else StepAction(type="fill", target=f.selector, value=f.sample_value)
                    for f in fields
                ],
                ExpectedState(),
            )
        if nxt is None:
            if use_form and submit is not None:
                add(f'Click "{submit.text}"', [StepAction(type="click", target=submit.selector)], ExpectedState())
            break
        button = None if link is not None else _button_to(graph, route, facts, nxt)
        if use_form and submit is not None:
            add(f'Click "{submit.text}"', [StepAction(type="click", target=submit.selector)], arrive)
        elif link is not None:
            label = link.text or title_of(nxt)
            add(f'Click "{label}"', [StepAction(type="click", target=_link_selector(link.href))], arrive)
        elif button is not None:
            add(f'Click "{button.text}"', [StepAction(type="click", target=button.selector)], arrive)
        else:
            add(
                f"Go to {title_of(nxt)} ({nxt})",
                [StepAction(type="navigate", target=concrete_url(nxt), value=concrete_url(nxt))],
                arrive,
            )
    last_facts = reader.facts(pages[-1])
    final_visible = _visible(last_facts)
    if final_visible:
        what = last_facts.headings[0] if last_facts.headings else last_facts.test_ids[0]
        add(
            f'See "{what}"',
            [StepAction(type="assert", target=final_visible[0], value=what)],
            ExpectedState(url=concrete_url(pages[-1]), visible=final_visible),
        )
    else:
        add(
            f"See the {title_of(pages[-1])} page",
            [StepAction(type="assert", target="url", value=concrete_url(pages[-1]))],
            ExpectedState(url=concrete_url(pages[-1])),
        )
    truncated = len(steps) > max_steps
    if truncated:
        # Keep the opening steps and the final check: a truncated flow still says where it should end.
        steps = [*steps[: max_steps - 1], steps[-1]]
        steps = [s.model_copy(update={"order": i + 1}) for i, s in enumerate(steps)]
    return steps, truncated
