"""LocalRateLimiter (fake clock) and RedisRateLimiter (a real Redis)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from _fleet_helpers import CLIENT_ID, FakeClock, free_port

from sehatmu_async import LocalRateLimiter, RateLimiter, RedisRateLimiter
from sehatmu_async._rate_limit import bind_rate_limiter
from sehatmu_async.errors import ConfigurationError


class Sleeper:
    """Records sleeps; moves ``clock`` (if any) and yields once."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)
        await asyncio.sleep(0)


def local(per_minute: float, burst: int = 1) -> tuple[LocalRateLimiter, FakeClock, Sleeper]:
    clock = FakeClock()
    sleeper = Sleeper(clock)
    return LocalRateLimiter(per_minute, burst=burst, clock=clock, sleep=sleeper), clock, sleeper


async def test_local_limiter_spaces_requests_evenly() -> None:
    limiter, clock, _ = local(60)  # one a second
    sent = []
    for _ in range(5):
        await limiter.acquire()
        sent.append(clock.now - 1000.0)
    assert sent == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert isinstance(limiter, RateLimiter)


async def test_local_limiter_burst_then_steady_rate() -> None:
    limiter, clock, _ = local(60, burst=3)
    sent = []
    for _ in range(6):
        await limiter.acquire()
        sent.append(clock.now - 1000.0)
    assert sent == [0.0, 0.0, 0.0, 1.0, 2.0, 3.0]


async def test_local_limiter_never_exceeds_the_rate_in_any_minute() -> None:
    limiter, clock, _ = local(300, burst=5)
    sent: list[float] = []
    for _ in range(1000):
        await limiter.acquire()
        sent.append(clock.now)
    worst = max(sum(t <= u < t + 60.0 for u in sent) for t in sent[::25])
    assert worst <= 300 + 5
    assert sent[-1] - sent[0] == pytest.approx((1000 - 5) * 0.2, abs=0.01)


async def test_concurrent_callers_queue_in_order() -> None:
    limiter, _, _ = local(60)
    waits = [limiter.reserve() for _ in range(4)]
    assert waits == [0.0, 1.0, 2.0, 3.0]


async def test_pause_holds_every_caller_including_those_already_waiting() -> None:
    limiter, clock, _sleeper = local(60)
    await limiter.acquire()
    await limiter.pause(10.0)  # a 429 with Retry-After: 10
    await limiter.acquire()
    assert clock.now - 1000.0 == pytest.approx(10.0)
    # A caller waiting for its slot when the pause arrives waits for the pause as well.
    limiter2, clock2, sleeper2 = local(60)
    await limiter2.acquire()
    first = True

    async def sleep_then_pause(seconds: float) -> None:
        nonlocal first
        if first:  # halfway through this caller's wait, another caller sees a 429
            first = False
            clock2.advance(seconds / 2)
            await limiter2.pause(5.0)
            clock2.advance(seconds / 2)
        else:
            await sleeper2(seconds)

    limiter2._sleep = sleep_then_pause  # type: ignore[assignment]
    await asyncio.wait_for(limiter2.acquire(), 1.0)
    assert clock2.now - 1000.0 == pytest.approx(0.5 + 5.0)


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "300"])
def test_rate_is_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="per_minute"):
        LocalRateLimiter(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_burst_is_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="burst"):
        LocalRateLimiter(60, burst=bad)  # type: ignore[arg-type]


async def test_pause_ignores_nonsense() -> None:
    limiter, clock, _ = local(60)
    await limiter.pause(float("nan"))
    await limiter.pause(-5)
    await limiter.acquire()
    assert clock.now == 1000.0
    with pytest.raises(ConfigurationError):
        await limiter.pause("10")  # type: ignore[arg-type]


# -- RedisRateLimiter on a real Redis -----------------------------------------------------


def redis_limiter(redis_client: Any, prefix: str, **kw: Any) -> tuple[RedisRateLimiter, Sleeper]:
    sleeper = Sleeper()
    kw.setdefault("per_minute", 600)
    kw.setdefault("burst", 1)
    limiter = RedisRateLimiter(redis_client, prefix=prefix, sleep=sleeper, **kw)
    return limiter.for_client("https://api.example", CLIENT_ID), sleeper


async def test_redis_limiter_reserves_consecutive_slots_across_instances(
    redis_client: Any, redis_url: str, prefix: str
) -> None:
    import redis.asyncio as redis

    other_connection = redis.Redis.from_url(redis_url)
    a, sleep_a = redis_limiter(redis_client, prefix)
    b, sleep_b = redis_limiter(other_connection, prefix)  # "another process"
    for _ in range(3):
        await a.acquire()
        await b.acquire()
    await other_connection.aclose()
    waits = sorted(sleep_a.calls + sleep_b.calls)
    # 10 a second: the first goes at once, the next five wait about 0.1, 0.2 … 0.5 s.
    assert len(waits) == 5
    for i, wait in enumerate(waits, start=1):
        assert wait == pytest.approx(0.1 * i, abs=0.05)


async def test_redis_limiter_keys_are_per_client_and_hold_no_client_id(
    redis_client: Any, prefix: str
) -> None:
    limiter = RedisRateLimiter(redis_client, per_minute=60, prefix=prefix, sleep=Sleeper())
    one = limiter.for_client("https://api.example", CLIENT_ID)
    two = limiter.for_client("https://api.example", "another-organization")
    await one.acquire()
    await two.acquire()  # its own bucket: no wait
    assert one._sleep.calls == []  # type: ignore[attr-defined]
    names = [k async for k in redis_client.scan_iter(match=prefix + "*")]
    assert len(names) == 2
    assert not any(CLIENT_ID.encode() in n for n in names)
    assert bind_rate_limiter(limiter, "https://api.example", CLIENT_ID)._keys == one._keys  # type: ignore[attr-defined]
    plain = LocalRateLimiter(60)
    assert bind_rate_limiter(plain, "https://api.example", CLIENT_ID) is plain


async def test_a_429_pause_is_shared_by_every_process(
    redis_client: Any, redis_url: str, prefix: str
) -> None:
    import redis.asyncio as redis

    other_connection = redis.Redis.from_url(redis_url)
    a, _ = redis_limiter(redis_client, prefix, per_minute=6000)
    b, sleep_b = redis_limiter(other_connection, prefix, per_minute=6000)
    await a.pause(2.0)  # a got a 429 with Retry-After: 2
    await b.acquire()
    await other_connection.aclose()
    assert sleep_b.calls
    assert sleep_b.calls[0] == pytest.approx(2.0, abs=0.1)


async def test_redis_down_falls_back_to_a_local_limit_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import redis.asyncio as redis

    caplog.set_level(logging.INFO, logger="sehatmu_async")
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    sleeper = Sleeper()
    limiter = RedisRateLimiter(dead, per_minute=60, burst=1, sleep=sleeper)
    for _ in range(3):
        await limiter.acquire()  # never raises
    await limiter.pause(1.0)
    warnings = [r for r in caplog.records if "rate limiter store unavailable" in r.getMessage()]
    assert len(warnings) == 1
    # The local fallback keeps the same rate: one a second.
    assert sleeper.calls[:2] == [pytest.approx(1.0, abs=0.05), pytest.approx(2.0, abs=0.05)]
    await dead.aclose()


def test_redis_limiter_settings_are_checked() -> None:
    with pytest.raises(ConfigurationError, match="per_minute"):
        RedisRateLimiter(object(), per_minute=0)
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisRateLimiter(object(), per_minute=60, prefix=3)  # type: ignore[arg-type]
    assert repr(RedisRateLimiter(object(), per_minute=300)) == (
        "RedisRateLimiter(per_minute=300, burst=5)"
    )
