"""The fleet algorithm of TokenCache, on a MemoryTokenStore and a fake clock.

Several TokenCache instances sharing one store stand for several processes sharing a
Redis: the same code path, deterministic time. The real-Redis and real-process versions
are in test_fleet_clients.py and test_fleet_processes.py.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import pytest
from _fleet_helpers import FakeClock

from sehatmu_async import AuthenticationError, MemoryTokenStore, ServerError, TokenStoreState
from sehatmu_async._auth import TokenCache
from sehatmu_async._token import AccessToken
from sehatmu_async._token_store import SharedFailure, SharedToken, TokenStore

LIFETIME = 3599.0
SCOPE = ("https://api.example", "cid-fleet")


class Fetcher:
    """Hands out ``tok-<name>-1``…; waits on ``gate``; fails with ``fail_with``."""

    def __init__(self, name: str, lifetime: float = LIFETIME) -> None:
        self.name = name
        self.lifetime = lifetime
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.fail_with: Exception | None = None

    async def __call__(self, requested_at: float) -> AccessToken:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        else:
            await asyncio.sleep(0)
        if self.fail_with is not None:
            raise self.fail_with
        return AccessToken(
            access_token=f"tok-{self.name}-{self.calls}",
            token_type="BearerToken",
            expires_in=self.lifetime,
            expires_at=requested_at + self.lifetime,
            expires_at_utc=datetime(2030, 1, 1, tzinfo=timezone.utc),
        )


class CountingStore:
    """Wraps a store and counts calls per method (the fast path must make none)."""

    def __init__(self, inner: TokenStore) -> None:
        self.inner = inner
        self.lock_ttl = inner.lock_ttl
        self.calls: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    async def load(self, key: str) -> TokenStoreState:
        self._count("load")
        return await self.inner.load(key)

    async def lock(self, key: str, owner: str) -> bool:
        self._count("lock")
        return await self.inner.lock(key, owner)

    async def unlock(self, key: str, owner: str) -> None:
        self._count("unlock")
        await self.inner.unlock(key, owner)

    async def publish(self, key: str, owner: str, token: SharedToken) -> None:
        self._count("publish")
        await self.inner.publish(key, owner, token)

    async def record_failure(self, key: str, owner: str, failure: SharedFailure) -> None:
        self._count("record_failure")
        await self.inner.record_failure(key, owner, failure)

    async def discard(self, key: str, access_token: str) -> bool:
        self._count("discard")
        return await self.inner.discard(key, access_token)


def fleet(
    n: int, clock: FakeClock, store: TokenStore | None = None, **kwargs: object
) -> tuple[list[TokenCache], list[Fetcher], TokenStore]:
    store = store or MemoryTokenStore(clock=clock, lock_ttl=5.0)
    kwargs.setdefault("jitter", 0.0)
    fetchers = [Fetcher(chr(ord("a") + i)) for i in range(n)]
    caches = [
        TokenCache(f, clock=clock, store=store, store_scope=SCOPE, **kwargs)  # type: ignore[arg-type]
        for f in fetchers
    ]
    return caches, fetchers, store


def refused() -> AuthenticationError:
    return AuthenticationError(
        "401 from POST /oauth2/v1/accesstoken: no access token was granted — check the "
        "client id and secret",
        status=401,
        method="POST",
        url="https://api.example/oauth2/v1/accesstoken",
        request_id="rid-1",
    )


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def test_cold_fleet_makes_one_token_request() -> None:
    clock = FakeClock()
    caches, fetchers, _ = fleet(8, clock)
    tokens = await asyncio.gather(*(c.get() for c in caches for _ in range(50)))
    assert sum(f.calls for f in fetchers) == 1
    assert len({t.access_token for t in tokens}) == 1
    assert sum(c.fetches for c in caches) == 1


async def test_fast_path_never_touches_the_store() -> None:
    clock = FakeClock()
    store = CountingStore(MemoryTokenStore(clock=clock))
    caches, _, _ = fleet(2, clock, store)
    await caches[0].get()
    await caches[1].get()
    before = dict(store.calls)
    for _ in range(1000):
        clock.advance(0.1)  # 100 s, far from the soft window
        await caches[0].get()
        await caches[1].get()
    assert store.calls == before


async def test_soft_window_renewal_is_done_once_for_the_fleet() -> None:
    clock = FakeClock()
    caches, fetchers, _ = fleet(4, clock)
    old = await caches[0].get()
    for c in caches[1:]:
        assert (await c.get()).access_token == old.access_token  # adopted, no request
    assert sum(f.calls for f in fetchers) == 1

    clock.advance(LIFETIME - 200)  # every cache in its soft window
    for c in caches:
        assert (await c.get()).access_token == old.access_token  # the old token, at once
        await settle()
    new = [await c.get() for c in caches]
    assert sum(f.calls for f in fetchers) == 2  # one renewal for all four
    assert len({t.access_token for t in new}) == 1
    assert new[0].access_token != old.access_token


async def test_soft_window_caller_does_not_wait_while_another_process_renews() -> None:
    clock = FakeClock()
    caches, fetchers, store = fleet(2, clock)
    await caches[0].get()
    await caches[1].get()
    clock.advance(LIFETIME - 200)
    fetchers[0].gate = asyncio.Event()
    await caches[0].get()  # a renews in the background and holds the lock
    await settle()
    assert (await store.load(caches[0]._key)).renewing
    old = await asyncio.wait_for(caches[1].get(), 0.5)  # b: the still-valid token, no wait
    await settle()
    assert fetchers[1].calls == 0
    fetchers[0].gate.set()
    await settle()
    clock.advance(2.0)  # b looks again after its re-check delay and adopts a's token
    assert (await caches[1].get()) is old
    await settle()
    assert (await caches[1].get()).access_token == "tok-a-2"
    assert fetchers[1].calls == 0


async def test_refused_secret_cools_down_the_whole_fleet() -> None:
    clock = FakeClock()
    caches, fetchers, _ = fleet(3, clock, failure_cooldown=60.0)
    for f in fetchers:
        f.fail_with = refused()
    with pytest.raises(AuthenticationError):
        await caches[0].get()
    for _ in range(10):
        clock.advance(5.0)
        for c in caches:
            with pytest.raises(AuthenticationError) as info:
                await c.get()
            assert info.value.status == 401
            assert info.value.request_id == "rid-1"
            assert "check the client id and secret" in str(info.value)
            assert "no new token request for" in str(info.value)
    assert sum(f.calls for f in fetchers) == 1
    clock.advance(10.0)  # 60 s after the refusal: one process asks again
    for f in fetchers:
        f.fail_with = None
    tokens = [await c.get() for c in caches]
    assert sum(f.calls for f in fetchers) == 2
    assert len({t.access_token for t in tokens}) == 1


async def test_5xx_back_off_is_shared_and_grows_across_processes() -> None:
    clock = FakeClock()
    caches, fetchers, _ = fleet(3, clock, renew_backoff=1.0, renew_backoff_cap=60.0)
    outage = ServerError(
        "503 from POST /oauth2/v1/accesstoken: the platform failed",
        status=503,
        method="POST",
        url="https://api.example/oauth2/v1/accesstoken",
    )
    for f in fetchers:
        f.fail_with = outage
    attempts: list[float] = []
    start = clock.now
    while clock.now < start + 20.0:
        before = sum(f.calls for f in fetchers)
        for c in caches:  # each "process" asks in turn
            with pytest.raises(ServerError):
                await c.get()
        if sum(f.calls for f in fetchers) > before:
            attempts.append(round(clock.now - start, 1))
        clock.advance(0.1)
    # One request at a time for the whole fleet; the back-off doubles whoever sends it.
    assert attempts == [0.0, 1.0, 3.0, 7.0, 15.0]


async def test_401_drops_the_shared_token_only_if_it_is_still_the_refused_one() -> None:
    clock = FakeClock()
    caches, fetchers, store = fleet(3, clock)
    stale = await caches[0].get()
    stale_b = await caches[1].get()
    stale_c = await caches[2].get()
    # The server restarts: every token is refused. a sees the 401 first and renews.
    caches[0].invalidate(stale)
    fresh = await caches[0].get()
    assert fresh.access_token != stale.access_token
    # b and c saw the 401 with the old token later: they must not throw the fresh one away.
    caches[1].invalidate(stale_b)
    caches[2].invalidate(stale_c)
    assert (await caches[1].get()).access_token == fresh.access_token
    assert (await caches[2].get()).access_token == fresh.access_token
    assert sum(f.calls for f in fetchers) == 2
    state = await store.load(caches[0]._key)
    assert state.token is not None
    assert state.token.access_token == fresh.access_token


async def test_401_on_every_process_at_once_renews_once() -> None:
    clock = FakeClock()
    caches, fetchers, _ = fleet(5, clock)
    stale = [await c.get() for c in caches]
    for c, t in zip(caches, stale, strict=True):
        c.invalidate(t)
    fresh = await asyncio.gather(*(c.get() for c in caches for _ in range(20)))
    assert sum(f.calls for f in fetchers) == 2
    assert len({t.access_token for t in fresh}) == 1


async def test_killed_lock_holder_delays_the_fleet_at_most_lock_ttl() -> None:
    clock = FakeClock()
    store = MemoryTokenStore(clock=clock, lock_ttl=0.4)
    caches, fetchers, _ = fleet(1, clock, store)
    await store.lock(caches[0]._key, "a-process-killed-with-sigkill")
    task = asyncio.ensure_future(caches[0].get())
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting for the holder
    clock.advance(0.4)  # the dead holder's lock expires
    token = await asyncio.wait_for(task, 2.0)
    assert token.access_token == "tok-a-1"
    assert fetchers[0].calls == 1


class BrokenStore(MemoryTokenStore):
    """A store that fails (like an unreachable Redis) while ``broken`` is set."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.broken = True
        self.hang = False

    async def load(self, key: str) -> TokenStoreState:
        if self.hang:
            await asyncio.sleep(3600)
        if self.broken:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")
        return await super().load(key)


async def test_store_down_means_local_tokens_one_warning_and_sharing_again_when_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="sehatmu_async")
    clock = FakeClock()
    store = BrokenStore(clock)
    caches, _fetchers, _ = fleet(2, clock, store, store_retry=5.0)
    a, b = caches
    # Down: each process renews on its own, and the calls never fail.
    for _ in range(4):
        assert (await a.get()).access_token.startswith("tok-a")
        assert (await b.get()).access_token.startswith("tok-b")
        clock.advance(LIFETIME)  # expired: renew again
    down = [r for r in caplog.records if "token store unavailable" in r.getMessage()]
    assert len(down) == 2  # once per process, not once per renewal
    assert "Connection refused" in down[0].getMessage()
    # Back: the next renewal goes through the store again and the fleet shares one token.
    store.broken = False
    caplog.clear()
    clock.advance(5.0)
    ta = await a.get()
    tb = await b.get()
    assert ta.access_token == tb.access_token
    back = [r for r in caplog.records if "is back" in r.getMessage()]
    assert len(back) == 2
    state = await store.load(a._key)
    assert state.token is not None


async def test_a_hanging_store_is_bounded_by_the_store_timeout() -> None:
    clock = FakeClock()
    store = BrokenStore(clock)
    store.hang = True
    caches, _fetchers, _ = fleet(1, clock, store, store_timeout=0.05)
    token = await asyncio.wait_for(caches[0].get(), 2.0)
    assert token.access_token == "tok-a-1"


async def test_two_clients_sharing_a_memory_store_share_one_token() -> None:
    clock = FakeClock()
    caches, fetchers, _ = fleet(2, clock, MemoryTokenStore(clock=clock))
    t1, t2 = await asyncio.gather(caches[0].get(), caches[1].get())
    assert t1.access_token == t2.access_token
    assert sum(f.calls for f in fetchers) == 1


async def test_aclose_of_a_lock_holder_frees_the_lock() -> None:
    clock = FakeClock()
    caches, fetchers, store = fleet(2, clock)
    fetchers[0].gate = asyncio.Event()
    waiter = asyncio.ensure_future(caches[0].get())
    await settle()
    assert (await store.load(caches[0]._key)).renewing
    await caches[0].aclose()
    await asyncio.gather(waiter, return_exceptions=True)
    assert not (await store.load(caches[0]._key)).renewing
    assert (await caches[1].get()).access_token == "tok-b-1"  # no wait for a dead lock
