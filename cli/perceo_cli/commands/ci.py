"""`perceo ci analyze`: which flows a change puts at risk, for people (text), machines (JSON) and PRs (Markdown).

The change set, discovery and affected routes are computed here, from the checkout; mapping routes to flows,
scoring, storing and publishing happen in the backend (`Backend.analyze`), so the same command works against the
embedded store and the cloud API. Before `perceo init` (no project id) the analysis is computed locally, for routes
only, and nothing is stored.

Exit codes: 0 ok, 1 error, 2 usage or invalid ref, 3 risk at or above `--fail-on`, 5 changed source files that
reach no route (unless `--allow-unmapped`), 6 a git call or a fetch (`--deepen`) ran past its timeout
(`observer.git.localTimeoutSeconds`, `observer.git.fetchTimeoutSeconds`).

Hints (stderr, and `hints` in `--json`) never change the exit code: uncommitted changes that a commit-to-commit
analysis of HEAD leaves out.
"""

from __future__ import annotations

import hashlib
import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from perceo_cli.context import AppContext, app_context
from perceo_cli.exit import ExitStatus

if TYPE_CHECKING:  # discovery (tree-sitter) loads only when a command runs, not on every `perceo` start
    from perceo.config.model import PerceoConfig
    from perceo.models import AffectedRoute, ChangeAnalysis, ChangeSet
    from perceo.models.api import AnalysisReview
    from perceo.observer.gitproc import GitTimeouts

app = typer.Typer(help="Commands for CI pipelines.", no_args_is_help=True)

#: Project id of an analysis made before `perceo init` (nothing is stored under it).
LOCAL_PROJECT_ID = "local"


class ReportFormat(StrEnum):
    text = "text"
    json = "json"
    md = "md"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    none = "none"


@app.command("analyze")
def analyze(
    ctx: typer.Context,
    base: Annotated[
        str | None,
        typer.Option("--base", help="Ref the change is compared with (the diff starts at its merge base with --head)."),
    ] = None,
    head: Annotated[str | None, typer.Option("--head", help="Ref of the change (default HEAD).")] = None,
    working_tree: Annotated[
        bool,
        typer.Option(
            "--working-tree", help="Analyze uncommitted and untracked changes against HEAD (or the --base merge base)."
        ),
    ] = False,
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="Report format on stdout.")
    ] = ReportFormat.text,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json: only JSON on stdout.")] = False,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 3 when the change's risk is at or above this level.")
    ] = FailOn.none,
    deepen: Annotated[
        bool, typer.Option("--deepen", help="In a shallow clone, fetch history until the merge base is found.")
    ] = False,
    allow_unmapped: Annotated[
        bool,
        typer.Option("--allow-unmapped", help="Exit 0 even when changed source files reach no route (else exit 5)."),
    ] = False,
) -> None:
    """Diff → changed files → affected routes → flows at risk, each with a risk score and the chain of reasons."""
    app_ctx = app_context(ctx)
    if working_tree and head is not None:
        app_ctx.output.error("--working-tree analyzes the working tree against HEAD: it cannot be used with --head")
        raise typer.Exit(ExitStatus.USAGE)
    fmt = ReportFormat.json if as_json else report_format
    config = app_ctx.config
    from perceo.observer.analyze import analyze_checkout
    from perceo.observer.filewarnings import collecting
    from perceo.observer.impact import unmapped_files
    from perceo_cli.report import analysis_contract, render_markdown, render_text

    with collecting() as warnings:  # files analysed without their content: never a crash, a warning each
        change_set, affected = analyze_checkout(
            app_ctx.project_dir,
            base,
            head or "HEAD",
            working_tree=working_tree,
            deepen=deepen,
            framework=config.project.framework or "auto",
            cache_dir=discovery_cache_dir(app_ctx.project_dir),
            git_timeouts=git_timeouts(config),
            notice=app_ctx.output.info,
        )
    _report_warnings(app_ctx, warnings)
    if not working_tree and change_set.head_sha and change_set.base_sha == change_set.head_sha:
        app_ctx.output.warn(
            "the merge base of --base and --head is --head itself: --base already contains every commit of --head "
            "(were --base and --head swapped?); there is nothing to analyze"
        )
    hints = [] if working_tree or head not in (None, "HEAD") else _uncommitted_hints(app_ctx.project_dir, base)
    for hint in hints:
        app_ctx.output.info(f"hint: {hint}")
    analysis, project_name, asked, started_review = _analysis(app_ctx, change_set, affected)
    review = _report_review(app_ctx, started_review) if asked else None
    unmapped = unmapped_files(change_set, affected)

    if fmt is ReportFormat.json:
        document = analysis_contract(analysis, project_name=project_name, working_tree=working_tree)
        if asked:  # only then: without useLlm both backends print the same document
            document["review"] = review
        document["unmappedFiles"] = unmapped
        document["hints"] = hints
        document["warnings"] = warnings
        app_ctx.output.json(document)
    elif fmt is ReportFormat.md:
        app_ctx.output.text(
            render_markdown(analysis, project_name=project_name, working_tree=working_tree), markup=False, end=""
        )
    else:
        app_ctx.output.text(
            render_text(analysis, project_name=project_name, working_tree=working_tree), markup=False, end=""
        )
    if fails(analysis, fail_on):
        app_ctx.output.info(f"risk {analysis.risk_level} is at or above --fail-on {fail_on.value}")
        raise typer.Exit(ExitStatus.RISK)
    if unmapped:
        _report_unmapped(app_ctx, unmapped, none_affected=not affected)
        if not allow_unmapped:
            raise typer.Exit(ExitStatus.UNMAPPED)


def _report_warnings(app_ctx: AppContext, warnings: list[str]) -> None:
    """One line per file the analysis could not read or understand (the analysis went on without it)."""
    for warning in warnings[:50]:
        app_ctx.output.warn(warning)
    if len(warnings) > 50:
        app_ctx.output.info(f"  ... and {len(warnings) - 50} more warnings (all of them under `warnings` in --json)")


def _uncommitted_hints(project_dir: Path, base: str | None) -> list[str]:
    """One line when the working tree has uncommitted changes: the analysis compares commits, so they are left out."""
    from perceo.observer.changes import Git

    dirty = Git(project_dir).uncommitted()
    if not dirty:
        return []
    command = "perceo ci analyze --working-tree" + (f" --base {base}" if base else "")
    return [
        f"{len(dirty)} uncommitted change(s) in the working tree (e.g. {dirty[0]}) are not analyzed, only commits "
        f"up to HEAD; `{command}` includes them"
    ]


def _report_unmapped(app_ctx: AppContext, unmapped: list[str], *, none_affected: bool) -> None:
    """Never a silent all-clear: say which changed files the analysis could not map to a route, and why."""
    why = (
        "no route was found, or they are outside every route's code and not app shell"
        if none_affected
        else "they are outside every route's code and not app shell"
    )
    app_ctx.output.warn(f"{len(unmapped)} changed source file(s) reach no route ({why}):")
    for path in unmapped[:50]:
        app_ctx.output.info(f"  {path}")  # a plain line: `app/[id]/page.tsx` prints as it is
    if len(unmapped) > 50:
        app_ctx.output.info(f"  ... and {len(unmapped) - 50} more")
    app_ctx.output.info(
        f"what they affect is unknown; `--allow-unmapped` accepts this (exit 0 instead of {int(ExitStatus.UNMAPPED)})"
    )


def git_timeouts(config: PerceoConfig) -> GitTimeouts:
    """The git timeouts of the project's config (`observer.git`)."""
    from perceo.observer.gitproc import GitTimeouts

    section = config.observer.git
    return GitTimeouts(local_s=section.local_timeout_seconds, fetch_s=section.fetch_timeout_seconds)


def fails(analysis: ChangeAnalysis, fail_on: FailOn) -> bool:
    """True when the change's risk is at or above the threshold (a change that affects nothing never fails)."""
    from perceo.observer.risk import LEVEL_RANK

    if fail_on is FailOn.none or analysis.risk_score <= 0:
        return False
    return LEVEL_RANK[analysis.risk_level] >= LEVEL_RANK[fail_on.value]


def _analysis(
    app_ctx: AppContext, change_set: ChangeSet, affected: list[AffectedRoute]
) -> tuple[ChangeAnalysis, str, bool, AnalysisReview | None]:
    """The analysis, the project's name, whether an LLM review was asked of the API, and the review it started."""
    config = app_ctx.config
    if config.project.id:
        backend = app_ctx.backend
        wanted = config.observer.analysis
        if wanted.use_llm:  # the API starts the LLM review (the slow path) itself; the embedded default has none
            from perceo_cli.backend.port import NotOnThisBackendError

            try:
                reviewed, review = backend.analyze_with_review(change_set, affected, llm_threshold=wanted.llm_threshold)
                return reviewed, backend.project().name, True, review
            except NotOnThisBackendError:
                pass
        analysis = backend.analyze(change_set, affected)
        return analysis, backend.project().name, False, None
    # Before `perceo init`: routes only, nothing stored or published.
    from perceo.observer.analyze import analyze_change

    name = config.project.name or app_ctx.project_dir.resolve().name or "project"
    return analyze_change(LOCAL_PROJECT_ID, change_set, affected, graph=None, bus=None), name, False, None


def _report_review(app_ctx: AppContext, review: AnalysisReview | None) -> dict[str, Any] | None:
    """Say on stderr which LLM review the API started; the review as --json shows it (None: no flow was below
    the threshold)."""
    if review is None:
        return None
    if review.status == "RUNNING":
        app_ctx.output.info(
            f"LLM review of the flows below confidence {app_ctx.config.observer.analysis.llm_threshold:g} started: "
            f"workflow {review.workflow_id}; follow it with `perceo workflows status {review.workflow_id} --watch`"
        )
    elif review.error is not None:
        app_ctx.output.warn(f"the LLM review did not start ({review.error.type}): {review.error.message}")
    return review.model_dump(mode="json")


def discovery_cache_dir(project_dir: Path) -> Path:
    """`.perceo/cache` once the project is initialised; before that a per-repository folder in the user's cache,
    so a first `ci analyze` leaves nothing behind in the repository."""
    perceo_dir = project_dir / ".perceo"
    if perceo_dir.is_dir():
        return perceo_dir / "cache"
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(project_dir.resolve()).encode()).hexdigest()[:16]
    return root / "perceo" / "repos" / key


# The coordinator's commands (`ci test`, `ci report`, `ci flaky`) live with the coordinator.
from perceo_cli.coordinator.cli import register_ci  # noqa: E402 - registered after the group exists

register_ci(app)
