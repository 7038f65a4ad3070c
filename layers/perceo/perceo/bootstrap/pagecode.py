"""What a page's code shows a user can do (fields, buttons, links, headings, test ids), and the test steps
that walk a flow's pages with it. No LLM: regular expressions over JSX, HTML, Vue, Svelte and Angular
templates, which is enough to name the fields to fill and the links to click."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from perceo.bootstrap.guards import LOGIN_WORDS, PASSWORD_WORDS, SIGNUP_WORDS
from perceo.bootstrap.markup import MarkupScanner, ResolveComponent, RootElement, component_root, quote
from perceo.bootstrap.model import StepDraft
from perceo.bootstrap.routes import RouteGraph, concrete_url, normalize_target, static_segments, title_of
from perceo.models.entities import ExpectedState, StepAction

_FORM = re.compile(
    r"<(form|Form|el-form)\b|onSubmit|handleSubmit|\(ngSubmit\)|@submit|on:submit|useActionState|formAction"
)
_EDITABLE = re.compile(r"contentEditable|contenteditable|<EditorContent\b|<EditorRoot\b|\buseEditor\(")
_TEMPLATE_URL = re.compile(r"""templateUrl\s*:\s*["'`]([^"'`]+)["'`]""")

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
    #: None when no selector the page renders could be derived (the step then says `confidence: low`).
    selector: str | None
    label: str
    kind: str  # text | checkbox | select
    source: str = ""

    @property
    def sample_value(self) -> str:
        key = self.label.casefold().replace("-", "").replace("_", "").replace(" ", "")
        for words, value in _SAMPLE_VALUES:
            if any(w in key for w in words):
                return value
        return "test"


@dataclass(frozen=True)
class Button:
    selector: str | None
    text: str
    submit: bool
    source: str = ""


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    #: role+name (or a test id) when the link has them; else the step matches the rendered href.
    selector: str | None = None
    source: str = ""


@dataclass
class PageFacts:
    fields: list[Field_] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    test_ids: list[str] = field(default_factory=list)
    has_form: bool = False
    #: A rich-text editor or `contenteditable` region: the page's work is writing.
    editable: bool = False
    #: selector -> `path:line` for the headings and test ids.
    sources: dict[str, str] = field(default_factory=dict)

    def merge(self, other: PageFacts) -> None:
        for name in ("fields", "buttons", "links", "headings", "test_ids"):
            mine: list[object] = getattr(self, name)
            for item in getattr(other, name):
                if item not in mine:
                    mine.append(item)
        self.has_form = self.has_form or other.has_form
        self.editable = self.editable or other.editable
        for key, value in other.sources.items():
            self.sources.setdefault(key, value)


def scan_page(text: str, path: str = "", resolve: ResolveComponent | None = None) -> PageFacts:
    """The interactive elements visible in one source file, each with its selector and `path:line`."""
    scanner = MarkupScanner(text, path, resolve)
    facts = PageFacts(has_form=bool(_FORM.search(text)), editable=bool(_EDITABLE.search(text)))
    for element in scanner.fields():
        f = Field_(selector=element.selector, label=element.label, kind=element.kind, source=element.source)
        if f not in facts.fields:
            facts.fields.append(f)
    for element, submit in scanner.buttons(in_form=facts.has_form):
        button = Button(selector=element.selector, text=element.label, submit=submit, source=element.source)
        if button not in facts.buttons:
            facts.buttons.append(button)
    for href, element in scanner.links():
        target = normalize_target(href.strip("`")) if not href.startswith(("http", "mailto")) else None
        if target:
            link = Link(href=target, text=element.label, selector=element.selector, source=element.source)
            if link not in facts.links:
                facts.links.append(link)
    for heading in scanner.headings():
        if heading.label not in facts.headings:
            facts.headings.append(heading.label)
            facts.sources.setdefault(f"heading:{heading.label}", heading.source)
    for test_id in scanner.test_ids():
        if test_id.selector and test_id.selector not in facts.test_ids:
            facts.test_ids.append(test_id.selector or "")
            facts.sources.setdefault(f"test-id:{test_id.selector}", test_id.source)
    return facts


class PageReader:
    """Reads and scans the files of each route once (the page files and the components they import)."""

    def __init__(self, graph: RouteGraph, imports: dict[str, list[str]], read_text: ReadText) -> None:
        self.graph = graph
        self.imports = imports
        self.read_text = read_text
        self._file_facts: dict[str, PageFacts] = {}
        self._page_facts: dict[str, PageFacts] = {}

    def component_files(self, route: str) -> list[str]:
        """The route's own files, the modules they import, and beyond those the forms and editors they import
        and the components kept next to the page (a layout's imports would be the whole app); Angular
        components bring their `templateUrl`."""
        entry = self.graph.by_route.get(route)
        own = list(entry.entry_files) if entry else []
        folders = tuple(p.rsplit("/", 1)[0] + "/" for p in own if "/" in p)
        seen = [*own, *[t for p in own for t in self._templates(p)]]
        frontier = list(own)
        for depth in range(2):
            nxt: list[str] = []
            for path in frontier:
                for dep in self.imports.get(path, []):
                    if dep in seen or not _is_ui_file(dep):
                        continue
                    name = dep.rsplit("/", 1)[-1].casefold()
                    if depth == 1 and not (dep.startswith(folders) or "form" in name or "editor" in name):
                        continue
                    seen += [dep, *self._templates(dep)]
                    nxt.append(dep)
            frontier = nxt
        return list(dict.fromkeys(seen))

    def _templates(self, path: str) -> list[str]:
        if not path.endswith(".ts"):
            return []
        text = self.read_text(path) or ""
        out = []
        for ref in _TEMPLATE_URL.findall(text):
            base = path.rsplit("/", 1)[0] if "/" in path else ""
            parts = [p for p in f"{base}/{ref}".split("/") if p and p != "."]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    if resolved:
                        resolved.pop()
                else:
                    resolved.append(part)
            out.append("/".join(resolved))
        return out

    def file_facts(self, path: str) -> PageFacts:
        if path not in self._file_facts:
            text = self.read_text(path)
            self._file_facts[path] = scan_page(text, path, self._resolver(path)) if text else PageFacts()
        return self._file_facts[path]

    def _resolver(self, path: str) -> ResolveComponent:
        """Finds what a custom input component imported by `path` renders (`<BaseInput>` -> base-input.vue)."""
        deps = self.imports.get(path, [])

        def resolve(tag: str) -> RootElement | None:
            key = re.sub(r"[^a-z0-9]", "", tag.rsplit(".", 1)[-1].casefold())
            for dep in deps:
                stem = dep.rsplit("/", 1)[-1].split(".", 1)[0]
                if re.sub(r"[^a-z0-9]", "", stem.casefold()) in (key, key + "index") or (
                    stem == "index" and re.sub(r"[^a-z0-9]", "", dep.rsplit("/", 2)[-2].casefold()) == key
                ):
                    text = self.read_text(dep)
                    return component_root(text) if text else None
            return None

        return resolve

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
    """What shows the page is there: its first heading (never an error's), else its first test id."""
    if facts.headings:
        return [f'role=heading[name="{quote(facts.headings[0])}"]']
    if facts.test_ids:
        return [facts.test_ids[0]]
    return []


def _visible_source(facts: PageFacts) -> str | None:
    if facts.headings:
        return facts.sources.get(f"heading:{facts.headings[0]}")
    if facts.test_ids:
        return facts.sources.get(f"test-id:{facts.test_ids[0]}")
    return None


def _link_to(graph: RouteGraph, facts: PageFacts, target_route: str) -> Link | None:
    for link in facts.links:
        if graph.resolve(link.href) == target_route:
            return link
    return None


#: Navigations that code makes (after a click or a submit), as opposed to a link a user clicks.
_PROGRAMMATIC = frozenset({"push", "replace", "navigate", "redirect"})
#: Pages whose purpose is their form: signing in or up, creating, editing, settings, searching.
_FORM_PAGE_WORDS = frozenset(
    {
        *LOGIN_WORDS,
        *SIGNUP_WORDS,
        *PASSWORD_WORDS,
        "new",
        "create",
        "add",
        "edit",
        "update",
        "compose",
        "invite",
        "settings",
        "profile",
        "account",
        "preferences",
        "checkout",
        "contact",
        "search",
        "billing",
    }
)


def _button_to(graph: RouteGraph, route: str, facts: PageFacts, target: str) -> Button | None:
    """The button that takes the user from `route` to `target` when code navigates there (`router.push` in a
    click handler, a redirect after a form action): the one whose text names the target, else the submit
    button, else the page's only button."""
    buttons = [b for b in facts.buttons if b.selector]
    if not buttons or not any(e.target == target and e.kind in _PROGRAMMATIC for e in graph.out_edges.get(route, [])):
        return None
    words = set(title_of(target).casefold().split())
    named = next((b for b in buttons if words & set(b.text.casefold().split())), None)
    if named is not None:
        return named
    submit = next((b for b in buttons if b.submit), None)
    if submit is not None:
        return submit
    return buttons[0] if len(buttons) == 1 else None


def _link_selector(href: str, hash_routing: bool) -> str:
    prefix = "#" if hash_routing else ""
    if ":param" in href:
        # A link built from data (`/products/${id}`): match its static prefix.
        return f'a[href^="{quote(prefix + href.split(":param", 1)[0])}"]'
    return f'a[href="{quote(prefix + href)}"]'


def page_url(route: str, hash_routing: bool) -> str:
    """The URL a test opens for a route: `/login`, or `/#/login` when the app routes in the URL's fragment."""
    url = concrete_url(route)
    return f"/#{url}" if hash_routing else url


def _is_form_page(route: str) -> bool:
    return any(s in _FORM_PAGE_WORDS for s in static_segments(route))


def _source(value: str | None) -> dict[str, str]:
    return {"source": value} if value else {}


def _field_action(f: Field_) -> StepAction:
    if f.selector is None:
        # Nothing the page renders could be named for this field: say so rather than invent a selector.
        options = {"confidence": "low", "field": f.label, **_source(f.source)}
        return StepAction(type="fill", target=None, value=f.sample_value, options=options)
    if f.kind == "checkbox":
        return StepAction(type="click", target=f.selector, options=_source(f.source))
    return StepAction(type="fill", target=f.selector, value=f.sample_value, options=_source(f.source))


def heuristic_steps(
    pages: Sequence[str], reader: PageReader, *, max_steps: int, hash_routing: bool = False, fill_last: bool = True
) -> tuple[list[StepDraft], bool]:
    """Steps that walk `pages` in order using what their code shows. Returns (steps, truncated).

    A page's form is filled where the flow is about it: a sign-in, sign-up, create, edit or settings page, a page
    whose submission leads to the next page, or the flow's last page (unless `fill_last` is False: a browsing
    flow looks, it does not submit). Every selector records its `path:line` in the action's options."""
    graph = reader.graph
    steps: list[StepDraft] = []

    def add(name: str, actions: list[StepAction], expected: ExpectedState) -> None:
        if any(a.options.get("confidence") == "low" for a in actions):
            name = f"{name} (confidence: low)"
        steps.append(StepDraft(order=len(steps) + 1, name=name[:200], actions=actions, expected_state=expected))

    def url(route: str) -> str:
        return page_url(route, hash_routing)

    first = pages[0]
    add(
        f"Open {title_of(first)} ({first})",
        [StepAction(type="navigate", target=url(first), value=url(first))],
        ExpectedState(url=url(first), visible=_visible(reader.facts(first))),
    )
    for index, route in enumerate(pages):
        facts = reader.facts(route)
        nxt = pages[index + 1] if index + 1 < len(pages) else None
        arrive = ExpectedState(url=url(nxt), visible=_visible(reader.facts(nxt))) if nxt else ExpectedState()
        fields = facts.fields[:6]
        submit = next((b for b in facts.buttons if b.submit and b.selector), None)
        link = _link_to(graph, facts, nxt) if nxt else None
        leads_on = nxt is not None and any(
            e.target == nxt and e.kind in _PROGRAMMATIC for e in graph.out_edges.get(route, [])
        )
        form_here = _is_form_page(route) and (nxt is None or link is None or leads_on)
        use_form = bool(fields) and (leads_on or form_here or (nxt is None and fill_last))
        if use_form:
            add("Fill in " + ", ".join(f.label for f in fields), [_field_action(f) for f in fields], ExpectedState())
        if nxt is None:
            if use_form and submit is not None:
                add(
                    f'Click "{submit.text}"',
                    [StepAction(type="click", target=submit.selector, options=_source(submit.source))],
                    ExpectedState(),
                )
            break
        button = None if link is not None else _button_to(graph, route, facts, nxt)
        if use_form and submit is not None:
            add(
                f'Click "{submit.text}"',
                [StepAction(type="click", target=submit.selector, options=_source(submit.source))],
                arrive,
            )
        elif link is not None:
            label = link.text or title_of(nxt)
            target = link.selector or _link_selector(link.href, hash_routing)
            add(f'Click "{label}"', [StepAction(type="click", target=target, options=_source(link.source))], arrive)
        elif button is not None:
            add(
                f'Click "{button.text}"',
                [StepAction(type="click", target=button.selector, options=_source(button.source))],
                arrive,
            )
        else:
            add(
                f"Go to {title_of(nxt)} ({nxt})",
                [StepAction(type="navigate", target=url(nxt), value=url(nxt))],
                arrive,
            )
    last_facts = reader.facts(pages[-1])
    final_visible = _visible(last_facts)
    if final_visible:
        what = last_facts.headings[0] if last_facts.headings else last_facts.test_ids[0]
        add(
            f'See "{what}"',
            [
                StepAction(
                    type="assert",
                    target=final_visible[0],
                    value=what if last_facts.headings else None,
                    options=_source(_visible_source(last_facts)),
                )
            ],
            ExpectedState(url=url(pages[-1]), visible=final_visible),
        )
    else:
        add(
            f"See the {title_of(pages[-1])} page",
            [StepAction(type="assert", target="url", value=url(pages[-1]))],
            ExpectedState(url=url(pages[-1])),
        )
    truncated = len(steps) > max_steps
    if truncated:
        # Keep the opening steps and the final check: a truncated flow still says where it should end.
        steps = [*steps[: max_steps - 1], steps[-1]]
        steps = [s.model_copy(update={"order": i + 1}) for i, s in enumerate(steps)]
    return steps, truncated
