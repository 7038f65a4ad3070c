"""The API through the local API Gateway: handler import times, and latency at a steady request rate.

1. Cold import time of each API handler module (median of fresh interpreters, from `handler_import_bench.py`),
   next to `python -c pass`. Target: at most 400 ms each.
2. A local cloud (`perceo local up`, its own process: gateway, real handlers, FalkorDB/Redis, moto) with one
   project holding N flows (default 1,000, written straight into its graph with batched `upsert_flows`; each
   visits two of 200 routes).
3. Open-loop load at each steady rate (default 20, 50 and 100 req/s) for a bounded time (default 30 s) per scenario:
   `GET /flows` (its first page: 100 flows by name, the default `limit`; the read) and `POST /observer/analyze` (a
   change that affects three routes, recorded; the write). Latency is measured from the moment each request was
   due, so a slow server cannot hide queueing: p50, p95, p99 and errors. Target: p99 at most 100 ms, 0 errors.
4. Service time: the same two requests over HTTP one at a time (no queueing), next to `GET /health`; and every
   page of `GET /flows?limit=500&includeSteps=true` one after the other (what `perceo flows list` asks for).
5. Baselines in the same run: `GET /health` over HTTP at the same rate, and during each scenario at 5 req/s (a
   probe: when it has the same slow tail, the machine or the store stalled, not the route); `GET /flows` and
   `POST /observer/analyze` through the gateway and handler in this process without HTTP (an in-process local
   cloud on the same store).

6. The per-key rate limiter with the template's defaults (10 req/s, burst 40), in a second local cloud: one key at
   20 req/s for 5 s; the answers past the burst are 429 with `Retry-After`.

`--workers` sets the local cloud's API worker processes (default: the local cloud's own default).

The per-key rate limit is raised for the run (KeyRateLimitPerSecond=1000): the default, 10 req/s per key, would
answer 429 to a single key at 20 req/s, which measures the limiter, not the API.

    .venv/bin/python bench/api_bench.py [--rates 20,50,100] [--duration 30] [--flows 1000] [--workers 2]
                                        [--import-runs 3] [--skip-imports] [--skip-limiter]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
TARGET_IMPORT_MS = 400
TARGET_P99_MS = 100
#: Requests per second of the GET /health probe that runs alongside each scenario.
PROBE_RATE = 5.0
ROUTES = 200
AFFECTED_ROUTES = ["/route-7", "/route-42", "/route-133"]
BENCH_PARAMETERS = {
    "KeyRateLimitPerSecond": "1000",
    "KeyRateLimitBurst": "1000",
    # The stage throttle too (the template: 50 req/s, burst 100), or 100 req/s measures the throttle.
    "ApiThrottleRate": "10000",
    "ApiThrottleBurst": "5000",
}


# ---------------------------------------------------------------------------------------------------- imports


def import_times(runs: int) -> None:
    """Median of `runs` fresh interpreters per handler, in the Lambda-like environment of handler_import_bench."""
    import statistics

    spec = importlib.util.spec_from_file_location("handler_import_bench", REPO / "bench" / "handler_import_bench.py")
    assert spec is not None and spec.loader is not None
    imports = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(imports)
    env = imports._env(REPO, lambda_like=True)
    baseline = statistics.median(imports._run([sys.executable, "-c", "pass"], env)[0] for _ in range(runs))
    print(
        f"\n## Handler cold import (median of {runs} fresh interpreters, Lambda-like environment; "
        f"target <= {TARGET_IMPORT_MS} ms)"
    )
    print(f"baseline `python -c pass` wall: {baseline:.0f} ms")
    print(f"{'handler':<34} {'import ms':>10} {'process wall ms':>16}  ok")
    for handler in sorted((REPO / "functions").glob("**/app.py")):
        samples = [imports._once(handler, env) for _ in range(runs)]
        import_ms = statistics.median(s[0] for s in samples)
        wall_ms = statistics.median(s[1] for s in samples)
        name = str(handler.parent.relative_to(REPO / "functions"))
        print(f"{name:<34} {import_ms:>10.0f} {wall_ms:>16.0f}  {'yes' if import_ms <= TARGET_IMPORT_MS else 'NO'}")


# ---------------------------------------------------------------------------------------------------- load


@dataclass
class Result:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    #: Whether the p99 target applies (it does to single requests, not to reading every page in a row).
    targeted: bool = True

    def row(self) -> str:
        values = sorted(self.latencies_ms)
        if not values:
            return f"{self.name:<44} no requests"

        def pct(p: float) -> float:
            return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

        rate = len(values) / self.elapsed_s if self.elapsed_s else 0.0
        p99 = pct(99)
        verdict = "yes" if p99 <= TARGET_P99_MS and self.errors == 0 else "NO"
        if not self.targeted:
            verdict = "(no target)" if self.errors == 0 else "ERRORS"
        return (
            f"{self.name:<44} {len(values):>6} {rate:>7.1f} {self.errors:>6} {pct(50):>8.1f} {pct(95):>8.1f} "
            f"{p99:>8.1f} {values[-1]:>8.1f}  {verdict}"
        )


HEADER = (
    f"{'scenario':<44} {'reqs':>6} {'req/s':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'max ms':>8}  p99<=100 & 0 errors"
)


def steady_load(
    name: str, client: httpx.Client, method: str, path: str, body: Any, rate: float, duration_s: float
) -> Result:
    """Open loop: request i is due at start + i/rate; latency runs from when it was due to its answer."""
    result = Result(name)
    lock = threading.Lock()
    count = int(rate * duration_s)
    start = time.perf_counter() + 0.1

    def one(i: int) -> None:
        due = start + i / rate
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        try:
            response = client.request(method, path, json=body)
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        latency = (time.perf_counter() - due) * 1000
        with lock:
            result.latencies_ms.append(latency)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if not 200 <= status < 300:
                result.errors += 1

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(one, range(count)))
    result.elapsed_s = time.perf_counter() - start
    return result


def with_probe(client: httpx.Client, duration_s: float, scenario: Callable[[], Result]) -> tuple[Result, Result]:
    """The scenario, and meanwhile GET /health at PROBE_RATE: a probe that does almost nothing, so a slow tail it
    shares with the scenario comes from the machine or the store (a stall hits every request), not the route."""
    with ThreadPoolExecutor(max_workers=1) as probe_pool:
        probe = probe_pool.submit(
            steady_load, "  GET /health probe meanwhile (HTTP)", client, "GET", "health", None, PROBE_RATE, duration_s
        )
        result = scenario()
        return result, probe.result()


def sequential(name: str, call: Any, count: int, *, targeted: bool = True) -> Result:
    result = Result(name, targeted=targeted)
    started = time.perf_counter()
    for _ in range(count):
        t0 = time.perf_counter()
        status = call()
        result.latencies_ms.append((time.perf_counter() - t0) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if not 200 <= status < 300:
            result.errors += 1
    result.elapsed_s = time.perf_counter() - started
    return result


# ---------------------------------------------------------------------------------------------------- seeding


def seed_flows(store_url: str, project_id: str, count: int) -> float:
    """N flows straight into the cloud's graph: batched upserts, then each flow's two pages."""
    from perceo.config.model import FlowGraphSection
    from perceo.graph.factory import open_flow_graph
    from perceo.models import Flow
    from perceo_cli.local.cloud import GRAPH_NAME

    graph = open_flow_graph(FlowGraphSection(type="falkordb", uri=store_url, database=GRAPH_NAME), embedded_url=None)
    started = time.perf_counter()
    priorities = ["critical", "high", "medium", "low"]
    flows = [
        Flow(project_id=project_id, name=f"Flow {i:04d}", priority=priorities[i % 4], source="user_configured")
        for i in range(count)
    ]
    stored = []
    for batch in range(0, count, 250):
        stored += graph.upsert_flows(project_id, flows[batch : batch + 250])
    for i, flow in enumerate(stored):
        graph.set_flow_pages(project_id, flow.id, [f"/route-{i % ROUTES}", f"/route-{(i * 7 + 3) % ROUTES}"])
    graph.close()
    return time.perf_counter() - started


def all_pages(client: httpx.Client) -> tuple[int, int]:
    """Every page of GET /flows (limit=500, with steps), as the CLI reads them: (pages, flows)."""
    pages = flows = 0
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 500, "includeSteps": "true", **({"cursor": cursor} if cursor else {})}
        page = client.get("flows", params=params).json()
        pages, flows = pages + 1, flows + len(page["flows"])
        cursor = page.get("nextCursor")
        if not cursor:
            return pages, flows


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def analyze_body() -> dict[str, Any]:
    return {
        "changeSet": {
            "baseSha": "a" * 40,
            "headSha": "b" * 40,
            "files": [{"path": "src/components/Price.tsx", "status": "modified", "additions": 3, "deletions": 1}],
        },
        "affectedRoutes": [
            {"route": route, "files": ["src/components/Price.tsx"], "distance": 1} for route in AFFECTED_ROUTES
        ],
    }


# ---------------------------------------------------------------------------------------------------- main


def main() -> int:
    from perceo_cli.local.cloud import DEFAULT_WORKERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="20,50,100", help="steady rates (req/s), comma-separated")
    parser.add_argument("--skip-limiter", action="store_true", help="no rate-limiter demonstration")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument("--skip-imports", action="store_true")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="API worker processes of the local cloud")
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    if not options.skip_imports:
        import_times(options.import_runs)

    from perceo_cli.local.apigw import GatewayRequest
    from perceo_cli.local.cloud import LocalCloud, default_template, down, up

    template = default_template()
    assert template is not None, "run from a Perceo checkout"
    with tempfile.TemporaryDirectory(prefix="perceo-api-bench-") as tmp:
        project_dir = Path(tmp)
        started = time.perf_counter()
        state = up(project_dir, template=template, parameters=BENCH_PARAMETERS, workers=options.workers).state
        print(
            f"\n## Local cloud: started in {time.perf_counter() - started:.1f} s at {state.api_url} "
            f"({options.workers} API workers; load average {_load()})"
        )
        in_process: LocalCloud | None = None
        try:
            from perceo_cli.local.cloud import load_or_create_secrets

            admin_key = load_or_create_secrets(project_dir)[0].admin_key
            with httpx.Client(base_url=state.api_url + "/", timeout=30) as admin:
                created = admin.post(
                    "projects", json={"name": "bench"}, headers={"Authorization": f"Bearer {admin_key}"}
                )
                created.raise_for_status()
            project_id, key = created.json()["project"]["id"], created.json()["apiKey"]["key"]
            seconds = seed_flows(state.store_url, project_id, options.flows)
            print(f"seeded {options.flows} flows ({ROUTES} routes, 2 pages each) in {seconds:.1f} s")

            headers = {"Authorization": f"Bearer {key}"}
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            with httpx.Client(base_url=state.api_url + "/", headers=headers, timeout=30, limits=limits) as client:
                first = client.get("flows").json()
                pages, every = all_pages(client)
                analysis = client.post("observer/analyze", json=analyze_body()).json()
                print(
                    f"GET /flows returns a page of {len(first['flows'])} flows (all {every} in {pages} pages of 500); "
                    f"the analysis maps {len(analysis['flows'])} flows"
                )
                for _ in range(20):  # warm: authorizer cache, connections, handler caches
                    client.get("flows")
                    client.post("observer/analyze", json=analyze_body())
                    client.get("health")

                health_s = max(5.0, options.duration / 3)
                duration = options.duration
                for rate in [float(r) for r in options.rates.split(",") if r.strip()]:
                    print(f"\n## Steady load: {rate:g} req/s, {duration:g} s per scenario, over HTTP (load {_load()})")
                    print(HEADER)
                    results = [
                        steady_load("baseline GET /health (HTTP)", client, "GET", "health", None, rate, health_s),
                        *with_probe(
                            client,
                            duration,
                            lambda rate=rate: steady_load(
                                "GET /flows (HTTP)", client, "GET", "flows", None, rate, duration
                            ),
                        ),
                        *with_probe(
                            client,
                            duration,
                            lambda rate=rate: steady_load(
                                "POST /observer/analyze (HTTP)",
                                client,
                                "POST",
                                "observer/analyze",
                                analyze_body(),
                                rate,
                                duration,
                            ),
                        ),
                    ]
                    for result in results:
                        print(result.row())
                        if result.errors:
                            print(f"    statuses: {result.statuses}")

                # Service time without queueing: the same requests over HTTP, one at a time.
                print("\n## One request at a time over HTTP (service time, no queueing)")
                print(HEADER)
                body = analyze_body()
                for result in (
                    sequential("baseline GET /health (HTTP, sequential)", lambda: client.get("health").status_code, 50),
                    sequential("GET /flows (HTTP, sequential)", lambda: client.get("flows").status_code, 50),
                    sequential(
                        "POST /observer/analyze (HTTP, sequential)",
                        lambda: client.post("observer/analyze", json=body).status_code,
                        50,
                    ),
                    sequential(
                        "GET /flows every page, limit=500 + steps",
                        lambda: 200 if all_pages(client)[1] == options.flows else 500,
                        5,
                        targeted=False,
                    ),
                ):
                    print(result.row())

            # Baseline without HTTP: the same gateway and handlers in this process, on the same store. Their logs
            # and metrics (stdout, as in Lambda) are dropped; the start-up heap is frozen as the local cloud's
            # processes do (perceo.heap), so a full GC pass over moto and every handler does not land on a request.
            from perceo.heap import freeze_startup_heap

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            with contextlib.redirect_stdout(io.StringIO()):
                in_process = LocalCloud(
                    project_dir,  # the same local secrets (pepper, admin key); the store is the running one
                    template=template,
                    store_url=state.store_url,
                    parameters=BENCH_PARAMETERS,
                    environ=os.environ,
                    throttle=False,  # back-to-back requests would exceed the stage's rate: this measures the handler
                ).start()
                gateway = in_process.gateway
                assert gateway is not None
                stage = gateway.api.stage

                auth = [("Authorization", f"Bearer {key}"), ("Content-Type", "application/json")]
                encoded = json.dumps(analyze_body()).encode()

                def in_process_flows() -> int:
                    request = GatewayRequest(method="GET", target=f"/{stage}/flows", headers=auth)
                    return gateway.handle(request).status

                def in_process_analyze() -> int:
                    request = GatewayRequest(
                        method="POST", target=f"/{stage}/observer/analyze", headers=auth, body=encoded
                    )
                    return gateway.handle(request).status

                for _ in range(5):  # authorizer: this process has its own cache; handlers build their clients
                    in_process_flows()
                    in_process_analyze()
                freeze_startup_heap()
                baselines = (
                    sequential("GET /flows (in-process gateway + handler)", in_process_flows, 200),
                    sequential("POST /observer/analyze (in-process)", in_process_analyze, 200),
                )
            print("\n## Baseline without HTTP (sequential, in this process)")
            print(HEADER)
            for result in baselines:
                print(result.row())
                if result.errors:
                    print(f"    statuses: {result.statuses}")
            print(f"load average {_load()}")
        finally:
            if in_process is not None:
                in_process.stop()
            down(project_dir)
    if not options.skip_limiter:
        rate_limiter_demo(template, workers=options.workers)
    return 0


def rate_limiter_demo(template: Path, *, workers: int, rate: float = 20.0, duration_s: float = 5.0) -> None:
    """One key over the template's default per-key limit, in a local cloud of its own: past the burst, 429s."""
    from perceo_cli.local.cloud import down, load_or_create_secrets, up

    with tempfile.TemporaryDirectory(prefix="perceo-api-limiter-") as tmp:
        project_dir = Path(tmp)
        state = up(project_dir, template=template, workers=workers).state
        try:
            admin_key = load_or_create_secrets(project_dir)[0].admin_key
            with httpx.Client(base_url=state.api_url + "/", timeout=30) as admin:
                created = admin.post(
                    "projects", json={"name": "limits"}, headers={"Authorization": f"Bearer {admin_key}"}
                )
                created.raise_for_status()
            key = created.json()["apiKey"]["key"]
            retry_after: set[str] = set()
            with httpx.Client(
                base_url=state.api_url + "/", headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client:
                client.get("flows")  # the authorizer's answer cached, as for a client in its stride
                result = steady_load(
                    f"GET /flows, one key at {rate:g} req/s", client, "GET", "flows", None, rate, duration_s
                )
                for _ in range(3):
                    answer = client.get("flows")
                    if answer.status_code == 429:
                        retry_after.add(answer.headers.get("Retry-After", "missing"))
            print(f"\n## Per-key rate limit, template defaults (10 req/s, burst 40): {duration_s:g} s at {rate:g}/s")
            seen = sorted(retry_after) or "none seen"
            print(f"statuses {dict(sorted(result.statuses.items()))}; Retry-After on a 429: {seen}")
        finally:
            down(project_dir)


if __name__ == "__main__":
    sys.exit(main())
