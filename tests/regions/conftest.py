"""Fixtures for the Master Wilayah tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from _regions_helpers import MiniPlatform, ThreadedServer, make_client, start_server
from aiohttp.test_utils import TestServer

from sehatmu_async import SehatMuClient

Serve = Callable[..., Awaitable[SehatMuClient]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``await serve(platform, threaded=False, **client settings)``: start a
    :class:`MiniPlatform` on 127.0.0.1 (in this loop, or in its own thread so the test's
    loop holds only client tasks) and get a client pointed at it; all closed at teardown."""
    servers: list[TestServer] = []
    threads: list[ThreadedServer] = []
    clients: list[SehatMuClient] = []

    async def start(
        platform: MiniPlatform, *, threaded: bool = False, **settings: Any
    ) -> SehatMuClient:
        if threaded:
            thread = ThreadedServer(platform.app).__enter__()
            threads.append(thread)
            url = thread.url
        else:
            server, url = await start_server(platform.app)
            servers.append(server)
        client = make_client(url, **settings)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()
    for server in servers:
        await server.close()
    for thread in threads:
        thread.__exit__()
