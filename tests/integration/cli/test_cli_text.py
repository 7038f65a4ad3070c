"""What the CLI prints for people: every command's help has an example and shows flags as flags, text output
keeps markup-like data (`[name=email]`) as text, counts have the right plural."""

from __future__ import annotations

import io
from typing import Any

import pytest
import typer
from rich.console import Console

from perceo.models import FlowView
from perceo.models.entities import Step, StepAction
from perceo_cli.app import COMMANDS, EXAMPLES, load
from perceo_cli.commands.flows import print_flow
from perceo_cli.context import AppContext
from perceo_cli.main import main
from perceo_cli.output import Output, plural


def _commands() -> list[list[str]]:
    paths: list[list[str]] = []
    for name in COMMANDS:
        loaded = load(name)
        names = [c.name or "" for c in loaded.registered_commands] if isinstance(loaded, typer.Typer) else []
        paths += [[name, sub] for sub in names] if names else [[name]]
    return paths


def _help(path: list[str], tmp_path: Any) -> str:
    stdout, stderr = io.StringIO(), io.StringIO()
    output = Output(stdout, stderr)
    code = main([*path, "--help"], context=AppContext(output=output, project_dir=tmp_path))
    assert code == 0
    return stdout.getvalue() + stderr.getvalue()


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p))
def test_every_command_has_an_example_and_its_flags_take_no_value(path: list[str], tmp_path: Any, capsys: Any) -> None:
    key = " ".join(path)
    assert key in EXAMPLES, f"`perceo {key}` has no example"
    assert EXAMPLES[key].startswith(f"perceo {key}")

    _help(path, tmp_path)
    shown = capsys.readouterr().out

    assert "Example: perceo " + key in " ".join(shown.split())
    assert "<bool>" not in shown
    assert "--json" in shown and "--no-json" in shown  # every command speaks JSON; a flag shows its negation


def test_flows_show_keeps_brackets_in_selectors_and_names() -> None:
    flow = FlowView(
        project_id="p",
        name="Sign in [beta]",
        description="Uses [bold]real[/bold] markup-like text",
        pages=["/login"],
        steps=[
            Step(
                flow_id="f",
                order=1,
                name="Type [the] email",
                actions=[
                    StepAction(type="fill", target="[name=email]", value="a@b.c", options={"source": "app/[id].tsx:4"})
                ],
            ),
            Step(
                flow_id="f",
                order=2,
                name="Fill in code (confidence: low)",
                actions=[StepAction(type="fill", value="123456", options={"confidence": "low"})],
            ),
        ],
    )
    stdout = io.StringIO()
    output = Output(stdout, io.StringIO())
    output.out = Console(file=stdout, highlight=False, soft_wrap=True, width=200)

    print_flow(output, flow)

    text = stdout.getvalue()
    assert "Sign in [beta]" in text
    assert "Uses [bold]real[/bold] markup-like text" in text
    assert "1. Type [the] email  fill [name=email] 'a@b.c'  (app/[id].tsx:4)" in text  # where the element is written
    assert "2. Fill in code (confidence: low)  fill '123456'  (confidence: low)" in text


def test_counts_have_the_right_plural() -> None:
    assert plural(1, "changed file") == "1 changed file"
    assert plural(0, "changed file") == "0 changed files"
    assert plural(2, "API key") == "2 API keys"
    assert plural(3, "entry", "entries") == "3 entries"
