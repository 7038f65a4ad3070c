"""The API's operations as `openapi.json` describes them, and what a request to each needs: the suite's routes come
from the document, so a new route is covered without a new test (one without a body below fails, saying so)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = json.loads((REPO / "openapi.json").read_text())


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    #: Scopes that let a key in (any one; `project:admin` grants all); () for any valid key.
    scopes: tuple[str, ...]
    #: "apiKey", "adminKey" or None (no key at all).
    scheme: str | None
    has_body: bool

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    def url(self, values: dict[str, str]) -> str:
        path = self.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        return path.lstrip("/")


def operations() -> list[Operation]:
    found = []
    for path, methods in DOCUMENT["paths"].items():
        for method, spec in methods.items():
            security = spec.get("security") or []
            schemes = {name for requirement in security for name in requirement}
            scopes = tuple(scope for requirement in security for scope in requirement.get("apiKey", []))
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    scopes=scopes,
                    scheme=next(iter(schemes), None),
                    has_body="requestBody" in spec,
                )
            )
    return sorted(found, key=lambda op: (op.path, op.method))


def valid_body(operation: Operation, *, scope: str = "flows:read", unique: str = "x") -> Any:
    """A body the route accepts (so a refusal is about who asks, not what is sent)."""
    bodies: dict[str, Any] = {
        "POST /flows": {"name": f"Matrix flow {unique}"},
        "PATCH /flows/{id}": {"description": f"changed by {unique}"},
        "PUT /flows/{id}/steps": {"steps": [{"name": "Open"}]},
        "POST /personas": {"name": f"Matrix persona {unique}"},
        "PATCH /personas/{id}": {"description": f"changed by {unique}"},
        "POST /keys": {"name": f"matrix-{unique}", "scopes": [scope]},
        "POST /observer/analyze": {"changeSet": {"baseSha": "a" * 40, "headSha": "b" * 40}},
        "POST /analyses/{id}/review": {},
        "POST /observer/bootstrap": {"repoUrl": "https://127.0.0.1/acme/shop.git"},
        "POST /projects": {"name": f"matrix-{unique}"},
    }
    if not operation.has_body:
        return None
    assert operation.name in bodies, f"no valid body for {operation.name}: add one in {__file__}"
    return bodies[operation.name]
