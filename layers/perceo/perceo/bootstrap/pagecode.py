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
from perceo.bootstrap.routes import (
    RouteGraph,
    concrete_url,
    is_param,
    normalize_target,
    segments,
    static_segments,
    title_of,
)
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
    #: heading text -> the role selector that finds it.
    heading_selectors: dict[str, str] = field(default_factory=dict)

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
        for key, value in other.heading_selectors.items():
            self.heading_selectors.setdefault(key, value)


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
            facts.heading_selectors.setdefault(heading.label, heading.selector or "")
    for test_id in scanner.test_ids():
        if test_id.selector and test_id.selector not in facts.test_ids:
            facts.test_ids.append(test_id.selector or "")
            facts.sources.setdefault(f"test-id:{test_id.selector}", test_id.source)
    return facts


#: Page files named by a file-routing convention (the folder is the route): `page.tsx`, `+page.svelte`, `index.vue`.
_FILE_ROUTE_STEM = re.compile(r"^\+?(?:page|index)\.[jt]sx?$|^\+?(?:page|index)\.(?:vue|svelte|astro)$")


#: Components a page's list or table opens to do its work: forms, editors, and the dialogs, drawers and row
#: actions that create, edit or delete a record (`create-discussion.tsx`, `DeleteUser.vue`, `edit-dialog.tsx`).
_ACTION_COMPONENT = re.compile(
    r"form|editor|dialog|drawer|modal|sheet|create|delete|remove|edit|update|invite|(?:^|[-_])add|^new[-_A-Z.]"
)


class PageReader:
    """Reads and scans the files of each route once (the page files and the components they import)."""

    def __init__(self, graph: RouteGraph, imports: dict[str, list[str]], read_text: ReadText) -> None:
        self.graph = graph
        self.imports = imports
        self.read_text = read_text
        self._file_facts: dict[str, PageFacts] = {}
        self._page_facts: dict[str, PageFacts] = {}
        #: Files the reader can read (an edge found in another file cannot be checked).
        self.known: set[str] = {f for entry in graph.routes for f in entry.files} | set(imports)

    def component_files(self, route: str) -> list[str]:
        """The route's own files, the modules they import, and beyond those the forms and editors they import
        and the components kept next to the page (a layout's imports would be the whole app); Angular
        components bring their `templateUrl`."""
        entry = self.graph.by_route.get(route)
        own = list(entry.entry_files) if entry else []
        folders = tuple(p.rsplit("/", 1)[0] + "/" for p in own if "/" in p)
        # A file-routed page (`page.tsx`, `index.vue`) that only wraps a component kept next to it (Next's server
        # page rendering its client `_components/discussions.tsx`): that component is the page, so what it
        # imports is one step from the page, not two.
        wrappers = tuple(
            p.rsplit("/", 1)[0] + "/" for p in own if _FILE_ROUTE_STEM.match(p.rsplit("/", 1)[-1]) and "/" in p
        )
        seen = [*own, *[t for p in own for t in self._templates(p)]]
        queue = [(path, 0) for path in own]
        for path, depth in queue:
            if depth >= 2:
                continue
            for dep in self.imports.get(path, []):
                if dep in seen or not _is_ui_file(dep):
                    continue
                name = dep.rsplit("/", 1)[-1].casefold()
                if depth == 1 and not (dep.startswith(folders) or _ACTION_COMPONENT.search(name)):
                    continue
                seen += [dep, *self._templates(dep)]
                wrapped = depth == 0 and bool(wrappers) and dep.startswith(wrappers)
                queue.append((dep, depth if wrapped else depth + 1))
        return list(dict.fromkeys(seen))

    def sits_with_form(self, path: str) -> bool:
        """The file holds a form (or cannot be read here: then it is given the benefit of the doubt)."""
        return path not in self.known or self.file_facts(path).has_form

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

    def layout_links(self, route: str) -> list[Link]:
        """The links of the layouts around a page and the navigation components they import (a sidebar, a header)."""
        entry = self.graph.by_route.get(route)
        files = list(entry.layout_files) if entry else []
        files += [d for f in list(files) for d in self.imports.get(f, []) if _is_ui_file(d) and d not in files]
        links: list[Link] = []
        for path in files:
            links += [link for link in self.file_facts(path).links if link not in links]
        return links

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
        heading = facts.headings[0]
        return [facts.heading_selectors.get(heading) or f'role=heading[name="{quote(heading)}"]']
    if facts.test_ids:
        return [facts.test_ids[0]]
    return []


def _visible_source(facts: PageFacts) -> str | None:
    if facts.headings:
        return facts.sources.get(f"heading:{facts.headings[0]}")
    if facts.test_ids:
        return facts.sources.get(f"test-id:{facts.test_ids[0]}")
    return None


def _link_to(graph: RouteGraph, links: list[Link], target_route: str) -> Link | None:
    for link in links:
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


def _button_to(reader: PageReader, route: str, facts: PageFacts, target: str) -> Button | None:
    """The button that takes the user from `route` to `target` when code navigates there (`router.push` in a
    click handler, a redirect after a form action): the one whose text names the target."""
    graph = reader.graph
    buttons = [b for b in facts.buttons if b.selector]
    if not buttons or not any(e.target == target and e.kind in _PROGRAMMATIC for e in graph.out_edges.get(route, [])):
        return None
    words = set(title_of(target).casefold().split())
    named = next((b for b in buttons if words & set(b.text.casefold().split())), None)
    if named is not None:
        return named
    # Else the submit button, when the navigation follows a form's submission; never a guess among other buttons.
    edges = [e for e in graph.out_edges.get(route, []) if e.target == target and e.kind in _PROGRAMMATIC]
    if any(reader.sits_with_form(e.file) for e in edges):
        return next((b for b in buttons if b.submit), None)
    return None


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


def hashed_step_urls(steps: Sequence[StepDraft]) -> list[StepDraft]:
    """Steps of a hash-routed app with every app path as the browser shows it: a `navigate` to `/users` (an LLM's
    step) goes to `/#/users`, an expected `url` of `/users` is `/#/users`. Whole URLs and hashed paths stay."""

    def hashed(url: str | None) -> str | None:
        if not url or "://" in url or url.startswith(("/#", "#")) or not url.startswith("/"):
            return url
        return f"/#{url}"

    out: list[StepDraft] = []
    for step in steps:
        actions = [
            action.model_copy(update={"target": hashed(action.target), "value": hashed(action.value)})
            if action.type == "navigate" or (action.type == "assert" and action.target == "url")
            else action
            for action in step.actions
        ]
        expected = step.expected_state.model_copy(update={"url": hashed(step.expected_state.url)})
        out.append(step.model_copy(update={"actions": actions, "expected_state": expected}))
    return out


def _is_form_page(route: str) -> bool:
    """The page's own name says it is a form (`/projects/new`, `/login`, `/settings/billing`), not a section it
    sits in (`/account/my-models/:id` is a record's page)."""
    statics = [s for s in static_segments(route) if s != "index"]
    if not statics:
        return False
    last_is_param = bool(segments(route)) and is_param(segments(route)[-1])
    in_settings = any(s in ("settings", "preferences") for s in statics) and not last_is_param
    return (
        statics[-1] in _FORM_PAGE_WORDS and not (last_is_param and statics[-1] not in ("edit", "update")) or in_settings
    )


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


class _Steps:
    """The steps of one flow as they are written (names flagged when a target could not be found)."""

    def __init__(self, reader: PageReader, hash_routing: bool) -> None:
        self.reader = reader
        self.hash_routing = hash_routing
        self.steps: list[StepDraft] = []

    def url(self, route: str) -> str:
        return page_url(route, self.hash_routing)

    def add(self, name: str, actions: list[StepAction], expected: ExpectedState) -> None:
        if any(a.options.get("confidence") == "low" for a in actions):
            name = f"{name} (confidence: low)"
        self.steps.append(
            StepDraft(order=len(self.steps) + 1, name=name[:200], actions=actions, expected_state=expected)
        )

    def fill(self, fields: list[Field_]) -> None:
        self.add("Fill in " + ", ".join(f.label for f in fields), [_field_action(f) for f in fields], ExpectedState())

    def click(self, label: str, target: str | None, source: str, expected: ExpectedState) -> None:
        self.add(f'Click "{label}"', [StepAction(type="click", target=target, options=_source(source))], expected)

    def go(self, route: str, expected: ExpectedState) -> None:
        url = self.url(route)
        self.add(f"Go to {title_of(route)} ({route})", [StepAction(type="navigate", target=url, value=url)], expected)


def _page_steps(out: _Steps, pages: Sequence[str], index: int, *, fill_last: bool) -> None:
    """The steps on `pages[index]`: its form where the flow is about it, then the way to the next page."""
    reader, graph, route = out.reader, out.reader.graph, pages[index]
    facts = reader.facts(route)
    nxt = pages[index + 1] if index + 1 < len(pages) else None
    arrive = ExpectedState(url=out.url(nxt), visible=_visible(reader.facts(nxt))) if nxt else ExpectedState()
    fields = facts.fields[:6]
    submit = next((b for b in facts.buttons if b.submit and b.selector), None)
    link = (_link_to(graph, facts.links, nxt) or _link_to(graph, reader.layout_links(route), nxt)) if nxt else None
    # The form leads on when the code that navigates to the next page sits with a form (its submit handler or the
    # action after it), not when a list row's click handler does.
    leads_on = nxt is not None and any(
        e.target == nxt and e.kind in _PROGRAMMATIC and reader.sits_with_form(e.file)
        for e in graph.out_edges.get(route, [])
    )
    form_here = _is_form_page(route) and (nxt is None or link is None or leads_on)
    # Back on a page the flow started from (the list after a create): the user checks it, fills nothing.
    revisit = route in pages[:index]
    use_form = bool(fields) and not revisit and (leads_on or form_here or (nxt is None and fill_last))
    # A round trip through a record's form (open the post, edit, save, go back): save before leaving.
    round_trip = nxt in pages[:index] and not use_form and facts.has_form and bool(fields or submit)
    if use_form or (round_trip and fields):
        out.fill(fields)
    if nxt is None:
        if use_form and submit is not None:
            out.click(submit.text, submit.selector, submit.source, ExpectedState())
        return
    if round_trip and submit is not None:
        out.click(submit.text, submit.selector, submit.source, ExpectedState())
    button = None if link is not None else _button_to(reader, route, facts, nxt)
    if use_form and submit is not None:
        out.click(submit.text, submit.selector, submit.source, arrive)
    elif link is not None:
        target = link.selector or _link_selector(link.href, out.hash_routing)
        out.click(link.text or title_of(nxt), target, link.source, arrive)
    elif button is not None:
        out.click(button.text, button.selector, button.source, arrive)
    else:
        out.go(nxt, arrive)


def heuristic_steps(
    pages: Sequence[str], reader: PageReader, *, max_steps: int, hash_routing: bool = False, fill_last: bool = True
) -> tuple[list[StepDraft], bool]:
    """Steps that walk `pages` in order using what their code shows. Returns (steps, truncated).

    A page's form is filled where the flow is about it: a sign-in, sign-up, create, edit or settings page, a page
    whose submission leads to the next page, or the flow's last page (unless `fill_last` is False: a browsing
    flow looks, it does not submit). Every selector records its `path:line` in the action's options."""
    out = _Steps(reader, hash_routing)
    first = pages[0]
    out.add(
        f"Open {title_of(first)} ({first})",
        [StepAction(type="navigate", target=out.url(first), value=out.url(first))],
        ExpectedState(url=out.url(first), visible=_visible(reader.facts(first))),
    )
    for index in range(len(pages)):
        _page_steps(out, pages, index, fill_last=fill_last)
    last_facts = reader.facts(pages[-1])
    final_visible = _visible(last_facts)
    if final_visible:
        what = last_facts.headings[0] if last_facts.headings else last_facts.test_ids[0]
        out.add(
            f'See "{what}"',
            [
                StepAction(
                    type="assert",
                    target=final_visible[0],
                    value=what if last_facts.headings else None,
                    options=_source(_visible_source(last_facts)),
                )
            ],
            ExpectedState(url=out.url(pages[-1]), visible=final_visible),
        )
    else:
        out.add(
            f"See the {title_of(pages[-1])} page",
            [StepAction(type="assert", target="url", value=out.url(pages[-1]))],
            ExpectedState(url=out.url(pages[-1])),
        )
    steps = out.steps
    truncated = len(steps) > max_steps
    if truncated:
        # Keep the opening steps and the final check: a truncated flow still says where it should end.
        steps = [*steps[: max_steps - 1], steps[-1]]
        steps = [s.model_copy(update={"order": i + 1}) for i, s in enumerate(steps)]
    return steps, truncated
