"""`perceo flows list|show|edit|delete`: the project's flows, through the Backend port.

Editing a flow marks it user-edited: `perceo init` never overwrites or removes it afterwards.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from perceo.errors import ValidationFailed
from perceo.models import FlowUpdate, FlowView
from perceo.models.vocab import PRIORITIES
from perceo_cli.context import AppContext, app_context
from perceo_cli.output import Output, esc, plural

app = typer.Typer(help="List, show, edit and delete the project's flows.", no_args_is_help=True)


def flow_json(flow: FlowView, *, with_steps: bool) -> dict[str, Any]:
    data = flow.model_dump(mode="json")
    if not with_steps:
        data["stepCount"] = len(flow.steps)
        data.pop("steps", None)
    return data


@app.command("list")
def list_flows(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Every flow of the project, most important first."""
    app_ctx = app_context(ctx)
    flows = sorted(app_ctx.backend.list_flows(), key=lambda f: (PRIORITIES.index(f.priority), f.name.casefold()))
    if as_json:
        app_ctx.output.json({"flows": [flow_json(f, with_steps=False) for f in flows]})
        return
    if not flows:
        remote = " --remote" if app_ctx.config.observer.api_base_url else ""
        app_ctx.output.text(f"No flows yet: run `perceo init{remote}`.")
        return
    table = Table(title_justify="left")
    for column in ("Name", "Priority", "Personas", "Pages", "Steps", "Source"):
        table.add_column(column)
    for f in flows:
        source = "user-edited" if f.user_edited else f.source.replace("_", "-")
        table.add_row(
            *(esc(v) for v in (f.name, f.priority, ", ".join(f.personas), " → ".join(f.pages), len(f.steps), source))
        )
    app_ctx.output.out.print(table)


@app.command("show")
def show_flow(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Flow id or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """One flow with its pages, personas and steps."""
    app_ctx = app_context(ctx)
    flow = app_ctx.backend.get_flow(ref)
    if as_json:
        app_ctx.output.json(flow_json(flow, with_steps=True))
        return
    print_flow(app_ctx.output, flow)


def print_flow(output: Output, flow: FlowView) -> None:
    owned = " · user-edited" if flow.user_edited else ""
    output.text(
        f"[bold]{esc(flow.name)}[/bold] · {flow.priority} · {flow.source.replace('_', '-')}{owned} · id {flow.id}"
    )
    if flow.description:
        output.text(flow.description, markup=False)
    output.text(f"Personas: {', '.join(flow.personas) or '-'}", markup=False)
    output.text(f"Pages: {' → '.join(flow.pages) or '-'}", markup=False)
    for step in flow.steps:
        actions = "; ".join(
            " ".join(x for x in (a.type, a.target or "", repr(a.value) if a.value else "") if x) for a in step.actions
        )
        # Where each element is written in the code, and the actions whose element nothing names.
        notes = [str(a.options["source"]) for a in step.actions if a.options.get("source")]
        notes += ["confidence: low" for a in step.actions if a.options.get("confidence") == "low"]
        where = f"  [dim]({esc(', '.join(dict.fromkeys(notes)))})[/dim]" if notes else ""
        output.text(f"  {step.order}. {esc(step.name)}  [dim]{esc(actions)}[/dim]{where}")


@app.command("edit")
def edit_flow(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Flow id or name.")],
    description: Annotated[str | None, typer.Option("--description", help="New description.")] = None,
    priority: Annotated[str | None, typer.Option("--priority", help="critical, high, medium or low.")] = None,
    active: Annotated[bool | None, typer.Option("--active/--inactive", help="Include the flow in analyses.")] = None,
    trigger: Annotated[
        list[str] | None, typer.Option("--trigger", help="Trigger condition (repeat; replaces the list).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the updated flow as JSON.")] = False,
) -> None:
    """Change a flow. It becomes user-edited: `perceo init` leaves it alone from now on."""
    app_ctx = app_context(ctx)
    if priority is not None and priority not in PRIORITIES:
        raise ValidationFailed(f"--priority must be one of {', '.join(PRIORITIES)} (got {priority!r})")
    update = FlowUpdate.model_validate(
        {
            k: v
            for k, v in {
                "description": description,
                "priority": priority,
                "is_active": active,
                "trigger_conditions": trigger,
            }.items()
            if v is not None
        }
    )
    if not update.model_dump(exclude_none=True):
        raise ValidationFailed("nothing to change: pass --description, --priority, --active/--inactive or --trigger")
    app_ctx.backend.update_flow(ref, update)
    flow = app_ctx.backend.get_flow(ref)
    if as_json:
        app_ctx.output.json(flow_json(flow, with_steps=False))
    else:
        app_ctx.output.text(f"Updated {flow.name} (now user-edited: `perceo init` will not change it).", markup=False)


@app.command("delete")
def delete_flow(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Flow id or name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Delete a flow and its steps. An auto-generated flow stays deleted: its name goes to bootstrap.excludeFlows
    in .perceo/config.json, so `perceo init` does not create it again (remove it there to get it back)."""
    app_ctx = app_context(ctx)
    flow = app_ctx.backend.get_flow(ref)
    if not yes and not as_json and app_ctx.output.interactive:
        steps = plural(len(flow.steps), "step")
        typer.confirm(f"Delete flow '{flow.name}' and its {steps}?", abort=True, err=True)
    excluded = _exclude_from_init(app_ctx, flow) if flow.source == "auto_generated" else False
    app_ctx.backend.delete_flow(flow.id)
    if as_json:
        app_ctx.output.json({"deleted": {"id": flow.id, "name": flow.name}, "excludedFromInit": excluded})
        return
    app_ctx.output.text(f"Deleted {flow.name}.", markup=False)
    if excluded:
        app_ctx.output.info(
            "`perceo init` will not create it again (bootstrap.excludeFlows in .perceo/config.json; "
            "remove the name there to get it back)."
        )


def _exclude_from_init(app_ctx: AppContext, flow: FlowView) -> bool:
    """Add the flow's name to bootstrap.excludeFlows in the project's config (the API keeps no config: `perceo init
    --remote` sends the list with the bootstrap request). True once the name is there."""
    import json

    from perceo.config.loader import save_config_value

    names = list(app_ctx.config.bootstrap.exclude_flows)
    if flow.name.casefold() not in {n.casefold() for n in names}:
        save_config_value(app_ctx.project_dir, "bootstrap.excludeFlows", json.dumps([*names, flow.name]))
    return True


# `flows tests` and `flows run` live with the coordinator.
from perceo_cli.coordinator.cli import register_flows  # noqa: E402 - registered after the group exists

register_flows(app)
