"""Fixtures for the fleet tests: the counting token server and a REAL Redis.

Redis: ``REDIS_URL`` when set; else a ``redis-server`` of the session's own on a free
port (nothing on disk) when the binary exists; else the Redis tests skip, saying why —
except under ``CI=true``, where a missing Redis fails them. Each test gets its own key
prefix, deleted afterwards, so tests never see each other's keys (or a real fleet's).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from _fleet_helpers import RedisServer, TokenServer
from aiohttp.test_utils import TestServer


@pytest.fixture
async def token_server() -> AsyncIterator[TokenServer]:
    fake = TokenServer()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    fake.url = f"http://127.0.0.1:{server.port}"
    try:
        yield fake
    finally:
        await server.close()


def _no_redis(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true needs Redis for the fleet tests: {reason}")
    pytest.skip(reason)


def redis_server_binary() -> str | None:
    return shutil.which("redis-server")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    try:
        import redis  # noqa: F401
    except ImportError:
        _no_redis("the redis package is not installed (pip install 'sehatmu-async[redis]')")
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    binary = redis_server_binary()
    if binary is None:
        _no_redis("no REDIS_URL and no redis-server binary on PATH")
        return
    server = RedisServer(binary)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def prefix() -> str:
    return f"sehatmu-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_client(redis_url: str, prefix: str) -> AsyncIterator[Any]:
    import redis.asyncio as redis

    client = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
    try:
        yield client
    finally:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of this test's own, to stop and restart (never the machine's)."""
    binary = redis_server_binary()
    if binary is None:
        _no_redis("this test stops and restarts Redis: it needs a redis-server binary")
        return
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
