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
    #: Query parameters the route requires.
    required_query: tuple[str, ...] = ()

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
                    required_query=tuple(
                        p["name"] for p in spec.get("parameters", []) if p.get("in") == "query" and p.get("required")
                    ),
                )
            )
    return sorted(found, key=lambda op: (op.path, op.method))


SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
SUITE = "6f1ed002ab5595859014ebf0951522d9"
LOOPBACK = "http://127.0.0.1:9/token"


def _event(unique: str) -> dict[str, Any]:
    import time

    return {
        "eventId": f"matrix-{unique}-{time.time_ns()}",
        "anonymousId": f"anon-{unique}",
        "name": "page_view",
        "path": "/matrix",
        "timestamp": int(time.time() * 1000),
    }


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
        # A header without records: refused as a file (422, line 2), never written. A real export would replace the
        # matrix's own project in the middle of the matrix.
        "POST /projects/{id}/import": {"export": '{"format":"perceo-export","version":1}\n'},
        "POST /analytics/events": {"events": [_event(unique)]},
        "POST /analytics/sync": {},
        "POST /analytics/correlate": {},
        # A shape-valid key whose token_uri is not Google's: refused (422) before any request leaves the machine.
        "POST /analytics/connect": {
            "provider": "ga4",
            "credentials": {"propertyId": "123", "serviceAccount": {"type": "service_account", "token_uri": LOOPBACK}},
        },
        "POST /coordinator/suites/started": {"suiteId": SUITE, "runner": "pytest", "selection": "all", "files": 1},
        "POST /coordinator/suites": {
            "report": {
                "runner": "pytest",
                "selection": "all",
                "status": "passed",
                "commitSha": SHA,
                "tests": [{"id": "t.py::test_a", "name": "test_a", "file": "t.py", "status": "passed"}],
                "flows": [],
            },
            "context": {"triggeredBy": "ci", "commitSha": SHA},
        },
        "POST /coordinator/reports": {
            "format": "junit",
            "content": '<testsuite name="m"><testcase classname="t" name="test_a" file="t.py" time="0.1"/></testsuite>',
            "context": {"commitSha": SHA},
        },
        "POST /coordinator/synthetic": {
            "report": {"suiteId": SUITE, "baseUrl": "https://staging.example.com", "status": "passed", "flows": []},
            "context": {"commitSha": SHA},
        },
        # A flow no project has: the run fails at once in the background, no browser is started.
        "POST /coordinator/runs": {"baseUrl": "http://93.184.216.34", "flowIds": ["nope"]},
        # Adding a channel sends nothing (only `test` does).
        "POST /analyzer/alerts": {
            "name": f"matrix-{unique.replace(':', '-')}",
            "channel": {"kind": "slack", "url": "https://hooks.matrix.example/x"},
        },
    }
    if not operation.has_body:
        return None
    assert operation.name in bodies, f"no valid body for {operation.name}: add one in {__file__}"
    return bodies[operation.name]


def valid_query(operation: Operation) -> dict[str, str] | None:
    """Values for the route's required query parameters (so a refusal is not a 422 about a missing one)."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    week_ago = today - dt.timedelta(days=6)
    values = {
        "GET /analytics/flow-metrics": {"since": week_ago.isoformat(), "until": today.isoformat()},
        # a key no project has: the route checks it itself (401)
        "POST /analytics/beacon": {"writeKey": "prc_" + "x" * 43},
        # no project's artifact (404 for every key; another project's stored one: tests/integration/api)
        "GET /coordinator/artifacts": {"key": "artifacts/p-none/wf-1/f-1/step-1-failure.png"},
    }
    if not operation.required_query:
        return None
    assert operation.name in values, f"no query for {operation.name}: add one in {__file__}"
    assert set(values[operation.name]) == set(operation.required_query), operation.name
    return values[operation.name]
