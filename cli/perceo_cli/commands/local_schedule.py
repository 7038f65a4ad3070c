"""`perceo local run-schedule NAME`: fire one of the template's schedules in the running local cloud now, as
EventBridge would (e.g. `AnalyticsSyncSchedule`), and wait for the execution to end.

Registered into the `local` group by `register(local.app)`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from perceo.errors import BackendUnavailableError, PerceoError
from perceo_cli.context import app_context


class ScheduleFailed(PerceoError):
    """The execution the schedule started ended FAILED, TIMED_OUT or ABORTED."""

    code = "schedule_failed"


def run_schedule(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="The schedule's event name in template.yaml, e.g. AnalyticsSyncSchedule.")
    ],
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the execution to end.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", min=1, max=3600, help="Seconds to wait at most.")] = 600,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Fire a schedule of the template in the running local cloud (`perceo local up`) now."""
    from perceo_cli.local.aws import LocalAws
    from perceo_cli.local.cloud import running_state
    from perceo_cli.local.schedules import fire, pick, read_schedules, wait_for
    from perceo_cli.local.template import Intrinsics, load_template

    app_ctx = app_context(ctx)
    state = running_state(app_ctx.project_dir)
    if state is None:
        raise BackendUnavailableError("the local cloud is not running here: start it with `perceo local up`")
    document = load_template(state.template)
    declared = document.get("Parameters") or {}
    parameters = {k: v for k, v in {"Stage": state.stage}.items() if k in declared}
    # not needed to name the targets, but the template requires them: values of the right shape
    placeholders = {
        "Neo4jUri": "bolt://127.0.0.1:7687",
        "Neo4jSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:unused",
    }
    for required, value in placeholders.items():
        if required in declared:
            parameters.setdefault(required, value)
    schedule = pick(read_schedules(Intrinsics(template=document, source=state.template, parameters=parameters)), name)
    if schedule.kind == "function":
        _run_function_schedule(app_ctx, state, schedule.name, timeout=timeout, as_json=as_json)
        return
    aws = LocalAws()
    sfn = _client(aws, state.moto_url)
    execution = fire(schedule, sfn)
    result: dict[str, Any] = {"schedule": schedule.name, "target": schedule.target, "executionArn": execution}
    if wait:
        described = wait_for(sfn, execution, timeout_s=timeout)
        result["status"] = described["status"]
        output = described.get("output")
        result["output"] = json.loads(output) if output else None
        if described["status"] != "SUCCEEDED":
            result["error"] = described.get("error")
    if as_json:
        app_ctx.output.json(result)
    else:
        app_ctx.output.text(f"{schedule.name} -> {schedule.target}: {result.get('status', 'started')}", markup=False)
        app_ctx.output.info(f"execution {execution}")
    if wait and result["status"] != "SUCCEEDED":
        raise ScheduleFailed(f"{schedule.target} ended {result['status']}: {result.get('error') or 'no error given'}")


def _run_function_schedule(app_ctx: Any, state: Any, name: str, *, timeout: float, as_json: bool) -> None:
    """A function's schedule (a job such as `AggregateSchedule`) runs inside the local cloud, which holds the
    functions: asked over its control path with the local admin key, it invokes the function and answers."""
    from urllib.parse import quote

    import httpx

    from perceo_cli.local.cloud import CONTROL_KEY_HEADER, read_secrets

    secrets = read_secrets(app_ctx.project_dir)
    if secrets is None:
        raise BackendUnavailableError("the local cloud's secrets file is missing: restart it with `perceo local up`")
    url = f"http://{state.host}:{state.port}/_local/schedules/{quote(name, safe='')}"
    try:
        response = httpx.post(url, headers={CONTROL_KEY_HEADER: secrets.admin_key}, timeout=timeout)
    except httpx.HTTPError as error:
        raise BackendUnavailableError(f"the local cloud did not answer: {type(error).__name__}") from None
    if response.status_code != 200:
        raise BackendUnavailableError(f"the local cloud refused to run {name}: HTTP {response.status_code}")
    result = response.json()
    result["schedule"] = name
    if as_json:
        app_ctx.output.json(result)
    else:
        app_ctx.output.text(f"{name} -> {result['target']}: {result['status']}", markup=False)
    if result["status"] != "SUCCEEDED":
        failure = result.get("error") or {}
        raise ScheduleFailed(f"{result['target']} ended FAILED: {failure.get('errorType', 'an error')}")


def _client(aws: Any, endpoint_url: str) -> Any:
    import boto3

    from perceo_cli.local.aws import DUMMY_ACCESS_KEY, DUMMY_SECRET_KEY

    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint_url,
        region_name=aws.region,
        aws_access_key_id=DUMMY_ACCESS_KEY,
        aws_secret_access_key=DUMMY_SECRET_KEY,
    )


def register(group: typer.Typer) -> None:
    group.command("run-schedule")(run_schedule)
