"""The model's answer against the facts the code gives: invented targets are dropped and counted, and the
model's flows never cover less than the offline heuristic's."""

from __future__ import annotations

from perceo.bootstrap.llm_stages import Notes, ground_steps, grounded, selector_tokens
from perceo.bootstrap.model import FlowDraft, StepDraft
from perceo.bootstrap.pipeline import not_worse_than_heuristic
from perceo.models.entities import ExpectedState, StepAction

CODE = """
export default function Login() {
  return <form><input name="email" data-testid="login-email" /><button id="submit">Sign in</button></form>
}
"""


def step(order: int, *actions: StepAction, visible: list[str] | None = None) -> StepDraft:
    return StepDraft(
        order=order, name=f"step {order}", actions=list(actions), expected_state=ExpectedState(visible=visible or [])
    )


def test_a_selector_exists_when_everything_it_names_is_in_the_code() -> None:
    assert selector_tokens('[data-testid="login-email"]') == ["login-email"]
    assert selector_tokens("input[name=email]") == ["email"]
    assert selector_tokens("#submit") == ["submit"]
    assert selector_tokens("text=Sign in") == ["Sign in"]
    for selector in ('[data-testid="login-email"]', "input[name=email]", "#submit", "text=Sign in", "form"):
        assert grounded(selector, CODE, set()), selector
    for invented in ("[data-testid=password]", "#login-button", "text=Log out", "input[name=username]"):
        assert not grounded(invented, CODE, set()), invented
    assert grounded("#from-the-page-reader", CODE, {"#from-the-page-reader"})


def test_invented_targets_and_routes_are_dropped_and_counted() -> None:
    routes = {"/login", "/dashboard"}
    notes = Notes()
    steps = [
        step(1, StepAction(type="navigate", target="/login")),
        step(2, StepAction(type="fill", target="input[name=email]", value="a@b.c")),
        step(3, StepAction(type="fill", target="input[name=password]", value="x")),  # not in the code
        step(4, StepAction(type="click", target="#submit"), visible=["text=Welcome back", "form"]),
        step(5, StepAction(type="navigate", target="/admin/secret")),  # not a route
    ]

    kept = ground_steps(
        steps, code=CODE, known=set(), resolve=lambda p: p if p in routes else None, notes=notes, what="steps:Login"
    )

    assert [(s.order, s.actions[0].target) for s in kept] == [(1, "/login"), (2, "input[name=email]"), (3, "#submit")]
    assert kept[2].expected_state.visible == ["form"]
    # 3 targets (password, "Welcome back", /admin/secret) + 2 steps left without an action.
    assert notes.dropped == 5
    assert notes.warnings == [
        "steps:Login: 3 targets the code does not have were dropped "
        "('input[name=password]', 'text=Welcome back', '/admin/secret')"
    ]


def flow(name: str, *pages: str) -> FlowDraft:
    return FlowDraft(name=name, description="", pages=list(pages), priority="medium")


def test_the_heuristics_flows_the_model_does_not_cover_are_kept() -> None:
    heuristic = [flow("Sign in", "/", "/login"), flow("Checkout", "/cart", "/checkout"), flow("Browse", "/", "/p")]
    model = [flow("Login", "/", "/login", "/dashboard"), flow("Browse", "/", "/search")]
    notes = Notes()

    kept, added = not_worse_than_heuristic(model, heuristic, max_flows=10, notes=notes)

    assert [f.name for f in kept] == ["Checkout", "Browse (from code)", "Login", "Browse"]
    assert added == 2 and "kept 2 of its flows" in notes.warnings[0]
    # Covered already: nothing added. Cut by maxFlows: the heuristic's flows stay.
    assert not_worse_than_heuristic(kept, heuristic, max_flows=10, notes=Notes()) == (kept, 0)
    capped, _ = not_worse_than_heuristic(model, heuristic, max_flows=2, notes=Notes())
    assert [f.name for f in capped] == ["Checkout", "Browse (from code)"]
