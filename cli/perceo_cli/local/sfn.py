"""Step Functions in the local cloud: the template's real `statemachines/*.asl.json` run by moto's interpreter,
their Lambda tasks by the real handlers in this process.

How it fits together (see `reference/local-stack.md` §1):

- moto executes ASL once its config says `stepfunctions.execute_state_machine` (set here through `LocalAws.configure`,
  with `lambda.use_docker` off). Executions run on moto's background threads.
- A Task whose Resource is a Lambda ARN makes moto's interpreter call Lambda through boto3 at
  `http://localhost:$MOTO_PORT` (the local cloud sets `MOTO_PORT`). moto's Docker-free Lambda backend would echo the
  payload back; `install_task_runner` replaces its `invoke` so the template's handler runs here, in process, with
  Lambda's unhandled-error contract (`x-amz-function-error: Unhandled`, `{errorType, errorMessage}`), which is what
  `Retry`/`Catch` `ErrorEquals` match.
- The definitions are the checked-in files with the template's `DefinitionSubstitutions` applied (function ARNs,
  resolved by the template reader), so what runs here is what deploys.

Task handlers are called without the API runtime's one-at-a-time lock: the Map state runs flows in parallel as it
does on AWS, and a long task (a clone, an LLM call) does not hold up `GET /workflows/{id}`. The lock exists for
powertools' API resolvers, which step handlers do not use.

Integration with the local cloud (`perceo_cli.local.cloud.LocalCloud._start`):

    physical_ids = {**secrets_arns, **workflow_physical_ids(intrinsics)}   # what !Ref gives the SMs and the bucket
    ...                                                                    # LambdaRuntime(...) and its environment
    workflows = start_workflows(self.aws, self.runtime, intrinsics)

Template parameters a local run usually overrides (`perceo local up --parameter`): `AllowedGitHosts=127.0.0.1`
and `GitSslCaInfo=<CA file>` for a git server on loopback with a self-signed certificate.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perceo.errors import ConfigError
from perceo_cli.local.asl import substitute
from perceo_cli.local.aws import LocalAws
from perceo_cli.local.lambdas import LambdaContext, LambdaInvocationError, LambdaRuntime, runtime_exit_error
from perceo_cli.local.template import DEFAULT_ACCOUNT, DEFAULT_REGION, Intrinsics

logger = logging.getLogger(__name__)

STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"
BUCKET_TYPE = "AWS::S3::Bucket"
LOCAL_ROLE_NAME = "perceo-local-workflows"


@dataclass(frozen=True)
class LocalStateMachine:
    logical_id: str
    name: str
    arn: str
    definition: str
    #: Logical ids of the functions its tasks call.
    functions: tuple[str, ...]


@dataclass
class LocalWorkflows:
    state_machines: dict[str, LocalStateMachine] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)


def state_machine_arn(name: str, *, region: str = DEFAULT_REGION, account_id: str = DEFAULT_ACCOUNT) -> str:
    return f"arn:aws:states:{region}:{account_id}:stateMachine:{name}"


def _resources_of(intrinsics: Intrinsics, kind: str) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in intrinsics.resources.items()
        if isinstance(resource, Mapping) and resource.get("Type") == kind
    }


def _state_machine_name(intrinsics: Intrinsics, logical_id: str, resource: Mapping[str, Any]) -> str:
    props = resource.get("Properties") or {}
    return str(intrinsics.resolve(props.get("Name", logical_id), f"Resources.{logical_id}.Properties.Name"))


def _bucket_name(intrinsics: Intrinsics, logical_id: str, resource: Mapping[str, Any]) -> str:
    props = resource.get("Properties") or {}
    if "BucketName" in props:
        return str(intrinsics.resolve(props["BucketName"], f"Resources.{logical_id}.Properties.BucketName"))
    return f"perceo-local-{logical_id.lower()}"


def workflow_physical_ids(intrinsics: Intrinsics) -> dict[str, str]:
    """What `!Ref` returns for the template's state machines (their ARN) and buckets (their name), locally."""
    ids: dict[str, str] = {}
    for logical_id, resource in _resources_of(intrinsics, STATE_MACHINE_TYPE).items():
        ids[logical_id] = state_machine_arn(
            _state_machine_name(intrinsics, logical_id, resource),
            region=intrinsics.region,
            account_id=intrinsics.account_id,
        )
    for logical_id, resource in _resources_of(intrinsics, BUCKET_TYPE).items():
        ids[logical_id] = _bucket_name(intrinsics, logical_id, resource)
    return ids


def read_state_machines(intrinsics: Intrinsics) -> dict[str, LocalStateMachine]:
    """The template's state machines with their definitions substituted as CloudFormation would."""
    machines: dict[str, LocalStateMachine] = {}
    root = intrinsics.source.parent
    for logical_id, resource in _resources_of(intrinsics, STATE_MACHINE_TYPE).items():
        where = f"Resources.{logical_id}.Properties"
        props = resource.get("Properties") or {}
        uri = props.get("DefinitionUri")
        if not isinstance(uri, str):
            raise ConfigError(f"{intrinsics.source}: {where}: the local cloud needs a DefinitionUri file")
        path = root / uri
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"{intrinsics.source}: {where}.DefinitionUri: cannot read {path}: {error}") from None
        raw = props.get("DefinitionSubstitutions") or {}
        substitutions = {k: str(intrinsics.resolve(v, f"{where}.DefinitionSubstitutions.{k}")) for k, v in raw.items()}
        functions = tuple(
            str(v["Fn::GetAtt"][0])
            for v in raw.values()
            if isinstance(v, Mapping) and "Fn::GetAtt" in v and isinstance(v["Fn::GetAtt"], list)
        )
        name = _state_machine_name(intrinsics, logical_id, resource)
        machines[logical_id] = LocalStateMachine(
            logical_id=logical_id,
            name=name,
            arn=state_machine_arn(name, region=intrinsics.region, account_id=intrinsics.account_id),
            definition=substitute(text, substitutions, source=str(path)),
            functions=functions,
        )
    return machines


# ------------------------------------------------------------------------------------------------ task runner

_runner_lock = threading.Lock()
_runner: LambdaRuntime | None = None
_original_invoke: Any = None


def invoke_task(runtime: LambdaRuntime, logical_id: str, event: Any) -> Any:
    """Run one task handler the way Lambda would (JSON in and out), concurrently with other tasks."""
    spec = runtime.spec(logical_id)
    module = runtime.module(logical_id)
    handler = getattr(module, spec.function_attribute)
    payload = json.loads(json.dumps(event))
    context = LambdaContext(
        function_name=spec.function_name,
        invoked_function_arn=spec.arn,
        memory_limit_in_mb=spec.memory_mb,
        aws_request_id=str(uuid.uuid4()),
        deadline_monotonic=time.monotonic() + spec.timeout_s,
    )
    try:
        result = handler(payload, context)
    except Exception as error:  # noqa: BLE001 - Lambda's unhandled-error contract
        logger.warning("task %s failed: %s: %s\n%s", logical_id, type(error).__name__, error, traceback.format_exc())
        raise LambdaInvocationError(logical_id, type(error).__name__, str(error)) from error
    except SystemExit as exited:
        logger.warning("task %s exited (%s)", logical_id, exited.code)
        raise runtime_exit_error(logical_id, exited, context.aws_request_id) from None
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as error:
        message = f"Unable to marshal response: {error}"
        raise LambdaInvocationError(logical_id, "Runtime.MarshalError", message) from error


def _patched_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> bytes | None:
    runtime = _runner
    fn = self.get_function(function_name, qualifier)
    logical_id = str(fn.function_name)
    if runtime is None or logical_id not in runtime.functions:
        result: bytes | None = _original_invoke(self, function_name, qualifier, body, headers, response_headers)
        return result
    raw = body.decode("utf-8") if isinstance(body, bytes) else (body or "")
    event = json.loads(raw) if raw.strip() else {}
    try:
        output = invoke_task(runtime, logical_id, event)
    except LambdaInvocationError as error:
        response_headers["x-amz-function-error"] = "Unhandled"
        return json.dumps(error.payload()).encode("utf-8")
    return json.dumps(output).encode("utf-8")


def install_task_runner(runtime: LambdaRuntime) -> None:
    """Make moto's Docker-free Lambda backend run `runtime`'s handlers (for functions it knows) in this process."""
    global _runner, _original_invoke
    from moto.awslambda_simple.models import LambdaSimpleBackend

    with _runner_lock:
        if _original_invoke is None:
            _original_invoke = LambdaSimpleBackend.invoke
            LambdaSimpleBackend.invoke = _patched_invoke  # type: ignore[method-assign]
        _runner = runtime


def uninstall_task_runner() -> None:
    global _runner, _original_invoke
    from moto.awslambda_simple.models import LambdaSimpleBackend

    with _runner_lock:
        if _original_invoke is not None:
            LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]
            _original_invoke = None
        _runner = None


# ------------------------------------------------------------------------------------------------ registration

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local cloud runs the handler from its CodeUri in process\n")
    return buffer.getvalue()


def _ensure_role(aws: LocalAws) -> str:
    iam = aws.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    try:
        return str(iam.create_role(RoleName=LOCAL_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    except iam.exceptions.EntityAlreadyExistsException:
        return str(iam.get_role(RoleName=LOCAL_ROLE_NAME)["Role"]["Arn"])


def start_workflows(aws: LocalAws, runtime: LambdaRuntime, intrinsics: Intrinsics) -> LocalWorkflows:
    """Switch on moto's ASL execution, run tasks in process, and create the template's buckets, task functions and
    state machines in moto. Safe to call again on the same moto server (existing ones are updated)."""
    aws.configure(MOTO_CONFIG)
    install_task_runner(runtime)
    workflows = LocalWorkflows()
    s3 = aws.client("s3")
    for logical_id, resource in _resources_of(intrinsics, BUCKET_TYPE).items():
        name = _bucket_name(intrinsics, logical_id, resource)
        try:
            s3.create_bucket(Bucket=name)
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass
        workflows.buckets[logical_id] = name
    machines = read_state_machines(intrinsics)
    role = _ensure_role(aws)
    lam = aws.client("lambda")
    code = _placeholder_zip()
    for logical_id in sorted({f for machine in machines.values() for f in machine.functions}):
        spec = runtime.spec(logical_id)
        try:
            lam.create_function(
                FunctionName=logical_id,
                Runtime="python3.12",
                Role=role,
                Handler=spec.handler,
                Code={"ZipFile": code},
                Timeout=int(spec.timeout_s),
                MemorySize=spec.memory_mb,
            )
        except lam.exceptions.ResourceConflictException:
            pass
    sfn = aws.client("stepfunctions")
    for machine in machines.values():
        try:
            sfn.create_state_machine(name=machine.name, definition=machine.definition, roleArn=role, type="STANDARD")
        except sfn.exceptions.StateMachineAlreadyExists:
            sfn.update_state_machine(stateMachineArn=machine.arn, definition=machine.definition)
        workflows.state_machines[machine.logical_id] = machine
        logger.info("local workflows: %s ready (%d task functions)", machine.name, len(machine.functions))
    return workflows
