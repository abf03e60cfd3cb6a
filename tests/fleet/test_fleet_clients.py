"""SehatMuClient with RedisTokenStore: a real Redis and a real token server on 127.0.0.1.

Several clients in one process, each with its own Redis connection, stand in for
processes here (the real-process versions are in test_fleet_processes.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from _fleet_helpers import CLIENT_ID, CLIENT_SECRET, DATA_PATH, RedisServer, TokenServer

from sehatmu_async import (
    AuthenticationError,
    ConfigurationError,
    MemoryTokenStore,
    RedisTokenStore,
    SehatMuClient,
    ServerError,
)
from sehatmu_async._token_store import scope_key

MakeClient = Callable[..., SehatMuClient]


@pytest.fixture
async def make_client(
    token_server: TokenServer, redis_url: str, prefix: str, redis_client: Any
) -> AsyncIterator[MakeClient]:
    """Clients on the token server, each with a RedisTokenStore of its own connection."""
    import redis.asyncio as redis

    made: list[tuple[SehatMuClient, Any]] = []

    def build(**settings: Any) -> SehatMuClient:
        connection = redis.Redis.from_url(settings.pop("redis_url", redis_url))
        store = RedisTokenStore(connection, prefix=prefix, lock_ttl=settings.pop("lock_ttl", 5.0))
        client = SehatMuClient(
            settings.pop("client_id", CLIENT_ID),
            settings.pop("client_secret", CLIENT_SECRET),
            base_url=token_server.url,
            token_store=store,
            **settings,
        )
        made.append((client, connection))
        return client

    yield build
    for client, connection in made:
        await client.aclose()
        await connection.aclose()


async def test_cold_clients_share_one_token_request(
    token_server: TokenServer, make_client: MakeClient
) -> None:
    clients = [make_client() for _ in range(5)]
    token_server.token_delay = 0.05  # every client is waiting before the answer
    tokens = await asyncio.gather(*(c.token() for c in clients for _ in range(50)))
    assert token_server.token_requests == 1
    assert len({t.access_token for t in tokens}) == 1
    assert sum(c.token_requests for c in clients) == 1
    results = await asyncio.gather(*(c.request("GET", DATA_PATH) for c in clients))
    assert all(r.status == 200 for r in results)


async def test_fast_path_does_not_touch_redis(
    token_server: TokenServer, make_client: MakeClient, redis_client: Any
) -> None:
    client = make_client()
    await client.token()
    before = (await redis_client.info("stats"))["total_commands_processed"]
    for _ in range(2000):
        await client.token()
    after = (await redis_client.info("stats"))["total_commands_processed"]
    assert after - before == 1  # the INFO call itself
    assert token_server.token_requests == 1


async def test_revocation_renews_once_for_all_clients(
    token_server: TokenServer, make_client: MakeClient
) -> None:
    clients = [make_client() for _ in range(4)]
    await asyncio.gather(*(c.request("GET", DATA_PATH) for c in clients))
    assert token_server.token_requests == 1
    token_server.revoke_all()
    results = await asyncio.gather(
        *(c.request("GET", DATA_PATH) for c in clients for _ in range(10))
    )
    assert all(r.status == 200 for r in results)
    assert token_server.token_requests == 2
    # Each client repeated its calls once after its 401, with the one new token.
    assert len({(await c.token()).access_token for c in clients}) == 1


async def test_wrong_secret_across_clients_is_one_token_request(
    token_server: TokenServer, make_client: MakeClient
) -> None:
    clients = [
        make_client(client_secret="wrong-secret", token_failure_cooldown=0.5) for _ in range(4)
    ]
    with pytest.raises(AuthenticationError):
        await clients[0].token()
    for client in clients:
        for _ in range(20):
            with pytest.raises(AuthenticationError) as info:
                await client.request("GET", DATA_PATH)
            assert info.value.status == 401
            assert "wrong-secret" not in str(info.value)
            assert "no new token request for" in str(info.value)
    assert token_server.token_requests == 1
    await asyncio.sleep(0.6)  # the cool-down (a Redis TTL: real time) ends
    with pytest.raises(AuthenticationError):
        await clients[3].token()
    assert token_server.token_requests == 2


async def test_token_outage_back_off_is_shared(
    token_server: TokenServer, make_client: MakeClient
) -> None:
    clients = [make_client(retry=None) for _ in range(3)]
    token_server.mode = "outage"
    with pytest.raises(ServerError):
        await clients[0].token()
    requests_of_one_fetch = token_server.token_requests  # the retry policy's attempts
    for client in clients[1:]:
        with pytest.raises(ServerError, match="next one is allowed in"):
            await client.token()
    assert token_server.token_requests == requests_of_one_fetch
    token_server.mode = "ok"
    await asyncio.sleep(1.05)  # the first back-off step (1 s)
    tokens = await asyncio.gather(*(c.token() for c in clients))
    assert len({t.access_token for t in tokens}) == 1


async def test_dead_lock_holder_delays_at_most_lock_ttl(
    token_server: TokenServer, make_client: MakeClient, redis_client: Any, prefix: str
) -> None:
    client = make_client(lock_ttl=0.5)
    key = RedisTokenStore(redis_client, prefix=prefix).keys(scope_key(token_server.url, CLIENT_ID))
    # A process took the lock and died (its lock still has 0.5 s to live).
    await redis_client.set(key["lock"], "killed-process", px=500)
    started = time.monotonic()
    token = await asyncio.wait_for(client.token(), 5.0)
    waited = time.monotonic() - started
    assert token.access_token == token_server.issued[0]
    assert token_server.token_requests == 1
    assert 0.3 < waited < 2.0


async def test_unreachable_redis_falls_back_with_one_warning(
    token_server: TokenServer, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sehatmu_async")
    from _fleet_helpers import free_port

    client = make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    for _ in range(3):
        response = await client.request("GET", DATA_PATH)
        assert response.status == 200
        token_server.revoke_all()  # a 401 next time: a renewal through the (absent) store
    warnings = [r for r in caplog.records if "token store unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert CLIENT_SECRET not in warnings[0].getMessage()
    assert token_server.token_requests == 3


async def test_redis_stopped_and_restarted_the_client_goes_on_and_shares_again(
    token_server: TokenServer, own_redis: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis.asyncio as redis

    caplog.set_level(logging.INFO, logger="sehatmu_async")
    connection = redis.Redis.from_url(own_redis.url, socket_timeout=1.0, socket_connect_timeout=1.0)
    store = RedisTokenStore(connection, prefix=prefix)
    async with SehatMuClient(
        CLIENT_ID, CLIENT_SECRET, base_url=token_server.url, token_store=store
    ) as client:
        client._tokens._store_retry = 0.0  # probe the store at every renewal
        assert (await client.request("GET", DATA_PATH)).status == 200
        key = scope_key(token_server.url, CLIENT_ID)
        assert (await store.load(key)).token is not None
        own_redis.stop()
        token_server.revoke_all()
        assert (await client.request("GET", DATA_PATH)).status == 200  # renewed alone
        token_server.revoke_all()
        assert (await client.request("GET", DATA_PATH)).status == 200  # quiet this time
        down = [r for r in caplog.records if "token store unavailable" in r.getMessage()]
        assert len(down) == 1
        own_redis.start()
        token_server.revoke_all()
        assert (await client.request("GET", DATA_PATH)).status == 200
        assert any("is back" in r.getMessage() for r in caplog.records)
        state = await store.load(key)
        assert state.token is not None  # shared again
        assert state.token.access_token == (await client.token()).access_token
    await connection.aclose()


async def test_memory_store_shared_by_two_clients(token_server: TokenServer) -> None:
    store = MemoryTokenStore()
    async with (
        SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=token_server.url, token_store=store) as a,
        SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=token_server.url, token_store=store) as b,
    ):
        t1, t2 = await asyncio.gather(a.token(), b.token())
    assert t1.access_token == t2.access_token
    assert token_server.token_requests == 1


def test_token_store_setting_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="TokenStore"):
        SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url="http://127.0.0.1:1", token_store=object())  # type: ignore[arg-type]
