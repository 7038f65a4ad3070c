"""The coordinator's commands: `flows tests`, `flows run`, `ci test`, `ci report`, `ci flaky`, `analyze predictions`.

They work through the Backend port only, so each gives the same output against the embedded store and the API:
the checkout's part (finding tests, mapping them, running the runner or the browser) happens here, and what is
recorded (TestRuns, coverage, events, predictions checked) goes through the backend.

Exit codes: 0 ok, 1 error (a runner or browser not installed, the app under test unreachable, a store down),
2 bad input (a mapping naming missing tests, an unknown flow, a bad ref or report), 3 `--fail-on` risk,
4 tests failed (`ExitStatus.TESTS_FAILED`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perceo.errors import FlowNotFoundError, ValidationFailed
from perceo_cli.context import AppContext
from perceo_cli.exit import ExitStatus
from perceo_cli.output import Output

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from perceo.coordinator.model import FlowRunResult, Selection, SuiteReport, SyntheticReport
    from perceo.coordinator.observation import ObservationReport
    from perceo.coordinator.outcomes import RunContext
    from perceo.coordinator.service import ReportFormat
    from perceo.models import ChangeAnalysis, FlowView
    from perceo_cli.coordinator.engine import ProgressEvent
    from perceo_cli.coordinator.mapping import TestMapping

#: Recorded runs read to balance shards by past durations.
HISTORY_RUNS = 200
#: Where screenshots of synthetic runs go, under the project (git-ignored with the rest of `.perceo/data/`).
ARTIFACTS_DIR = Path(".perceo") / "data" / "artifacts"


# ------------------------------------------------------------------------------------------------ the mapping


def load_mapping(app_ctx: AppContext, flows: Sequence[FlowView]) -> tuple[TestMapping, str]:
    """The flow -> test mapping of this checkout: config entries and the URLs the tests visit."""
    from perceo_cli.coordinator.mapping import build_mapping, find_tests

    root = app_ctx.project_dir
    test_files, titles_from = find_tests(root)
    return build_mapping(root, flows, app_ctx.config.flows, test_files), titles_from


def mapping_document(mapping: TestMapping, titles_from: str) -> dict[str, Any]:
    """`flows tests --json`: the mapping, each link with its evidence as one line too."""
    document = mapping.model_dump(mode="json")
    for link, data in zip(mapping.links, document["links"], strict=True):
        data["evidence"] = link.evidence
    document["titlesFrom"] = titles_from
    return document


def last_results(app_ctx: AppContext) -> dict[str, dict[str, Any]]:
    """The newest recorded run of each flow (among the last HISTORY_RUNS runs): status, commit, when, runner."""
    latest: dict[str, dict[str, Any]] = {}
    for run in app_ctx.backend.list_test_runs(limit=HISTORY_RUNS):  # newest first
        if run.flow_id and run.flow_id not in latest:
            latest[run.flow_id] = {
                "status": run.status, "flaky": run.flaky, "runner": run.runner, "commitSha": run.commit_sha,
                "createdAt": run.created_at, "testRunId": run.id,
            }  # fmt: skip
    return latest


def flows_tests(app_ctx: AppContext, *, as_json: bool) -> None:
    flows = app_ctx.backend.list_flows()
    mapping, titles_from = load_mapping(app_ctx, flows)
    latest = last_results(app_ctx)
    if as_json:
        document = mapping_document(mapping, titles_from)
        document["lastResults"] = latest
        app_ctx.output.json(document)
        return
    out = app_ctx.output
    out.text(f"{mapping.test_files} test file(s) found (titles read from {titles_from})", markup=False)
    by_flow: dict[str, list[str]] = {}
    for link in mapping.links:
        by_flow.setdefault(link.flow_id, []).append(link.evidence)
    for summary in mapping.flows:
        last = latest.get(summary.flow_id)
        result = f"  last run {last['status']}" + (" (flaky)" if last["flaky"] else "") if last else ""
        out.text(
            f"\n{summary.name}  coverage {summary.coverage:.0%}  {len(summary.files)} file(s){result}", markup=False
        )
        for evidence in by_flow.get(summary.flow_id, []):
            out.text(f"  {evidence}", markup=False)
    if mapping.uncovered:
        names = ", ".join(f.name for f in mapping.uncovered)
        out.text(f"\nFlows no test covers ({len(mapping.uncovered)}): {names}", markup=False)
    if mapping.unmapped_files:
        out.text(
            f"\nTest files linked to no flow ({len(mapping.unmapped_files)}): {', '.join(mapping.unmapped_files)}",
            markup=False,
        )
    if not flows:
        out.text("\nNo flows yet: run `perceo init` first.", markup=False)


# ------------------------------------------------------------------------------------------------ run context


def run_context(project_dir: Path, *, commit_sha: str | None, env: Mapping[str, str]) -> RunContext:
    """Where this run comes from: the commit (HEAD when not given), the branch and PR from CI's environment."""
    from perceo.coordinator.outcomes import RunContext
    from perceo.errors import NotAGitRepositoryError
    from perceo.observer.changes import Git

    sha = commit_sha
    if sha is None:
        try:
            sha = Git.open(project_dir).head_sha()
        except NotAGitRepositoryError:
            sha = None
    in_ci = bool(env.get("CI"))
    branch = env.get("GITHUB_HEAD_REF") or env.get("GITHUB_REF_NAME") or env.get("CI_COMMIT_REF_NAME") or None
    pr = _int(env.get("PERCEO_PR_NUMBER") or env.get("CI_MERGE_REQUEST_IID"))
    return RunContext(
        triggered_by="pr" if pr else ("ci" if in_ci else "manual"),
        commit_sha=sha,
        branch_name=branch[:255] if branch else None,
        pr_number=pr,
    )


def _int(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except ValueError:
        return None
    return number if number and number > 0 else None


# ------------------------------------------------------------------------------------------------ ci test


class TestsOptions:
    """What `ci test` was asked to do (parsed from its options)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        base: str | None,
        head: str,
        flows: str | None,
        run_all: bool,
        observe: bool,
        synthetic: bool,
        base_url: str | None,
        fail_on: str,
        deepen: bool,
    ) -> None:
        chosen = [
            flag for flag, on in (("--flows", flows is not None), ("--all", run_all), ("--observe", observe)) if on
        ]
        if len(chosen) > 1:
            raise ValidationFailed(f"{' and '.join(chosen)} cannot be combined: pick one selection")
        if synthetic and observe:
            raise ValidationFailed("--observe compares test selections; it does not apply to --synthetic runs")
        if synthetic and not base_url:
            raise ValidationFailed("--synthetic runs flows in a browser: pass --base-url URL of the running app")
        if flows is None and not run_all and not base:
            raise ValidationFailed("pass --base REF (the affected flows' tests), --flows a,b, or --all")
        self.base = base
        self.head = head
        self.flow_refs = [part.strip() for part in (flows or "").split(",") if part.strip()]
        if flows is not None and not self.flow_refs:
            raise ValidationFailed("--flows needs at least one flow name or id")
        self.run_all = run_all
        self.observe = observe
        self.synthetic = synthetic
        self.base_url = base_url
        self.fail_on = fail_on
        self.deepen = deepen


def _analysis(app_ctx: AppContext, options: TestsOptions) -> ChangeAnalysis:
    from perceo.observer.analyze import analyze_checkout
    from perceo_cli.commands.ci import discovery_cache_dir

    config = app_ctx.config
    change_set, affected = analyze_checkout(
        app_ctx.project_dir,
        options.base,
        options.head,
        deepen=options.deepen,
        framework=config.project.framework or "auto",
        cache_dir=discovery_cache_dir(app_ctx.project_dir),
    )
    return app_ctx.backend.analyze(change_set, affected)


def _resolve_flows(app_ctx: AppContext, flows: Sequence[FlowView], refs: Sequence[str]) -> list[str]:
    """Flow ids for names or ids; FlowNotFoundError naming every unknown one."""
    by_id = {f.id: f for f in flows}
    by_name = {f.name.casefold(): f for f in flows}
    found, missing = [], []
    for ref in refs:
        flow = by_id.get(ref) or by_name.get(ref.casefold())
        if flow is None:
            missing.append(ref)
        else:
            found.append(flow.id)
    if missing:
        raise FlowNotFoundError(
            f"no flow {', '.join(repr(m) for m in missing)} in this project", details={"flows": missing}
        )
    return list(dict.fromkeys(found))


def ci_test(
    app_ctx: AppContext,
    options: TestsOptions,
    *,
    as_json: bool,
    junit: Path | None,
    markdown: Path | None,
) -> int:
    """Analyze (unless the flows are named), run the selected flows' tests or steps, record, report; the exit code."""
    backend = app_ctx.backend
    flows = backend.list_flows()
    analysis: ChangeAnalysis | None = None
    selection: Selection
    if options.flow_refs:
        flow_ids: list[str] | None = _resolve_flows(app_ctx, flows, options.flow_refs)
        selection = "flows"
    elif options.run_all:
        flow_ids, selection = None, "all"
    else:
        analysis = _analysis(app_ctx, options)
        flow_ids = [f.id for f in analysis.flows]
        selection = "observe" if options.observe else "affected"
    context = run_context(app_ctx.project_dir, commit_sha=analysis.head_sha if analysis else None, env=os.environ)
    if options.synthetic:
        assert options.base_url is not None  # TestsOptions requires it with --synthetic
        return _synthetic_test(
            app_ctx, flows, flow_ids, analysis, context, base_url=options.base_url, as_json=as_json, markdown=markdown
        )

    mapping, _ = load_mapping(app_ctx, flows)
    note = None
    selected = flow_ids
    if selection == "affected" and not flow_ids:
        smoke = app_ctx.config.coordinator.smoke_flows
        if smoke:
            selected = _resolve_flows(app_ctx, flows, smoke)
            selection = "smoke"
            note = f"no flow is affected by this change: ran the smoke flows ({', '.join(smoke)})"
        else:
            note = "no flow is affected by this change: no test was run"
    report: SuiteReport
    observation: ObservationReport | None = None
    if note is not None and selection == "affected":
        report = _nothing_ran(context, note)
    else:
        run_ids = None if selection in ("all", "observe") else selected
        report = _run_tests(app_ctx, mapping, flows, run_ids, selection, context, base_url=options.base_url)
        if note:
            report = report.model_copy(update={"note": note})
        if selection == "observe":
            from perceo.coordinator.observation import observe

            chosen = flow_ids or []
            names = {f.id: f.name for f in flows}
            observation = observe(report, mapping.files_for(set(chosen)), chosen, names)
    coverage = {f.flow_id: f.coverage for f in [*mapping.flows, *mapping.uncovered]}
    if report.tests:
        report = backend.record_test_suite(report, context, coverage=coverage)
    _write_reports(report, junit=junit, markdown=markdown)
    if as_json:
        document = report.model_dump(mode="json")
        document["analysisId"] = analysis.id if analysis else None
        document["observation"] = observation.model_dump(mode="json") if observation else None
        app_ctx.output.json(document)
    else:
        app_ctx.output.text(render_suite_text(report, analysis, observation), markup=False, end="")
    return _exit_code(app_ctx, report.status, analysis, options.fail_on)


def _nothing_ran(context: RunContext, note: str) -> SuiteReport:
    from perceo.coordinator.model import SuiteReport

    return SuiteReport(runner="none", selection="affected", status="skipped", commit_sha=context.commit_sha, note=note)


def _run_tests(
    app_ctx: AppContext,
    mapping: TestMapping,
    flows: Sequence[FlowView],
    flow_ids: Sequence[str] | None,
    selection: Selection,
    context: RunContext,
    *,
    base_url: str | None,
) -> SuiteReport:
    from perceo.coordinator.model import SuiteReport
    from perceo.models.common import new_id
    from perceo_cli.coordinator.engine import TestEngine
    from perceo_cli.coordinator.plan import plan_tests
    from perceo_cli.coordinator.runners import runner_for

    backend = app_ctx.backend
    config = app_ctx.config
    plan = plan_tests(
        mapping,
        flows,
        flow_ids,
        selection=selection,
        commit_sha=context.commit_sha,
        base_url=base_url,
        history=backend.list_test_runs(limit=HISTORY_RUNS),
    )
    if not plan.files:
        names = ", ".join(plan.flow_names.values()) or "the selected flows"
        return SuiteReport(
            runner="none",
            selection=plan.selection,
            status="skipped",
            commit_sha=context.commit_sha,
            note=f"no test guards {names}: see `perceo flows tests`",
        )
    kinds = sorted({f.kind for f in _scanned(app_ctx.project_dir, plan.files)})
    section = config.coordinator
    runner = runner_for(section.runner, app_ctx.project_dir, test_command=section.test_command, kinds=kinds)
    runner.check()
    suite_id = new_id()
    backend.tests_started(
        suite_id, runner=runner.name, selection=plan.selection, flow_ids=list(plan.flow_names), files=len(plan.files)
    )
    display = ShardDisplay(app_ctx.output)
    with display:
        engine = TestEngine(
            runner,
            app_ctx.project_dir,
            parallelism=config.observer.ci.parallelism,
            shard_timeout_s=float(section.timeout_s),
            retries=section.retries,
            on_event=display.on_event,
        )
        report = engine.run(plan)
    return report.model_copy(update={"id": suite_id})


def _scanned(root: Path, files: Sequence[str]) -> list[Any]:
    from perceo_cli.coordinator.scan import scan_test_file

    found = [scan_test_file(root / f, f) for f in files]
    return [f for f in found if f is not None]


class ShardDisplay:
    """The live progress of `ci test` on stderr: a bar over shards on a terminal, one line per shard otherwise."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self._progress: AbstractContextManager[Progress] | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> ShardDisplay:
        if self.output.interactive:
            self._progress = self.output.progress()
            self._bar = self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)

    def on_event(self, event: ProgressEvent) -> None:
        bar = self._bar
        if event.kind == "run_started":
            text = f"{event.files} test file(s) in {event.shards} shard(s)"
            if bar is not None:
                self._task = bar.add_task("Running tests", total=event.shards, message=text)
            else:
                self.output.info(f"running {text}")
        elif event.kind == "retry_started":
            text = f"shard {(event.shard or 0) + 1}: retrying {event.tests} failed test(s) (attempt {event.attempt})"
            self._say(text)
        elif event.kind == "shard_finished":
            status = "" if event.status == "completed" else f" ({(event.status or '').replace('_', ' ')})"
            text = f"shard {(event.shard or 0) + 1}: {event.passed} passed, {event.failed} failed{status}"
            if bar is not None and self._task is not None:
                bar.update(self._task, advance=1, message=text)
            else:
                self.output.info(text)

    def _say(self, text: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, message=text)
        else:
            self.output.info(text)


def _write_reports(report: SuiteReport, *, junit: Path | None, markdown: Path | None) -> None:
    from perceo.coordinator.junit import write_junit
    from perceo.coordinator.markdown import render_markdown

    if junit is not None:
        _write(junit, write_junit(report))
    if markdown is not None:
        _write(markdown, render_markdown(report).encode("utf-8"))


def _write(path: Path, data: bytes) -> None:
    """Write the whole file or nothing (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_bytes(data)
    temporary.replace(path)


def _exit_code(app_ctx: AppContext, status: str, analysis: ChangeAnalysis | None, fail_on: str) -> int:
    if status in ("failed", "error"):
        return ExitStatus.TESTS_FAILED
    if analysis is not None:
        from perceo_cli.commands.ci import FailOn, fails

        if fails(analysis, FailOn(fail_on)):
            app_ctx.output.info(f"risk {analysis.risk_level} is at or above --fail-on {fail_on}")
            return ExitStatus.RISK
    return ExitStatus.OK


def render_suite_text(
    report: SuiteReport, analysis: ChangeAnalysis | None, observation: ObservationReport | None
) -> str:
    lines = []
    if analysis is not None:
        lines.append(
            f"Change {analysis.base_sha[:12]}..{analysis.head_sha[:12]}: {len(analysis.flows)} flow(s) affected, "
            f"risk {analysis.risk_level} ({analysis.risk_score:.2f})"
        )
    totals = report.totals
    if totals.total == 0:
        lines.append(report.note or "No test ran.")
        return "\n".join(lines) + "\n"
    lines.append(
        f"Tests {report.status}: {totals.passed} passed, {totals.failed} failed, {totals.error} errors, "
        f"{totals.skipped} skipped, {totals.flaky} flaky · {totals.total} tests · {report.runner} · "
        f"{report.duration_ms / 1000:.1f} s"
    )
    if report.note:
        lines.append(report.note)
    for flow in report.flows:
        flaky = " (flaky)" if flow.flaky else ""
        lines.append(f"  {flow.status:<7} {flow.name}: {flow.tests} test(s), {flow.failed} failed{flaky}")
    for shard in report.shards:
        if shard.status != "completed":
            lines.append(f"  shard {shard.index + 1} {shard.status.replace('_', ' ')}: {shard.message or ''}")
    failures = [t for t in report.tests if t.status in ("failed", "error")]
    for test in failures[:20]:
        where = f" ({test.file}{f':{test.line}' if test.line else ''})" if test.file else ""
        first = (test.message or test.status).strip().splitlines()[:1]
        lines.append(f"  ✗ {test.name}{where}: {first[0] if first else test.status}")
    if len(failures) > 20:
        lines.append(f"  … and {len(failures) - 20} more failing test(s)")
    flaky_tests = [t.name for t in report.tests if t.flaky]
    if flaky_tests:
        lines.append(f"Flaky (passed on a retry): {', '.join(flaky_tests[:20])}")
    if observation is not None:
        recall = "n/a (no failure)" if observation.recall is None else f"{observation.recall:.0%}"
        saved = "n/a" if observation.saved_ratio is None else f"{observation.saved_ratio:.0%}"
        lines.append(
            f"Observation: the selection would have run {observation.selected_tests} of {observation.tests} tests, "
            f"caught {observation.caught} of {observation.failures} failure(s) (recall {recall}) and saved "
            f"{observation.saved_duration_ms / 1000:.1f} s ({saved})"
        )
        for missed in observation.missed[:10]:
            lines.append(f"  missed: {missed}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------ synthetic runs


def run_flows_in_browser(
    app_ctx: AppContext,
    flows: Sequence[FlowView],
    base_url: str,
    context: RunContext,
    *,
    selection: Selection,
    on_result: Callable[[FlowRunResult], None] | None = None,
) -> SyntheticReport:
    """Each flow's steps in headless Chromium against `base_url`, then recorded through the backend."""
    from perceo.coordinator.model import SyntheticReport, outcome_status
    from perceo.coordinator.reachability import check_base_url
    from perceo.models.common import new_id, now_ms
    from perceo.wiring import build_synthetic_runner

    without_steps = [f.name for f in flows if not f.steps]
    if without_steps:
        raise ValidationFailed(
            f"flow(s) without steps to run: {', '.join(without_steps)} (run `perceo init` to extract them)"
        )
    runner = build_synthetic_runner(os.environ)
    check_base_url(base_url)
    suite_id = new_id()
    backend = app_ctx.backend
    backend.tests_started(
        suite_id,
        runner="synthetic",
        selection=selection,
        flow_ids=[f.id for f in flows],
        files=0,
    )
    artifacts = app_ctx.project_dir / ARTIFACTS_DIR / suite_id
    began = now_ms()
    results = []
    progress = app_ctx.output.progress()
    with progress as bar:
        task = bar.add_task("Running flows", total=len(flows), message="")
        for flow in flows:
            bar.update(task, message=flow.name)
            result = runner.run_flow(flow, base_url, artifacts)
            results.append(result)
            bar.update(task, advance=1)
            if not app_ctx.output.interactive:
                app_ctx.output.info(f"{flow.name}: {result.status} ({result.duration_ms / 1000:.1f} s)")
            if on_result is not None:
                on_result(result)
    report = SyntheticReport(
        suite_id=suite_id,
        base_url=base_url,
        status=outcome_status([r.status for r in results if r.status in ("passed", "failed", "error", "skipped")]),
        duration_ms=max(0, now_ms() - began),
        flows=results,
    )
    return backend.record_synthetic(report, context)


def _synthetic_test(
    app_ctx: AppContext,
    flows: Sequence[FlowView],
    flow_ids: Sequence[str] | None,
    analysis: ChangeAnalysis | None,
    context: RunContext,
    *,
    base_url: str,
    as_json: bool,
    markdown: Path | None,
) -> int:
    if flow_ids is None:
        chosen = [f for f in flows if f.is_active and f.steps]
    else:
        wanted = set(flow_ids)
        chosen = [f for f in flows if f.id in wanted]
    if not chosen:
        note = "no flow is affected by this change: no flow was run" if analysis else "no flow with steps to run"
        if as_json:
            app_ctx.output.json({"schemaVersion": 1, "status": "skipped", "flows": [], "note": note,
                                 "analysisId": analysis.id if analysis else None})  # fmt: skip
        else:
            app_ctx.output.text(note, markup=False)
        return ExitStatus.OK
    report = run_flows_in_browser(app_ctx, chosen, base_url, context, selection="flows" if flow_ids else "all")
    if markdown is not None:
        _write(markdown, render_synthetic_markdown(report).encode("utf-8"))
    print_synthetic(app_ctx.output, report, as_json=as_json, analysis=analysis)
    return ExitStatus.TESTS_FAILED if report.status in ("failed", "error") else ExitStatus.OK


def print_synthetic(
    output: Output, report: SyntheticReport, *, as_json: bool, analysis: ChangeAnalysis | None = None
) -> None:
    if as_json:
        document = report.model_dump(mode="json")
        if analysis is not None:
            document["analysisId"] = analysis.id
        output.json(document)
        return
    output.text(f"Flows {report.status} against {report.base_url} ({report.duration_ms / 1000:.1f} s)", markup=False)
    for flow in report.flows:
        output.text(f"  {flow.status:<7} {flow.name} ({flow.duration_ms / 1000:.1f} s)", markup=False)
        for step in flow.steps:
            mark = {"passed": "✓", "skipped": "-"}.get(step.status, "✗")
            detail = f": {step.message}" if step.message else ""
            output.text(f"      {mark} {step.order}. {step.name} ({step.duration_ms} ms){detail}", markup=False)
            for artifact in step.artifacts:
                output.text(f"        screenshot {artifact}", markup=False)


def render_synthetic_markdown(report: SyntheticReport) -> str:
    from perceo.coordinator.markdown import MARKER

    icon = {"passed": "✅", "failed": "❌", "error": "⚠️", "skipped": "⏭️"}
    lines = [MARKER, f"### {icon.get(report.status, '⏳')} Perceo: flows in a browser {report.status}", ""]
    lines += ["| Flow | Result | Failed step | Time |", "|---|---|---|---:|"]
    for flow in report.flows:
        failed = next((s for s in flow.steps if s.status in ("failed", "error")), None)
        where = f"{failed.order}. {failed.name}: {failed.message or ''}" if failed else ""
        cell = " ".join(where.split()).replace("|", "\\|")
        lines.append(
            f"| {flow.name} | {icon.get(flow.status, '')} {flow.status} | {cell} | {flow.duration_ms / 1000:.1f} s |"
        )
    return "\n".join(lines) + "\n"


def flows_run(app_ctx: AppContext, refs: Sequence[str], *, base_url: str, run_all: bool, as_json: bool) -> int:
    backend = app_ctx.backend
    if refs and run_all:
        raise ValidationFailed("name flows or pass --all, not both")
    if not refs and not run_all:
        raise ValidationFailed("name the flow(s) to run, or pass --all")
    all_flows = backend.list_flows()
    if run_all:
        flows = [f for f in all_flows if f.is_active and f.steps]
        if not flows:
            raise ValidationFailed("no active flow has steps to run: run `perceo init` first")
    else:
        ids = _resolve_flows(app_ctx, all_flows, refs)
        by_id = {f.id: f for f in all_flows}
        flows = [by_id[i] for i in ids]
    context = run_context(app_ctx.project_dir, commit_sha=None, env=os.environ)
    report = run_flows_in_browser(app_ctx, flows, base_url, context, selection="all" if run_all else "flows")
    print_synthetic(app_ctx.output, report, as_json=as_json)
    return ExitStatus.TESTS_FAILED if report.status in ("failed", "error") else ExitStatus.OK


# ------------------------------------------------------------------------------------------------ ci report


def ci_report(
    app_ctx: AppContext, *, junit: Path | None, playwright_json: Path | None, commit: str | None, as_json: bool
) -> int:
    if (junit is None) == (playwright_json is None):
        raise ValidationFailed("pass one report: --junit FILE or --playwright-json FILE")
    path = junit or playwright_json
    assert path is not None
    fmt: ReportFormat = "junit" if junit is not None else "playwright-json"
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValidationFailed(f"cannot read {path}: {error.strerror}") from None
    flows = app_ctx.backend.list_flows()
    mapping, _ = load_mapping(app_ctx, flows)
    context = run_context(app_ctx.project_dir, commit_sha=commit, env=os.environ)
    report = app_ctx.backend.upload_test_report(
        data,
        fmt,
        context,
        flows_of=mapping.flows_of(),
    )
    if as_json:
        app_ctx.output.json(report.model_dump(mode="json"))
    else:
        app_ctx.output.text(render_suite_text(report, None, None), markup=False, end="")
    return ExitStatus.TESTS_FAILED if report.status in ("failed", "error") else ExitStatus.OK


def flaky(app_ctx: AppContext, *, as_json: bool) -> None:
    report = app_ctx.backend.flaky_tests()
    if as_json:
        app_ctx.output.json(report.model_dump(mode="json"))
        return
    if not report.tests and not report.flows:
        app_ctx.output.text(f"No flaky test in {report.runs_read} recorded run(s).", markup=False)
        return
    names = {f.id: f.name for f in app_ctx.backend.list_flows()}
    app_ctx.output.text(f"Flaky tests ({len(report.tests)}) in {report.runs_read} recorded run(s):", markup=False)
    for test in report.tests:
        flows = ", ".join(names.get(i, i) for i in test.flow_ids) or "no flow"
        commits = ", ".join(c[:12] for c in test.commits) or "passed on a retry"
        app_ctx.output.text(
            f"  {test.name} [{flows}]: {test.passes} pass(es), {test.failures} failure(s); {commits}", markup=False
        )
    for flow in report.flows:
        app_ctx.output.text(
            f"  flow {names.get(flow.flow_id, flow.flow_id)} passed and failed on "
            + ", ".join(c[:12] for c in flow.commits),
            markup=False,
        )


def predictions(app_ctx: AppContext, *, as_json: bool) -> None:
    quality = app_ctx.backend.prediction_quality()
    if as_json:
        app_ctx.output.json(quality.model_dump(mode="json"))
        return
    out = app_ctx.output
    if quality.decided == 0:
        out.text(
            f"{quality.predictions} prediction(s), none checked against a passed or failed test run yet: run "
            "`perceo ci test` at the analysed commits.",
            markup=False,
        )
        return

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0%}"

    out.text(
        f"{quality.decided} prediction(s) checked against test outcomes (of {quality.predictions} recorded)",
        markup=False,
    )
    out.text(
        f"  affected vs failed: precision {pct(quality.precision)}, recall {pct(quality.recall)} "
        f"(TP {quality.true_positives}, FP {quality.false_positives}, FN {quality.false_negatives}, "
        f"TN {quality.true_negatives})",
        markup=False,
    )
    brier = "n/a" if quality.brier_score is None else f"{quality.brier_score:.3f}"
    out.text(f"  Brier score {brier} (0 is perfect; always guessing 0.5 scores 0.25)", markup=False)
    out.text("  risk bucket   predictions   mean risk   failed", markup=False)
    for bucket in quality.reliability:
        mean = "-" if bucket.mean_predicted is None else f"{bucket.mean_predicted:.2f}"
        rate = "-" if bucket.observed_failure_rate is None else f"{bucket.observed_failure_rate:.0%}"
        out.text(f"  {bucket.low:.1f}-{bucket.high:.1f}     {bucket.count:>11}   {mean:>9}   {rate:>6}", markup=False)
