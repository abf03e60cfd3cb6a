"""Fleet benchmarks: a shared token and a shared rate on Redis (issue 14).

* ``fleet_cold_tokens``: 8 worker processes x 50 concurrent callers, cold, one
  RedisTokenStore, against the sandbox on loopback: token requests the sandbox saw
  (target 1), and the time until every caller had its token.
* ``fleet_fast_path``: ``client.token()`` per call with a fresh token, no store vs
  MemoryTokenStore vs RedisTokenStore, interleaved rounds, medians; the Redis store's
  overhead over the memory one (target <= 1 us: the fast path never touches Redis).
* ``fleet_rate_decision``: one ``acquire()`` that never waits, LocalRateLimiter vs
  RedisRateLimiter (one Lua round trip) vs a bare Redis ``PING`` on the same connection.

Redis: ``REDIS_URL``, else 127.0.0.1:6379, under a fresh key prefix removed afterwards.
Registered with the harness (``python -m benchmarks --only fleet_fast_path``) when it is
there; runnable alone: ``python -m benchmarks._fleet_scenarios [--repetitions N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

try:  # the regions stream's registry; absent on a branch without it
    from ._registry import scenario
except ImportError:  # pragma: no cover

    def scenario(name: str) -> Callable[[F], F]:
        def register(function: F) -> F:
            return function

        return register


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


async def _redis() -> Any:
    import redis.asyncio as redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2.0, socket_connect_timeout=2.0)
    await client.ping()
    return client


async def _drop_prefix(client: Any, prefix: str) -> None:
    keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
    if keys:
        await client.delete(*keys)


# -- 8 processes x 50 callers, cold ----------------------------------------------------


async def _worker(settings: dict[str, Any]) -> None:
    """One fleet process: ready, wait for the go key, 50 concurrent token() calls, report."""
    from sehatmu_async import RedisTokenStore, SehatMuClient

    r = await _redis()
    client = SehatMuClient(
        settings["client_id"],
        settings["client_secret"],
        base_url=settings["url"],
        token_store=RedisTokenStore(r, prefix=settings["prefix"]),
    )
    print(json.dumps({"event": "ready"}), flush=True)
    deadline = time.monotonic() + 60
    while not await r.exists(settings["prefix"] + "go"):
        if time.monotonic() > deadline:
            raise SystemExit("no go signal")
        await asyncio.sleep(0.005)
    async with client:
        tokens = await asyncio.gather(*(client.token() for _ in range(settings["callers"])))
    done = time.time()
    await r.aclose()
    print(
        json.dumps(
            {
                "event": "done",
                "at": done,
                "distinct": len({t.access_token for t in tokens}),
                "token_requests": client.token_requests,
            }
        ),
        flush=True,
    )


async def _read_event(process: asyncio.subprocess.Process, name: str) -> dict[str, Any]:
    assert process.stdout is not None
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        if not line:
            raise RuntimeError(f"a worker ended before {name!r}")
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == name:
            return dict(event)


@scenario("fleet_cold_tokens")
async def fleet_cold_tokens(
    repetitions: int, processes: int = 8, callers: int = 50
) -> dict[str, Any]:
    from sehatmu_async.sandbox import Sandbox

    r = await _redis()
    token_requests: list[int] = []
    seconds: list[float] = []
    try:
        for _ in range(max(1, repetitions)):
            prefix = f"sehatmu-bench:{uuid.uuid4().hex[:12]}:"
            async with Sandbox() as sandbox:
                settings = {
                    "url": sandbox.url,
                    "client_id": sandbox.client_id,
                    "client_secret": sandbox.client_secret,
                    "prefix": prefix,
                    "callers": callers,
                }
                workers = [
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "benchmarks._fleet_scenarios",
                        "--worker",
                        json.dumps(settings),
                        stdout=asyncio.subprocess.PIPE,
                    )
                    for _ in range(processes)
                ]
                try:
                    for w in workers:
                        await _read_event(w, "ready")
                    started = time.time()
                    await r.set(prefix + "go", "1", ex=120)
                    results = [await _read_event(w, "done") for w in workers]
                finally:
                    for w in workers:
                        if w.returncode is None:
                            w.kill()
                        await w.wait()
                token_requests.append(sandbox.counters.token_requests)
                seconds.append(max(x["at"] for x in results) - started)
                assert all(x["distinct"] == 1 for x in results)
            await _drop_prefix(r, prefix)
    finally:
        await r.aclose()
    return {
        "processes": processes,
        "callers_per_process": callers,
        "token_requests": max(token_requests),
        "token_requests_each_run": token_requests,
        "seconds_until_all_have_a_token_median": statistics.median(seconds),
    }


# -- fast path overhead ----------------------------------------------------------------


async def _per_call_ns(call: Callable[[], Awaitable[Any]], n: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(n):
        await call()
    return (time.perf_counter_ns() - started) / n


@scenario("fleet_fast_path")
async def fleet_fast_path(repetitions: int, calls: int = 20_000) -> dict[str, Any]:
    from sehatmu_async import MemoryTokenStore, RedisTokenStore, SehatMuClient
    from sehatmu_async.sandbox import Sandbox

    r = await _redis()
    prefix = f"sehatmu-bench:{uuid.uuid4().hex[:12]}:"
    figures: dict[str, list[float]] = {"none": [], "memory": [], "redis": []}
    try:
        async with Sandbox() as sandbox:
            clients = {
                "none": SehatMuClient(
                    sandbox.client_id, sandbox.client_secret, base_url=sandbox.url
                ),
                "memory": SehatMuClient(
                    sandbox.client_id,
                    sandbox.client_secret,
                    base_url=sandbox.url,
                    token_store=MemoryTokenStore(),
                ),
                "redis": SehatMuClient(
                    sandbox.client_id,
                    sandbox.client_secret,
                    base_url=sandbox.url,
                    token_store=RedisTokenStore(r, prefix=prefix),
                ),
            }
            for client in clients.values():
                await client.token()  # warm: a fresh token in every cache
            before = (await r.info("stats"))["total_commands_processed"]
            for _ in range(max(1, repetitions)):
                for name, client in clients.items():  # interleaved rounds
                    figures[name].append(await _per_call_ns(client.token, calls))
            redis_commands = (await r.info("stats"))["total_commands_processed"] - before - 1
            for client in clients.values():
                await client.aclose()
        await _drop_prefix(r, prefix)
    finally:
        await r.aclose()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {
        "calls_per_round": calls,
        "ns_per_call_no_store": round(medians["none"], 1),
        "ns_per_call_memory_store": round(medians["memory"], 1),
        "ns_per_call_redis_store": round(medians["redis"], 1),
        "redis_over_memory_ns": round(medians["redis"] - medians["memory"], 1),
        "redis_commands_during_fast_path": redis_commands,
    }


# -- rate limiter decision cost ----------------------------------------------------------


@scenario("fleet_rate_decision")
async def fleet_rate_decision(repetitions: int, calls: int = 2_000) -> dict[str, Any]:
    from sehatmu_async import LocalRateLimiter, RedisRateLimiter

    r = await _redis()
    prefix = f"sehatmu-bench:{uuid.uuid4().hex[:12]}:"
    # A rate no benchmark reaches: every acquire() is a decision without a wait.
    local = LocalRateLimiter(per_minute=1e12, burst=10**9)
    fleet = RedisRateLimiter(r, per_minute=1e12, burst=10**9, prefix=prefix).for_client(
        "https://bench.invalid", "bench"
    )
    figures: dict[str, list[float]] = {"local": [], "redis": [], "ping": []}
    try:
        await fleet.acquire()  # loads the script
        for _ in range(max(1, repetitions)):
            figures["local"].append(await _per_call_ns(local.acquire, calls))
            figures["redis"].append(await _per_call_ns(fleet.acquire, calls))
            figures["ping"].append(await _per_call_ns(r.ping, calls))
        await _drop_prefix(r, prefix)
    finally:
        await r.aclose()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {
        "calls_per_round": calls,
        "us_per_decision_local": round(medians["local"] / 1000, 2),
        "us_per_decision_redis": round(medians["redis"] / 1000, 2),
        "us_per_redis_ping": round(medians["ping"] / 1000, 2),
        "redis_decision_over_ping": round(medians["redis"] / medians["ping"], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._fleet_scenarios")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--only", choices=["fleet_cold_tokens", "fleet_fast_path", "fleet_rate_decision"]
    )
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(json.loads(args.worker)))
        return
    scenarios = {
        "fleet_cold_tokens": fleet_cold_tokens,
        "fleet_fast_path": fleet_fast_path,
        "fleet_rate_decision": fleet_rate_decision,
    }
    for name, run in scenarios.items():
        if args.only and name != args.only:
            continue
        result = asyncio.run(run(args.repetitions))
        print(json.dumps({name: result}), flush=True)


if __name__ == "__main__":
    main()
