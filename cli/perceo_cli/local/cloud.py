"""The local cloud: the API of `template.yaml` on one machine, with the real handlers, and no Docker.

`perceo local up` starts, in one background process (`python -m perceo_cli.local.cloud serve`):

- the embedded FalkorDB/Redis (its own process, data under `.perceo/data/cloud/`) as the flow graph, the key
  store, the rate limiter and the bus;
- a moto server (Secrets Manager, SSM, S3, Step Functions) seeded with the local secrets: the API key pepper,
  the admin key and the Neo4j credentials secret the template's parameters name; the template's state machines
  run in it, their Lambda tasks by the real handlers in this process (`perceo_cli.local.sfn`);
- the local API Gateway (`perceo_cli.local.apigw`) serving the template's routes through the real handlers, which
  read their settings from the environment the template gives them, pointed at the store and moto. Requests run
  on worker processes (`LambdaWorkerPool`, `--workers`), each like a Lambda execution environment.

Nothing secret is written to the repository: the pepper and the admin key live in `.perceo/secrets/local-cloud.json`
(mode 0600, created once and reused so keys stay valid across restarts), and the process's state and log in
`.perceo/data/cloud.json` and `.perceo/data/cloud/cloud.log`. `perceo local down` stops the process by its PID
(after checking its command line) and the store it started.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import ValidationError

from perceo.errors import BackendUnavailableError, ConfigError
from perceo.heap import freeze_startup_heap
from perceo.models.common import EpochMs, Model, now_ms
from perceo_cli.local.apigw import ApiServer, Gateway, read_rest_api
from perceo_cli.local.apigw.messages import GatewayRequest, GatewayResponse
from perceo_cli.local.aws import LocalAws
from perceo_cli.local.lambdas import Invoker, LambdaInvocationError, LambdaRuntime, LambdaWorkerPool
from perceo_cli.local.schedules import LocalScheduler, Schedule, read_schedules
from perceo_cli.local.server import (
    LOOPBACK,
    ServerProcess,
    command_line,
    pid_alive,
    ping,
    stop_server,
    wait_for_exit,
)
from perceo_cli.local.sfn import LocalWorkflows, start_workflows, uninstall_task_runner, workflow_physical_ids
from perceo_cli.local.store import EmbeddedStore, project_data_dir
from perceo_cli.local.supervisor import StoreSupervisor
from perceo_cli.local.template import Intrinsics, load_template, read_functions

logger = logging.getLogger(__name__)

STATE_FILE = "cloud.json"
CLOUD_DIR = "cloud"
LOG_FILE = "cloud.log"
SECRETS_FILE = "local-cloud.json"
#: The graph (FalkorDB key) the local cloud's functions use.
GRAPH_NAME = "perceo"
#: Names of the secrets the template does not create itself but takes as parameters.
NEO4J_SECRET_NAME = "perceo/local/neo4j"
START_TIMEOUT_S = 90.0
#: Worker processes serving API requests in parallel (each one like a Lambda execution environment).
DEFAULT_WORKERS = 2
STOP_TIMEOUT_S = 15.0
_SERVE_MODULE = "perceo_cli.local.cloud"


#: The header carrying the admin key on the local cloud's own requests (`/_local/…`).
CONTROL_KEY_HEADER = "X-Perceo-Admin-Key"


def secrets_dir(project_dir: Path) -> Path:
    return project_dir / ".perceo" / "secrets"


def cloud_data_dir(project_dir: Path) -> Path:
    return project_data_dir(project_dir) / CLOUD_DIR


def state_path(project_dir: Path) -> Path:
    return project_data_dir(project_dir) / STATE_FILE


def default_template() -> Path | None:
    """`template.yaml` of the Perceo checkout this package runs from (an editable install), if there is one."""
    candidate = Path(__file__).resolve().parents[3] / "template.yaml"
    return candidate if candidate.is_file() else None


# ------------------------------------------------------------------------------------------------ local secrets


class LocalSecrets(Model):
    """The local cloud's secrets. Generated once per project, kept in `.perceo/secrets/` with mode 0600."""

    api_key_pepper: str
    admin_key: str
    created_at: EpochMs


def write_private_file(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read, atomically: mode 0600 from the moment it exists."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        scratch.replace(path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise


def read_secrets(project_dir: Path) -> LocalSecrets | None:
    """The project's local secrets; None when there are none yet (ConfigError when the file is damaged)."""
    path = secrets_dir(project_dir) / SECRETS_FILE
    try:
        return LocalSecrets.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as error:
        raise ConfigError(
            f"{path} is unreadable or damaged ({type(error).__name__}); delete it to start afresh"
        ) from None


def load_or_create_secrets(project_dir: Path) -> tuple[LocalSecrets, bool]:
    """The project's local secrets, created now when missing: (secrets, created)."""
    existing = read_secrets(project_dir)
    if existing is not None:
        return existing, False
    folder = secrets_dir(project_dir)
    path = folder / SECRETS_FILE
    made = LocalSecrets(
        api_key_pepper=secrets.token_urlsafe(48), admin_key="adm_" + secrets.token_urlsafe(32), created_at=now_ms()
    )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Local secrets of `perceo local up`: never commit them.\n*\n", encoding="utf-8")
    write_private_file(path, made.model_dump_json(indent=2) + "\n")
    return made, True


# ------------------------------------------------------------------------------------------------ in-process cloud


class CloudState(Model):
    """What `.perceo/data/cloud.json` records about a running local cloud (`perceo local up --json` prints it)."""

    pid: int
    api_url: str
    host: str
    port: int
    stage: str
    moto_url: str
    store_url: str
    store_pid: int | None
    template: Path
    project_dir: Path
    started_at: EpochMs
    log_file: Path
    secrets_file: Path
    functions_init_ms: dict[str, float]


class LocalCloud:
    """Store, moto and the API gateway with the template's functions, all started by `start()` in this process.

    `environ` receives the functions' environment (the template's variables pointed at the local services)
    before any handler is imported; pass `os.environ` in a process that serves (the `serve` entry point does).
    `stop()` puts back the variables it changed.
    """

    def __init__(
        self,
        project_dir: Path,
        *,
        template: Path,
        host: str = LOOPBACK,
        port: int = 0,
        store_url: str | None = None,
        graph_name: str = GRAPH_NAME,
        cors_origin: str | None = None,
        parameters: Mapping[str, str] | None = None,
        environ: MutableMapping[str, str] | None = None,
        throttle: bool = True,
        workers: int = 0,
    ) -> None:
        self.project_dir = project_dir.resolve()
        self.template = template.resolve()
        self.host = host
        self.port = port
        self.graph_name = graph_name
        self.cors_origin = cors_origin
        self.parameter_overrides = dict(parameters or {})
        self.throttle = throttle
        self.workers = workers
        self._store_url = store_url
        self._environ = environ
        self._saved_environ: dict[str, str | None] = {}
        self.store_pid: int | None = None
        self.store_started_here = False
        self.aws = LocalAws(host=host)
        self.secrets: LocalSecrets | None = None
        self.secrets_created = False
        self.runtime: LambdaRuntime | None = None
        self.gateway: Gateway | None = None
        self.server: ApiServer | None = None
        self.workflows: LocalWorkflows | None = None
        self.scheduler: LocalScheduler | None = None
        self.schedules: dict[str, Schedule] = {}
        self.pool: LambdaWorkerPool | None = None
        self.functions_init_ms: dict[str, float] = {}
        self.supervisor: StoreSupervisor | None = None
        #: Called after the supervisor restarted the store (`serve` rewrites the state file with the new pid).
        self.on_store_restart: Callable[[], None] | None = None

    @property
    def api_url(self) -> str:
        if self.server is None:
            raise BackendUnavailableError("the local cloud is not running")
        return self.server.url

    @property
    def store_url(self) -> str:
        if self._store_url is None:
            raise BackendUnavailableError("the local cloud's store is not running")
        return self._store_url

    @property
    def admin_key(self) -> str:
        if self.secrets is None:
            raise BackendUnavailableError("the local cloud is not running")
        return self.secrets.admin_key

    def start(self, *, warm: bool = True) -> LocalCloud:
        try:
            self._start(warm=warm)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, *, warm: bool) -> None:
        document = load_template(self.template)
        self.secrets, self.secrets_created = load_or_create_secrets(self.project_dir)
        if self._store_url is None:
            server = EmbeddedStore(cloud_data_dir(self.project_dir)).ensure_running()
            self._store_url, self.store_pid, self.store_started_here = server.url, server.pid, True
        store_port = self._store_url.rsplit(":", 1)[-1].split("/")[0]

        self.aws.start()
        parameters = {
            "Neo4jUri": f"bolt://{LOOPBACK}:{store_port}",
            "Neo4jSecretArn": self.aws.put_secret(
                NEO4J_SECRET_NAME, json.dumps({"username": "falkordb", "password": ""}), description="local graph"
            ),
            "RedisUrl": self._store_url,
        }
        if self.cors_origin:
            parameters["AllowedCorsOrigin"] = self.cors_origin
        declared = document.get("Parameters") or {}
        parameters = {k: v for k, v in parameters.items() if k in declared}
        parameters.update(self.parameter_overrides)
        intrinsics = Intrinsics(template=document, source=self.template, parameters=parameters)
        # What !Ref gives: the secrets seeded in moto, the state machines' ARNs and the buckets' names.
        physical_ids = {**self._seed_template_secrets(intrinsics), **workflow_physical_ids(intrinsics)}
        intrinsics = Intrinsics(
            template=document, source=self.template, parameters=parameters, physical_ids=physical_ids
        )
        functions = read_functions(intrinsics)
        extra = {
            **self.aws.client_environment(),
            "GRAPH_URI": self._store_url,
            "GRAPH_NAME": self.graph_name,
            # X-Ray has no daemon here; powertools would log a warning per request.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_DEV": "false",
        }
        self.runtime = LambdaRuntime(functions, extra_environment=extra)
        self._apply_environment(self.runtime.environment)
        # Step Functions under moto, their Lambda tasks run by this runtime (perceo_cli.local.sfn).
        self.workflows = start_workflows(self.aws, self.runtime, intrinsics)
        # The template's schedules (EventBridge in AWS) fire here at their rate (perceo_cli.local.schedules).
        self.schedules = read_schedules(intrinsics)
        self.scheduler = LocalScheduler(
            self.schedules, self.aws.client("stepfunctions"), invoke=self.runtime.invoke
        ).start()
        api = read_rest_api(intrinsics, functions)
        invoker: Invoker = self.runtime
        if self.workers > 0:
            api_functions = {r.function for r in api.routes} | {a.function for a in api.authorizers.values()}
            self.pool = LambdaWorkerPool(
                {name: functions[name] for name in sorted(api_functions)},
                environment=self.runtime.environment,
                workers=self.workers,
                log_level=logging.getLevelName(logging.getLogger().getEffectiveLevel()),
            )
            if warm:
                started = time.perf_counter()
                self.pool.wait_ready()
                logger.info("local cloud: %d API workers ready in %.1f s", self.workers, time.perf_counter() - started)
            invoker = self.pool
        elif warm:
            self.functions_init_ms = self.runtime.load_all()
        self.gateway = Gateway(api, invoker, throttle=self.throttle)
        self.server = ApiServer(self.gateway, host=self.host, port=self.port, control=self._control).start()
        logger.info("local cloud: API on %s", self.server.url)
        if self.store_started_here:
            host, _, port_text = self._store_url.removeprefix("redis://").partition(":")
            self.supervisor = StoreSupervisor(
                EmbeddedStore(cloud_data_dir(self.project_dir)),
                host,
                int(port_text.split("/")[0]),
                on_restart=self._store_restarted,
            ).start()

    def _control(self, request: GatewayRequest) -> GatewayResponse:
        """`POST /_local/schedules/<name>` with the admin key (`X-Perceo-Admin-Key`): run a function's schedule now,
        in this process, as the scheduler would (what `perceo local run-schedule` asks for a function target)."""
        import hmac

        def answer(status: int, body: dict[str, Any]) -> GatewayResponse:
            return GatewayResponse(status, [("Content-Type", "application/json")], json.dumps(body).encode())

        given = next((v for k, v in request.headers if k.lower() == CONTROL_KEY_HEADER.lower()), "")
        if not self.secrets or not hmac.compare_digest(given.encode(), self.secrets.admin_key.encode()):
            return answer(403, {"error": {"code": "forbidden", "message": "the local cloud's admin key is needed"}})
        path = urlsplit(request.target).path.removeprefix("/_local/schedules/")
        name = unquote(path)
        schedule = self.schedules.get(name)
        if request.method != "POST" or schedule is None or schedule.kind != "function" or self.runtime is None:
            return answer(404, {"error": {"code": "not_found", "message": f"no function schedule {name!r} here"}})
        try:
            payload = json.loads(schedule.input or "{}")
            output = self.runtime.invoke(schedule.target, payload)
        except LambdaInvocationError as error:
            return answer(200, {"status": "FAILED", "target": schedule.target, "error": error.payload()})
        return answer(200, {"status": "SUCCEEDED", "target": schedule.target, "output": output})

    def _store_restarted(self, server: ServerProcess) -> None:
        self.store_pid = server.pid
        if self.on_store_restart is not None:
            self.on_store_restart()

    def _seed_template_secrets(self, intrinsics: Intrinsics) -> dict[str, str]:
        """Create the template's own secrets in moto with the local values; their ARNs by logical id."""
        assert self.secrets is not None
        values = {"ApiKeyPepperSecret": self.secrets.api_key_pepper, "AdminKeySecret": self.secrets.admin_key}
        arns: dict[str, str] = {}
        for logical_id, value in values.items():
            resource = intrinsics.resources.get(logical_id)
            if not isinstance(resource, dict):
                continue
            name = intrinsics.resolve((resource.get("Properties") or {}).get("Name", logical_id), logical_id)
            arns[logical_id] = self.aws.put_secret(str(name), value)
        return arns

    def _apply_environment(self, environment: dict[str, str]) -> None:
        if self._environ is None:
            return
        for name, value in environment.items():
            self._saved_environ.setdefault(name, self._environ.get(name))
            self._environ[name] = value

    def stop(self) -> None:
        """Stop what `start` started (the store only if it started it), and restore the environment."""
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.supervisor is not None:  # first: a store stopped below must not be "restarted"
            self.supervisor.stop()
            self.supervisor = None
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.pool is not None:
            self.pool.close()
            self.pool = None
        if self.workflows is not None:
            uninstall_task_runner()
            self.workflows = None
        self.aws.stop()
        if self.store_started_here:
            with contextlib.suppress(BackendUnavailableError):
                EmbeddedStore(cloud_data_dir(self.project_dir)).stop()
            self.store_started_here = False
        if self._environ is not None:
            for name, previous in self._saved_environ.items():
                if previous is None:
                    self._environ.pop(name, None)
                else:
                    self._environ[name] = previous
            self._saved_environ.clear()

    def state(self) -> CloudState:
        assert self.server is not None and self.gateway is not None
        return CloudState(
            pid=os.getpid(),
            api_url=self.server.url,
            host=self.server.host,
            port=self.server.port,
            stage=self.gateway.api.stage,
            moto_url=self.aws.endpoint_url,
            store_url=self.store_url,
            store_pid=self.store_pid,
            template=self.template,
            project_dir=self.project_dir,
            started_at=now_ms(),
            log_file=cloud_data_dir(self.project_dir) / LOG_FILE,
            secrets_file=secrets_dir(self.project_dir) / SECRETS_FILE,
            functions_init_ms=self.functions_init_ms,
        )


# ------------------------------------------------------------------------------------------------ up / down


class UpResult(Model):
    state: CloudState
    already_running: bool
    #: The running cloud's store had died and was started again (same data dir and port) by this `up`.
    store_restarted: bool = False
    #: The admin key, only when it was created by this `up` (it is shown once; the file keeps it).
    admin_key: str | None = None


class DownResult(Model):
    stopped: bool
    pid: int | None = None
    store_stopped: bool = False


def read_state(project_dir: Path) -> CloudState | None:
    try:
        return CloudState.model_validate_json(state_path(project_dir).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError) as error:
        logger.warning("local cloud: ignoring unreadable %s (%s)", state_path(project_dir), error)
        return None


def is_cloud_process(pid: int, project_dir: Path) -> bool:
    """True when `pid` is a `perceo_cli.local.cloud serve` process for this project (judged by its command line)."""
    if not pid_alive(pid):
        return False
    args = command_line(pid) or []
    return _SERVE_MODULE in args and str(project_dir.resolve()) in args


def running_state(project_dir: Path) -> CloudState | None:
    """The recorded local cloud when its process is still alive and ours; None otherwise."""
    state = read_state(project_dir)
    if state is None or not is_cloud_process(state.pid, project_dir):
        return None
    return state


def up(
    project_dir: Path,
    *,
    template: Path,
    port: int = 0,
    cors_origin: str | None = None,
    parameters: Mapping[str, str] | None = None,
    workers: int = DEFAULT_WORKERS,
    timeout_s: float = START_TIMEOUT_S,
) -> UpResult:
    """Start the local cloud in a background process (or find the running one) and wait until it serves."""
    project_dir = project_dir.resolve()
    existing = running_state(project_dir)
    store_restarted = False
    if existing is not None:
        healthy, store_restarted = _revive_store(project_dir, existing)
        if healthy is not None:
            return UpResult(state=healthy, already_running=True, store_restarted=store_restarted)
        # The store could not come back where the running cloud's functions look for it: start everything anew.
        logger.warning("local cloud: its store cannot be brought back on %s; restarting the cloud", existing.store_url)
        down(project_dir)
    if not template.is_file():
        raise ConfigError(f"SAM template {template} does not exist")
    _, created = load_or_create_secrets(project_dir)
    log_dir = cloud_data_dir(project_dir)
    log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_file = state_path(project_dir)
    state_file.unlink(missing_ok=True)
    args = [
        sys.executable, "-m", _SERVE_MODULE, "serve",
        "--project-dir", str(project_dir),
        "--template", str(template.resolve()),
        "--port", str(port),
        "--workers", str(workers),
    ]  # fmt: skip
    if cors_origin:
        args += ["--cors-origin", cors_origin]
    for name, value in (parameters or {}).items():
        args += ["--parameter", f"{name}={value}"]
    log_file = log_dir / LOG_FILE
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - argument list, no shell
            args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = read_state(project_dir)
        if state is not None and state.pid == process.pid:
            admin_key = load_or_create_secrets(project_dir)[0].admin_key if created else None
            return UpResult(state=state, already_running=False, admin_key=admin_key, store_restarted=store_restarted)
        if process.poll() is not None:
            raise BackendUnavailableError(
                f"the local cloud exited while starting (exit code {process.returncode}):\n{_tail(log_file)}"
            )
        time.sleep(0.05)
    stop_server(process.pid, timeout_s=STOP_TIMEOUT_S)
    raise BackendUnavailableError(f"the local cloud did not start within {timeout_s:.0f}s; see {log_file}")


def _revive_store(project_dir: Path, state: CloudState) -> tuple[CloudState | None, bool]:
    """(the state to report, whether the store was restarted) for a running cloud; (None, True/False) when its store
    cannot answer at the URL the cloud's functions use. A running cloud is never reported with a dead store."""
    host, _, port_text = state.store_url.removeprefix("redis://").partition(":")
    port = int(port_text.split("/")[0])
    if ping(host, port):
        return state, False
    logger.warning("local cloud: its store on %s does not answer; starting it again", state.store_url)
    try:
        server = EmbeddedStore(cloud_data_dir(project_dir)).ensure_running()
    except BackendUnavailableError as error:
        logger.error("local cloud: the store could not be started again: %s", error.message)
        return None, False
    if server.port != port or not ping(host, port):
        return None, True
    return state.model_copy(update={"store_pid": server.pid}), True


def down(project_dir: Path, *, timeout_s: float = STOP_TIMEOUT_S) -> DownResult:
    """Stop the local cloud of this project (by its recorded PID) and the store it runs on."""
    project_dir = project_dir.resolve()
    state = read_state(project_dir)
    stopped = False
    pid = None
    store_pid = state.store_pid if state is not None else None
    store_was_running = store_pid is not None and pid_alive(store_pid)
    if state is not None and is_cloud_process(state.pid, project_dir):
        pid = state.pid
        os.kill(pid, signal.SIGTERM)  # the process stops its gateway, moto and the store it started
        if not wait_for_exit(pid, timeout_s):
            os.kill(pid, signal.SIGKILL)
            wait_for_exit(pid, 5.0)
        stopped = True
    data_dir = cloud_data_dir(project_dir)
    # Whatever the process left running (it was killed, or crashed earlier), stopped here by its recorded PID.
    leftover = EmbeddedStore(data_dir).stop() if data_dir.is_dir() else False
    store_stopped = leftover or (store_was_running and store_pid is not None and not pid_alive(store_pid))
    state_path(project_dir).unlink(missing_ok=True)
    return DownResult(stopped=stopped, pid=pid, store_stopped=store_stopped)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ------------------------------------------------------------------------------------------------ the serve process


def serve(argv: Sequence[str] | None = None) -> int:
    """`python -m perceo_cli.local.cloud serve ...`: run the local cloud until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m perceo_cli.local.cloud")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="run the local cloud in the foreground")
    run.add_argument("--project-dir", type=Path, required=True)
    run.add_argument("--template", type=Path, required=True)
    run.add_argument("--host", default=LOOPBACK)
    run.add_argument("--port", type=int, default=0)
    run.add_argument("--cors-origin", default=None)
    run.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    run.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="API worker processes (0: in this one)")
    options = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in options.parameter if "=" in item)
    logging.basicConfig(
        level=os.environ.get("PERCEO_LOCAL_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from perceo.auth.redaction import ApiKeyRedactionFilter

    for handler in logging.getLogger().handlers:
        handler.addFilter(ApiKeyRedactionFilter())

    stopping = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    cloud = LocalCloud(
        options.project_dir,
        template=options.template,
        host=options.host,
        port=options.port,
        cors_origin=options.cors_origin,
        parameters=overrides,
        environ=os.environ,
        workers=options.workers,
    )
    try:
        cloud.start()
    except Exception as error:  # noqa: BLE001 - the parent prints the log tail
        logger.error("local cloud: could not start: %s", error)
        return 1
    # moto, the gateway and the step runner are loaded: keep full GC passes of that heap off the request path.
    freeze_startup_heap()
    with _state_file(cloud):
        stopping.wait()
    logger.info("local cloud: stopping")
    cloud.stop()
    return 0


def _write_state_file(cloud: LocalCloud) -> None:
    path = state_path(cloud.project_dir)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text(cloud.state().model_dump_json(indent=2) + "\n", encoding="utf-8")
    scratch.replace(path)


@contextlib.contextmanager
def _state_file(cloud: LocalCloud) -> Iterator[None]:
    path = state_path(cloud.project_dir)
    _write_state_file(cloud)
    cloud.on_store_restart = lambda: _write_state_file(cloud)  # the store's new pid
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            recorded = read_state(cloud.project_dir)
            if recorded is not None and recorded.pid == os.getpid():
                path.unlink()


if __name__ == "__main__":
    sys.exit(serve())
