"""Which routes need a signed-in user: middleware, redirects to the login page, session hooks, guards,
protected route groups. Also gives the evidence lines (the `authSnippets` of the LLM prompts)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from perceo.bootstrap.routes import RouteGraph, route_matches, segments, static_segments

LOGIN_WORDS = frozenset({"login", "signin", "sign-in", "log-in", "sign_in", "log_in", "auth", "authenticate"})
SIGNUP_WORDS = frozenset({"signup", "sign-up", "sign_up", "register", "registration", "join", "create-account"})
PASSWORD_WORDS = frozenset({"forgot-password", "forgot", "reset-password", "password-reset", "reset", "recover"})
PUBLIC_AUTH_WORDS = LOGIN_WORDS | SIGNUP_WORDS | PASSWORD_WORDS | {"verify", "verify-email", "callback", "logout"}

_LOGIN_PATH = r"/(?:login|signin|sign-in|log-in|auth(?:/[\w-]+)?|account/login)\b"
_GUARD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "redirect to login",
        re.compile(r"""(?:redirect|navigate|push|replace|goto|navigateTo)\s*\(\s*(?:\d+\s*,\s*)?["'`]""" + _LOGIN_PATH),
    ),
    ("redirect to login", re.compile(r"""<(?:Navigate|Redirect)\b[^>]*\bto=\{?\s*["'`]""" + _LOGIN_PATH)),
    # Next.js pages router: `getServerSideProps` returning `{ redirect: { destination: "/login" } }`.
    ("redirect to login", re.compile(r"""\bdestination\s*:\s*["'`]""" + _LOGIN_PATH)),
    (
        "session hook",
        re.compile(
            r"\b(?:useSession|getServerSession|getSession|useUser|currentUser|requireUser|requireAuth"
            r"|withAuth|withPageAuthRequired|isAuthenticated|useAuth)\s*\("
        ),
    ),
    ("auth() call", re.compile(r"(?<![\w.])auth\s*\(\s*\)")),
    (
        "route guard",
        re.compile(
            r"\b(?:canActivate|canMatch|RequireAuth|ProtectedRoute|PrivateRoute|AuthGuard"
            r"|authGuard|requiresAuth|SignedIn|RedirectToSignIn)\b"
        ),
    ),
    ("auth middleware", re.compile(r"""middleware\s*:\s*\[?\s*["']auth""")),
    ("locals.user", re.compile(r"\blocals\.(?:user|session)\b")),
)
#: Route groups whose pages need a session, and those that are public.
_PROTECTED_GROUPS = frozenset(
    {
        "app",
        "dashboard",
        "protected",
        "private",
        "authenticated",
        "authed",
        "main",
        "platform",
        "account",
        "admin",
        "logged-in",
        "signed-in",
        "console",
        "auth-required",
        "protected-routes",
    }
)
_PUBLIC_GROUPS = frozenset({"auth", "marketing", "public", "site", "landing", "www", "unauthenticated", "guest"})
#: Route groups: Next.js `(app)`, and the pathless layout folders of Remix / React Router file routes
#: (`_authenticated/`, `__account/`).
_GROUP = re.compile(r"(?:^|/)(?:\(([\w-]+)\)|_{1,2}([A-Za-z][\w-]*))(?=/)")
_MATCHER = re.compile(r"matcher\s*:\s*(\[[^\]]*\]|[\"'][^\"']*[\"'])", re.S)
_QUOTED = re.compile(r"""["'`]([^"'`]+)["'`]""")
#: Router config: a route object with a guard (`{ path: 'admin', canActivate: [...] }`, `meta: { requiresAuth }`).
#: The object ends at its first `}`; nested `{` (a `meta` object) may come before the guard.
_GUARDED_ROUTE_OBJECT = re.compile(
    r"""path\s*:\s*["'`]([^"'`]*)["'`][^}]{0,400}?(?:canActivate|canMatch|requiresAuth|requireAuth|authGuard)""", re.S
)
#: `<Route path="checkout" element={<RequireAuth><Checkout /></RequireAuth>} />`: the guard wraps one route's element.
_GUARDED_ROUTE_ELEMENT = re.compile(
    r"""<Route\b[^>]*?\bpath=\{?\s*["'`]([^"'`]+)["'`][^>]*?\belement=\{\s*<"""
    r"(?:RequireAuth|ProtectedRoute|PrivateRoute|AuthGuard|RequireUser)\b",
    re.S,
)
#: Two or more route definitions: a router config file, read route by route rather than as one page's code.
_ROUTE_DEFINITION = re.compile(r"""\bpath\s*:\s*["'`]|<Route\b""")
_GUARD_ELEMENT_BLOCK = re.compile(
    r"<(RequireAuth|ProtectedRoute|PrivateRoute|AuthGuard|RequireUser)\b[^>]*>(.*?)</\1>", re.S
)
_GUARD_ROUTE_BLOCK = re.compile(
    r"<Route\b[^>]*element=\{\s*<(?:RequireAuth|ProtectedRoute|PrivateRoute|AuthGuard|RequireUser)\b[^>]*>\s*\}\s*>"
    r"(.*?)</Route>",
    re.S,
)
_ROUTE_PATH_ATTR = re.compile(r"""\bpath=\{?\s*["'`]([^"'`]+)["'`]""")
_MIDDLEWARE_FILE = re.compile(r"^(?:src/)?middleware\.(?:ts|js|mjs)$")

ReadText = Callable[[str], str | None]


@dataclass
class AuthModel:
    #: Routes that need a session (route pattern -> why).
    protected: dict[str, str] = field(default_factory=dict)
    login_routes: list[str] = field(default_factory=list)
    signup_routes: list[str] = field(default_factory=list)
    admin_routes: list[str] = field(default_factory=list)
    #: `file:line: code` evidence, for people and for the LLM prompts.
    snippets: list[str] = field(default_factory=list)

    @property
    def has_auth(self) -> bool:
        return bool(self.protected or self.login_routes or self.signup_routes)


def is_login_route(route: str) -> bool:
    statics = static_segments(route)
    return bool(statics) and statics[-1] in LOGIN_WORDS


def is_signup_route(route: str) -> bool:
    statics = static_segments(route)
    return bool(statics) and statics[-1] in SIGNUP_WORDS


def is_public_auth_route(route: str) -> bool:
    return any(s in PUBLIC_AUTH_WORDS for s in static_segments(route))


def _group_of(path: str) -> list[str]:
    return [(a or b).casefold() for a, b in _GROUP.findall(path)]


#: Reading the session is not requiring it (a public page shows "Sign in" or the user's avatar): these reasons
#: guard a page only when the same code turns a missing session away.
_SOFT_REASONS = frozenset({"session hook", "auth() call", "locals.user"})
_REFUSES = re.compile(
    r"""if\s*\(\s*!\s*[\w.?]*(?:session|user|auth|token)[\w.?]*\s*\)\s*\{?\s*(?:throw\b|(?:return\s+)?"""
    r"""(?:redirect|navigate|push|replace|goto|navigateTo|notFound|unauthorized|error)\b)"""
    r"""|status\s*:\s*40[13]\b|\b(?:requireUser|requireAuth|withPageAuthRequired|withAuth)\s*\(""",
    re.I,
)


def _guard_reason(text: str) -> tuple[str, int] | None:
    for reason, pattern in _GUARD_PATTERNS:
        match = pattern.search(text)
        if match and (reason not in _SOFT_REASONS or _REFUSES.search(text)):
            return reason, text.count("\n", 0, match.start()) + 1
    return None


def _snippet(path: str, text: str, line: int) -> str:
    lines = text.splitlines()
    code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"{path}:{line}: {code[:160]}"


def _matcher_prefixes(text: str) -> list[str]:
    match = _MATCHER.search(text)
    if not match:
        return []
    prefixes = []
    for raw in _QUOTED.findall(match.group(1)):
        # `/dashboard/:path*` -> `/dashboard`; regex-style matchers (`/((?!api|_next).*)`) mean "everything".
        if "(" in raw:
            prefixes.append("/")
            continue
        cut = re.split(r"/:|\(|\*", raw, maxsplit=1)[0].rstrip("/")
        prefixes.append(cut or "/")
    return prefixes


def detect_auth(graph: RouteGraph, files: list[str], read_text: ReadText, *, max_snippets: int = 20) -> AuthModel:
    """Find what needs a session. Reads each route's own files and the few router/middleware files."""
    return _AuthScan(graph, read_text, max_snippets).run(files)


class _AuthScan:
    def __init__(self, graph: RouteGraph, read_text: ReadText, max_snippets: int) -> None:
        self.graph = graph
        self.read_text = read_text
        self.max_snippets = max_snippets
        self.model = AuthModel(
            login_routes=[r.route for r in graph.routes if is_login_route(r.route)],
            signup_routes=[r.route for r in graph.routes if is_signup_route(r.route)],
            admin_routes=[r.route for r in graph.routes if "admin" in static_segments(r.route)],
        )
        self._file_guards: dict[str, str | None] = {}
        #: Files that define several routes (router configs) met among the routes' files.
        self._route_configs: list[str] = []

    def run(self, files: list[str]) -> AuthModel:
        for entry in self.graph.routes:
            self._scan_route(entry.route, entry.files)
            # the modules that declare the route (a router config is not one of the route's own files)
            self._route_configs.extend(entry.config_files)
        configs = [p for p in files if p.endswith((".ts", ".tsx", ".js", ".jsx", ".vue")) and _is_router_config(p)]
        for path in files:
            if _MIDDLEWARE_FILE.match(path):
                self._scan_middleware(path)
        for path in dict.fromkeys([*configs, *self._route_configs]):
            self._scan_router_config(path)
        for path in files:
            if path.endswith((".ts", ".js", ".tsx", ".jsx")) and "node_modules/" not in path:
                self._scan_global_guard(path)
        return self.model

    def _scan_global_guard(self, path: str) -> None:
        """A router-wide guard (`router.beforeEach` sending users without a session to the login page) protects
        every page except the ones it lets through (its allow list) and the sign-in pages."""
        name = path.rsplit("/", 1)[-1].casefold()
        if not any(k in name for k in ("permission", "guard", "router", "route", "auth", "main", "index")):
            return
        text = self.read_text(path) or ""
        hook = _GLOBAL_GUARD.search(text)
        if not hook or not _NEXT_TO_LOGIN.search(text):
            return
        self._note(path, text, text.count("\n", 0, hook.start()) + 1)
        allowed = {route for raw in _ALLOW_LIST.findall(text) for route in _QUOTED.findall(raw)}
        for entry in self.graph.routes:
            if entry.route not in allowed:
                self._protect(entry.route, f"router guard in {path}")

    def _note(self, path: str, text: str, line: int) -> None:
        snippet = _snippet(path, text, line)
        if len(self.model.snippets) < self.max_snippets and snippet not in self.model.snippets:
            self.model.snippets.append(snippet)

    def _protect(self, route: str, why: str) -> None:
        if not is_public_auth_route(route):
            self.model.protected.setdefault(route, why)

    def _file_guard(self, path: str) -> str | None:
        """Why the whole file guards its routes, if it does. A router config guards route by route instead
        (`_scan_router_config`): one `canActivate` in it must not protect every route it defines."""
        if path not in self._file_guards:
            text = self.read_text(path)
            if text and len(_ROUTE_DEFINITION.findall(text)) >= 2:
                self._route_configs.append(path)
                self._file_guards[path] = None
                return None
            found = _guard_reason(text) if text else None
            self._file_guards[path] = found[0] if found else None
            if found and text:
                self._note(path, text, found[1])
        return self._file_guards[path]

    def _scan_route(self, route: str, files: list[str]) -> None:
        groups = [g for f in files for g in _group_of(f)]
        protected_group = next((g for g in groups if g in _PROTECTED_GROUPS), None)
        if protected_group:
            self._protect(route, f"route group ({protected_group})")
            return
        if any(g in _PUBLIC_GROUPS for g in groups):
            return
        for path in files:
            reason = self._file_guard(path)
            if reason:
                self._protect(route, f"{reason} in {path}")
                return

    def _scan_middleware(self, path: str) -> None:
        text = self.read_text(path) or ""
        found = _guard_reason(text)
        if not found:
            return
        self._note(path, text, found[1])
        prefixes = [p for p in _matcher_prefixes(text) if p != "/"] if "/" not in _matcher_prefixes(text) else []
        for entry in self.graph.routes:
            # Without a matcher, middleware runs everywhere: every page but the landing page is guarded.
            if prefixes:
                in_scope = any(entry.route == p or route_matches(p + "/*", entry.route) for p in prefixes)
            else:
                in_scope = entry.route != "/"
            if in_scope:
                self._protect(entry.route, f"middleware {path}")

    def _scan_router_config(self, path: str) -> None:
        text = self.read_text(path) or ""
        guarded = _guarded_config_paths(text)
        for prefix in guarded:
            base = "/" + prefix.strip("/")
            for entry in self.graph.routes:
                if entry.route == base or (base != "/" and entry.route.startswith(base + "/")):
                    self._protect(entry.route, f"guarded route in {path}")
        found = _guard_reason(text) if guarded else None
        if found:
            self._note(path, text, found[1])


_GLOBAL_GUARD = re.compile(r"\.beforeEach\s*\(|\bcanActivate\s*\(\s*\)|\bonBeforeRouteUpdate\b")
_NEXT_TO_LOGIN = re.compile(r"""\bnext\s*\(\s*(?:\{\s*path\s*:\s*)?["'`]""" + _LOGIN_PATH)
_ALLOW_LIST = re.compile(r"""(?i)\b(?:white_?list|allow_?list|public_?(?:routes|paths|pages))\s*=\s*\[([^\]]*)\]""")


def _is_router_config(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].casefold()
    return any(k in name for k in ("route", "router", "app.tsx", "app.jsx", "main.tsx", "main.jsx", "app.vue"))


def _guarded_config_paths(text: str) -> list[str]:
    if not re.search(
        r"canActivate|canMatch|requiresAuth|requireAuth|authGuard|RequireAuth|ProtectedRoute|PrivateRoute"
        r"|AuthGuard|RequireUser",
        text,
    ):
        return []
    paths = [m.group(1) for m in _GUARDED_ROUTE_OBJECT.finditer(text)]
    paths += [m.group(1) for m in _GUARDED_ROUTE_ELEMENT.finditer(text)]
    for block in [*_GUARD_ELEMENT_BLOCK.finditer(text), *_GUARD_ROUTE_BLOCK.finditer(text)]:
        paths.extend(_ROUTE_PATH_ATTR.findall(block.group(block.lastindex or 0)))
    return [p for p in paths if p and p != "*" and not any(s in PUBLIC_AUTH_WORDS for s in segments("/" + p))]
