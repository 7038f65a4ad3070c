"""The offline bootstrap: flows, personas and steps from the route and navigation graph, no LLM.

Deterministic: the same discovery gives the same flows with the same names, so a re-run changes nothing
and adding a page touches only the flows that visit it. A flow spans at least two pages; a single page
view is not a flow.
"""

from __future__ import annotations

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
    title_of,
)
from perceo.models.vocab import PRIORITIES, Priority

MAX_PAGES_PER_FLOW = 5

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
SKIP_WORDS = frozenset(
    {
        "404",
        "500",
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
    statics = static_segments(route)
    return statics[-1] if statics else ""


def _has_word(route: str, words: frozenset[str] | tuple[str, ...]) -> bool:
    return any(s in words for s in static_segments(route))


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

    def __init__(self, graph: RouteGraph, auth: AuthModel, reader: PageReader | None = None) -> None:
        self.graph = graph
        self.auth = auth
        self.reader = reader
        self.routes = [r.route for r in graph.routes if not _has_word(r.route, SKIP_WORDS)]

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

    def entry_for(self, route: str) -> str | None:
        """A page that leads to `route`: a linker, preferring the app home, then the landing page."""
        linkers = [r for r in self.graph.linkers_of(route) if r != route and r in self.routes]
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
        found += self._journey_flows({p for c in found for p in c.pages})
        return found

    def _auth_flows(self) -> list[_Candidate]:
        out: list[_Candidate] = []
        logins = [r for r in self.routes if is_login_route(r)]
        if logins:
            login = sorted(logins, key=lambda r: (len(segments(r)), r))[0]
            land = self.landing(login)
            if land and land != login:
                out.append(
                    _Candidate(
                        "auth", "Sign in", f"A returning user signs in on {login} and reaches {land}.", [login, land], 0
                    )
                )
        signups = [r for r in self.routes if is_signup_route(r)]
        if signups:
            signup = sorted(signups, key=lambda r: (len(segments(r)), r))[0]
            middle = [r for r in self.routes if _has_word(r, ONBOARDING_WORDS) and not has_params(r)][:2]
            land = self.landing(signup)
            pages = ordered_unique([signup, *middle, *([land] if land else [])])
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
        bases: dict[str, dict[str, str]] = {}
        for route in self.routes:
            segs = segments(route)
            # Settings sections (`/settings/:section`) are the settings flow's, not a list of records.
            if not segs or _has_word(route, PUBLIC_AUTH_WORDS | CART_WORDS | CHECKOUT_WORDS | set(SETTINGS_WORDS)):
                continue
            last = segs[-1]
            if last.casefold() in CREATE_WORDS and len(segs) >= 2:
                bases.setdefault("/" + "/".join(segs[:-1]), {})["create"] = route
            elif last.casefold() in EDIT_WORDS and len(segs) >= 3 and is_param(segs[-2]):
                bases.setdefault("/" + "/".join(segs[:-2]), {})["edit"] = route
            elif is_param(last) and len(segs) >= 2 and not is_param(segs[-2]):
                bases.setdefault("/" + "/".join(segs[:-1]), {}).setdefault("detail", route)
        out: list[_Candidate] = []
        for base, parts in sorted(bases.items()):
            noun = singular(_last_static(base) or "item")
            lst = base if base in self.graph.by_route else None
            detail, create, edit = parts.get("detail"), parts.get("create"), parts.get("edit")
            is_admin = "admin" in static_segments(base)
            if create or edit:
                pages = ordered_unique([p for p in [lst, create, detail, edit] if p])
                verb = "Create and edit" if create and edit else ("Create" if create else "Edit")
                if len(pages) < 2 and pages:
                    entry = self.entry_for(pages[0])
                    pages = [entry, *pages] if entry else pages
                if len(pages) >= 2:
                    out.append(
                        _Candidate(
                            "admin" if is_admin else "crud",
                            f"{verb} {noun}",
                            f"A user {verb.lower()}s a {noun} and checks the result.",
                            pages[:5],
                            2,
                        )
                    )
            elif lst and detail:
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
        searches = self._find(SEARCH_WORDS)
        if not searches:
            return []
        search = searches[0]
        targets = [t for t in self.graph.links_from(search) if has_params(t)]
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

    def _journey_flows(self, covered: set[str]) -> list[_Candidate]:
        """Uncovered pages with a form, reached through navigation: `/` -> `/contact` (submit)."""
        if self.reader is None:
            return []
        out: list[_Candidate] = []
        for route in self.routes:
            if route in covered or has_params(route):
                continue
            facts = self.reader.facts(route)
            if not (facts.has_form and facts.fields):
                continue
            entry = self.entry_for(route)
            if entry is None:
                continue
            title = title_of(route)
            out.append(
                _Candidate(
                    "journey",
                    f"Submit {title.lower()} form",
                    f"A user goes from {title_of(entry)} to {title} and submits the form.",
                    [entry, route],
                    6,
                )
            )
        return out


def _select(candidates: list[_Candidate], max_flows: int) -> tuple[list[_Candidate], list[str]]:
    """Dedupe by page set and by name, then keep the most important `max_flows` (stable order)."""
    seen_sets: set[tuple[str, ...]] = set()
    names: set[str] = set()
    kept: list[_Candidate] = []
    for cand in candidates:
        key = page_set_key(cand.pages)
        if len(set(cand.pages)) < 2 or key in seen_sets or cand.name.casefold() in names:
            continue
        # A browsing journey that another flow already walks (product list -> product inside checkout).
        core = set(cand.pages[1:]) if len(cand.pages) > 2 else set(cand.pages)
        if cand.kind in ("browse", "journey") and any(
            o is not cand and core <= set(o.pages) and o.kind not in ("browse", "journey") for o in candidates
        ):
            continue
        seen_sets.add(key)
        names.add(cand.name.casefold())
        kept.append(cand)
    limits: list[str] = []
    if len(kept) > max_flows:
        limits.append(f"bootstrap.maxFlows: found {len(kept)} flows, kept the {max_flows} most important")
        order = sorted(range(len(kept)), key=lambda i: (kept[i].rank, PRIORITIES.index(priority_for(kept[i].name)), i))
        keep = set(order[:max_flows])
        kept = [c for i, c in enumerate(kept) if i in keep]
    return kept, limits


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
    if cand.kind in ("auth", "signup", "password"):
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


def derive_flows_and_personas(
    finder: FlowFinder, *, max_flows: int, user_personas: Sequence[PersonaSpec] = ()
) -> HeuristicResult:
    """Flows (at most `max_flows`) and personas, each flow assigned to the persona its pages call for."""
    kept, limits = _select(finder.candidates(), max_flows)
    role_to_persona: dict[str, str] = {}
    personas: list[PersonaDraft] = []
    flows: list[FlowDraft] = []
    for cand in kept:
        role = _role_of_flow(cand, finder.auth)
        if role not in role_to_persona:
            user_name = _match_user_persona(role, user_personas)
            if user_name:
                role_to_persona[role] = user_name
            else:
                persona = _role_persona(role)
                role_to_persona[role] = persona.name
                personas.append(persona)
        flows.append(
            FlowDraft(
                name=cand.name,
                description=cand.description,
                pages=cand.pages,
                priority=priority_for(cand.name, cand.description),
                personas=[role_to_persona[role]],
            )
        )
    # Flows that lead into one another: the end page of one is the start page of the other.
    for flow in flows:
        flow.connected_flows = [o.name for o in flows if o is not flow and o.pages[0] == flow.pages[-1]]
    warnings = [] if flows else ["the offline heuristic found no multi-page flow in the route graph"]
    return HeuristicResult(flows=flows, personas=personas, warnings=warnings, limits=limits)
