"""The synthetic runner on playwright-python driving a system Chromium (`executable_path`; never a download).

Imported only where a flow is run in a browser (the CLI's `flows run`, the RunTests task's container image):
playwright itself is imported inside `run_flow`.

Actions (`StepAction.type`): navigate (target: a path or URL, joined to the base URL), click, fill (value),
hover, scroll (target into view, or `value` pixels down), wait (a selector to become visible, or `value` ms up to
10 s), assert (target visible; with `value`, its text contains it; `options.state` "hidden" for absence; target
`url`: the page is at the route `value`), screenshot. Targets are Playwright selectors (CSS, `text=…`,
`role=…`). After the actions, `expectedState` is checked: `url` (a route pattern the page's path must match),
`visible`, `hidden`, `text` ({selector: text}), `attributes` ({selector: {name: value}}).

Hash routing: a route's URL is `/#/route`. A navigate to it is joined to the base URL (`http://host/app/#/route`),
and a `url` of `/#/pattern` is matched against the path in the page URL's fragment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from perceo.coordinator.model import ActionResult, FlowRunResult, StepResult, StepStatus, clip, outcome_status
from perceo.coordinator.reachability import check_base_url
from perceo.models.entities import ExpectedState, FlowView, Step, StepAction
from perceo.observer.routematch import routes_match

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

#: Flags for a headless Chromium with no network of its own (no updates, sync or background requests).
CHROMIUM_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)  # fmt: skip
LAUNCH_TIMEOUT_MS = 60_000
MAX_WAIT_MS = 10_000


class StepFailed(Exception):
    """An action or an expectation did not hold (the app's fault, not the runner's)."""


class PlaywrightSyntheticRunner:
    """Runs flows in headless Chromium. One browser per `run_flow`, a fresh context per flow."""

    def __init__(
        self, executable_path: str, *, headless: bool = True, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.executable_path = executable_path
        self.headless = headless
        self._monotonic = monotonic

    def run_flow(self, flow: FlowView, base_url: str, artifacts_dir: Path) -> FlowRunResult:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright

        check_base_url(base_url)
        began = self._monotonic()
        folder = artifacts_dir / f"flow-{flow.id}"
        folder.mkdir(parents=True, exist_ok=True)
        steps = sorted(flow.steps, key=lambda s: s.order)
        results: list[StepResult] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=self.executable_path, headless=self.headless, args=list(CHROMIUM_ARGS),
                timeout=LAUNCH_TIMEOUT_MS,
            )  # fmt: skip
            try:
                context = browser.new_context(base_url=base_url)
                page = context.new_page()
                stopped = False
                for step in steps:
                    if stopped:
                        results.append(StepResult(step_id=step.id, order=step.order, name=step.name, status="skipped"))
                        continue
                    result = self._run_step(page, step, base_url, folder, PlaywrightError)
                    results.append(result)
                    stopped = result.status != "passed"
                context.close()
            finally:
                browser.close()
        failed = next((r for r in results if r.status in ("failed", "error")), None)
        artifacts = [a for r in results for a in r.artifacts]
        return FlowRunResult(
            flow_id=flow.id,
            name=flow.name,
            status=outcome_status([r.status for r in results]) if results else "skipped",
            base_url=base_url,
            duration_ms=round((self._monotonic() - began) * 1000),
            steps=results,
            failed_step_id=failed.step_id if failed else None,
            failure_message=clip(f"step {failed.order} ({failed.name}): {failed.message}") if failed else None,
            artifacts=artifacts,
        )

    def _run_step(
        self, page: Page, step: Step, base_url: str, folder: Path, playwright_error: type[Exception]
    ) -> StepResult:
        began = self._monotonic()
        page.set_default_timeout(step.timeout_ms)
        page.set_default_navigation_timeout(step.timeout_ms)
        actions: list[ActionResult] = []
        artifacts: list[str] = []
        status: StepStatus = "passed"
        message: str | None = None
        try:
            for index, action in enumerate(step.actions, start=1):
                action_began = self._monotonic()
                try:
                    shot = _perform(page, action, base_url, folder / f"step-{step.order}-{index}.png")
                except (StepFailed, playwright_error) as error:
                    actions.append(
                        ActionResult(
                            type=action.type, target=action.target, status="failed", message=clip(_first_line(error)),
                            duration_ms=self._ms_since(action_began),
                        )
                    )  # fmt: skip
                    raise
                if shot:
                    artifacts.append(shot)
                actions.append(
                    ActionResult(
                        type=action.type, target=action.target, status="passed",
                        duration_ms=self._ms_since(action_began),
                    )
                )  # fmt: skip
            _expect(page, step.expected_state, step.timeout_ms)
        except (StepFailed, playwright_error) as error:
            text = _first_line(error)
            status = "error" if _is_connection_error(text) else "failed"
            message = text
            failure_shot = folder / f"step-{step.order}-failure.png"
            try:
                page.screenshot(path=str(failure_shot), full_page=True)
                artifacts.append(str(failure_shot))
            except playwright_error:  # the page may be gone (a crash); the failure is reported without a picture
                pass
        return StepResult(
            step_id=step.id,
            order=step.order,
            name=step.name,
            status=status,
            duration_ms=self._ms_since(began),
            message=clip(message),
            actions=actions,
            artifacts=artifacts,
            url=page.url,
        )

    def _ms_since(self, began: float) -> int:
        return round((self._monotonic() - began) * 1000)


def _perform(page: Page, action: StepAction, base_url: str, shot: Path) -> str | None:
    """Do one action; returns a screenshot path when it took one."""
    target = action.target
    kind = action.type
    if kind == "navigate":
        destination = target or action.value
        if not destination:
            raise StepFailed("navigate needs a target (a path or URL)")
        page.goto(destination if "://" in destination else urljoin(base_url.rstrip("/") + "/", destination.lstrip("/")))
        return None
    if kind == "screenshot":
        page.screenshot(path=str(shot), full_page=bool(action.options.get("fullPage", False)))
        return str(shot)
    if kind in ("wait", "scroll"):
        _wait_or_scroll(page, action)
        return None
    if kind == "assert" and target == "url":  # the page is at a route (`value`), not an element
        ok, here = _at(page.url, action.value or "/")
        if not ok:
            raise StepFailed(f"expected to be at {action.value}, but the page is {here}")
        return None
    if not target:
        raise StepFailed(f"{kind} needs a target selector")
    locator = page.locator(target).first
    if kind == "click":
        locator.click()
    elif kind == "fill":
        locator.fill(action.value or "")
    elif kind == "hover":
        locator.hover()
    elif kind == "assert":
        _assert(locator, target, action)
    return None


def _wait_or_scroll(page: Page, action: StepAction) -> None:
    if action.type == "wait":
        if action.target:
            page.locator(action.target).first.wait_for(state="visible")
        else:
            page.wait_for_timeout(min(MAX_WAIT_MS, _int(action.value, 500)))
    elif action.target:
        page.locator(action.target).first.scroll_into_view_if_needed()
    else:
        page.mouse.wheel(0, _int(action.value, 600))


def _assert(locator: Locator, target: str, action: StepAction) -> None:
    if action.options.get("state") == "hidden":
        locator.wait_for(state="hidden")
        return
    locator.wait_for(state="visible")
    if action.value is not None:
        actual = locator.inner_text()
        if action.value not in actual:
            raise StepFailed(f"{target} does not contain {action.value!r} (it reads {_short(actual)})")


def _route_of(url: str, *, hashed: bool) -> str:
    """The route a browser URL shows: its path, or its fragment's path under hash routing (`/#/users/4`)."""
    parts = urlsplit(url)
    if not hashed:
        return parts.path or "/"
    fragment = parts.fragment.split("?", 1)[0]
    return fragment if fragment.startswith("/") else "/" + fragment


def _at(page_url: str, wanted: str) -> tuple[bool, str]:
    """Whether the page is at `wanted` (a route pattern, `/#/route` under hash routing, or a whole URL), and the
    route it is at."""
    hashed = wanted.startswith(("/#/", "#/")) or (wanted.startswith("/#") and len(wanted) == 2)
    pattern = (wanted.split("#", 1)[1] or "/") if hashed else wanted
    here = _route_of(page_url, hashed=hashed)
    return routes_match(pattern, here) or wanted == page_url, (f"/#{here}" if hashed else here)


def _expect(page: Page, expected: ExpectedState, timeout_ms: int) -> None:
    if expected.url:
        ok, here = _at(page.url, expected.url)
        if not ok:
            raise StepFailed(f"expected to be at {expected.url}, but the page is {here}")
    for selector in expected.visible:
        page.locator(selector).first.wait_for(state="visible", timeout=timeout_ms)
    for selector in expected.hidden:
        page.locator(selector).first.wait_for(state="hidden", timeout=timeout_ms)
    for selector, text in expected.text.items():
        locator = page.locator(selector).first
        locator.wait_for(state="visible", timeout=timeout_ms)
        actual = locator.inner_text()
        if text not in actual:
            raise StepFailed(f"{selector} does not contain {text!r} (it reads {_short(actual)})")
    for selector, wanted in expected.attributes.items():
        if not isinstance(wanted, dict):
            continue
        locator = page.locator(selector).first
        for name, value in _pairs(wanted):
            actual_value = locator.get_attribute(name)
            if actual_value != (None if value is None else str(value)):
                raise StepFailed(f"{selector} has {name}={actual_value!r}, expected {value!r}")


def _pairs(mapping: dict[Any, Any]) -> Sequence[tuple[str, Any]]:
    return [(str(k), v) for k, v in mapping.items()]


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("=")]
    head = lines[0] if lines else text
    call_log = [line.strip() for line in lines[1:4] if line.strip().startswith("-")]
    return " ".join([head, *call_log])


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 120 else flat[:119] + "…")


def _is_connection_error(text: str) -> bool:
    return "net::ERR_CONNECTION" in text or "net::ERR_NAME_NOT_RESOLVED" in text
