"""The coordinator's typer commands, attached to the `ci` and `flows` groups by their modules.

Only options are declared here (this module loads with every `perceo` start); the work is in `commands.py`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from perceo_cli.context import app_context


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    none = "none"


def ci_test(
    ctx: typer.Context,
    base: Annotated[
        str | None, typer.Option("--base", help="Ref the change is compared with: run the affected flows' tests.")
    ] = None,
    head: Annotated[str, typer.Option("--head", help="Ref of the change.")] = "HEAD",
    flows: Annotated[
        str | None, typer.Option("--flows", help="Run these flows' tests instead (names or ids, comma-separated).")
    ] = None,
    run_all: Annotated[bool, typer.Option("--all", help="Run every mapped and unmapped test.")] = False,
    observe: Annotated[
        bool,
        typer.Option(
            "--observe", help="Run the full suite and report what the selection for --base would have caught and saved."
        ),
    ] = False,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Run the flows' own steps in headless Chromium instead of tests.")
    ] = False,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="URL of the running app: checked first, given to tests as PERCEO_BASE_URL (needed by --synthetic).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on stdout, and nothing else.")
    ] = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write JUnit XML to FILE.")] = None,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write Markdown for a pull request comment to FILE.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 3 when the change's risk is at or above this level.")
    ] = FailOn.none,
    deepen: Annotated[
        bool, typer.Option("--deepen", help="In a shallow clone, fetch history until the merge base is found.")
    ] = False,
) -> None:
    """Run the tests that guard the flows a change affects (or --flows, --all), in parallel shards with retries;
    record the results. Exit 4 when a test fails."""
    from perceo_cli.coordinator.commands import TestsOptions
    from perceo_cli.coordinator.commands import ci_test as run

    options = TestsOptions(
        base=base, head=head, flows=flows, run_all=run_all, observe=observe, synthetic=synthetic,
        base_url=base_url, fail_on=fail_on.value, deepen=deepen,
    )  # fmt: skip
    code = run(app_context(ctx), options, as_json=as_json, junit=junit, markdown=markdown)
    if code:
        raise typer.Exit(code)


def ci_report(
    ctx: typer.Context,
    junit: Annotated[Path | None, typer.Option("--junit", help="A JUnit XML report produced elsewhere.")] = None,
    playwright_json: Annotated[
        Path | None, typer.Option("--playwright-json", help="A Playwright JSON report produced elsewhere.")
    ] = None,
    commit: Annotated[str | None, typer.Option("--commit", help="The commit the tests ran on (default: HEAD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recorded report as JSON on stdout.")] = False,
) -> None:
    """Record test results produced elsewhere, mapped to flows by test file. Exit 4 when a test failed."""
    from perceo_cli.coordinator.commands import ci_report as run

    code = run(app_context(ctx), junit=junit, playwright_json=playwright_json, commit=commit, as_json=as_json)
    if code:
        raise typer.Exit(code)


def ci_flaky(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Tests that passed and failed on the same commit (or passed only on a retry) in the last 90 days."""
    from perceo_cli.coordinator.commands import flaky

    flaky(app_context(ctx), as_json=as_json)


def flows_tests(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the mapping as JSON on stdout.")] = False,
) -> None:
    """Which tests guard which flow, with the evidence for each link, and the flows no test covers."""
    from perceo_cli.coordinator.commands import flows_tests as show

    show(app_context(ctx), as_json=as_json)


def flows_run(
    ctx: typer.Context,
    refs: Annotated[list[str] | None, typer.Argument(help="Flow names or ids.", show_default=False)] = None,
    base_url: Annotated[str, typer.Option("--base-url", help="URL of the running app.")] = ...,  # type: ignore[assignment]
    run_all: Annotated[bool, typer.Option("--all", help="Every active flow with steps.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False,
) -> None:
    """Run flows step by step in headless Chromium against a running app; record each result. Exit 4 when a
    flow fails."""
    from perceo_cli.coordinator.commands import flows_run as run

    code = run(app_context(ctx), refs or [], base_url=base_url, run_all=run_all, as_json=as_json)
    if code:
        raise typer.Exit(code)


def register_ci(app: typer.Typer) -> None:
    app.command("test")(ci_test)
    app.command("report")(ci_report)
    app.command("flaky")(ci_flaky)


def register_flows(app: typer.Typer) -> None:
    app.command("tests")(flows_tests)
    app.command("run")(flows_run)
