"""TokenCache with a fake clock and an Event-gated fake fetcher: no real sleeps."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timezone

import pytest
from _foundation_helpers import FakeClock

from sehatmu_async._auth import TokenCache
from sehatmu_async._token import AccessToken
from sehatmu_async.errors import (
    AuthenticationError,
    ConfigurationError,
    RateLimitError,
    ServerError,
    TransportError,
)

LIFETIME = 3599.0


class FakeFetcher:
    """Hands out ``tok-1``, ``tok-2``…; waits on ``gate`` when one is set; can fail."""

    def __init__(self, clock: FakeClock, lifetime: float = LIFETIME) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.requested_at: list[float] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.fail_with: Exception | None = None
        self.cancelled = 0

    async def __call__(self, requested_at: float) -> AccessToken:
        self.calls += 1
        self.requested_at.append(requested_at)
        self.started.set()
        try:
            if self.gate is not None:
                await self.gate.wait()
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        if self.fail_with is not None:
            raise self.fail_with
        return AccessToken(
            access_token=f"tok-{self.calls}",
            token_type="BearerToken",
            expires_in=self.lifetime,
            expires_at=requested_at + self.lifetime,
            expires_at_utc=datetime(2030, 1, 1, tzinfo=timezone.utc),
        )


def make_cache(
    lifetime: float = LIFETIME, **kwargs: object
) -> tuple[TokenCache, FakeFetcher, FakeClock]:
    clock = FakeClock(start=1000.0)
    fetcher = FakeFetcher(clock, lifetime)
    kwargs.setdefault("jitter", 0.0)
    cache = TokenCache(fetcher, clock=clock, **kwargs)  # type: ignore[arg-type]
    return cache, fetcher, clock


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def server_error() -> ServerError:
    return ServerError(
        "503 from POST /oauth2/v1/accesstoken: the platform failed — try again later",
        status=503,
        method="POST",
        url="https://x/oauth2/v1/accesstoken",
    )


async def test_cold_cache_fetches_once_and_fast_path_never_awaits_the_fetcher() -> None:
    cache, fetcher, clock = make_cache()
    assert cache.current is None
    token = await cache.get()
    assert token.access_token == "tok-1"
    assert fetcher.requested_at == [1000.0]  # the clock before the request was sent
    assert cache.current is token

    # Fast path: a gate that is never opened proves the fetcher is not awaited.
    fetcher.gate = asyncio.Event()
    for step in range(100):
        clock.advance(2.0)  # up to 200 s later, still before the soft window
        assert await asyncio.wait_for(cache.get(), timeout=1) is token, step
    assert fetcher.calls == 1
    assert cache.fetches == 1


async def test_concurrent_cold_callers_share_one_fetch() -> None:
    cache, fetcher, _ = make_cache()
    fetcher.gate = asyncio.Event()
    waiters = [asyncio.ensure_future(cache.get()) for _ in range(200)]
    await settle()
    assert fetcher.calls == 1
    assert not any(w.done() for w in waiters)
    fetcher.gate.set()
    tokens = await asyncio.gather(*waiters)
    assert {t.access_token for t in tokens} == {"tok-1"}
    assert fetcher.calls == 1


async def test_soft_window_one_background_renewal_others_keep_the_old_token() -> None:
    cache, fetcher, clock = make_cache()
    old = await cache.get()
    fetcher.gate = asyncio.Event()
    clock.advance(LIFETIME - 200)  # 200 s left: inside the 300 s soft window, outside 60 s hard

    # Every caller gets the still-valid token at once, while one renewal runs behind them.
    results = await asyncio.wait_for(asyncio.gather(*(cache.get() for _ in range(100))), 1)
    assert all(t is old for t in results)
    await settle()
    assert fetcher.calls == 2
    assert cache.fetches == 2
    assert fetcher.requested_at[1] == clock.now
    assert await cache.get() is old  # still the old one until the renewal lands
    assert fetcher.calls == 2

    fetcher.gate.set()
    await settle()
    new = await cache.get()
    assert new.access_token == "tok-2"
    assert fetcher.calls == 2


async def test_failed_soft_renewal_is_logged_not_raised_and_retried_after_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sehatmu_async")
    cache, fetcher, clock = make_cache(renew_backoff=1.0, renew_backoff_cap=60.0)
    old = await cache.get()
    clock.advance(LIFETIME - 200)
    fetcher.fail_with = server_error()

    assert await cache.get() is old  # starts the renewal, does not raise
    await settle()
    assert fetcher.calls == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "renewal failed" in warnings[0].getMessage()
    assert "ServerError" in warnings[0].getMessage()
    assert "next try in 1.0 s" in warnings[0].getMessage()

    # Within the back-off: the old token, and no new attempt.
    for _ in range(20):
        clock.advance(0.04)
        assert await cache.get() is old
        await settle()
    assert fetcher.calls == 2

    # After the back-off: one more try (it fails too; the back-off doubles).
    clock.advance(0.3)
    assert await cache.get() is old
    await settle()
    assert fetcher.calls == 3
    assert "next try in 2.0 s" in caplog.records[-1].getMessage()
    clock.advance(1.5)
    assert await cache.get() is old
    await settle()
    assert fetcher.calls == 3

    # The platform recovers: the next try after the back-off renews.
    fetcher.fail_with = None
    clock.advance(0.6)
    assert await cache.get() is old
    await settle()
    assert fetcher.calls == 4
    assert (await cache.get()).access_token == "tok-4"


async def test_hard_window_callers_wait_and_failure_reaches_all_then_is_not_cached() -> None:
    cache, fetcher, clock = make_cache()
    await cache.get()
    clock.advance(LIFETIME - 30)  # 30 s left: inside the hard window
    fetcher.gate = asyncio.Event()
    fetcher.fail_with = server_error()

    waiters = [asyncio.ensure_future(cache.get()) for _ in range(10)]
    await settle()
    assert not any(w.done() for w in waiters)  # they wait for the renewal
    assert fetcher.calls == 2
    fetcher.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ServerError) for r in results)
    assert len({id(r) for r in results}) == 1  # one failure, shared

    # Not cached: after the 1 s back-off the next call tries again, and succeeds. During
    # it, the still-valid token is handed out and no token request is sent.
    fetcher.fail_with = None
    assert (await cache.get()).access_token == "tok-1"
    assert fetcher.calls == 2
    clock.advance(1.0)
    token = await cache.get()
    assert token.access_token == "tok-3"
    assert fetcher.calls == 3


async def test_expired_token_waits_for_a_new_one() -> None:
    cache, fetcher, clock = make_cache()
    await cache.get()
    clock.advance(LIFETIME + 100)
    token = await cache.get()
    assert token.access_token == "tok-2"
    assert fetcher.calls == 2


async def test_background_renewal_in_flight_is_joined_by_hard_window_callers() -> None:
    cache, fetcher, clock = make_cache()
    old = await cache.get()
    fetcher.gate = asyncio.Event()
    clock.advance(LIFETIME - 200)
    assert await cache.get() is old  # background renewal starts
    clock.advance(170)  # now in the hard window with that renewal still running
    waiter = asyncio.ensure_future(cache.get())
    await settle()
    assert not waiter.done()
    fetcher.gate.set()
    assert (await waiter).access_token == "tok-2"
    assert fetcher.calls == 2


async def test_failing_background_renewal_joined_in_the_hard_window_raises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache, fetcher, clock = make_cache()
    old = await cache.get()
    fetcher.gate = asyncio.Event()
    fetcher.fail_with = server_error()
    clock.advance(LIFETIME - 200)
    assert await cache.get() is old  # background renewal starts
    clock.advance(170)  # the hard window arrives while it still runs
    waiter = asyncio.ensure_future(cache.get())
    await settle()
    fetcher.gate.set()
    with pytest.raises(ServerError):
        await waiter
    # The next call in the hard window tries again once the back-off is over.
    fetcher.fail_with = None
    assert (await cache.get()) is old  # within the back-off: still valid, no request
    assert fetcher.calls == 2
    clock.advance(1.0)
    assert (await cache.get()).access_token == "tok-3"


@pytest.mark.parametrize("lifetime", [4.0, 1.0, 0.5])
async def test_short_lived_token_causes_no_renewal_loop(lifetime: float) -> None:
    """expires_in shorter than both windows: renew about every lifetime/2, never per call."""
    cache, fetcher, clock = make_cache(lifetime=lifetime)
    duration = 40.0
    step = lifetime / 16
    calls = 0
    while clock.now < 1000.0 + duration:
        token = await cache.get()
        calls += 1
        assert clock.now < token.expires_at  # never hand out an expired token
        await asyncio.sleep(0)
        clock.advance(step)
    # Renewed when half the lifetime is left (jitter 0): once per lifetime/2 of clock time.
    assert calls == round(duration / step)
    assert fetcher.calls == pytest.approx(duration / (lifetime / 2), abs=1)


async def test_short_lifetime_with_jitter_still_bounded() -> None:
    cache, fetcher, clock = make_cache(lifetime=4.0, jitter=0.2, rng=random.Random(3))
    for _ in range(400):
        await cache.get()
        await asyncio.sleep(0)
        clock.advance(0.1)
    # 40 s of clock; renewals every 2.0-2.4 s.
    assert 16 <= fetcher.calls <= 21


async def test_cancelling_the_caller_that_started_the_renewal_does_not_cancel_it() -> None:
    cache, fetcher, _ = make_cache()
    fetcher.gate = asyncio.Event()
    first = asyncio.ensure_future(cache.get())
    await settle()
    second = asyncio.ensure_future(cache.get())
    await settle()
    assert fetcher.calls == 1
    first.cancel()
    await settle()
    assert first.cancelled()
    assert fetcher.cancelled == 0
    fetcher.gate.set()
    assert (await second).access_token == "tok-1"
    assert fetcher.calls == 1
    assert cache.current is not None
    assert (await cache.get()).access_token == "tok-1"


async def test_all_waiters_cancelled_leaves_the_cache_usable() -> None:
    cache, fetcher, clock = make_cache()
    fetcher.gate = asyncio.Event()
    fetcher.fail_with = server_error()
    waiters = [asyncio.ensure_future(cache.get()) for _ in range(5)]
    await settle()
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    fetcher.gate.set()
    await settle()  # the renewal fails with nobody waiting: nothing stored, nothing wedged
    assert cache.current is None
    fetcher.fail_with = None
    with pytest.raises(ServerError):  # the 1 s back-off after the failure
        await cache.get()
    clock.advance(1.0)
    assert (await asyncio.wait_for(cache.get(), 1)).access_token == "tok-2"


async def test_401_race_two_callers_invalidate_the_same_token_one_fetch() -> None:
    cache, fetcher, _ = make_cache()
    stale = await cache.get()
    fetcher.gate = asyncio.Event()

    async def caller_after_401() -> AccessToken:
        cache.invalidate(stale)
        return await cache.get()

    a = asyncio.ensure_future(caller_after_401())
    b = asyncio.ensure_future(caller_after_401())
    await settle()
    fetcher.gate.set()
    fresh_a, fresh_b = await asyncio.gather(a, b)
    assert fresh_a is fresh_b
    assert fresh_a.access_token == "tok-2"
    assert fetcher.calls == 2

    # A late 401 with the old token must not throw the fresh one away.
    cache.invalidate(stale)
    assert cache.current is fresh_a
    assert await cache.get() is fresh_a
    assert fetcher.calls == 2


async def test_aclose_cancels_an_inflight_renewal() -> None:
    cache, fetcher, _ = make_cache()
    fetcher.gate = asyncio.Event()
    waiter = asyncio.ensure_future(cache.get())
    await fetcher.started.wait()
    await cache.aclose()
    assert fetcher.cancelled == 1
    # The waiter was not cancelled itself: it gets a typed error, not a cancellation.
    with pytest.raises(TransportError, match="closed while waiting for an access token"):
        await waiter
    assert not waiter.cancelled()
    assert cache.current is None


async def test_aclose_cancels_a_background_renewal() -> None:
    cache, fetcher, clock = make_cache()
    old = await cache.get()
    fetcher.gate = asyncio.Event()
    fetcher.started.clear()
    clock.advance(LIFETIME - 200)
    assert await cache.get() is old
    await fetcher.started.wait()
    await cache.aclose()
    assert fetcher.cancelled == 1


async def test_transport_error_in_hard_window_reaches_the_caller() -> None:
    cache, fetcher, _ = make_cache()
    fetcher.fail_with = TransportError("POST /oauth2/v1/accesstoken: refused")
    with pytest.raises(TransportError):
        await cache.get()
    assert cache.current is None


def test_windows_are_validated() -> None:
    with pytest.raises(ConfigurationError):
        TokenCache(FakeFetcher(FakeClock()), soft_window=30, hard_window=60)
    with pytest.raises(ConfigurationError):
        TokenCache(FakeFetcher(FakeClock()), jitter=1.0)
    assert "tok" not in repr(TokenCache(FakeFetcher(FakeClock())))


# -- cool-down after a failed token request (the platform: one try a minute after a failure)


def refused() -> AuthenticationError:
    return AuthenticationError(
        "401 from POST /oauth2/v1/accesstoken: no access token was granted (bad client) — "
        "check the client id and secret",
        status=401,
        method="POST",
        url="https://x/oauth2/v1/accesstoken",
        request_id="rid-7",
    )


async def test_refused_secret_stops_token_requests_for_the_cooldown() -> None:
    cache, fetcher, clock = make_cache(failure_cooldown=60.0)
    fetcher.fail_with = refused()
    fetcher.gate = asyncio.Event()
    first = [asyncio.ensure_future(cache.get()) for _ in range(200)]
    await settle()
    fetcher.gate.set()
    results = await asyncio.gather(*first, return_exceptions=True)
    assert fetcher.calls == 1  # single flight holds for the failure
    assert all(isinstance(r, AuthenticationError) for r in results)

    # 200 callers looping every 0.5 s for a minute: no token request, the refusal at once.
    fetcher.gate = asyncio.Event()  # never opened: a token request would hang the test
    seen: set[int] = set()
    for _ in range(119):
        clock.advance(0.5)
        for _ in range(200):
            with pytest.raises(AuthenticationError) as info:
                await cache.get()
            err = info.value
            assert err.status == 401
            assert err.request_id == "rid-7"
            assert "check the client id and secret" in str(err)
            assert "no new token request for" in str(err)
            assert len(list_frames(err)) < 5  # a fresh error: no tracebacks piled up
            seen.add(id(err))
    assert fetcher.calls == 1
    assert cache.fetches == 1
    assert str(fetcher.fail_with) == str(refused())  # the original is left as it was

    # The cool-down is over: exactly one new request.
    clock.advance(0.5)
    fetcher.gate.set()
    fetcher.fail_with = None
    assert (await cache.get()).access_token == "tok-2"
    assert fetcher.calls == 2


def list_frames(err: BaseException) -> list[object]:
    frames = []
    tb = err.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    return frames


async def test_cooldown_is_a_setting() -> None:
    cache, fetcher, clock = make_cache(failure_cooldown=5.0)
    fetcher.fail_with = refused()
    with pytest.raises(AuthenticationError):
        await cache.get()
    clock.advance(4.9)
    with pytest.raises(AuthenticationError, match="no new token request for 0 s"):
        await cache.get()
    assert fetcher.calls == 1
    clock.advance(0.1)
    with pytest.raises(AuthenticationError):
        await cache.get()
    assert fetcher.calls == 2


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf"), True, "60"])
def test_cooldown_setting_is_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="failure_cooldown"):
        TokenCache(FakeFetcher(FakeClock()), failure_cooldown=bad)  # type: ignore[arg-type]


async def test_5xx_failures_back_off_growing_and_shared_by_every_caller() -> None:
    cache, fetcher, clock = make_cache(renew_backoff=1.0, renew_backoff_cap=8.0)
    fetcher.fail_with = server_error()
    attempts_at: list[float] = []
    start = clock.now
    # 50 callers loop every 0.1 s for 30 s of outage.
    while clock.now < start + 30.0:
        before = fetcher.calls
        results = await asyncio.gather(*(cache.get() for _ in range(50)), return_exceptions=True)
        assert all(isinstance(r, ServerError) for r in results)
        assert fetcher.calls - before <= 1  # one request at a time, whatever the callers
        if fetcher.calls > before:
            attempts_at.append(round(clock.now - start, 1))
        clock.advance(0.1)
    # Back-off 1, 2, 4, 8, 8 … s after each failure (capped at 8).
    assert attempts_at == [0.0, 1.0, 3.0, 7.0, 15.0, 23.0]
    # Recovery: the next try after the back-off succeeds, and the back-off resets.
    fetcher.fail_with = None
    clock.advance(8.0)
    assert (await cache.get()).access_token == "tok-7"


async def test_429_retry_after_lengthens_the_backoff() -> None:
    cache, fetcher, clock = make_cache(renew_backoff=1.0)
    fetcher.fail_with = RateLimitError(
        "429 from POST /oauth2/v1/accesstoken: rate limited",
        retry_after=30.0,
        status=429,
        method="POST",
        url="https://x/oauth2/v1/accesstoken",
    )
    with pytest.raises(RateLimitError):
        await cache.get()
    clock.advance(29.0)
    with pytest.raises(RateLimitError, match=r"next one is allowed in 1\.0 s"):
        await cache.get()
    fetcher.fail_with = None
    clock.advance(1.0)
    assert (await cache.get()).access_token == "tok-2"
    assert fetcher.calls == 2


async def test_valid_token_is_used_during_a_cooldown_until_it_expires() -> None:
    cache, fetcher, clock = make_cache(failure_cooldown=120.0)
    old = await cache.get()
    clock.advance(LIFETIME - 100)  # soft window: a background renewal is refused
    fetcher.fail_with = refused()
    assert await cache.get() is old
    await settle()
    assert fetcher.calls == 2
    clock.advance(55.0)  # 45 s left: the hard window, but cooling down: the token still works
    assert await cache.get() is old
    assert fetcher.calls == 2
    clock.advance(44.0)
    assert await cache.get() is old
    clock.advance(1.0)  # expired, still cooling down: the refusal, no request
    with pytest.raises(AuthenticationError):
        await cache.get()
    assert fetcher.calls == 2


async def test_invalidated_token_during_a_cooldown_gets_the_failure_not_a_request() -> None:
    cache, fetcher, clock = make_cache()
    old = await cache.get()
    clock.advance(LIFETIME - 30)  # hard window
    fetcher.fail_with = refused()
    with pytest.raises(AuthenticationError):
        await cache.get()
    cache.invalidate(old)  # a 401 on a data call
    with pytest.raises(AuthenticationError):
        await cache.get()
    assert fetcher.calls == 2
