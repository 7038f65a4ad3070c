"""`perceo export` and `perceo import`: a project's whole graph as versioned JSON Lines, and back.

Plain commands (`app.command(name="export")`, `app.command(name="import")`). The file format is
`perceo.backup.format`'s. `import` reads the whole file and validates it before anything is sent or written: a bad
file exits 2 naming `FILE:LINE` and leaves the store untouched. The file can be a path, `-` (stdin), or
`s3://bucket/key` (a daily export of the cloud's `export` job; `.gz` is unpacked).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path
from typing import Annotated

import typer

from perceo.backup.format import ExportFileError, read_export
from perceo.errors import ConflictError, ValidationFailed
from perceo_cli.context import app_context
from perceo_cli.exit import ExitStatus
from perceo_cli.output import plural


def export(
    ctx: typer.Context,
    project: Annotated[
        str | None,
        typer.Option("--project", help="The project to export (default: this folder's project, or the key's)."),
    ] = None,
    output_file: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the export to this file instead of stdout.")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="With --output, print a summary as JSON (file, records, bytes) on stdout."),
    ] = False,
) -> None:
    """Export a project (project, personas, flows, steps, pages, analyses, runs, metrics, insights, keys' metadata)
    as JSON Lines."""
    app_ctx = app_context(ctx)
    lines = app_ctx.backend.export_project(project)
    text = "".join(f"{line}\n" for line in lines)
    if output_file is None:
        app_ctx.output.raw(text)
        return
    partial = output_file.with_name(output_file.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(output_file)  # never a half-written backup under the final name
    if as_json:
        app_ctx.output.json({"file": str(output_file), "records": len(lines) - 2, "bytes": len(text.encode())})
        return
    app_ctx.output.info(f"Exported {plural(len(lines) - 2, 'record')} to {output_file}")


def import_(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE", help="An export: a path, - for stdin, or s3://bucket/key.")],
    into: Annotated[
        str | None,
        typer.Option("--into", help="Restore as this project id instead of the file's (the key's own on the API)."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the project when it already exists (all of it, at once).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
) -> None:
    """Restore a project from an export, all or nothing: the whole file is checked first."""
    app_ctx = app_context(ctx)
    lines = read_source(source)
    try:
        read_export(lines)
    except ExportFileError as error:
        raise ValidationFailed(f"{source}:{error.line}: {error.reason}; nothing was imported") from None
    try:
        result = app_ctx.backend.import_project(lines, into=into, replace=replace)
    except ExportFileError as error:  # the API validates again: same file, same line
        raise ValidationFailed(f"{source}:{error.line}: {error.reason}; nothing was imported") from None
    except ConflictError as error:
        app_ctx.output.error(f"{error.message}; nothing was imported")
        raise typer.Exit(ExitStatus.USAGE) from None
    if as_json:
        app_ctx.output.json(result)
        return
    verb = "Replaced" if result.replaced else "Restored"
    app_ctx.output.text(
        f"{verb} project {result.project_id} from {source}: {plural(result.nodes, 'node')}, "
        f"{plural(result.edges, 'relationship')}.",
        markup=False,
    )
    if result.keys_to_reissue:
        names = ", ".join(f"{k.name} ({' '.join(k.scopes)})" for k in result.keys_to_reissue)
        app_ctx.output.info(f"API keys are never exported with their secret: issue new ones for {names}")


def read_source(source: str) -> list[str]:
    """The export's lines: from a file, stdin (`-`) or S3 (`s3://bucket/key`); gzip unpacked by name."""
    if source == "-":
        return sys.stdin.read().splitlines()
    if source.startswith("s3://"):
        raw = _read_s3(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ValidationFailed(f"no such file: {source}")
        raw = path.read_bytes()
    if source.endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise ValidationFailed(f"{source}: not a complete gzip file ({error}); nothing was imported") from None
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValidationFailed(f"{source}: not UTF-8 text (byte {error.start}); nothing was imported") from None


def _read_s3(url: str) -> bytes:
    import boto3  # only this path needs AWS
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not bucket or not key:
        raise ValidationFailed(f"{url}: an S3 export is s3://BUCKET/KEY")
    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"]
        return bytes(body.read())
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "error")
        raise ValidationFailed(f"{url}: S3 answered {code}") from None
    except BotoCoreError as error:
        raise ValidationFailed(f"{url}: cannot read it from S3 ({type(error).__name__})") from None
