"""A real fleet: several worker PROCESSES sharing one Redis, against a local token server.

Each worker (``_fleet_worker.py``) is a separate Python process with its own
SehatMuClient and Redis connection; the token server runs in the test's event loop on
127.0.0.1 and counts what reaches it. Token lifetimes are seconds long so several
renewals fit in a short run; every run is bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from _fleet_helpers import CLIENT_ID, CLIENT_SECRET, RedisServer, TokenServer

WORKER = str(Path(__file__).with_name("_fleet_worker.py"))
TIMEOUT = 60.0


class Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.other_lines: list[str] = []

    async def event(self, name: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {name!r} from worker; it said: {self.other_lines}")
            line = await asyncio.wait_for(self.process.stdout.readline(), left)
            if not line:
                raise AssertionError(f"worker ended before {name!r}: {self.other_lines}")
            text = line.decode(errors="replace").strip()
            try:
                event = json.loads(text)
            except ValueError:
                self.other_lines.append(text)
                continue
            if event.get("event") == "error":
                raise AssertionError(f"worker failed: {event}")
            if event.get("event") == name:
                return dict(event)
            self.other_lines.append(text)


Spawn = Callable[..., Awaitable[Worker]]


@pytest.fixture
async def spawn(
    token_server: TokenServer, redis_url: str, prefix: str, redis_client: Any
) -> AsyncIterator[Spawn]:
    workers: list[Worker] = []

    async def start(**settings: Any) -> Worker:
        full = {
            "base_url": token_server.url,
            "redis_url": redis_url,
            "prefix": prefix,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "callers": 10,
            "scenario": "token",
            **settings,
        }
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            WORKER,
            json.dumps(full),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        worker = Worker(process)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        if worker.process.returncode is None:
            worker.process.kill()
        await worker.process.wait()


async def run_fleet(
    spawn: Spawn, redis_client: Any, prefix: str, n: int, **settings: Any
) -> list[Worker]:
    """Start ``n`` workers, wait until every one is ready, then let them all go at once."""
    workers = [await spawn(**settings) for _ in range(n)]
    for worker in workers:
        await worker.event("ready")
    await redis_client.set(prefix + "go", "1", ex=120)
    return workers


async def test_cold_fleet_makes_one_token_request(
    spawn: Spawn, token_server: TokenServer, redis_client: Any, prefix: str
) -> None:
    workers = await run_fleet(spawn, redis_client, prefix, 4, callers=50)
    results = [await w.event("done") for w in workers]
    assert token_server.token_requests == 1
    assert [r["outcomes"] for r in results] == [{"ok": 50}] * 4
    assert len({t for r in results for t in r["tokens"]}) == 1
    assert sum(r["token_requests"] for r in results) == 1
    print(f"\ncold fleet, 4 processes x 50 callers: {token_server.token_requests} token request")


async def test_renewal_over_several_token_lifetimes(
    spawn: Spawn, token_server: TokenServer, redis_client: Any, prefix: str
) -> None:
    token_server.lifetime = 3  # renewed ~1.2-1.5 s before expiry: about every 1.6 s
    workers = await run_fleet(
        spawn, redis_client, prefix, 3, scenario="loop", callers=5, every=0.05, seconds=8.0
    )
    results = [await w.event("done") for w in workers]
    outcomes = [r["outcomes"] for r in results]
    assert all(set(o) == {"ok"} for o in outcomes), outcomes
    # 8 s of 3 s tokens: about 5 renewals for the whole fleet (each process alone: ~15).
    renewals = token_server.token_requests
    print(f"\n3 processes, 8 s of 3 s tokens: {renewals} token requests")
    assert 3 <= renewals <= 8
    assert token_server.data_status.get(401, 0) == 0


async def test_revocation_renews_once_for_the_fleet(
    spawn: Spawn, token_server: TokenServer, redis_client: Any, prefix: str
) -> None:
    workers = await run_fleet(
        spawn, redis_client, prefix, 3, scenario="loop", callers=5, every=0.05, seconds=5.0
    )
    await asyncio.sleep(1.5)
    token_server.revoke_all()
    await asyncio.sleep(1.5)
    token_server.revoke_all()
    results = [await w.event("done") for w in workers]
    outcomes = [r["outcomes"] for r in results]
    assert all(set(o) == {"ok"} for o in outcomes), outcomes  # every 401 was renewed and repeated
    print(
        f"\n3 processes, 2 revocations: {token_server.token_requests} token requests, "
        f"{token_server.data_status.get(401, 0)} refused data requests repeated"
    )
    assert token_server.token_requests == 3  # the first token and one per revocation
    assert token_server.data_status.get(401, 0) >= 2


async def test_lock_holder_killed_with_sigkill_does_not_wedge_the_fleet(
    spawn: Spawn, token_server: TokenServer, redis_client: Any, prefix: str
) -> None:
    lock_ttl = 1.0
    token_server.token_delay = 5.0  # the holder's token request hangs
    holder = await spawn(lock_ttl=lock_ttl, callers=5)
    await holder.event("ready")
    await redis_client.set(prefix + "go", "1", ex=120)
    deadline = time.monotonic() + TIMEOUT
    while token_server.token_requests == 0:  # the holder has the lock and asked
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    others = [await spawn(lock_ttl=lock_ttl, callers=20) for _ in range(2)]
    for worker in others:
        await worker.event("ready")  # they start at once: "go" is set; the lock is held
    await asyncio.sleep(0.2)
    holder.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    token_server.token_delay = 0.0
    results = [await w.event("done") for w in others]
    recovery = min(r["first_token_at"] for r in results) - killed_at
    print(
        f"\nlock holder SIGKILLed (lock_ttl {lock_ttl} s): fleet had its token "
        f"{recovery:.2f} s later; {token_server.token_requests} token requests"
    )
    assert [r["outcomes"] for r in results] == [{"ok": 20}] * 2
    assert len({t for r in results for t in r["tokens"]}) == 1
    assert token_server.token_requests == 2  # the killed one's, and one for the rest
    assert recovery < lock_ttl + 1.5


async def test_redis_stopped_and_restarted_mid_run(
    spawn: Spawn, token_server: TokenServer, own_redis: RedisServer, prefix: str
) -> None:
    import redis.asyncio as redis

    token_server.lifetime = 2
    control = redis.Redis.from_url(own_redis.url)
    workers = [
        await spawn(redis_url=own_redis.url, scenario="loop", callers=3, every=0.05, seconds=10.0)
        for _ in range(3)
    ]
    for worker in workers:
        await worker.event("ready")
    await control.set(prefix + "go", "1", ex=120)
    await control.aclose()
    started = time.time()
    await asyncio.sleep(1.5)
    own_redis.stop()
    stopped = time.time()
    await asyncio.sleep(2.5)
    own_redis.start()
    restarted = time.time()
    results = [await w.event("done") for w in workers]
    outcomes = [r["outcomes"] for r in results]
    phases = {
        "before": sum(t < stopped for t in token_server.token_times),
        "down": sum(stopped <= t < restarted for t in token_server.token_times),
        "after": sum(t >= restarted for t in token_server.token_times),
    }
    print(
        f"\nRedis stopped {stopped - started:.1f} s in for {restarted - stopped:.1f} s, "
        f"3 processes, 2 s tokens: token requests {phases}; outcomes {outcomes}"
    )
    assert all(set(o) == {"ok"} for o in outcomes), outcomes  # no call failed
    for r in results:
        down = [m for m in r["warnings"] if "token store unavailable" in m]
        back = [m for m in r["warnings"] if "is back" in m]
        assert len(down) == 1, r["warnings"]  # one warning, then quiet
        assert len(back) == 1, r["warnings"]  # and it used the store again
    # After the restart the fleet shares again: fewer requests than three lone processes.
    after_seconds = 10.0 - (restarted - started)
    assert phases["after"] <= 3 * after_seconds / 0.8


async def test_wrong_secret_across_the_fleet(
    spawn: Spawn, token_server: TokenServer, redis_client: Any, prefix: str
) -> None:
    workers = await run_fleet(
        spawn,
        redis_client,
        prefix,
        4,
        scenario="loop",
        callers=20,
        every=0.05,
        seconds=3.0,
        client_secret="wrong-secret",
    )
    results = [await w.event("done") for w in workers]
    kinds = {k for r in results for k in r["outcomes"]}
    calls = sum(n for r in results for n in r["outcomes"].values())
    print(
        f"\nwrong secret, 4 processes x 20 callers, 3 s: {calls} calls, "
        f"{token_server.token_requests} token request"
    )
    assert kinds == {"AuthenticationError:401"}
    assert token_server.token_requests == 1
    assert calls > 400


@pytest.mark.parametrize("through_client", [False, True], ids=["acquire", "rate_limiter="])
async def test_rate_limit_holds_across_processes(
    spawn: Spawn, token_server: TokenServer, redis_client: Any, prefix: str, through_client: bool
) -> None:
    per_minute = 600  # 10 a second for the whole fleet
    seconds = 3.0
    workers = await run_fleet(
        spawn,
        redis_client,
        prefix,
        3,
        scenario="loop" if through_client else "limited",
        client_rate_limiter=through_client,
        callers=5,
        seconds=seconds,
        per_minute=per_minute,
        burst=1,
    )
    results = [await w.event("done") for w in workers]
    assert all(set(r["outcomes"]) == {"ok"} for r in results)
    times = sorted(token_server.data_times)
    busiest = max(sum(t <= u < t + 1.0 for u in times) for t in times)
    print(
        f"\nRedisRateLimiter 600/min, 3 processes x 5 callers, {seconds} s: "
        f"{len(times)} requests, busiest second {busiest}"
    )
    # Callers queued in the limiter when the run ends still send (a reservation each), so
    # bound the rate over windows, not the total.
    in_any_run = max(sum(t <= u < t + seconds for u in times) for t in times)
    assert in_any_run <= seconds * per_minute / 60 + 2
    assert len(times) >= 0.6 * seconds * per_minute / 60
    assert busiest <= 11
    assert {r["outcomes"]["ok"] > 0 for r in results} == {True}  # every process got turns
