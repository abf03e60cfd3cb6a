"""Fixtures for the Master Wilayah tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from _regions_helpers import MiniPlatform, make_client, start_server
from aiohttp.test_utils import TestServer

from sehatmu_async import SehatMuClient

Serve = Callable[..., Awaitable[SehatMuClient]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``await serve(platform, **client settings)``: start a :class:`MiniPlatform` on
    127.0.0.1 and get a client pointed at it (both closed at teardown)."""
    servers: list[TestServer] = []
    clients: list[SehatMuClient] = []

    async def start(platform: MiniPlatform, **settings: Any) -> SehatMuClient:
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
