"""The embedded store's idle stop: a small watcher process that shuts the store down once nobody uses it.

A one-shot command (`perceo flows list`, `perceo init`, `perceo ci analyze`) starts the store on first use and
leaves it running for the next command; this watcher, started next to it, stops it after `idle_s` seconds
without a client (`flowGraph.idleStopS`, default 600; 0 keeps the store until `perceo local stop`). So a
command that was killed, or a morning of commands, never leaves stores behind.

Idle means: no CLI process holds a lease on the store (`EmbeddedStore.lease`: a shared flock, dropped when the
process exits, however it exits), no client connection other than the watcher's own probe, and no command
processed since the last probe besides the probe itself. A connected client (a long `perceo init`, an event-bus
reader) keeps the store up. The watcher exits when the store is gone (stopped by `perceo local stop`, or restarted
with a watcher of its own), and stops the store through `EmbeddedStore.stop()` under the data dir's lock, so a
command starting at that moment either gets the store before the stop or starts a fresh one after it.

Run as `python -m perceo_cli.local.idle_stop DATA_DIR PORT PID IDLE_S`.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from perceo_cli.local.server import LOOPBACK, RespError, command, pid_alive

logger = logging.getLogger("perceo.store.idle")

#: The longest pause between two probes (shorter for short idle times).
MAX_POLL_S = 15.0


def probe(port: int) -> tuple[int, int] | None:
    """(connected clients, commands processed so far), or None when the store does not answer."""
    try:
        info = command(LOOPBACK, port, "INFO", "clients", timeout_s=2.0)
        stats = command(LOOPBACK, port, "INFO", "stats", timeout_s=2.0)
    except (OSError, RespError, ValueError):
        return None
    fields: dict[str, str] = {}
    for text in (info, stats):
        if isinstance(text, str):
            for line in text.splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    fields[key] = value.strip()
    try:
        return int(fields["connected_clients"]), int(fields["total_commands_processed"])
    except (KeyError, ValueError):
        return None


def watch(data_dir: Path, port: int, pid: int, idle_s: float, *, poll_s: float | None = None) -> str:
    """Watch until the store stops or idles for `idle_s`; returns why the watch ended."""
    from perceo_cli.local.store import EmbeddedStore, unused

    poll = poll_s if poll_s is not None else max(0.2, min(MAX_POLL_S, idle_s / 10))
    idle_since = time.monotonic()
    last_commands: int | None = None
    while True:
        time.sleep(poll)
        if not pid_alive(pid):
            return "the store stopped"
        seen = probe(port)
        if seen is None:
            return "the store does not answer on its port any more"
        clients, commands = seen
        # Each probe is one connection (counted while it is open) and two commands (counted after the reply
        # to the first, before the second) -- anything beyond that is someone else.
        busy = clients > 1 or (last_commands is not None and commands - last_commands > 2)
        last_commands = commands
        now = time.monotonic()
        if busy:
            idle_since = now
        elif now - idle_since >= idle_s:
            with unused(data_dir) as free:
                if not free:  # a command holds a lease: it started the store and has not connected yet
                    idle_since = now
                    continue
                store = EmbeddedStore(data_dir)
                current = store.status()
                if not current.running or current.pid != pid:
                    return "the store was replaced"
                logger.warning("embedded store: no client for %.0fs, stopping pid %s (data kept)", idle_s, pid)
                store.stop()
                return "idle"


def main(argv: list[str]) -> int:
    data_dir, port, pid, idle_s = Path(argv[0]), int(argv[1]), int(argv[2]), float(argv[3])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    reason = watch(data_dir, port, pid, idle_s)
    logger.info("embedded store watcher for pid %s: done (%s)", pid, reason)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
