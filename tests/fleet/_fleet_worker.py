"""One process of a test fleet: ``python _fleet_worker.py '<json settings>'``.

Prints JSON lines on stdout: ``{"event": "ready"}`` once its client exists, then waits for
the Redis key ``<prefix>go`` (the start barrier), runs its scenario, and prints
``{"event": "done", ...}`` with what it saw. Every loop is bounded in time.

Scenarios (``settings["scenario"]``):

* ``token``: ``callers`` concurrent ``client.token()`` calls, once.
* ``loop``: ``callers`` tasks calling the data route every ``every`` s for ``seconds`` s.
* ``limited``: like ``loop`` with no pause, each call first taking a slot of a
  ``RedisRateLimiter(per_minute=...)``. With ``client_rate_limiter``, the limiter is
  the client's ``rate_limiter=`` instead (and ``loop`` is the scenario).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

import redis.asyncio as redis

from sehatmu_async import RedisRateLimiter, RedisTokenStore, SehatMuClient


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def say(**event: Any) -> None:
    print(json.dumps(event), flush=True)


async def main(settings: dict[str, Any]) -> None:
    warnings = _Count()
    logging.getLogger("sehatmu_async").addHandler(warnings)
    logging.getLogger("sehatmu_async").setLevel(logging.INFO)
    r = redis.Redis.from_url(settings["redis_url"], socket_timeout=1.0, socket_connect_timeout=1.0)
    prefix = settings["prefix"]
    store = RedisTokenStore(r, prefix=prefix, lock_ttl=settings.get("lock_ttl", 5.0))
    extra: dict[str, Any] = {}
    if settings.get("client_rate_limiter"):  # the pipeline applies it to every call
        extra["rate_limiter"] = RedisRateLimiter(
            r, per_minute=settings["per_minute"], burst=settings.get("burst", 1), prefix=prefix
        )
    client = SehatMuClient(
        settings["client_id"],
        settings["client_secret"],
        base_url=settings["base_url"],
        token_store=store,
        **extra,
        token_soft_window=settings.get("soft_window", 300.0),
        token_hard_window=settings.get("hard_window", 60.0),
    )
    say(event="ready")
    deadline = time.monotonic() + 30.0
    while not await r.exists(prefix + "go"):
        if time.monotonic() > deadline:
            say(event="error", error="no start signal")
            return
        await asyncio.sleep(0.01)
    scenario = settings["scenario"]
    outcomes: dict[str, int] = {}
    tokens: set[str] = set()
    started = time.monotonic()
    first_token_at: float | None = None

    def record(outcome: str) -> None:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    async with client:
        if scenario == "token":

            async def one() -> None:
                nonlocal first_token_at
                try:
                    token = await client.token()
                except Exception as exc:
                    record(f"{type(exc).__name__}:{getattr(exc, 'status', '')}")
                    return
                if first_token_at is None:
                    first_token_at = time.time()
                tokens.add(token.access_token[-6:])
                record("ok")

            await asyncio.gather(*(one() for _ in range(settings["callers"])))
        else:
            limiter = None
            if scenario == "limited":
                limiter = RedisRateLimiter(
                    r, per_minute=settings["per_minute"], burst=settings.get("burst", 1)
                ).for_client(settings["base_url"], settings["client_id"])
            end = started + settings["seconds"]

            async def caller() -> None:
                while time.monotonic() < end:
                    try:
                        if limiter is not None:
                            await limiter.acquire()
                            if time.monotonic() >= end:
                                return
                        await client.request("GET", "/masterdata/v1/provinces")
                        record("ok")
                    except Exception as exc:
                        record(f"{type(exc).__name__}:{getattr(exc, 'status', '')}")
                        if settings.get("stop_on_error"):
                            return
                    await asyncio.sleep(settings.get("every", 0.0))

            await asyncio.gather(*(caller() for _ in range(settings["callers"])))
    await r.aclose()
    say(
        event="done",
        outcomes=outcomes,
        token_requests=client.token_requests,
        tokens=sorted(tokens),
        first_token_at=first_token_at,
        warnings=warnings.messages,
    )


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
