"""Sequences of flow, persona, step, analysis and review writes, then every analysis route reads them back.

A hypothesis state machine drives the real API Lambdas over a real FalkorDB graph: whatever the order of writes,
`GET /analyses` (every page size), `GET /analyses/{id}` and `POST /analyses/{id}/review` answer 2xx/4xx, never 5xx.
"""

from __future__ import annotations

from typing import Any

import pytest
from api_handlers import body_of
from api_integration_kit import Caller, call, create_project
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from perceo import wiring

ROUTES = ["/", "/login", "/cart", "/checkout", "/account"]
NAMES = ["Sign in", "Checkout", "Browse", "Account", "sign in"]
PERSONAS = ["Shopper", "Admin", "shopper"]

_routes = st.lists(st.sampled_from(ROUTES), min_size=0, max_size=4, unique=True)


def _ok(response: dict[str, Any], *allowed: int) -> dict[str, Any]:
    status = response["statusCode"]
    assert status < 500, (status, response.get("body"))
    if allowed:
        assert status in allowed, (status, response.get("body"))
    return response


def _analyze_body(routes: list[str]) -> dict[str, Any]:
    return {
        "changeSet": {
            "baseSha": "a" * 40,
            "headSha": "b" * 40,
            "files": [{"path": "src/app.tsx", "status": "modified", "additions": 1, "deletions": 1}],
        },
        "affectedRoutes": [
            {"route": r, "files": ["src/app.tsx"], "reasons": [{"changedFile": "src/app.tsx", "kind": "direct"}]}
            for r in routes
        ],
    }


class AnalysesMachine(RuleBasedStateMachine):
    caller: Caller
    flows = Bundle("flows")
    analyses = Bundle("analyses")

    @initialize()
    def project(self) -> None:
        self.caller = create_project("stateful")
        #: What each analysis answered when it was made, and the flows deleted since: a read must give back the
        #: same analysis less the flows that are gone.
        self.recorded: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()

    @rule(target=flows, name=st.sampled_from(NAMES), pages=_routes, personas=st.lists(st.sampled_from(PERSONAS)))
    def create_flow(self, name: str, pages: list[str], personas: list[str]) -> str:
        body = {"name": name, "pages": pages, "personas": personas, "steps": [{"name": "Open"}]}
        response = _ok(call("flows/create-flow", self.caller, body=body))
        return str(body_of(response)["id"]) if response["statusCode"] == 201 else name

    @rule(name=st.sampled_from(PERSONAS))
    def create_persona(self, name: str) -> None:
        _ok(call("flows/create-persona", self.caller, body={"name": name}))

    @rule(flow=flows, pages=_routes, active=st.booleans(), name=st.none() | st.sampled_from(NAMES))
    def edit_flow(self, flow: str, pages: list[str], active: bool, name: str | None) -> None:
        body: dict[str, Any] = {"pages": pages, "isActive": active}
        if name is not None:
            body["name"] = name
        _ok(call("flows/update-flow", self.caller, body=body, id=flow))

    @rule(flow=flows, count=st.integers(min_value=1, max_value=3))
    def replace_steps(self, flow: str, count: int) -> None:
        body = {"steps": [{"name": f"Step {i}"} for i in range(count)]}
        _ok(call("flows/replace-steps", self.caller, body=body, id=flow))

    @rule(flow=flows)
    def delete_flow(self, flow: str) -> None:
        response = _ok(call("flows/get-flow", self.caller, id=flow))
        if response["statusCode"] == 200:
            _ok(call("flows/delete-flow", self.caller, id=flow), 204)
            self.deleted.add(body_of(response)["id"])

    @rule(target=analyses, routes=_routes)
    def analyze(self, routes: list[str]) -> str:
        response = _ok(call("observer/analyze", self.caller, body=_analyze_body(routes)), 200)
        answer = body_of(response)
        self.recorded[answer["id"]] = answer
        return str(answer["id"])

    @rule(analysis=analyses)
    def get_analysis(self, analysis: str) -> None:
        read = body_of(_ok(call("observer/get-analysis", self.caller, id=analysis), 200))
        self._same_as_recorded(read)

    def _same_as_recorded(self, read: dict[str, Any]) -> None:
        recorded = self.recorded[read["id"]]
        expected = [flow for flow in recorded["flows"] if flow["id"] not in self.deleted]
        assert read["flows"] == expected
        assert {k: v for k, v in read.items() if k != "flows"} == {
            k: v for k, v in recorded.items() if k in read and k != "flows"
        }

    @rule(analysis=analyses)
    def review(self, analysis: str) -> None:
        _ok(call("workflows/start-review", self.caller, body={}, id=analysis))

    @invariant()
    def analyses_read_back(self) -> None:
        if not hasattr(self, "caller"):
            return
        for limit in ("1", "20", "100"):
            listed = body_of(_ok(call("observer/list-analyses", self.caller, query={"limit": limit}), 200))
            assert len(listed["analyses"]) == min(int(limit), len(self.recorded))
            for analysis in listed["analyses"]:
                self._same_as_recorded(analysis)


@pytest.mark.usefixtures("all_workflows")
def test_analyses_read_back_after_any_sequence_of_writes(api: wiring.Services) -> None:
    run_state_machine_as_test(
        AnalysesMachine,
        # derandomize: the same sequences every run (CI); this set failed on the pattern-comprehension read.
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
