"""Request rate limiting: the protocol the pipeline calls before every send, and two limiters.

The pipeline calls :meth:`RateLimiter.acquire` before each request except the token
request (the token service has its own rule: see the token cache's cool-down), bounded
by the call's remaining time budget, and :meth:`RateLimiter.pause` when the platform
answers 429 with a ``Retry-After``, so every caller sharing the limiter holds back.

Both limiters use GCRA (the generic cell rate algorithm): one number per limiter, the
*theoretical arrival time* of the next request. Each request reserves the next slot,
``60 / per_minute`` seconds after the previous one, and waits until its slot minus the
burst allowance; so in any 60 s at most ``per_minute + burst`` requests go out, and
callers queue in arrival order instead of retrying. A reservation is kept even when
its caller is cancelled while waiting (the limiter errs on the slow side).

* :class:`LocalRateLimiter`: in this process, on its monotonic clock.
* :class:`RedisRateLimiter`: one limit for a whole fleet, per client id. One Lua script
  per request (one round trip, atomic, on the Redis server's clock, so the processes'
  clocks do not matter) reserves the slot and honours the shared pause; a 429's pause
  is one more key every process reads. If Redis fails, the process goes on with a
  :class:`LocalRateLimiter` of the same rate (one warning) and tries Redis again after
  a few seconds: a call never fails because of the limiter.

The platform publishes no limit, so the default is no limiter. Other SDKs for it assume
300 requests a minute per organization; start there, and lower it if 429s appear (each
one pauses every process for its ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from ._redis_store import LuaScript
from ._token_store import scope_key
from .errors import ConfigurationError

__all__ = ["LocalRateLimiter", "RateLimiter", "RedisRateLimiter", "bind_rate_limiter"]

logger = logging.getLogger("sehatmu_async")

Sleep = Callable[[float], Awaitable[None]]


@runtime_checkable
class RateLimiter(Protocol):
    """Decides when the next request may go. Implementations must be safe to share."""

    async def acquire(self) -> None:
        """Wait until one more request may be sent now."""
        ...

    async def pause(self, seconds: float) -> None:
        """The platform asked everyone to wait ``seconds`` (a 429's ``Retry-After``)."""
        ...


def bind_rate_limiter(limiter: RateLimiter, base_url: str, client_id: str) -> RateLimiter:
    """The limiter for one client: a fleet limiter keys its state by the client id's hash.

    Limiters without a ``for_client(base_url, client_id)`` method are returned as they are.
    """
    bind = getattr(limiter, "for_client", None)
    if callable(bind):
        bound = bind(base_url, client_id)
        if isinstance(bound, RateLimiter):
            return bound
    return limiter


def _check_rate(per_minute: object, burst: object) -> tuple[float, int]:
    if (
        isinstance(per_minute, bool)
        or not isinstance(per_minute, (int, float))
        or not math.isfinite(per_minute)
        or per_minute <= 0
    ):
        raise ConfigurationError("per_minute must be a positive number of requests a minute")
    if burst is None:
        burst = max(1, int(per_minute // 60))  # about one second's worth
    if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
        raise ConfigurationError("burst must be a positive whole number of requests")
    return float(per_minute), burst


def _check_pause(seconds: object) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ConfigurationError("pause needs a number of seconds")
    if not math.isfinite(seconds) or seconds <= 0:
        return 0.0
    return float(seconds)


class LocalRateLimiter:
    """At most ``per_minute`` requests a minute (plus ``burst``) from this process.

    ``burst`` defaults to one second's worth (``per_minute // 60``, at least 1).
    """

    def __init__(
        self,
        per_minute: float,
        *,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.per_minute, self.burst = _check_rate(per_minute, burst)
        self._interval = 60.0 / self.per_minute
        self._tolerance = self._interval * (self.burst - 1)
        self._clock = clock
        self._sleep = sleep
        self._tat = float("-inf")
        self._pause_until = float("-inf")

    def __repr__(self) -> str:
        return f"LocalRateLimiter(per_minute={self.per_minute:g}, burst={self.burst})"

    def reserve(self) -> float:
        """Take the next slot; return the seconds to wait for it (0: send now)."""
        now = self._clock()
        start = max(now, self._pause_until)
        tat = max(self._tat, start)
        allowed_at = max(tat - self._tolerance, start)
        self._tat = tat + self._interval
        return allowed_at - now

    async def acquire(self) -> None:
        wait = self.reserve()
        while wait > 0:
            await self._sleep(wait)
            # A 429 seen while this caller waited pauses it too.
            wait = self._pause_until - self._clock()

    async def pause(self, seconds: float) -> None:
        seconds = _check_pause(seconds)
        self._pause_until = max(self._pause_until, self._clock() + seconds)


_GCRA = LuaScript(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local start = now
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then start = now + pause * 1000 end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < start then tat = start end
local allowed = tat - tonumber(ARGV[2])
if allowed < start then allowed = start end
local next_tat = tat + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX',
           math.ceil((next_tat - now) / 1000) + 1000)
return math.floor(allowed - now)
"""
)

_PAUSE = LuaScript(
    """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then redis.call('SET', KEYS[1], '1', 'PX', ms) end
return 1
"""
)


class RedisRateLimiter:
    """One request rate for every process using the same Redis and client id.

    ::

        limiter = RedisRateLimiter(redis.Redis.from_url(url), per_minute=300)
        client = SehatMuClient(cid, secret, rate_limiter=limiter)

    The client binds it to its base URL and client id (keys ``<prefix>{<hash>}:rate``
    and ``:pause``; no client id in them). ``burst`` defaults to one second's worth.
    """

    def __init__(
        self,
        redis: Any,
        *,
        per_minute: float,
        burst: int | None = None,
        prefix: str = "sehatmu:",
        sleep: Sleep = asyncio.sleep,
        retry_after_failure: float = 5.0,
        scope: str = "shared",
    ) -> None:
        if not isinstance(prefix, str):
            raise ConfigurationError("prefix must be a string such as 'myapp:sehatmu:'")
        self.per_minute, self.burst = _check_rate(per_minute, burst)
        self.redis = redis
        self.prefix = prefix
        self._sleep = sleep
        self._retry_after_failure = retry_after_failure
        self._scope = scope
        base = f"{prefix}{{{scope}}}:"
        self._keys = [base + "rate", base + "pause"]
        interval_us = 60_000_000.0 / self.per_minute
        self._args = [str(round(interval_us)), str(round(interval_us * (self.burst - 1)))]
        # Used while Redis fails; also holds this process's copy of a 429 pause.
        self._local = LocalRateLimiter(self.per_minute, burst=self.burst, sleep=sleep)
        self._down_until = float("-inf")
        self._down = False

    def __repr__(self) -> str:
        return f"RedisRateLimiter(per_minute={self.per_minute:g}, burst={self.burst})"

    def for_client(self, base_url: str, client_id: str) -> RedisRateLimiter:
        """This limiter's settings, keyed by one client's base URL and client id (hashed)."""
        return RedisRateLimiter(
            self.redis,
            per_minute=self.per_minute,
            burst=self.burst,
            prefix=self.prefix,
            sleep=self._sleep,
            retry_after_failure=self._retry_after_failure,
            scope=scope_key(base_url, client_id),
        )

    async def acquire(self) -> None:
        if time.monotonic() < self._down_until:
            await self._local.acquire()
            return
        try:
            wait_us = int(await _GCRA(self.redis, self._keys, self._args))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a call never fails because of the limiter
            self._failed(exc)
            await self._local.acquire()
            return
        self._recovered()
        if wait_us <= 0:
            return
        await self._sleep(wait_us / 1_000_000)
        # A 429 seen by any process while this caller waited pauses it too.
        await self._wait_for_pause()

    async def _wait_for_pause(self) -> None:
        try:
            left_ms = int(await self.redis.pttl(self._keys[1]))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)
            left_ms = 0
        local = self._local._pause_until - time.monotonic()
        wait = max(left_ms / 1000.0, local)
        if wait > 0:
            await self._sleep(wait)

    async def pause(self, seconds: float) -> None:
        seconds = _check_pause(seconds)
        if seconds <= 0:
            return
        await self._local.pause(seconds)
        try:
            await _PAUSE(self.redis, [self._keys[1]], [str(max(1, int(seconds * 1000)))])
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._retry_after_failure
        if not self._down:
            self._down = True
            logger.warning(
                "rate limiter store unavailable (%s: %.200s); meanwhile this process "
                "limits itself to %g requests a minute",
                type(exc).__name__,
                exc,
                self.per_minute,
            )

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            logger.info("rate limiter store is back; the fleet-wide limit holds again")
