"""Embedded store and event bus figures: start, reuse, restart with data, publish.

Run: .venv/bin/python bench/embedded_store.py
Prints medians of several runs next to a baseline measured in the same run:
- start/stop baseline: `start_server`/`stop_server` alone (no lock, no record, no probe);
- publish baseline: a bare PUBLISH with the same redis client.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from perceo.bus.memory import InMemoryBus
from perceo.bus.redis import RedisBus
from perceo.models import EventType, PerceoEvent
from perceo_cli.local.server import start_server, stop_server
from perceo_cli.local.store import EmbeddedStore

RUNS = 7


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.2f} ms"


def bench_store(root: Path) -> None:
    baseline, cold, warm_same, warm_new, stop, restart_big = [], [], [], [], [], []
    for run in range(RUNS):
        started = time.perf_counter()
        raw = start_server(root / f"raw-{run}")
        baseline.append(time.perf_counter() - started)
        stop_server(raw.pid)

        store = EmbeddedStore(root / f"store-{run}")
        cold.append(timed(store.ensure_running))
        warm_same.append(timed(store.ensure_running))
        warm_new.append(timed(lambda s=store: EmbeddedStore(s.data_dir).ensure_running()))
        stop.append(timed(store.stop))

    # A restart that has to load a graph of 10k nodes and 10k edges from its files.
    store = EmbeddedStore(root / "big")
    server = store.ensure_running()
    client = redis.Redis(host=server.host, port=server.port)
    client.execute_command("GRAPH.QUERY", "g", "UNWIND range(1, 10000) AS i CREATE (:Flow {id: i})")
    client.execute_command("GRAPH.QUERY", "g", "MATCH (a:Flow) WITH a CREATE (a)-[:NEXT]->(:Step {order: a.id})")
    client.close()
    for _ in range(RUNS):
        store.stop()
        restart_big.append(timed(store.ensure_running))
    store.stop()

    print("embedded store")
    print(f"  baseline start_server (no lock/record)  {median_ms(baseline)}")
    print(f"  ensure_running, cold start               {median_ms(cold)}")
    print(f"  ensure_running, already running (same)   {median_ms(warm_same)}")
    print(f"  ensure_running, already running (new obj){median_ms(warm_new)}")
    print(f"  stop (SHUTDOWN SAVE, wait for exit)      {median_ms(stop)}")
    print(f"  restart with 20k nodes + 10k edges       {median_ms(restart_big)}")


def bench_cli_process(root: Path) -> None:
    """A whole `python -c` process that ensures the store runs, as a CLI command would (server already up)."""
    store = EmbeddedStore(root / "cli")
    store.ensure_running()
    script = (
        "from pathlib import Path; from perceo_cli.local.store import EmbeddedStore; "
        f"EmbeddedStore(Path({str(store.data_dir)!r})).ensure_running()"
    )
    bare = [timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)) for _ in range(RUNS)]
    reuse = [timed(lambda: subprocess.run([sys.executable, "-c", script], check=True)) for _ in range(RUNS)]
    store.stop()
    print("a separate process")
    print(f"  baseline: python -c pass                 {median_ms(bare)}")
    print(f"  import + ensure_running (already up)     {median_ms(reuse)}")


def bench_publish(root: Path) -> None:
    store = EmbeddedStore(root / "bus")
    server = store.ensure_running()
    client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
    bus = RedisBus(client)
    memory = InMemoryBus()
    event = PerceoEvent(type=EventType.FLOW_CREATED, source="graph", project_id="bench", data={"flowId": "f" * 32})
    n = 2000
    bare = [timed(lambda: [client.publish("bench:bare", "x" * 250) for _ in range(n)]) for _ in range(RUNS)]
    redis_bus = [timed(lambda: [bus.publish(event) for _ in range(n)]) for _ in range(RUNS)]
    in_memory = [timed(lambda: [memory.publish(event) for _ in range(n)]) for _ in range(RUNS)]
    client.close()
    store.stop()
    print(f"publish, per event (median of {RUNS} runs of {n})")
    print(f"  baseline: bare PUBLISH                   {statistics.median(bare) / n * 1e6:8.1f} us")
    print(f"  RedisBus.publish (MULTI XADD+PUBLISH)    {statistics.median(redis_bus) / n * 1e6:8.1f} us")
    print(f"  InMemoryBus.publish                      {statistics.median(in_memory) / n * 1e6:8.1f} us")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="perceo-bench-store-") as tmp:
        root = Path(tmp)
        try:
            bench_store(root)
            bench_cli_process(root)
            bench_publish(root)
        finally:  # whatever failed, leave no server behind
            for data_dir in root.iterdir():
                if data_dir.name.startswith("raw-"):
                    continue
                EmbeddedStore(data_dir).stop()


if __name__ == "__main__":
    main()
