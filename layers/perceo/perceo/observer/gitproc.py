"""Running git with a bound on every wait.

Every git process the observer starts goes through `run_git`: an argument list (never a shell string), stdin
closed or given, and a timeout after which the process *and its children* are killed. git runs helpers of its own
(`git-remote-https`, `ssh`, `git-upload-pack`) that keep the output pipes open; killing only git would leave the
caller waiting for them, so git runs in a session of its own and the whole process group is killed.

The timeouts come from the config (`observer.git.localTimeoutSeconds`, `observer.git.fetchTimeoutSeconds`) as a
`GitTimeouts`; a call that runs out raises `GitTimeoutError`, whose message names the command and what to do.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perceo.errors import GitTimeoutError, PerceoError

#: Defaults of `observer.git.localTimeoutSeconds` and `observer.git.fetchTimeoutSeconds`.
DEFAULT_LOCAL_TIMEOUT_S = 60.0
DEFAULT_FETCH_TIMEOUT_S = 30.0
#: git never asks for credentials on a terminal: a prompt nobody answers in CI is a wait without end.
NO_PROMPT_ENV = {"GIT_TERMINAL_PROMPT": "0"}


@dataclass(frozen=True)
class GitTimeouts:
    """How long one git call may take: `local_s` for calls on the repository itself (diff, rev-parse, cat-file),
    `fetch_s` for one fetch from a remote (`ci analyze --deepen`)."""

    local_s: float = DEFAULT_LOCAL_TIMEOUT_S
    fetch_s: float = DEFAULT_FETCH_TIMEOUT_S


@dataclass(frozen=True)
class GitOutput:
    returncode: int
    stdout: bytes
    stderr: bytes


def run_git(
    args: Sequence[str],
    cwd: Path,
    *,
    timeout_s: float,
    input_bytes: bytes | None = None,
    env: Mapping[str, str] | None = None,
    on_timeout: str = "",
) -> GitOutput:
    """Run `git <args>` in `cwd` and return its exit code and output; raise `GitTimeoutError` (with `on_timeout`,
    the advice for this call, appended) when it has not finished within `timeout_s` seconds."""
    command = ["git", *args]
    try:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **NO_PROMPT_ENV, **(env or {})},
            start_new_session=True,  # its own process group: a timeout kills git's helpers too
        )
    except FileNotFoundError as error:
        raise PerceoError("git is not installed (or not on PATH)") from error
    try:
        stdout, stderr = proc.communicate(input_bytes, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        kill_group(proc)
        proc.communicate()  # every writer of the pipes is gone: this returns at once
        what = " ".join(_shown(args))
        advice = f" {on_timeout}" if on_timeout else ""
        raise GitTimeoutError(
            f"`git {what}` did not finish within {timeout_s:g} s in {cwd}.{advice}",
            details={"command": what, "timeoutSeconds": timeout_s},
        ) from error
    except BaseException:  # Ctrl-C while waiting: git's helpers must not outlive us
        kill_group(proc)
        proc.wait()
        raise
    return GitOutput(proc.returncode, stdout, stderr)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group `proc` leads (it was started with `start_new_session=True`)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _shown(args: Sequence[str]) -> list[str]:
    """The command as a person would type it: without the `-c key=value` options Perceo adds to every call."""
    shown: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "-c":
            skip = True
        elif arg != "--no-optional-locks":
            shown.append(arg)
    return shown[:6]
