"""The TokenStore contract, run on MemoryTokenStore and on RedisTokenStore (a real Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from _fleet_helpers import CLIENT_ID, CLIENT_SECRET, FakeClock

from sehatmu_async import (
    MemoryTokenStore,
    RedisTokenStore,
    SharedFailure,
    SharedToken,
    TokenStore,
    TokenStoreState,
)
from sehatmu_async._token_store import scope_key
from sehatmu_async.errors import ConfigurationError

KEY = scope_key("https://api.example", CLIENT_ID)


def shared(access_token: str = "AT-secret-token-1", ttl: float = 100.0) -> SharedToken:
    return SharedToken(
        access_token=access_token,
        token_type="BearerToken",
        expires_in=3599.0,
        ttl=ttl,
        scope="",
        issued_at=1671109805.593,
    )


def failure(ttl: float = 60.0, failures: int = 1) -> SharedFailure:
    return SharedFailure(
        error="AuthenticationError",
        message="401 from POST /oauth2/v1/accesstoken: no access token was granted",
        status=401,
        request_id="rid-9",
        failures=failures,
        ttl=ttl,
    )


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[TokenStore]:
    if request.param == "memory":
        yield MemoryTokenStore(lock_ttl=0.3)
    else:
        import redis.asyncio as redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        prefix = request.getfixturevalue("prefix")
        try:
            yield RedisTokenStore(client, prefix=prefix, lock_ttl=0.3)
        finally:
            keys = [key async for key in client.scan_iter(match=prefix + "*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


async def test_empty_scope_reads_as_nothing(store: TokenStore) -> None:
    assert isinstance(store, TokenStore)
    assert await store.load(KEY) == TokenStoreState()


async def test_lock_is_exclusive_extendable_and_released_only_by_its_owner(
    store: TokenStore,
) -> None:
    assert await store.lock(KEY, "owner-a")
    assert not await store.lock(KEY, "owner-b")
    assert (await store.load(KEY)).renewing
    assert await store.lock(KEY, "owner-a")  # the owner extends it
    await store.unlock(KEY, "owner-b")  # not the owner: no effect
    assert not await store.lock(KEY, "owner-b")
    await store.unlock(KEY, "owner-a")
    assert not (await store.load(KEY)).renewing
    assert await store.lock(KEY, "owner-b")


async def test_an_abandoned_lock_expires(store: TokenStore) -> None:
    assert await store.lock(KEY, "killed-holder")
    if isinstance(store, MemoryTokenStore):
        store._clock = FakeClock(start=1e9)  # type: ignore[assignment]
    else:
        await asyncio.sleep(0.4)  # lock_ttl is 0.3 s
    assert not (await store.load(KEY)).renewing
    assert await store.lock(KEY, "next-process")


async def test_publish_stores_the_token_for_its_ttl_and_releases_the_lock(
    store: TokenStore,
) -> None:
    assert await store.lock(KEY, "owner-a")
    await store.record_failure(KEY, "owner-a", failure(ttl=0.0, failures=2))
    assert await store.lock(KEY, "owner-a")
    await store.publish(KEY, "owner-a", shared(ttl=100.0))
    state = await store.load(KEY)
    assert not state.renewing
    assert state.failure is None  # a success forgets the failures
    assert state.token is not None
    assert state.token.access_token == "AT-secret-token-1"
    assert state.token.token_type == "BearerToken"
    assert state.token.expires_in == 3599.0
    assert 99.0 < state.token.ttl <= 100.0
    assert state.token.issued_at == pytest.approx(1671109805.593)
    assert "AT-secret" not in repr(state)


async def test_discard_drops_only_the_refused_token(store: TokenStore) -> None:
    await store.publish(KEY, "nobody", shared("AT-fresh"))
    assert not await store.discard(KEY, "AT-stale")  # a late 401 with an older token
    assert (await store.load(KEY)).token is not None
    assert await store.discard(KEY, "AT-fresh")
    assert (await store.load(KEY)).token is None


async def test_failure_cooldown_and_count(store: TokenStore) -> None:
    assert await store.lock(KEY, "owner-a")
    await store.record_failure(KEY, "owner-a", failure(ttl=60.0, failures=3))
    state = await store.load(KEY)
    assert not state.renewing
    assert state.failure is not None
    assert state.failure.error == "AuthenticationError"
    assert state.failure.status == 401
    assert state.failure.request_id == "rid-9"
    assert state.failure.failures == 3
    assert 59.0 < state.failure.ttl <= 60.0
    assert "no access token was granted" in state.failure.message


async def test_failure_count_outlives_a_short_cooldown(store: TokenStore) -> None:
    await store.record_failure(KEY, "owner-a", failure(ttl=0.05, failures=4))
    if isinstance(store, MemoryTokenStore):
        store._clock = FakeClock(start=1e9)  # type: ignore[assignment]
        state = await store.load(KEY)
        assert state.failure is None  # far beyond the memory
        return
    await asyncio.sleep(0.1)
    state = await store.load(KEY)
    assert state.failure is not None
    assert state.failure.ttl == 0.0
    assert state.failure.failures == 4


async def test_scopes_do_not_mix(store: TokenStore) -> None:
    other = scope_key("https://api.example", "another-client")
    await store.publish(KEY, "x", shared("AT-one"))
    assert (await store.load(other)).token is None


async def test_redis_keys_hold_no_client_id_and_no_secret(redis_client: Any, prefix: str) -> None:
    store = RedisTokenStore(redis_client, prefix=prefix)
    key = scope_key("https://api.example", CLIENT_ID)
    assert CLIENT_ID not in key
    assert await store.lock(key, "o")
    await store.record_failure(key, "o", failure())
    await store.publish(key, "o", shared("AT-x"))
    names = [k async for k in redis_client.scan_iter(match=prefix + "*")]
    assert names
    dump = b" ".join(names)
    for name in names:
        kind = await redis_client.type(name)
        if kind == b"hash":
            dump += b" ".join(b"%s=%s" % kv for kv in (await redis_client.hgetall(name)).items())
        elif kind == b"string":
            dump += b" " + (await redis_client.get(name) or b"")
    assert CLIENT_ID.encode() not in dump
    assert CLIENT_SECRET.encode() not in dump
    assert all(name.startswith(prefix.encode() + b"{" + key.encode() + b"}:") for name in names)


async def test_redis_scripts_reload_after_a_script_flush(redis_client: Any, prefix: str) -> None:
    store = RedisTokenStore(redis_client, prefix=prefix)
    await store.publish(KEY, "o", shared())
    await redis_client.script_flush()  # as after a Redis restart
    assert (await store.load(KEY)).token is not None


async def test_redis_store_settings_are_checked(redis_client: Any) -> None:
    with pytest.raises(ConfigurationError, match="lock_ttl"):
        RedisTokenStore(redis_client, lock_ttl=0)
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisTokenStore(redis_client, prefix=None)  # type: ignore[arg-type]
    assert "lock_ttl=5" in repr(RedisTokenStore(redis_client))
