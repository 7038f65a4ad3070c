"""`perceo config`: show, get and set the project's configuration.

Keys are the file's camelCase dotted paths (`observer.ci.parallelism`). Secrets are masked as "****"
unless `get --reveal` asks for one explicitly. Results go to stdout; which files were read, and
warnings, go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from perceo.config.keypaths import Segment, format_key_path, is_secret_type, parse_key_path, schema_at, value_at
from perceo.config.loader import LOCAL_CONFIG_FILE, LoadedConfig, load_config, local_overrides_enabled, set_config_value
from perceo.config.masking import is_secret_key, mask_value, masked_dump, revealed_dump
from perceo.errors import ConfigError
from perceo_cli.context import AppContext, app_context

app = typer.Typer(help="Show, get and set the project's configuration (.perceo/config.json).", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout, nothing else.")]


def _shown(path: Path, project_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(project_dir.resolve()))
    except ValueError:
        return str(path)


def _load(app_ctx: AppContext) -> LoadedConfig:
    loaded = load_config(app_ctx.project_dir)
    shown = [_shown(path, app_ctx.project_dir) for path in loaded.sources]
    if shown:
        app_ctx.output.info(f"config: {' + '.join(shown)}")
    else:
        app_ctx.output.info(f"config: defaults (no {_shown(loaded.path, app_ctx.project_dir)})")
    if local_overrides_enabled() and len(loaded.sources) < 2:
        app_ctx.output.info(f"config: local overrides are on, but there is no {LOCAL_CONFIG_FILE}")
    return loaded


def _flatten(value: Any, prefix: list[Segment]) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _flatten(item, [*prefix, key])
    else:
        yield format_key_path(prefix), value


def _as_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _print(app_ctx: AppContext, line: str) -> None:
    app_ctx.output.text(line, markup=False, emoji=False)


@app.command("show")
def show(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The effective config (defaults + files + environment), secrets masked, one `key = value` a line."""
    app_ctx = app_context(ctx)
    data = masked_dump(_load(app_ctx).config)
    if as_json:
        app_ctx.output.json(data)
        return
    for key, value in _flatten(data, []):
        _print(app_ctx, f"{key} = {_as_text(value)}")


def _is_secret(segments: list[Segment]) -> bool:
    return is_secret_type(segments) or any(isinstance(s, str) and is_secret_key(s) for s in segments)


@app.command("get")
def get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="camelCase dotted key, e.g. observer.ci.parallelism.")],
    as_json: JsonFlag = False,
    reveal: Annotated[bool, typer.Option("--reveal", help="Print secrets in clear.")] = False,
) -> None:
    """Print one value of the effective config. Strings print bare; anything else as JSON."""
    app_ctx = app_context(ctx)
    segments = parse_key_path(key)
    schema_at(segments)
    config = _load(app_ctx).config
    value = value_at(revealed_dump(config) if reveal else masked_dump(config), segments)
    if as_json:
        app_ctx.output.json(value)
    elif isinstance(value, str):
        _print(app_ctx, value)
    else:
        _print(app_ctx, json.dumps(value, indent=2, ensure_ascii=False))


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="camelCase dotted key, e.g. observer.ci.parallelism.")],
    value: Annotated[str, typer.Argument(help="JSON (8, true, null, '[\"src/\"]') or else a plain string.")],
    as_json: JsonFlag = False,
) -> None:
    """Set one key in the base config file (not config.local.json). The whole result is validated first."""
    app_ctx = app_context(ctx)
    change = set_config_value(app_ctx.project_dir, key, value)
    segments = parse_key_path(change.key)
    secret = _is_secret(segments)

    def shown_value(item: Any) -> str:
        return _as_text(mask_value(item) if secret else item)

    file = _shown(change.path, app_ctx.project_dir)
    if as_json:
        app_ctx.output.json(
            {
                "key": change.key,
                "old": (mask_value(change.old) if secret else change.old) if change.had_value else None,
                "hadValue": change.had_value,
                "new": mask_value(change.new) if secret else change.new,
                "file": file,
            }
        )
    else:
        old = shown_value(change.old) if change.had_value else "(unset)"
        _print(app_ctx, f"{change.key}: {old} → {shown_value(change.new)}")
    app_ctx.output.info(f"written to {file}")
    if not change.comments_kept:
        app_ctx.output.warn(f"{file} was rewritten as plain JSON; its comments were not kept")
    if change.overridden_by is not None:
        local = _shown(change.overridden_by, app_ctx.project_dir)
        app_ctx.output.warn(f"{local} also sets {change.key} and overrides it while local overrides are on")
    try:
        load_config(app_ctx.project_dir)
    except ConfigError as error:
        # Saved on purpose (the reference may exist where the config runs), but it does not load here.
        app_ctx.output.warn(f"the config does not load in this environment yet: {error.message}")
