"""The offline bootstrap: flows, personas and steps from the route and navigation graph, no LLM.

Deterministic: the same discovery gives the same flows with the same names, so a re-run changes nothing
and adding a page touches only the flows that visit it. A flow spans at least two pages; a single page
view is not a flow.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from perceo.bootstrap.guards import (
    PASSWORD_WORDS,
    PUBLIC_AUTH_WORDS,
    AuthModel,
    is_login_route,
    is_signup_route,
)
from perceo.bootstrap.model import FlowDraft, PersonaDraft, PersonaSpec
from perceo.bootstrap.pagecode import PageReader
from perceo.bootstrap.roles import RoleModel
from perceo.bootstrap.routes import (
    RouteGraph,
    has_params,
    has_required_params,
    is_param,
    ordered_unique,
    page_set_key,
    segments,
    singular,
    static_segments,
)
from perceo.models.vocab import PRIORITIES, Priority

MAX_PAGES_PER_FLOW = 5
#: Navigation a user makes by clicking a link, and navigation code makes (after a submit, in a guard).
_CLICK_KINDS = frozenset({"link", "href", "to", "routerLink"})
_EXPORTED_FUNCTION = re.compile(r"^export\s+(?:const|let|async\s+function|function)\s+(\w+)", re.M)
_LOAD_FUNCTIONS = frozenset({"loader", "load", "getServerSideProps", "getStaticProps", "clientLoader", "beforeLoad"})
_PROGRAMMATIC_KINDS = frozenset({"push", "replace", "navigate", "redirect"})
#: A navigation call found on this many pages is in a component they all render (the app's chrome).
_SHARED_SITE_PAGES = 3

HOME_WORDS = ("dashboard", "home", "overview", "app", "feed", "inbox", "workspace", "portal")
ONBOARDING_WORDS = frozenset({"onboarding", "welcome", "getting-started", "setup", "verify", "verify-email"})
CATALOG_WORDS = (
    "products",
    "product",
    "shop",
    "store",
    "catalog",
    "catalogue",
    "items",
    "collections",
    "categories",
    "category",
    "menu",
    "listings",
    "courses",
    "events",
    "plans",
    "pricing",
)
CART_WORDS = frozenset({"cart", "basket", "bag"})
CHECKOUT_WORDS = frozenset({"checkout", "payment", "pay", "shipping", "purchase"})
CONFIRM_WORDS = frozenset(
    {
        "success",
        "confirmation",
        "confirm",
        "thank-you",
        "thankyou",
        "thanks",
        "complete",
        "order-confirmation",
        "receipt",
    }
)
SETTINGS_WORDS = ("settings", "preferences", "profile", "account")
SEARCH_WORDS = frozenset({"search", "results"})
CREATE_WORDS = frozenset({"new", "create", "add", "compose"})
EDIT_WORDS = frozenset({"edit", "update", "manage"})
DELETE_WORDS = frozenset({"delete", "remove", "destroy"})
LIST_WORDS = ("list", "index", "all")
SKIP_WORDS = frozenset(
    {
        "401",
        "403",
        "404",
        "500",
        "503",
        "unauthorized",
        "forbidden",
        "_error",
        "not-found",
        "error",
        "_app",
        "_document",
        "logout",
        "signout",
        "sign-out",
        "callback",
        "api",
    }
)

_PRIORITY_WORDS: tuple[tuple[Priority, tuple[str, ...]], ...] = (
    ("critical", ("checkout", "payment", "pay ", "purchase", "billing", "subscribe", "order", "cart", "buy")),
    ("high", ("sign in", "sign up", "login", "log in", "register", "password", "auth", "onboard")),
    ("medium", ("create", "edit", "settings", "profile", "account", "search", "submit", "manage", "update")),
)


def priority_for(name: str, description: str = "") -> Priority:
    """Priority from keywords: money is critical, access is high, core work is medium, reading is low."""
    text = f" {name} {description} ".casefold()
    for priority, words in _PRIORITY_WORDS:
        if any(w in text for w in words):
            return priority
    return "low"


def _last_static(route: str) -> str:
    # `/profile/index` is the profile page (vue-router apps name a section's page `index`).
    statics = [s for s in static_segments(route) if s != "index"]
    return statics[-1] if statics else ""


def _has_word(route: str, words: frozenset[str] | tuple[str, ...]) -> bool:
    return any(s in words for s in static_segments(route))


def _layout_shells(graph: RouteGraph) -> set[str]:
    """Routes that render nothing but a layout shared by several sections (vue-router's `{ path: '/profile',
    component: Layout, redirect: '/profile/index' }`): a user never stops there, their child pages are the pages."""
    by_files: dict[tuple[str, ...], list[str]] = {}
    for entry in graph.routes:
        if entry.entry_files:
            by_files.setdefault(tuple(entry.entry_files), []).append(entry.route)
    shells: set[str] = set()
    for routes in by_files.values():
        sections = {(static_segments(r) or [""])[0] for r in routes}
        if len(sections) >= 3:
            # Only those with child pages of their own: the layout route itself is a shell, a page reusing a
            # component is not.
            shells |= {r for r in routes if any(o.route.startswith(r.rstrip("/") + "/") for o in graph.routes)}
    return shells


def _then(pages: list[str], after: str | None) -> list[str]:
    """`pages`, then where the code sends the user after success: back to the list they started from counts (create
    a task on `/tasks/create`, land on `/tasks` again), staying where they are does not."""
    if after is None or after == pages[-1]:
        return pages
    if after in pages and after != pages[0]:
        return pages
    return [*pages, after]


def _ends_in_param(route: str) -> bool:
    segs = segments(route)
    return bool(segs) and is_param(segs[-1])


def _a(noun: str) -> str:
    """`editor` -> `an editor`, `task` -> `a task`."""
    return f"{'an' if noun[:1].casefold() in 'aeiou' else 'a'} {noun}"


def _label(route: str) -> str:
    """A short name for a page: its static words (`/genre/:no/movie` -> `genre movie`), else its parameters
    (`/:type/:id` -> `type id`), `/` -> `home`."""
    statics = static_segments(route)
    if statics:
        words = statics[-2:]
    else:
        # `/:username/:modelId` -> `model`; `/:type/:id` -> `type`.
        names = [re.sub(r"(?i)id$", "", re.sub(r"[^\w]", "", s)) for s in segments(route)]
        words = [next((n for n in reversed(names) if n), "")]
    return " ".join(w.replace("-", " ").replace("_", " ") for w in words if w) or "home"


@dataclass
class _Candidate:
    kind: str  # auth | signup | password | checkout | crud | browse | settings | search | admin | journey
    name: str
    description: str
    pages: list[str]
    rank: int  # lower is more important when the cap bites


@dataclass
class HeuristicResult:
    flows: list[FlowDraft]
    personas: list[PersonaDraft]
    warnings: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)


class FlowFinder:
    """Finds multi-page journeys in a route graph by what the routes are for."""

    def __init__(
        self, graph: RouteGraph, auth: AuthModel, reader: PageReader | None = None, roles: RoleModel | None = None
    ) -> None:
        self.graph = graph
        self.auth = auth
        self.reader = reader
        self.roles = roles or RoleModel()
        self._sites: dict[tuple[str, int | None], int] | None = None
        shells = _layout_shells(graph)
        self.routes = [r.route for r in graph.routes if not _has_word(r.route, SKIP_WORDS) and r.route not in shells]

    # -- helpers
    def _find(self, words: frozenset[str] | tuple[str, ...], *, params: bool | None = False) -> list[str]:
        found = [r for r in self.routes if _last_static(r) in words and (params is None or has_params(r) == params)]
        order = list(words) if isinstance(words, tuple) else []
        return sorted(
            found, key=lambda r: (order.index(_last_static(r)) if _last_static(r) in order else 0, len(segments(r)), r)
        )

    def landing(self, after: str) -> str | None:
        """Where a user lands after signing in or up: the redirect in code, else the app home."""
        for edge in self.graph.out_edges.get(after, []):
            moves = edge.kind in ("redirect", "push", "replace", "navigate")
            if moves and not _has_word(edge.target, PUBLIC_AUTH_WORDS):
                return edge.target
        homes = [r for r in self._find(HOME_WORDS) if not _has_word(r, PUBLIC_AUTH_WORDS)]
        if homes:
            return homes[0]
        protected = [r for r in self.routes if r in self.auth.protected and not has_params(r)]
        if protected:
            return sorted(protected, key=lambda r: (len(segments(r)), r))[0]
        return "/" if "/" in self.graph.by_route and after != "/" else None

    def clicked_from(self, route: str) -> list[str]:
        """Pages whose own markup (not a layout around them) holds a link a user clicks to reach `route`."""
        return sorted(
            {
                source
                for source, edges in self.graph.out_edges.items()
                for e in edges
                if e.target == route and e.kind in _CLICK_KINDS and not e.from_layout and source in self.routes
            }
        )

    def after_submit(self, route: str) -> str | None:
        """Where the page's code sends the user after its work succeeds: a redirect, `navigate` or `push` to a page
        that is neither a sign-in page (the guard's redirect) nor the landing page when another target exists."""
        targets = [
            e.target
            for e in self.graph.out_edges.get(route, [])
            if e.kind in _PROGRAMMATIC_KINDS
            and not e.from_layout
            and not self._shared_site(e.file, e.line)
            and e.target in self.routes
            and not _has_word(e.target, PUBLIC_AUTH_WORDS)
            and not self._on_load(e.file, e.line)
        ]
        targets = ordered_unique(targets)
        # The record just made or saved (`/patients/${id}`) is the success state; a list the page also goes back to
        # is often its Cancel; the landing page is the last resort.
        ranked = sorted(targets, key=lambda t: (t == "/", not _ends_in_param(t)))
        return ranked[0] if ranked else None

    def _after_any(self, route: str) -> str | None:
        """Like `after_submit`, but the next page may be a sign-in page too (`/forgot-password` -> `/otp`)."""
        for e in self.graph.out_edges.get(route, []):
            if (
                e.kind in _PROGRAMMATIC_KINDS
                and not e.from_layout
                and not self._shared_site(e.file, e.line)
                and e.target in self.routes
            ):
                if not self._on_load(e.file, e.line) and e.target != route:
                    return e.target
        return None

    def _sends_to(self, route: str) -> bool:
        """The landing page (`/`) takes a visitor to `route`: a link in its own markup, or its button's handler
        (`navigate(paths.auth.login.getHref())` on "Get started"; not a redirect its loader makes)."""
        return "/" in self.routes and any(
            e.target == route
            and not e.from_layout
            and (e.kind in _CLICK_KINDS or (e.kind in ("navigate", "push") and not self._on_load(e.file, e.line)))
            and not self._shared_site(e.file, e.line)
            for e in self.graph.out_edges.get("/", [])
        )

    def _shared_site(self, path: str, line: int | None) -> bool:
        """The navigation call sits in a component many pages render (a dashboard shell's "Your profile" menu item
        imported by each page, not declared as a layout): it is the app's chrome, not where a page's work leads."""
        if self._sites is None:
            sites: dict[tuple[str, int | None], set[str]] = {}
            for source, edges in self.graph.out_edges.items():
                for e in edges:
                    sites.setdefault((e.file, e.line), set()).add(source)
            self._sites = {site: len(sources) for site, sources in sites.items()}
        return self._sites.get((path, line), 0) >= _SHARED_SITE_PAGES

    def _on_load(self, path: str, line: int | None) -> bool:
        """The redirect runs when the page loads (a Remix/React Router `loader`, SvelteKit `load`, Next's
        `getServerSideProps`): it turns visitors away, it is not where a submitted form leads."""
        if self.reader is None or line is None:
            return False
        text = self.reader.read_text(path) or ""
        offset = sum(len(row) + 1 for row in text.splitlines()[: line - 1])
        owner = None
        for match in _EXPORTED_FUNCTION.finditer(text):
            if match.start() > offset:
                break
            owner = match.group(1)
        return owner in _LOAD_FUNCTIONS

    def entry_for(self, route: str) -> str | None:
        """A page that leads to `route`: a linker, preferring the app home, then the landing page."""
        # Not a page below it (a settings section linking back to the settings page): one comes down to a page.
        below = route.rstrip("/") + "/"
        linkers = [
            r for r in self.graph.linkers_of(route) if r != route and r in self.routes and not r.startswith(below)
        ]
        if not linkers:
            return None
        homes = [r for r in linkers if _last_static(r) in HOME_WORDS]
        # A signed-in page is reached from the app home; a public one from the landing page.
        if route in self.auth.protected and homes:
            return homes[0]
        if "/" in linkers:
            return "/"
        if homes:
            return homes[0]
        return sorted(linkers, key=lambda r: (len(segments(r)), r))[0]

    # -- templates
    def candidates(self) -> list[_Candidate]:
        found: list[_Candidate] = []
        found += self._auth_flows()
        found += self._checkout_flows()
        found += self._resource_flows()
        found += self._settings_flows()
        found += self._search_flows()
        found += self._conversion_flows()
        found += self._journey_flows({p for c in found for p in c.pages})
        found += self._browse_flows()
        found += self._single_page_flows(found)
        return found

    def _auth_flows(self) -> list[_Candidate]:
        out: list[_Candidate] = []
        logins = sorted((r for r in self.routes if is_login_route(r)), key=lambda r: (len(segments(r)), r))
        login = logins[0] if logins else None
        if login:
            land = self.landing(login)
            if land and land != login:
                # From the public page whose link a visitor clicks to sign in, when one links to it.
                lead = [e for e in self.clicked_from(login) if e == "/"]
                out.append(
                    _Candidate(
                        "auth",
                        "Sign in",
                        f"A returning user signs in on {login} and reaches {land}.",
                        [*lead, login, land],
                        0,
                    )
                )
        signups = [r for r in self.routes if is_signup_route(r)]
        if signups:
            signup = sorted(signups, key=lambda r: (len(segments(r)), r))[0]
            middle = [r for r in self.routes if _has_word(r, ONBOARDING_WORDS) and not has_params(r)][:2]
            land = self.landing(signup)
            # Visitors reach sign-up from the sign-in page's "create an account" link, else from the landing page.
            sources = self.clicked_from(signup)
            lead = [login] if login in sources else (["/"] if "/" in sources else [])
            if lead == [login] and login is not None and self._sends_to(login):
                lead = ["/", login]  # the landing page's call to action leads to sign-in, and sign-in to sign-up
            pages = ordered_unique([*lead, signup, *middle, *([land] if land else [])])
            if len(pages) < 2 and logins:
                pages = [signup, logins[0]]
            if len(pages) >= 2:
                out.append(
                    _Candidate(
                        "signup",
                        "Sign up",
                        f"A new user creates an account on {signup} and gets into the app.",
                        pages,
                        1,
                    )
                )
        resets = [r for r in self.routes if _has_word(r, PASSWORD_WORDS)]
        if resets:
            resets = sorted(resets, key=lambda r: (0 if "forgot" in r else 1, len(segments(r)), r))
            pages = ordered_unique([*(logins[:1]), *resets[:2]])
            # Where the request form sends the user next (a code to enter, a "check your email" page).
            after = next((a for a in [self._after_any(pages[-1])] if a and a not in pages), None)
            pages = [*pages, *([after] if after else [])]
            if len(pages) >= 2:
                out.append(
                    _Candidate(
                        "password",
                        "Reset password",
                        "A user who forgot their password requests a reset and sets a new one.",
                        pages,
                        4,
                    )
                )
        return out

    def _checkout_flows(self) -> list[_Candidate]:
        carts = self._find(CART_WORDS)
        checkouts = [r for r in self.routes if _has_word(r, CHECKOUT_WORDS) and not _has_word(r, CONFIRM_WORDS)]
        if not carts and not checkouts:
            return []
        checkouts = sorted(checkouts, key=lambda r: (len(segments(r)), r))
        catalog = next(iter(self._find(CATALOG_WORDS)), None)
        detail = None
        if catalog:
            details = [
                r
                for r in self.routes
                if r.startswith(catalog.rstrip("/") + "/")
                and has_params(r)
                and len(segments(r)) == len(segments(catalog)) + 1
            ]
            detail = details[0] if details else None
        if catalog is None:
            detail = next((r for r in self.routes if has_params(r) and _last_static(r) in CATALOG_WORDS), None)
        confirm = next((r for r in self.routes if _has_word(r, CONFIRM_WORDS)), None)
        pages = ordered_unique([p for p in [catalog, detail, *carts[:1], *checkouts[:2], confirm] if p])
        pages = pages[:MAX_PAGES_PER_FLOW]
        if len(pages) < 2:
            return []
        what = "a product" if catalog or detail else "the cart"
        return [_Candidate("checkout", "Checkout", f"A shopper picks {what}, reviews the cart and pays.", pages, 0)]

    def _resource_flows(self) -> list[_Candidate]:
        """Create, edit, delete and browse flows of each resource: its list, `new`, `:id`, `:id/edit` pages."""
        bases: dict[str, dict[str, str]] = {}
        for route in self.routes:
            segs = segments(route)
            # Settings sections (`/settings/:section`) are the settings flow's, not a list of records.
            if (
                len(segs) < 2
                or _has_word(route, PUBLIC_AUTH_WORDS | CART_WORDS | CHECKOUT_WORDS)
                or _last_static(route) in SETTINGS_WORDS
            ):
                continue
            last, prev = segs[-1].casefold(), segs[-2].casefold()
            if last in CREATE_WORDS:
                bases.setdefault("/" + "/".join(segs[:-1]), {})["create"] = route
            elif last in EDIT_WORDS and len(segs) >= 3 and is_param(segs[-2]):
                bases.setdefault("/" + "/".join(segs[:-2]), {})["edit"] = route
            elif is_param(segs[-1]) and prev in EDIT_WORDS and len(segs) >= 3:  # `/patients/edit/:id`
                bases.setdefault("/" + "/".join(segs[:-2]), {})["edit"] = route
            elif last in DELETE_WORDS and len(segs) >= 3 and is_param(segs[-2]):
                bases.setdefault("/" + "/".join(segs[:-2]), {})["delete"] = route
            elif is_param(segs[-1]) and not is_param(segs[-2]) and prev not in EDIT_WORDS | DELETE_WORDS:
                bases.setdefault("/" + "/".join(segs[:-1]), {}).setdefault("detail", route)
        out = [c for base, parts in sorted(bases.items()) for c in self._resource_candidates(base, parts)]
        return [c for c in out if len(set(c.pages)) >= 2]

    def _resource_candidates(self, base: str, parts: dict[str, str]) -> list[_Candidate]:
        """The flows of one resource (`/projects`): create, edit, delete, browse."""
        out: list[_Candidate] = []
        noun = singular(_last_static(base) or "item")
        lst = next((r for r in (*(f"{base}/{w}" for w in LIST_WORDS), base) if r in self.routes), None)
        detail, create, edit, delete = (parts.get(k) for k in ("detail", "create", "edit", "delete"))
        kind = "admin" if "admin" in static_segments(base) else "crud"
        if not create and lst and self._creates_in_place(lst):
            # A list that creates its records in a drawer or dialog (no page of its own for "new").
            entry = self.entry_for(lst) or self.app_home()
            pages = ordered_unique([*([entry] if entry else []), lst])
            out.append(_Candidate(kind, f"Create {noun}", f"A user creates {_a(noun)} from the list.", pages, 2))
        if create:
            after = self.after_submit(create)
            lead = [lst] if lst else [e for e in [self.entry_for(create)] if e]
            pages = _then(ordered_unique([*lead, create]), after)
            desc = f"A user creates {_a(noun)}" + (f" and lands on {after}." if after else " and sees it saved.")
            out.append(_Candidate(kind, f"Create {noun}", desc, pages, 2))
        if edit:
            after = self.after_submit(edit)
            via = [detail] if detail and self.graph.linked(detail, edit) else []
            lead = [lst] if lst else [e for e in [self.entry_for(via[0] if via else edit)] if e]
            pages = _then(ordered_unique([*lead, *via, edit]), after)
            out.append(_Candidate(kind, f"Edit {noun}", f"A user changes {_a(noun)} and saves it.", pages, 2))
        elif detail and self._works_on(detail) and self.after_submit(detail):
            # The record's page is its edit form (`/tasks/:task` saves and goes back to `/tasks`).
            after = self.after_submit(detail)
            lead = [lst] if lst else [e for e in [self.entry_for(detail)] if e]
            pages = _then(ordered_unique([*lead, detail]), after)
            out.append(_Candidate(kind, f"Edit {noun}", f"A user opens {_a(noun)}, changes it and saves it.", pages, 2))
        if delete:
            lead = [lst] if lst else ([detail] if detail else [])
            after = self.after_submit(delete)
            pages = _then(ordered_unique([*lead, delete]), after)
            out.append(_Candidate(kind, f"Delete {noun}", f"A user deletes {_a(noun)}.", pages, 3))
        if lst and detail:
            pages = [lst, detail]
            entry = self.entry_for(lst)
            if entry and entry not in pages:
                pages = [entry, *pages]
            out.append(
                _Candidate(
                    "browse",
                    f"Browse {_last_static(base).replace('-', ' ')}",
                    f"A user opens the {_last_static(base)} list and looks at one {noun}.",
                    pages,
                    5,
                )
            )
        return out

    def _settings_flows(self) -> list[_Candidate]:
        # `/settings/:section?` is the settings page too (its section is optional).
        roots = [r for r in self._find(SETTINGS_WORDS, params=None) if not has_required_params(r)]
        if not roots:
            return []
        root = roots[0]
        base = "/" + "/".join(s for s in segments(root) if not is_param(s))
        subpages = sorted(r for r in self.routes if r.startswith(base.rstrip("/") + "/") and not has_params(r))
        # Always from where users open settings, so a new settings sub-page extends the flow, not reshapes it.
        entry = self.entry_for(root) or self.landing(root)
        lead = [entry] if entry and entry != root and not _has_word(entry, PUBLIC_AUTH_WORDS) else []
        pages = [*lead, root, *subpages[:3]]
        if len(pages) < 2:
            return []
        what = _last_static(root)
        return [_Candidate("settings", f"Update {what}", f"A signed-in user changes their {what}.", pages, 3)]

    def _search_flows(self) -> list[_Candidate]:
        searches = sorted(
            (r for r in self.routes if any(w in s for s in static_segments(r)[-1:] for w in SEARCH_WORDS)),
            key=lambda r: (has_params(r), len(segments(r)), r),
        )
        if not searches:
            return []
        search = searches[0]
        # The result a user opens: a record's page (a route ending in a parameter), the most specific first.
        targets = sorted(
            (t for t in self.graph.links_from(search) if has_params(t) and t in self.routes),
            key=lambda t: (not _ends_in_param(t), -len(segments(t)), t),
        )
        if not targets:
            return []
        return [
            _Candidate(
                "search",
                "Search and open a result",
                f"A user searches on {search} and opens a result.",
                [search, targets[0]],
                4,
            )
        ]

    def _conversion_flows(self) -> list[_Candidate]:
        """Public pages whose own call to action leads to sign-up or sign-in (pricing -> sign in)."""
        out: list[_Candidate] = []
        for target in sorted({*self.auth.signup_routes, *self.auth.login_routes}):
            if target not in self.routes:
                continue
            verb = "Sign up" if is_signup_route(target) else "Sign in"
            for source in self.clicked_from(target):
                if source == "/" or _has_word(source, PUBLIC_AUTH_WORDS) or source in self.auth.protected:
                    continue
                if has_params(source):
                    continue
                land = self.landing(target)
                pages = ordered_unique([source, target, *([land] if land else [])])
                title = _label(source)
                out.append(
                    _Candidate(
                        "conversion", f"{verb} from {title}", f"A visitor on {source} {verb.lower()}s.", pages, 6
                    )
                )
        return out

    def _browse_flows(self) -> list[_Candidate]:
        """Pages that list records and link to a record's page (`/:type/:id`, `/person/:id`), walked from where
        users open the list; and the sub-pages a record's page links to (`/:username` -> `/:username/followers`)."""
        out: list[_Candidate] = []
        for source in self.routes:
            if _has_word(source, PUBLIC_AUTH_WORDS):
                continue
            own = ordered_unique(
                e.target
                for e in self.graph.out_edges.get(source, [])
                if not e.from_layout and e.kind in _CLICK_KINDS and e.target in self.routes and e.target != source
            )
            details = sorted(
                (t for t in own if _ends_in_param(t) and not _has_word(t, PUBLIC_AUTH_WORDS)),
                key=lambda t: (-self._card_reach(t), -len(segments(t)), t),
            )
            # A list page leading to records ranks above a record's page leading to another record.
            rank = 9 if has_params(source) else 7
            if details:
                detail = details[0]
                entry = self._opener_of(source)
                pages = ordered_unique([*([entry] if entry else []), source, detail])
                if self._works_on(detail) and self.graph.linked(detail, source):
                    pages.append(source)  # the record is edited, then the user goes back where they came from
                noun = _label(detail)
                where = "the home page" if source == "/" else _label(source)
                out.append(
                    _Candidate(
                        "browse", f"Open {noun} from {where}", f"A user opens {_a(noun)} from {where}.", pages, rank
                    )
                )
            if _ends_in_param(source):
                prefix = source.rstrip("/") + "/"
                subs = [t for t in own if t.startswith(prefix) and not has_params(t[len(prefix) :])]
                for sub in subs[:1]:
                    out.append(
                        _Candidate(
                            "browse",
                            f"Open {_label(source)} {_label(sub)}",
                            f"A user opens {_a(_label(source))} and then its {_label(sub)}.",
                            [source, sub],
                            9,
                        )
                    )
        return out

    def _card_reach(self, route: str) -> int:
        """How many pages link to `route` from one place in the code (a record card shared by every list): the
        record page lists lead to, ahead of pages a few lists link to by hand."""
        sites: dict[tuple[str, int | None], set[str]] = {}
        for source, edges in self.graph.out_edges.items():
            for e in edges:
                if e.target == route and e.kind in _CLICK_KINDS and not e.from_layout:
                    sites.setdefault((e.file, e.line), set()).add(source)
        return max((len(v) for v in sites.values()), default=0)

    def _creates_in_place(self, route: str) -> bool:
        """The page's own components hold a form with fields and a submit button (a create drawer or dialog)."""
        if self.reader is None:
            return False
        facts = self.reader.facts(route)
        return facts.has_form and bool(facts.fields) and any(b.submit for b in facts.buttons)

    def _works_on(self, route: str) -> bool:
        """The page is where users change something: a form with fields or a submit, or an editor."""
        if self.reader is None:
            return False
        facts = self.reader.facts(route)
        return facts.editable or (facts.has_form and (bool(facts.fields) or any(b.submit for b in facts.buttons)))

    def _opener_of(self, route: str) -> str | None:
        """The page a user opens `route` from: its nearest ancestor route or the home page, when either links to it
        (a layout's navigation counts here)."""
        segs = segments(route)
        for cut in range(len(segs) - 1, -1, -1):
            ancestor = "/" + "/".join(segs[:cut])
            if ancestor != route and ancestor in self.routes and self.graph.linked(ancestor, route):
                return ancestor
        return None

    def _through_layout(self, route: str, home: str | None) -> str | None:
        """The app home, when `route` sits in the same layout as the home: users reach it through the layout's menu
        (an admin sidebar is often built from the route table, its links are not in the code as URLs), starting
        from the home, not from some demo page that happens to link to it."""
        if home is None or home == route:
            return None
        mine, theirs = self.graph.by_route.get(route), self.graph.by_route.get(home)
        if mine is None or theirs is None or not mine.layout_files or mine.layout_files != theirs.layout_files:
            return None
        return home

    def _single_page_flows(self, found: list[_Candidate]) -> list[_Candidate]:
        """An app of one page (an editor, a tool): its work happens on that page, so that page is the flow."""
        if found or len(self.routes) != 1 or self.reader is None:
            return []
        route = self.routes[0]
        facts = self.reader.facts(route)
        if not (facts.fields or facts.buttons or facts.has_form or facts.editable):
            return []
        what = "the editor" if facts.editable else _label(route)
        return [_Candidate("single", f"Work in {what}", f"A user opens {route} and works in {what}.", [route], 6)]

    def _journey_flows(self, covered: set[str]) -> list[_Candidate]:
        """Uncovered pages where users do something (a form, fields, action buttons), from where they open them:
        `/` -> `/contact` (submit), `/dashboard` -> `/dashboard/billing` (upgrade)."""
        if self.reader is None:
            return []
        out: list[_Candidate] = []
        home = self.app_home()
        for route in self.routes:
            landing = route == "/"  # the landing page is where journeys start, not one to go to
            if route in covered or has_params(route) or route == home or landing or _has_word(route, PUBLIC_AUTH_WORDS):
                continue
            facts = self.reader.facts(route)
            form = facts.has_form and (bool(facts.fields) or any(b.submit for b in facts.buttons))
            if not (form or facts.fields or any(not b.submit for b in facts.buttons) or facts.editable):
                continue
            entry = self._opener_of(route) or self._through_layout(route, home) or self.entry_for(route) or home
            if entry is None or entry == route:
                continue
            after = self.after_submit(route) if form else None
            pages = _then([entry, route], after)
            title = _label(route)
            name = f"Submit {title} form" if form else f"Use {title}"
            what = "submits the form" if form else "uses the page"
            # Submitting a form is core work; trying a page's widgets ranks below the lists that lead to records.
            rank = 6 if form else 8
            out.append(
                _Candidate("journey", name, f"A user goes from {_label(entry)} to {title} and {what}.", pages, rank)
            )
        return out

    def app_home(self) -> str | None:
        """The page signed-in users start from (the dashboard), else the landing page."""
        homes = [r for r in self._find(HOME_WORDS) if not _has_word(r, PUBLIC_AUTH_WORDS)]
        if homes:
            return homes[0]
        return "/" if "/" in self.graph.by_route else None


def _select(candidates: list[_Candidate], max_flows: int) -> tuple[list[_Candidate], list[str]]:
    """Dedupe by page set and by name, then keep the most important `max_flows` (stable order)."""
    seen_sets: set[tuple[str, ...]] = set()
    names: set[str] = set()
    kept: list[_Candidate] = []
    for cand in candidates:
        key = page_set_key(cand.pages)
        single = cand.kind == "single"
        if (len(set(cand.pages)) < 2 and not single) or key in seen_sets or cand.name.casefold() in names:
            continue
        # A browsing journey that another flow already walks (product list -> product inside checkout).
        # A browsing flow's entry page does not count (how one reaches the list is not the journey).
        core = set(cand.pages[1:]) if cand.kind == "browse" and len(cand.pages) > 2 else set(cand.pages)
        if cand.kind in ("browse", "journey", "conversion") and any(
            o is not cand and core <= set(o.pages) and o.kind not in ("browse", "journey", "conversion")
            for o in candidates
        ):
            continue
        seen_sets.add(key)
        names.add(cand.name.casefold())
        kept.append(cand)
    limits: list[str] = []
    if len(kept) > max_flows:
        limits.append(f"bootstrap.maxFlows: found {len(kept)} flows, kept the {max_flows} most important")
        keep = _most_valuable(kept, max_flows)
        kept = [c for i, c in enumerate(kept) if i in keep]
    return kept, limits


def _area(cand: _Candidate) -> str:
    """The part of the app a flow is about: the first word of the page it goes to (`/forms/validation` -> `forms`,
    `/tasks/create` -> `tasks`), or that page's pattern when it has no word (`/:username/:modelId`)."""
    pages = cand.pages[1:] or cand.pages
    target = next((p for p in reversed(pages) if p != cand.pages[0]), pages[-1])
    statics = static_segments(target)
    return statics[0] if statics else target


def _most_valuable(cands: list[_Candidate], max_flows: int) -> set[int]:
    """The indexes of the `max_flows` candidates worth most, picked one at a time: journey value first (money,
    access, the main objects' create/edit/delete, settings, search; then lists and pages' own work), and among
    flows of like value, the one in a part of the app the picked flows cover least. Each flow already picked in
    the same area costs one rank: eleven widget demos under `/base` do not crowd out `/widgets` or `/charts`,
    and five lists leading to the same record page are variants of one journey, not five."""
    picked: set[int] = set()
    per_area: dict[str, int] = {}
    areas = [_area(c) for c in cands]
    while len(picked) < max_flows:
        best = min(
            (i for i in range(len(cands)) if i not in picked),
            key=lambda i: (cands[i].rank + per_area.get(areas[i], 0), PRIORITIES.index(priority_for(cands[i].name)), i),
        )
        picked.add(best)
        per_area[areas[best]] = per_area.get(areas[best], 0) + 1
    return picked


VISITOR = PersonaDraft(
    name="Visitor",
    description="Someone who is not signed in: browses public pages, signs up or signs in.",
    behaviors=["Lands on public pages", "Browses without an account", "Signs up or signs in"],
)
SIGNED_IN = PersonaDraft(
    name="Signed-in user",
    description="A user with an account who works in the pages behind sign-in.",
    behaviors=["Signs in", "Uses the app's main pages", "Creates and edits their own data", "Changes settings"],
)
ADMIN = PersonaDraft(
    name="Administrator",
    description="A user with admin rights who manages the application's data and users.",
    behaviors=["Opens the admin area", "Manages records and users", "Reviews activity"],
)
USER = PersonaDraft(
    name="User",
    description="Anyone using the application (the code shows no sign-in).",
    behaviors=["Opens the app", "Navigates between pages", "Fills in forms"],
)

_ROLE_WORDS = {
    "admin": ("admin", "operator", "staff", "moderator", "owner", "manager"),
    "visitor": ("visitor", "guest", "anonymous", "prospect", "new", "shopper", "browser", "public", "lead"),
    "signed-in": ("signed", "logged", "member", "customer", "user", "subscriber", "account", "returning"),
}


def _role_of_flow(cand: _Candidate, auth: AuthModel) -> str:
    if not auth.has_auth and not auth.admin_routes:
        return "user"
    if cand.kind == "admin" or any("admin" in static_segments(p) for p in cand.pages):
        return "admin"
    if cand.kind in ("auth", "signup", "password", "conversion"):
        return "visitor"
    if any(p in auth.protected for p in cand.pages) or cand.kind == "settings":
        return "signed-in"
    return "visitor" if auth.has_auth else "user"


def _role_persona(role: str) -> PersonaDraft:
    return {"admin": ADMIN, "visitor": VISITOR, "signed-in": SIGNED_IN}.get(role, USER)


def _match_user_persona(role: str, user_personas: Sequence[PersonaSpec]) -> str | None:
    words = _ROLE_WORDS.get(role, ())
    best: tuple[int, str] | None = None
    for spec in user_personas:
        text = f"{spec.name} {spec.description} {' '.join(spec.behaviors)}".casefold()
        score = sum(text.count(w) for w in words)
        if score and (best is None or score > best[0]):
            best = (score, spec.name)
    return best[1] if best else None


def _role_persona_of(role: str, evidence: str, flows: list[str]) -> PersonaDraft:
    title = role.replace("-", " ").replace("_", " ").title()
    return PersonaDraft(
        name=title,
        description=f"A signed-in user with the '{role}' role ({evidence}).",
        behaviors=[f"Signs in as {role}", *[f"Walks '{name}'" for name in flows[:5]]],
    )


def _roles_for(cand: _Candidate, finder: FlowFinder) -> list[str]:
    """The roles that can walk a flow: those every restricted page on it allows, else every role."""
    model, auth = finder.roles, finder.auth
    if cand.kind in ("auth", "signup", "password", "conversion"):
        return ["visitor"]
    allowed: set[str] | None = None
    for page in cand.pages:
        if page in model.restricted:
            allowed = model.restricted[page] if allowed is None else allowed & model.restricted[page]
    if allowed:
        return [r for r in model.roles if r in allowed]
    protected = any(p in auth.protected for p in cand.pages) or cand.kind == "settings"
    if auth.has_auth and not protected:
        return ["visitor"]
    # A page no role restricts is open to every signed-in role; an app whose only role is its admin's has other
    # users too.
    if all(r in ("admin", "administrator", "superadmin") for r in model.roles):
        return ["signed-in", *model.roles]
    return list(model.roles)


def _personas_from_roles(flows: list[FlowDraft], finder: FlowFinder, kept: list[_Candidate]) -> list[PersonaDraft]:
    """One persona per role the code names (plus Visitor for public flows), each listing the flows it can walk."""
    walked: dict[str, list[str]] = {}
    for cand, flow in zip(kept, flows, strict=True):
        roles = _roles_for(cand, finder)
        for role in roles:
            walked.setdefault(role, []).append(flow.name)
        flow.personas = [_persona_name(r) for r in roles]
    personas: list[PersonaDraft] = []
    for role in ["visitor", *finder.roles.roles, "signed-in"]:
        names = walked.get(role)
        if not names or any(p.name == _persona_name(role) for p in personas):
            continue
        if role == "visitor":
            personas.append(VISITOR)
        elif role == "signed-in":
            personas.append(SIGNED_IN)
        else:
            personas.append(_role_persona_of(role, finder.roles.evidence.get(role, "in the code"), names))
    return personas


def _persona_name(role: str) -> str:
    if role == "visitor":
        return VISITOR.name
    if role == "signed-in":
        return SIGNED_IN.name
    return role.replace("-", " ").replace("_", " ").title()


def derive_flows_and_personas(
    finder: FlowFinder, *, max_flows: int, user_personas: Sequence[PersonaSpec] = ()
) -> HeuristicResult:
    """Flows (at most `max_flows`) and personas, each flow assigned to the personas that can walk it: the roles
    the code names (route metadata, role guards, role checks), else Visitor / Signed-in user."""
    kept, limits = _select(finder.candidates(), max_flows)
    flows = [
        FlowDraft(
            name=cand.name,
            description=cand.description,
            pages=cand.pages,
            priority=priority_for(cand.name, cand.description),
        )
        for cand in kept
    ]
    if finder.roles.roles and not user_personas:
        personas = _personas_from_roles(flows, finder, kept)
    else:
        personas = _canned_personas(flows, finder, kept, user_personas)
    # Flows that lead into one another: the end page of one is the start page of the other.
    for flow in flows:
        flow.connected_flows = [o.name for o in flows if o is not flow and o.pages[0] == flow.pages[-1]]
    warnings = [] if flows else ["the offline heuristic found no multi-page flow in the route graph"]
    return HeuristicResult(flows=flows, personas=personas, warnings=warnings, limits=limits)


def _canned_personas(
    flows: list[FlowDraft], finder: FlowFinder, kept: list[_Candidate], user_personas: Sequence[PersonaSpec]
) -> list[PersonaDraft]:
    """Visitor / Signed-in user / Administrator / User, when the code names no role (or the user gave personas)."""
    role_to_persona: dict[str, str] = {}
    personas: list[PersonaDraft] = []
    for cand, flow in zip(kept, flows, strict=True):
        role = _role_of_flow(cand, finder.auth)
        if role not in role_to_persona:
            user_name = _match_user_persona(role, user_personas)
            if user_name:
                role_to_persona[role] = user_name
            else:
                persona = _role_persona(role)
                role_to_persona[role] = persona.name
                personas.append(persona)
        flow.personas = [role_to_persona[role]]
    return personas
