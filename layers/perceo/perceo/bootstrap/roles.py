"""Who uses the app, from its code: the roles its route metadata, guards and role checks name.

- Route metadata restricts pages: `{ path: 'role', meta: { roles: ['admin'] } }` (vue-router),
  `{ path: 'admin', data: { roles: ['admin'] } }` (Angular); a parent's roles cover its children.
- A page guarded by role in its own file: `<Authorization allowedRoles={[ROLES.ADMIN]}>`, `<RequireRole role="admin">`.
- Roles the app defines or checks: `enum ROLES { ADMIN = 'ADMIN', USER = 'USER' }`, `type Role = 'admin' | 'member'`,
  `user.role === 'ADMIN'`, `hasRole('editor')`.
- An admin section (`/admin/...`) is the admin's.

Each role becomes a persona that lists the flows it can walk; when the code names no role, the bootstrap falls back
to "Visitor" / "Signed-in user".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from perceo.bootstrap.routes import RouteGraph, static_segments

ReadText = Callable[[str], str | None]

_ROUTE_ROLES = re.compile(
    # From a route's `path` to a `roles: [...]` in the same object or in one it opens (`meta: {`), never past the
    # object's end (`}`) nor into its `children: [...]`.
    r"""path\s*:\s*["'`]([^"'`]*)["'`](?:[^{}\[\]]|\{|\[[^\[\]{}]*\]){0,600}?\broles\s*:\s*\[([^\]]*)\]""",
    re.S,
)
_ELEMENT_ROLES = re.compile(r"""\b(?:allowedRoles|roles|requiredRoles)\s*=\s*\{\s*\[([^\]]*)\]\s*\}""")
_ELEMENT_ROLE = re.compile(r"""<\w*Role\w*\b[^>]*\brole\s*=\s*["']([\w-]+)["']""")
_ROLE_ENUM = re.compile(
    r"""\benum\s+(?:User)?Roles?\s*\{([^}]*)\}|\b(?:const|let|var)\s+(?:USER_)?ROLES?\s*=\s*\{([^}]*)\}"""
)
_ROLE_TYPE = re.compile(r"""\btype\s+(?:User)?Role\s*=\s*((?:\s*\|?\s*["'][\w-]+["'])+)""")
_ROLE_CHECK = re.compile(
    r"""\brole\s*[!=]==?\s*["'`]([\w-]+)["'`]|\bhasRole\(\s*["'`]([\w-]+)["'`]|\broles\.includes\(\s*["'`]([\w-]+)["'`]"""
)
_NAMES = re.compile(r"""["'`]([\w-]+)["'`]|\b[A-Za-z_]\w*\.([A-Za-z_]\w*)\b|^\s*([A-Za-z_]\w*)\s*[=:,]""", re.M)
#: ARIA roles and words that are never a user's role.
_NOT_ROLES = frozenset(
    {
        "button",
        "dialog",
        "alert",
        "alertdialog",
        "menu",
        "menuitem",
        "presentation",
        "none",
        "navigation",
        "link",
        "tab",
        "tabpanel",
        "listbox",
        "option",
        "status",
        "img",
        "region",
        "group",
        "checkbox",
        "textbox",
        "heading",
        "system",
        "assistant",
        "function",
        "tool",
    }
)
_SOURCE_SUFFIXES = (".ts", ".tsx", ".js", ".jsx", ".vue", ".svelte", ".mjs")


@dataclass
class RoleModel:
    #: Role names in the order they were found (lower case).
    roles: list[str] = field(default_factory=list)
    #: Route -> the roles allowed on it (routes absent here are open to every signed-in role).
    restricted: dict[str, set[str]] = field(default_factory=dict)
    #: Role -> `path:line: code` of where the code names it first.
    evidence: dict[str, str] = field(default_factory=dict)


def _role_names(raw: str) -> list[str]:
    names: list[str] = []
    for match in _NAMES.finditer(raw):
        name = next((g for g in match.groups() if g), "").casefold()
        if name and name not in _NOT_ROLES and not name.isdigit() and name not in names:
            names.append(name)
    return names


def _snippet(path: str, text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    code = text.splitlines()[line - 1].strip() if text else ""
    return f"{path}:{line}: {code[:120]}"


class _RoleScan:
    def __init__(self, graph: RouteGraph) -> None:
        self.graph = graph
        self.model = RoleModel()
        self.routes = [r.route for r in graph.routes]

    def add(self, role: str, path: str, text: str, index: int) -> None:
        if role in _NOT_ROLES or len(role) < 3:
            return
        if role not in self.model.roles:
            self.model.roles.append(role)
            self.model.evidence[role] = _snippet(path, text, index)

    def restrict(self, routes: list[str], roles: list[str]) -> None:
        for route in routes:
            current = self.model.restricted.get(route)
            # A child's own list narrows its parent's (vue-router: `roles` on the child wins).
            self.model.restricted[route] = set(roles) if current is None else (current & set(roles) or set(roles))

    def routes_for_path(self, path: str) -> list[str]:
        """Routes a route object's `path` covers: itself and its children (relative paths match as suffixes)."""
        clean = path.strip().strip("/")
        if not clean:
            return []
        out = []
        for route in self.routes:
            trimmed = route.strip("/")
            if path.startswith("/"):
                if trimmed == clean or trimmed.startswith(clean + "/"):
                    out.append(route)
            elif trimmed == clean or trimmed.endswith("/" + clean) or f"/{clean}/" in f"/{trimmed}/":
                out.append(route)
        return out

    def scan_file(self, path: str, text: str, own_routes: list[str]) -> None:
        # Parents first (an outer object's `roles` starts earlier), so children narrow them.
        for match in sorted(_ROUTE_ROLES.finditer(text), key=lambda m: m.start()):
            roles = _role_names(match.group(2))
            for role in roles:
                self.add(role, path, text, match.start(2))
            self.restrict(self.routes_for_path(match.group(1)), roles)
        for pattern in (_ELEMENT_ROLES, _ELEMENT_ROLE):
            for match in pattern.finditer(text):
                roles = _role_names(match.group(1)) if pattern is _ELEMENT_ROLES else [match.group(1).casefold()]
                for role in roles:
                    self.add(role, path, text, match.start())
                if own_routes:
                    self.restrict(own_routes, roles)
        for match in _ROLE_ENUM.finditer(text):
            for role in _role_names(match.group(1) or match.group(2) or ""):
                self.add(role, path, text, match.start())
        for match in _ROLE_TYPE.finditer(text):
            for role in _role_names(match.group(1)):
                self.add(role, path, text, match.start())
        for match in _ROLE_CHECK.finditer(text):
            role = next(g for g in match.groups() if g).casefold()
            self.add(role, path, text, match.start())


def detect_roles(graph: RouteGraph, files: list[str], read_text: ReadText, *, max_files: int = 5000) -> RoleModel:
    """The roles the app's code names, and which routes each may open."""
    scan = _RoleScan(graph)
    owners: dict[str, list[str]] = {}
    for entry in graph.routes:
        for path in entry.entry_files:
            owners.setdefault(path, []).append(entry.route)
    sources = [
        f
        for f in files
        if f.endswith(_SOURCE_SUFFIXES)
        and "node_modules/" not in f
        and not re.search(r"(?:^|/)(?:__tests__|tests?|e2e|cypress|mocks?|__mocks__)/|\.(?:test|spec|stories)\.", f)
    ][:max_files]
    for path in sources:
        text = read_text(path)
        if not text or "role" not in text.casefold():
            continue
        scan.scan_file(path, text, owners.get(path, []))
    admin_routes = [r for r in scan.routes if "admin" in static_segments(r)]
    if admin_routes:
        if "admin" not in scan.model.roles:
            scan.model.roles.append("admin")
            scan.model.evidence["admin"] = f"the admin section ({admin_routes[0]})"
        scan.restrict(admin_routes, ["admin"])
    return scan.model
