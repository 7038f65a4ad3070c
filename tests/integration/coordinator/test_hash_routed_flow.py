"""Issue 13, class 6: a flow of a hash-routed app (`/#/path` URLs) runs in real headless Chromium against a real
single-page app on loopback whose router reads `location.hash`: navigate opens `/#/path` under the base URL, and
`url` expectations and `assert url` steps compare the route in the fragment (the URL's path stays `/app/`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from perceo.coordinator.browser import PlaywrightSyntheticRunner
from perceo.models import ExpectedState, FlowView, Step, StepAction

pytestmark = pytest.mark.slow

SPA = b"""<!doctype html><html><body><h1 id="title"></h1><a id="to-users" href="#/users">Users</a>
<script>
function render() {
  var route = location.hash.replace(/^#/, "") || "/";
  document.getElementById("title").textContent = route === "/users" ? "Users" : route === "/" ? "Home" : "Missing";
}
window.addEventListener("hashchange", render); render();
</script></body></html>"""


class SpaHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path.split("?")[0] != "/app/":  # only the app's page exists: a hash route never reaches the server
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(SPA)))
        self.end_headers()
        self.wfile.write(SPA)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def spa_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), SpaHandler)
    thread = threading.Thread(target=server.serve_forever, name="hash-spa", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/app/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _flow(steps: list[tuple[str, list[StepAction], ExpectedState]]) -> FlowView:
    return FlowView(
        id="flow-hash",
        project_id="p1",
        name="Browse users",
        steps=[
            Step(flow_id="flow-hash", order=n, name=title, actions=actions, expected_state=expected, timeout_ms=3_000)
            for n, (title, actions, expected) in enumerate(steps, start=1)
        ],
    )


def test_a_hash_routed_flow_navigates_and_checks_the_route_in_the_fragment(
    chromium: str, spa_url: str, tmp_path: Path
) -> None:
    flow = _flow(
        [
            ("Open home", [StepAction(type="navigate", target="/#/", value="/#/")], ExpectedState(url="/#/")),
            (
                "Go to users",
                [StepAction(type="click", target="#to-users")],
                ExpectedState(url="/#/users", text={"#title": "Users"}),
            ),
            ("See users", [StepAction(type="assert", target="url", value="/#/users")], ExpectedState()),
            ("Open users again", [StepAction(type="navigate", target="/#/users")], ExpectedState(url="/#/users")),
        ]
    )
    result = PlaywrightSyntheticRunner(chromium).run_flow(flow, spa_url, tmp_path)
    assert result.status == "passed", result.failure_message
    assert result.steps[3].url == f"{spa_url}#/users"


def test_a_hash_routed_expectation_that_does_not_hold_names_the_route_in_the_fragment(
    chromium: str, spa_url: str, tmp_path: Path
) -> None:
    flow = _flow(
        [("Open home", [StepAction(type="navigate", target="/#/")], ExpectedState(url="/#/users"))],
    )
    result = PlaywrightSyntheticRunner(chromium).run_flow(flow, spa_url, tmp_path)
    assert result.status == "failed"
    assert "expected to be at /#/users, but the page is /#/" in (result.failure_message or "")
