"""The template's schedules in the local cloud: what EventBridge does in AWS, done the same way here.

A `Schedule` event (`Type: Schedule` with `Schedule: rate(N minutes)` and an `Input`) on a state machine or a
function of `template.yaml` becomes a `Schedule`: `LocalScheduler` (started by `perceo local up`) fires each enabled
one every period, the first time one period after start, and `perceo local run-schedule NAME` fires one now. Firing a
state machine's schedule starts an execution with the event's `Input` in moto's Step Functions, whose tasks the local
cloud runs with the real handlers (`perceo_cli.local.sfn`); a function's schedule invokes the function. Only `rate()`
expressions are read; a `cron()` schedule is listed but never fired here (say so rather than guess its times).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from perceo.errors import BackendUnavailableError, ConfigError, NotFoundError
from perceo_cli.local.sfn import STATE_MACHINE_TYPE, workflow_physical_ids
from perceo_cli.local.template import Intrinsics, function_arn

logger = logging.getLogger(__name__)

FUNCTION_TYPE = "AWS::Serverless::Function"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86_400}


@dataclass(frozen=True)
class Schedule:
    #: The event's name in the template (e.g. `AnalyticsSyncSchedule`): what `run-schedule` takes.
    name: str
    target: str
    kind: Literal["state_machine", "function"]
    arn: str
    expression: str
    #: Seconds between two runs; None for a cron() expression (not fired locally).
    every_s: float | None
    input: str
    enabled: bool


def rate_seconds(expression: str) -> float | None:
    """`rate(5 minutes)` -> 300.0; None for `cron(...)`; ConfigError for anything else (or a zero rate)."""
    text = expression.strip()
    if text.startswith("cron("):
        return None
    match = _RATE.fullmatch(text)
    if match is None or int(match.group(1)) < 1:
        raise ConfigError(f"schedule expression {expression!r} is neither rate(N unit) nor cron(...)")
    return float(int(match.group(1)) * _UNIT_S[match.group(2).rstrip("s")])


def read_schedules(intrinsics: Intrinsics) -> dict[str, Schedule]:
    """Every `Schedule`/`ScheduleV2` event of the template's state machines and functions, by event name."""
    arns = workflow_physical_ids(intrinsics)
    found: dict[str, Schedule] = {}
    for logical_id, resource in intrinsics.resources.items():
        if not isinstance(resource, Mapping) or resource.get("Type") not in (STATE_MACHINE_TYPE, FUNCTION_TYPE):
            continue
        events = (resource.get("Properties") or {}).get("Events") or {}
        for event_name, event in events.items():
            if not isinstance(event, Mapping) or event.get("Type") not in ("Schedule", "ScheduleV2"):
                continue
            where = f"Resources.{logical_id}.Properties.Events.{event_name}.Properties"
            props = event.get("Properties") or {}
            key = "Schedule" if event.get("Type") == "Schedule" else "ScheduleExpression"
            expression = str(intrinsics.resolve(props.get(key, ""), f"{where}.{key}"))
            raw_input = intrinsics.resolve(props.get("Input", "{}"), f"{where}.Input")
            state = props.get("Enabled", props.get("State", True))
            enabled = state not in (False, "false", "DISABLED")
            kind: Literal["state_machine", "function"] = (
                "state_machine" if resource.get("Type") == STATE_MACHINE_TYPE else "function"
            )
            arn = (
                arns[logical_id]
                if kind == "state_machine"
                else function_arn(logical_id, region=intrinsics.region, account_id=intrinsics.account_id)
            )
            found[str(event_name)] = Schedule(
                name=str(event_name),
                target=logical_id,
                kind=kind,
                arn=arn,
                expression=expression,
                every_s=rate_seconds(expression),
                input=raw_input if isinstance(raw_input, str) else json.dumps(raw_input),
                enabled=enabled,
            )
    return found


def pick(schedules: Mapping[str, Schedule], name: str) -> Schedule:
    """The schedule called `name` (its event name, or its target's logical id when that names one schedule)."""
    if name in schedules:
        return schedules[name]
    by_target = [s for s in schedules.values() if s.target == name]
    if len(by_target) == 1:
        return by_target[0]
    known = ", ".join(sorted(schedules)) or "none"
    raise NotFoundError(f"no schedule {name!r} in the template (schedules: {known})", details={"schedule": name})


def fire(schedule: Schedule, sfn: Any, *, invoke: Callable[[str, Any], Any] | None = None) -> str:
    """Start the schedule's target as EventBridge would: a state machine execution with the event's input (its ARN
    is returned), or a function invocation through `invoke(logical_id, event)` (returns "")."""
    try:
        payload = json.loads(schedule.input or "{}")
    except ValueError:
        raise ConfigError(f"schedule {schedule.name}: Input is not JSON") from None
    if schedule.kind == "function":
        if invoke is None:
            raise ConfigError(f"schedule {schedule.name} targets a function; this runner only starts state machines")
        invoke(schedule.target, payload)
        return ""
    name = f"{schedule.name}-{time.strftime('%Y%m%dT%H%M%S')}-{int(time.time() * 1000) % 1000:03d}"
    try:
        answer = sfn.start_execution(stateMachineArn=schedule.arn, name=name, input=json.dumps(payload))
    except Exception as error:  # boto3's errors: the local cloud's moto is gone or does not know the machine
        raise BackendUnavailableError(f"could not start {schedule.target}: {type(error).__name__}: {error}") from None
    return str(answer["executionArn"])


def wait_for(sfn: Any, execution_arn: str, *, timeout_s: float, poll_s: float = 0.2) -> dict[str, Any]:
    """The execution once it ends (status, output, error); BackendUnavailableError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] in TERMINAL:
            return described
        if time.monotonic() > deadline:
            raise BackendUnavailableError(
                f"execution {execution_arn} still {described['status']} after {timeout_s:g} s (it keeps running)"
            )
        time.sleep(poll_s)


class LocalScheduler:
    """Fires each enabled rate() schedule every period on a daemon thread, the first time one period after start."""

    def __init__(
        self,
        schedules: Mapping[str, Schedule],
        sfn: Any,
        *,
        invoke: Callable[[str, Any], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.schedules = {n: s for n, s in schedules.items() if s.enabled and s.every_s is not None}
        self.sfn = sfn
        self.invoke = invoke
        self.clock = clock
        self.fired: list[tuple[str, str]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LocalScheduler:
        if self.schedules and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)
            self._thread.start()
            for schedule in self.schedules.values():
                logger.info("local scheduler: %s -> %s %s", schedule.name, schedule.target, schedule.expression)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None

    def _run(self) -> None:
        start = self.clock()
        due = {name: start + (s.every_s or 0.0) for name, s in self.schedules.items()}
        while not self._stop.is_set():
            now = self.clock()
            for name, when in due.items():
                if now < when:
                    continue
                schedule = self.schedules[name]
                due[name] = when + (schedule.every_s or 0.0)
                try:
                    self.fired.append((name, fire(schedule, self.sfn, invoke=self.invoke)))
                except Exception:  # noqa: BLE001 - a schedule that cannot fire must not stop the others
                    logger.exception("local scheduler: %s could not fire", name)
            next_due = min(due.values()) - self.clock()
            self._stop.wait(timeout=min(max(next_due, 0.05), 1.0))
