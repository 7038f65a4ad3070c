"""A local Lambda runtime: loads a function's handler from its CodeUri with importlib and invokes it.

That is how the Lambda Python runtime loads code, minus the sandbox: every function's module is loaded under
a unique name (`_perceo_lambda_<LogicalId>__app`), so the many `app.py` files never collide, and the code folder
is not put on `sys.path` (a handler imports `perceo`, from the layer, and nothing next to it).

One invocation runs at a time per `LambdaRuntime`. Besides matching a single Lambda instance, this is required:
powertools keeps the current event on a class attribute (`BaseRouter.current_event`), shared by every
resolver in the process, so two overlapping invocations would read each other's events. For parallel requests,
`LambdaWorkerPool` runs a `LambdaRuntime` in each of several worker processes (like Lambda's execution
environments); the Step Functions task runner calls handlers in this process.

Events and results go through JSON on the way in and out, as they do in Lambda, so a handler that returns
something Lambda could not serialise fails here too (`Runtime.MarshalError`).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import multiprocessing
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from perceo.errors import BackendUnavailableError, ConfigError
from perceo.heap import freeze_startup_heap
from perceo_cli.local.template import FunctionSpec

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]


class LambdaInvocationError(Exception):
    """An invocation failed the way Lambda reports it: `errorType` and `errorMessage` of the unhandled error."""

    def __init__(self, function: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function}: {error_type}: {error_message}")
        self.function = function
        self.error_type = error_type
        self.error_message = error_message

    def payload(self) -> dict[str, str]:
        """The error document Lambda returns (and Step Functions matches `ErrorEquals` against)."""
        return {"errorType": self.error_type, "errorMessage": self.error_message}


def runtime_exit_error(function: str, exited: SystemExit, request_id: str) -> LambdaInvocationError:
    """What Lambda reports when a handler ends its process (`sys.exit`, a library calling `exit()`): the error
    `Runtime.ExitError`, which a state machine's Retry and Catch match like any other error. Left to propagate, the
    SystemExit ended the thread serving the invocation and Step Functions saw a dropped connection instead."""
    code = exited.code if isinstance(exited.code, int) else (0 if exited.code is None else 1)
    return LambdaInvocationError(
        function, "Runtime.ExitError", f"RequestId: {request_id} Error: Runtime exited with error: exit status {code}"
    )


@dataclass
class LambdaContext:
    """The parts of the Lambda context object handlers and powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline_monotonic: float
    function_version: str = "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline_monotonic - time.monotonic()) * 1000))


@dataclass
class _Loaded:
    module: ModuleType
    handler: Handler
    init_ms: float


def function_environment(functions: Mapping[str, FunctionSpec], extra: Mapping[str, str]) -> dict[str, str]:
    """One environment for every function (they share a process); ConfigError when two functions disagree."""
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for spec in functions.values():
        for name, value in spec.environment.items():
            if name in extra:
                continue
            if name in merged and merged[name] != value:
                raise ConfigError(
                    f"functions {owners[name]} and {spec.logical_id} set {name} differently; the local runtime "
                    "runs every function in one process and needs one value"
                )
            merged.setdefault(name, value)
            owners.setdefault(name, spec.logical_id)
    merged.update(extra)
    return merged


class LambdaRuntime:
    """Loads and invokes the functions of a template in this process, one invocation at a time."""

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        environ: MutableMapping[str, str] | None = None,
        extra_environment: Mapping[str, str] | None = None,
    ) -> None:
        """`environ`, when given (the process environment, in the local cloud's server process), receives every
        function's environment variables before any handler is imported, as a Lambda runtime would set them."""
        self.functions = dict(functions)
        self.environment = function_environment(self.functions, extra_environment or {})
        if environ is not None:
            environ.update(self.environment)
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()
        #: The functions invoked at least once in this runtime.
        self.invoked: set[str] = set()

    def spec(self, logical_id: str) -> FunctionSpec:
        try:
            return self.functions[logical_id]
        except KeyError:
            raise ConfigError(f"no function {logical_id} in the template") from None

    def module(self, logical_id: str) -> ModuleType:
        """The loaded module of a function (loading it now if needed)."""
        with self._lock:
            return self._load(logical_id).module

    def load_all(self) -> dict[str, float]:
        """Import every handler now (cold starts up front); milliseconds per function."""
        with self._lock:
            return {logical_id: self._load(logical_id).init_ms for logical_id in self.functions}

    def invoke(self, logical_id: str, event: Any, *, request_id: str | None = None) -> Any:
        """Run the function on `event` and return its (JSON round-tripped) result.

        LambdaInvocationError when the handler raises, cannot be loaded, returns something that is not JSON,
        or overruns its Timeout (measured after the fact: a thread cannot be stopped).
        """
        spec = self.spec(logical_id)
        payload = json.loads(json.dumps(event))
        with self._lock:
            loaded = self._load(logical_id)
            self.invoked.add(logical_id)
            context = LambdaContext(
                function_name=spec.function_name,
                invoked_function_arn=spec.arn,
                memory_limit_in_mb=spec.memory_mb,
                aws_request_id=request_id or str(uuid.uuid4()),
                deadline_monotonic=time.monotonic() + spec.timeout_s,
            )
            started = time.monotonic()
            try:
                result = loaded.handler(payload, context)
            except Exception as error:  # noqa: BLE001 - Lambda's unhandled-error contract
                if str(error) == "Unauthorized":  # an authorizer's normal "no": not worth a traceback
                    logger.info("function %s answered Unauthorized", logical_id)
                else:
                    logger.error("function %s failed: %s\n%s", logical_id, _describe(error), traceback.format_exc())
                raise LambdaInvocationError(logical_id, type(error).__name__, str(error)) from error
            except SystemExit as exited:
                logger.error("function %s exited (%s)", logical_id, exited.code)
                raise runtime_exit_error(logical_id, exited, context.aws_request_id) from None
            elapsed = time.monotonic() - started
        if elapsed > spec.timeout_s:
            raise LambdaInvocationError(
                logical_id, "Sandbox.Timedout", f"Task timed out after {spec.timeout_s:.2f} seconds"
            )
        try:
            return json.loads(json.dumps(result))
        except (TypeError, ValueError) as error:
            raise LambdaInvocationError(
                logical_id, "Runtime.MarshalError", f"Unable to marshal response: {error}"
            ) from error

    def _load(self, logical_id: str) -> _Loaded:
        loaded = self._loaded.get(logical_id)
        if loaded is not None:
            return loaded
        spec = self.spec(logical_id)
        module_path, _, _ = spec.handler.rpartition(".")
        name = f"_perceo_lambda_{logical_id}__{module_path.replace('.', '_')}"
        started = time.perf_counter()
        try:
            module = _import_file(name, spec)
            handler = getattr(module, spec.function_attribute)
        except Exception as error:  # noqa: BLE001 - Lambda reports an import failure as Runtime.ImportModuleError
            logger.error("function %s cannot be loaded: %s\n%s", logical_id, _describe(error), traceback.format_exc())
            raise LambdaInvocationError(
                logical_id, "Runtime.ImportModuleError", f"Unable to import module '{module_path}': {error}"
            ) from error
        if not callable(handler):
            raise LambdaInvocationError(logical_id, "Runtime.HandlerNotFound", f"{spec.handler} is not a function")
        loaded = _Loaded(module=module, handler=handler, init_ms=(time.perf_counter() - started) * 1000)
        self._loaded[logical_id] = loaded
        logger.info("function %s loaded from %s in %.0f ms", logical_id, spec.module_file, loaded.init_ms)
        return loaded


def _import_file(name: str, spec: FunctionSpec) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.module_file}")
    module = importlib.util.module_from_spec(module_spec)
    # Registered before executing, as importlib does, so dataclasses and pydantic can find the module.
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# ------------------------------------------------------------------------------------------------ worker processes


class Invoker(Protocol):
    """What the API emulator needs from a runtime: run a function on an event."""

    def invoke(self, logical_id: str, event: Any, *, request_id: str | None = None) -> Any: ...


_worker_runtime: LambdaRuntime | None = None


def _start_worker(functions: dict[str, FunctionSpec], environment: dict[str, str], log_level: str) -> None:
    """Worker initialiser: the function environment, logging, and every handler imported up front."""
    global _worker_runtime
    import os

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s [worker]: %(message)s")
    _worker_runtime = LambdaRuntime(functions, environ=os.environ, extra_environment=environment)
    _worker_runtime.load_all()
    freeze_startup_heap()  # every handler imported: keep full GC passes off the request path (perceo.heap)


def _invoke_in_worker(logical_id: str, event: Any, request_id: str | None) -> tuple[str, Any]:
    assert _worker_runtime is not None, "the worker initialiser sets the runtime"
    first = logical_id not in _worker_runtime.invoked
    try:
        return "ok", _worker_runtime.invoke(logical_id, event, request_id=request_id)
    except LambdaInvocationError as error:
        return "error", error.payload()
    finally:
        if first:  # its first request built the handler's clients and caches: freeze them too (perceo.heap)
            freeze_startup_heap()


class LambdaWorkerPool:
    """Invocations spread over worker processes, each one like a Lambda execution environment.

    Every worker is a fresh interpreter (spawned) that sets the functions' environment, imports every handler at
    start, and runs one invocation at a time, so powertools' per-process state is never shared and requests
    run in parallel as they would on separate Lambda instances. The pool starts all its workers at once.
    """

    def __init__(
        self,
        functions: Mapping[str, FunctionSpec],
        *,
        environment: Mapping[str, str],
        workers: int,
        log_level: str = "INFO",
    ) -> None:
        self.functions = dict(functions)
        self.workers = workers
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(
            processes=workers,
            initializer=_start_worker,
            initargs=(self.functions, dict(environment), log_level),
        )

    def spec(self, logical_id: str) -> FunctionSpec:
        try:
            return self.functions[logical_id]
        except KeyError:
            raise ConfigError(f"no function {logical_id} in the template") from None

    def invoke(self, logical_id: str, event: Any, *, request_id: str | None = None) -> Any:
        spec = self.spec(logical_id)
        pending = self._pool.apply_async(_invoke_in_worker, (logical_id, event, request_id))
        try:
            # The timeout is the function's own plus room for a queue behind busy workers.
            kind, payload = pending.get(timeout=spec.timeout_s + 30)
        except multiprocessing.TimeoutError as error:
            raise LambdaInvocationError(
                logical_id, "Sandbox.Timedout", f"no answer within {spec.timeout_s + 30:.0f} seconds"
            ) from error
        if kind == "error":
            raise LambdaInvocationError(logical_id, payload["errorType"], payload["errorMessage"])
        return payload

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until every worker has started and imported its handlers (a worker that cannot start is
        replaced again and again by the pool: the timeout turns that into an error)."""
        try:
            self._pool.map_async(_noop, range(self.workers), chunksize=1).get(timeout=timeout_s)
        except multiprocessing.TimeoutError:
            raise BackendUnavailableError(
                f"the local Lambda workers did not start within {timeout_s:.0f}s; see the log for the reason"
            ) from None

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


def _noop(_: int) -> None:
    return None
