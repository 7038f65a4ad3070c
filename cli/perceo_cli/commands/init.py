"""`perceo init`: detect the framework, write `.perceo/config.json`, discover the app and store its flows,
personas and steps in the flow graph (LLM when a key is configured, else the offline heuristic).
A plain command, registered with `app.command(name="init")(init)`.

Re-running is safe: what is unchanged is not written, auto-generated flows that no longer exist are
removed (and reported), and flows a person configured or edited are never touched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from perceo.bootstrap.model import PersonaSpec
from perceo.errors import ConfigError, ValidationFailed
from perceo.models import new_id
from perceo_cli.backend.port import LOCAL_BOOTSTRAP_ONLY
from perceo_cli.context import AppContext, app_context
from perceo_cli.output import Output, esc, plural
from perceo_cli.project_files import init_lock, set_project_value, write_gitignore

FRAMEWORK_CHOICES = ("auto", "nextjs", "remix", "react-router", "react", "vue", "nuxt", "sveltekit", "angular")


def read_personas_file(path: Path) -> list[PersonaSpec]:
    """`--personas FILE`: a JSON list of {name, description, behaviors}."""
    from pydantic import ValidationError

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read personas file: {error.strerror}", details={"file": str(path)}) from None
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}:{error.lineno}: invalid JSON: {error.msg}", details={"file": str(path)}) from None
    if not isinstance(document, list):
        raise ConfigError(f"{path}: expected a JSON list of personas", details={"file": str(path)})
    personas = []
    for index, item in enumerate(document):
        try:
            personas.append(PersonaSpec.model_validate(item))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            message = f"{path}: persona [{index}] {where}: {first['msg']}"
            raise ConfigError(message, details={"file": str(path)}) from None
    names = [p.name.casefold() for p in personas]
    if len(names) != len(set(names)):
        raise ConfigError(f"{path}: persona names must be distinct", details={"file": str(path)})
    return personas


def _project_name(project_dir: Path, configured: str | None) -> str:
    if configured:
        return configured
    package = project_dir / "package.json"
    if package.is_file():
        try:
            name = json.loads(package.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            name = None
        if isinstance(name, str) and name.strip():
            return name.strip()
    return project_dir.resolve().name or "project"


def _detect_framework(project_dir: Path) -> str:
    from perceo.errors import NotAGitRepositoryError
    from perceo.observer.discovery import detect_framework
    from perceo.observer.snapshot import RepoSnapshot

    try:
        snapshot = RepoSnapshot.working_tree(project_dir)
    except NotAGitRepositoryError:
        snapshot = RepoSnapshot.directory(project_dir)
    with snapshot:
        return detect_framework(snapshot)


def init(
    ctx: typer.Context,
    directory: Annotated[
        Path | None, typer.Option("--dir", "-d", help="The app's directory (default: the current one).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Project name (default: package.json name).")] = None,
    framework: Annotated[str, typer.Option("--framework", help=f"One of {', '.join(FRAMEWORK_CHOICES)}.")] = "auto",
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Never prompt.")] = False,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Use the offline heuristic even if an LLM is set.")] = False,
    personas_file: Annotated[
        Path | None, typer.Option("--personas", help="JSON list of {name, description, behaviors} to keep as is.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
    # --- cloud bootstrap options (owner: workflows, see commands/workflows.py) ---
    remote: Annotated[
        bool, typer.Option("--remote", help="Bootstrap in the cloud (observer.apiBaseUrl): the API clones the repo.")
    ] = False,
    repo_url: Annotated[
        str | None, typer.Option("--repo-url", help="With --remote: the repository to clone (default: origin).")
    ] = None,
    branch: Annotated[str | None, typer.Option("--branch", help="With --remote: the branch to bootstrap.")] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="With --remote: stop waiting after this many seconds.")
    ] = 1800.0,
) -> None:
    """Discover the app's flows, personas and steps and store them in the flow graph."""
    app_ctx = app_context(ctx)
    if framework not in FRAMEWORK_CHOICES:
        raise ValidationFailed(f"--framework must be one of {', '.join(FRAMEWORK_CHOICES)} (got {framework!r})")
    project_dir = (directory or app_ctx.project_dir).resolve()
    if not project_dir.is_dir():
        raise ValidationFailed(f"{project_dir} is not a directory")
    personas = read_personas_file(personas_file) if personas_file else []
    # --- cloud bootstrap (owner: workflows): the API's BootstrapProject workflow instead of the local pipeline ---
    if remote:
        from perceo_cli.commands.workflows import run_remote_init

        summary = run_remote_init(
            app_ctx,
            project_dir,
            repo_url=repo_url,
            branch=branch,
            framework=framework,
            use_llm=False if no_llm else None,  # the cloud's LLM when it has one
            personas=personas,
            timeout_s=timeout,
            show_progress=not as_json,
        )
        if as_json:
            app_ctx.output.json(summary)
        else:
            print_summary(app_ctx.output, summary)
        return
    if not yes and not as_json and app_ctx.output.interactive and not (project_dir / ".perceo").exists():
        typer.confirm(f"Set up Perceo in {project_dir}?", default=True, abort=True, err=True)
    summary = run_init(
        app_ctx,
        project_dir,
        name=name,
        framework=framework,
        use_llm=not no_llm,
        personas=personas,
    )
    if as_json:
        app_ctx.output.json(summary)
    else:
        print_summary(app_ctx.output, summary)


def run_init(
    app_ctx: AppContext,
    project_dir: Path,
    *,
    name: str | None,
    framework: str,
    use_llm: bool,
    personas: list[PersonaSpec],
) -> dict[str, Any]:
    """Config, project and bootstrap. Returns the `init --json` document."""
    from perceo.config.loader import load_config

    output = app_ctx.output
    perceo_dir = project_dir / ".perceo"
    if load_config(project_dir).config.observer.api_base_url:  # checked before anything is written
        raise ValidationFailed(LOCAL_BOOTSTRAP_ONLY, details={"where": "observer.apiBaseUrl"})
    _check_writable(project_dir)
    perceo_dir.mkdir(exist_ok=True)
    with init_lock(perceo_dir, on_wait=output.info):
        # Read under the lock: a second `init` started at once sees the project id the first one wrote.
        loaded = load_config(project_dir)
        config = loaded.config
        if config.observer.api_base_url:  # set meanwhile by another process
            raise ValidationFailed(LOCAL_BOOTSTRAP_ONLY, details={"where": "observer.apiBaseUrl"})
        if app_ctx.project_dir.resolve() != project_dir:
            app_ctx.project_dir = project_dir
        app_ctx._config = config
        write_gitignore(perceo_dir)
        detected = framework if framework != "auto" else (config.project.framework or _detect_framework(project_dir))
        project_name = _project_name(project_dir, name or config.project.name)
        project_id = config.project.id or _stored_project_id(app_ctx, project_name) or new_id()
        set_project_value(project_dir, loaded.raw, "id", project_id)
        set_project_value(project_dir, loaded.raw, "name", project_name)
        set_project_value(project_dir, loaded.raw, "framework", detected)
        app_ctx._config = None  # the bootstrap reads the config written above
        return _bootstrap(app_ctx, project_dir, project_id, project_name, detected, framework, use_llm, personas)


def _check_writable(project_dir: Path) -> None:
    """A folder Perceo cannot write to says so before anything starts."""
    import os

    perceo_dir = project_dir / ".perceo"
    target = perceo_dir if perceo_dir.is_dir() else project_dir
    if not os.access(target, os.W_OK | os.X_OK):
        raise ValidationFailed(
            f"{target} is read-only: `perceo init` writes .perceo/config.json and keeps its data under .perceo/; "
            "run it in a writable checkout",
            details={"path": str(target)},
        )


def _stored_project_id(app_ctx: AppContext, project_name: str) -> str | None:
    """The project the store already holds for this folder when the config lost its id (emptied, restored
    from an old copy): the project is found by its natural key, its name, never created a second time."""
    from perceo_cli.backend.local import LocalBackend

    backend = app_ctx.backend
    if not isinstance(backend, LocalBackend):
        return None
    same_name = [p for p in backend.graph.list_projects() if p.name.casefold() == project_name.casefold()]
    if len(same_name) > 1:
        ids = ", ".join(sorted(p.id for p in same_name))
        raise ValidationFailed(
            f"the config has no project.id and the store holds {len(same_name)} projects named {project_name!r} "
            f"({ids}): set project.id in .perceo/config.json to the one to keep",
            details={"where": "project.id"},
        )
    if same_name:
        app_ctx.output.warn(
            f"the config has no project.id: using the project {same_name[0].id} ({project_name!r}) the store holds"
        )
        return same_name[0].id
    return None


def _bootstrap(
    app_ctx: AppContext,
    project_dir: Path,
    project_id: str,
    project_name: str,
    detected: str,
    framework: str,
    use_llm: bool,
    personas: list[PersonaSpec],
) -> dict[str, Any]:
    from perceo.bootstrap.pipeline import BootstrapInput, BootstrapLimits
    from perceo.config.loader import config_file_path
    from perceo.models import Project

    output = app_ctx.output
    config = app_ctx.config
    perceo_dir = project_dir / ".perceo"
    request = BootstrapInput(
        project_id=project_id,
        workspace=str(project_dir),
        framework=framework,
        use_llm=use_llm,
        personas=personas,
        limits=BootstrapLimits.model_validate(config.bootstrap.model_dump(exclude={"exclude_flows"})),
        cache_dir=str(perceo_dir / "cache"),
        excluded_flows=config.bootstrap.exclude_flows,
    )
    with output.progress() as progress:
        task = progress.add_task("bootstrap", total=100, message="")

        def report(stage: str, percent: int, message: str) -> None:
            progress.update(task, description=stage.replace("_", " "), completed=percent, message=message)
            progress.refresh()  # show each stage as it starts, not at the next timer tick

        return app_ctx.backend.bootstrap(
            request,
            project=Project(id=project_id, name=project_name, framework=detected),
            config_path=str(config_file_path(project_dir)),
            progress=report,
            notice=output.info,
        )


_PRIORITY_STYLE = {"critical": "red", "high": "yellow", "medium": "cyan", "low": "dim"}


def print_summary(output: Output, summary: dict[str, Any]) -> None:
    counts = summary["counts"]
    mode = "LLM" if summary["mode"] == "llm" else "offline heuristic"
    output.text(f"[bold]{esc(summary['projectName'])}[/bold] ({summary['framework']}) · project {summary['projectId']}")
    output.text(f"Routes: {counts['routes']} · navigation edges: {counts['navigationEdges']} · mode: {mode}")
    for what in ("flows", "personas"):
        c = counts[what]
        output.text(
            f"{what.capitalize()}: {c['created']} created, {c['updated']} updated, {c['removed']} removed, "
            f"{c['unchanged']} unchanged, {c['skipped']} skipped (user-owned)"
        )
    steps = counts["steps"]
    output.text(
        f"Steps: {steps['stepsWritten']} written for {steps['flowsReplaced']} flows, "
        f"{steps['flowsUnchanged']} flows unchanged"
    )
    for kind, names in summary["removed"].items():
        if names:
            output.text(f"Removed {kind} (no longer found): {', '.join(names)}", markup=False)
    output.text("")
    flows_by_persona: dict[str, list[dict[str, Any]]] = {}
    for flow in summary["flows"]:
        for persona in flow["personas"] or ["(no persona)"]:
            flows_by_persona.setdefault(persona, []).append(flow)
    for persona in [p["name"] for p in summary["personas"]] + ["(no persona)"]:
        flows = flows_by_persona.get(persona)
        if not flows:
            continue
        output.text(f"[bold]▸ {esc(persona)}[/bold]")
        for index, flow in enumerate(flows):
            branch = "└─" if index == len(flows) - 1 else "├─"
            style = _PRIORITY_STYLE.get(flow["priority"], "")
            owned = " (user-owned)" if flow["userEdited"] or flow["source"] == "user_configured" else ""
            priority = f"[{style}]{flow['priority']}[/{style}]"
            output.text(f"  {branch} {esc(flow['name'])} {priority}{owned} · {plural(flow['steps'], 'step')}")
            pad = "   " if index == len(flows) - 1 else "│  "
            output.text(f"  {pad} {' → '.join(flow['pages'])}", markup=False)
    for warning in summary["warnings"]:
        output.warn(warning)
    for limit in summary["limits"]:
        output.warn(f"limit reached: {limit}")
    output.info("Next: `perceo flows list`, and `perceo ci analyze --base main` on a branch.")
