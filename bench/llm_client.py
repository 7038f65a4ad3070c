"""Overhead of StructuredLLM over a bare openai call, cache hits, and map_bounded throughput.

Runs against the fake OpenAI server on loopback (and a FalkorDB/Redis for the Redis cache), so the
figures are the client's own cost, not a provider's latency. Run from the repo root:

    PYTHONPATH=tests .venv/bin/python bench/llm_client.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import openai
import redis
from fakes.openai_server import FakeOpenAI, Reply
from pydantic import SecretStr

from perceo.bootstrap.model import FlowsOutput
from perceo.llm import (
    InMemoryResponseCache,
    LLMRequest,
    LLMSettings,
    RedisResponseCache,
    StructuredLLM,
    map_bounded,
    response_format,
)
from perceo_cli.local.server import start_server, stop_server

RUNS = 5
CALLS = 200
ANSWER = {
    "flows": [
        {
            "name": f"Flow {n}",
            "description": "A user buys something",
            "pages": ["/cart", "/checkout", "/pay", "/done"],
            "connectedFlowIds": None,
            "priority": "high",
        }
        for n in range(10)
    ]
}


def median_per_call_ms(run: Callable[[], None], calls: int = CALLS) -> float:
    """Median over RUNS of the mean time per call, in milliseconds."""
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(calls):
            run()
        samples.append((time.perf_counter() - started) * 1000 / calls)
    return statistics.median(samples)


def request(prompt: str) -> LLMRequest:
    return LLMRequest(
        system_prompt="Find flows.", user_prompt=prompt, schema_name="flows", project_id="bench", unit="flows"
    )


def main() -> None:
    with FakeOpenAI() as fake:
        fake.respond_with(lambda _: Reply.json(ANSWER))
        settings = LLMSettings(base_url=fake.base_url, api_key=SecretStr("sk-bench"), model="gpt-4.1-mini")
        raw = openai.OpenAI(api_key="sk-bench", base_url=fake.base_url, max_retries=0)
        fmt = response_format("flows", FlowsOutput)

        def bare() -> None:
            raw.chat.completions.create(
                model="gpt-4.1-mini",
                messages=[{"role": "user", "content": "x"}],
                response_format=fmt,  # type: ignore[arg-type]
            )

        llm = StructuredLLM(settings)
        baseline = median_per_call_ms(bare)
        structured = median_per_call_ms(lambda: llm.complete(request(uuid.uuid4().hex), FlowsOutput) and None)
        print(f"bare openai call (baseline)        {baseline:7.3f} ms/call")
        print(f"StructuredLLM.complete, no cache   {structured:7.3f} ms/call  ({structured - baseline:+.3f} ms)")

        memory = StructuredLLM(settings, cache=InMemoryResponseCache(3600))
        memory.complete(request("same"), FlowsOutput)
        hit = median_per_call_ms(lambda: memory.complete(request("same"), FlowsOutput) and None)
        print(f"cache hit, in memory               {hit:7.3f} ms/call")

        with tempfile.TemporaryDirectory() as tmp:
            server = start_server(Path(tmp), persistent=False)
            client = redis.Redis(host=server.host, port=server.port, decode_responses=True)
            try:
                cached = StructuredLLM(settings, cache=RedisResponseCache(client, 3600))
                cached.complete(request("same"), FlowsOutput)
                redis_hit = median_per_call_ms(lambda: cached.complete(request("same"), FlowsOutput) and None)
                print(f"cache hit, Redis (loopback)        {redis_hit:7.3f} ms/call")
            finally:
                client.close()
                stop_server(server.pid)

        # Throughput: every answer takes 50 ms on the server, as a (fast) provider would.
        fake.respond_with(lambda _: Reply.json(ANSWER).after(0.05))
        units = [request(f"unit {n}") for n in range(32)]
        for concurrency in (1, 4, 8):
            started = time.perf_counter()
            outcomes = map_bounded(lambda r: llm.complete(r, FlowsOutput), units, concurrency)
            elapsed = time.perf_counter() - started
            assert all(o.ok for o in outcomes)
            print(f"32 units x 50 ms, concurrency {concurrency}    {elapsed:6.2f} s")
        llm.close()
        memory.close()
        raw.close()


if __name__ == "__main__":
    main()
