"""Flows executed step by step in real headless Chromium (playwright-python, `executable_path`) against a real
web app on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from perceo.coordinator.browser import PlaywrightSyntheticRunner
from perceo.errors import BaseUrlUnreachableError
from perceo.models import ExpectedState, FlowView, Step, StepAction

pytestmark = pytest.mark.slow


def _flow(name: str, steps: list[tuple[str, list[StepAction], ExpectedState]]) -> FlowView:
    flow_id = f"flow-{name.lower()}"
    return FlowView(
        id=flow_id,
        project_id="p1",
        name=name,
        steps=[
            Step(flow_id=flow_id, order=n, name=title, actions=actions, expected_state=expected, timeout_ms=3_000)
            for n, (title, actions, expected) in enumerate(steps, start=1)
        ],
    )


SEARCH = _flow(
    "Search",
    [
        ("Open the shop", [StepAction(type="navigate", target="/")], ExpectedState(url="/", visible=["h1"])),
        (
            "Go to the products",
            [StepAction(type="click", target="#to-products")],
            ExpectedState(url="/products", text={"h1": "Products"}),
        ),
        (
            "Search for runners",
            [
                StepAction(type="hover", target="#go"),
                StepAction(type="fill", target="#q", value="runner"),
                StepAction(type="click", target="#go"),
                StepAction(type="wait", target="#results"),
                StepAction(type="screenshot"),
            ],
            ExpectedState(url="/search", text={"#results": "Results for runner"}),
        ),
        ("See them", [StepAction(type="scroll"), StepAction(type="assert", target="#results", value="runner")],
         ExpectedState(hidden=["#empty"])),
    ],
)  # fmt: skip

CHECKOUT = _flow(
    "Checkout",
    [
        ("Open the cart", [StepAction(type="navigate", target="/cart")], ExpectedState(text={"h1": "Your cart"})),
        ("Check out", [StepAction(type="click", target="#checkout-button")], ExpectedState(url="/checkout")),
        ("Pay", [StepAction(type="click", target="#pay")], ExpectedState()),
    ],
)


def test_a_flow_runs_step_by_step_in_chromium_and_passes(chromium: str, shop_url: str, tmp_path: Path) -> None:
    result = PlaywrightSyntheticRunner(chromium).run_flow(SEARCH, shop_url, tmp_path)

    assert result.status == "passed", result.failure_message
    assert [s.status for s in result.steps] == ["passed"] * 4
    assert result.steps[2].url is not None and result.steps[2].url.startswith(f"{shop_url}/search?q=runner")
    assert [a.type for a in result.steps[2].actions] == ["hover", "fill", "click", "wait", "screenshot"]
    (shot,) = result.steps[2].artifacts
    assert Path(shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.failed_step_id is None and all(s.duration_ms >= 0 for s in result.steps)


def test_a_step_that_fails_stops_the_flow_with_a_screenshot_and_the_reason(
    chromium: str, shop_url: str, tmp_path: Path
) -> None:
    result = PlaywrightSyntheticRunner(chromium).run_flow(CHECKOUT, shop_url, tmp_path)

    assert result.status == "failed"
    assert [s.status for s in result.steps] == ["passed", "failed", "skipped"]
    failed = result.steps[1]
    assert result.failed_step_id == failed.step_id
    assert "#checkout-button" in (failed.message or "") and "step 2 (Check out)" in (result.failure_message or "")
    assert failed.actions[0].status == "failed"
    (shot,) = failed.artifacts
    assert shot.endswith("step-2-failure.png") and Path(shot).stat().st_size > 0
    assert result.artifacts == [shot]


def test_an_expectation_that_does_not_hold_fails_the_step(chromium: str, shop_url: str, tmp_path: Path) -> None:
    flow = _flow("Home", [("Open", [StepAction(type="navigate", target="/")], ExpectedState(text={"h1": "Boots"}))])

    result = PlaywrightSyntheticRunner(chromium).run_flow(flow, shop_url, tmp_path)

    assert result.status == "failed"
    assert "h1 does not contain 'Boots'" in (result.steps[0].message or "")


def test_a_base_url_that_refuses_connections_is_a_clear_error(chromium: str, tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused

        with pytest.raises(BaseUrlUnreachableError, match="refused the connection"):
            PlaywrightSyntheticRunner(chromium).run_flow(SEARCH, f"http://127.0.0.1:{port}", tmp_path)
