"""Fixtures for the Master Wilayah tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _regions_helpers import MiniPlatform, Recorded, Serve, make_client, start_server
from aiohttp import web

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox, make_app


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``await serve(platform, threaded=False, **client settings)``: start a
    :class:`MiniPlatform` on 127.0.0.1 (in this loop, or in its own thread so the test's
    loop holds only client tasks) and get a client pointed at it; all closed at teardown."""
    platforms: list[MiniPlatform] = []
    clients: list[SehatMuClient] = []

    async def start(
        platform: MiniPlatform, *, threaded: bool = False, **settings: Any
    ) -> SehatMuClient:
        await platform.start(threaded=threaded)
        platforms.append(platform)
        client = make_client(platform.url, **settings)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()
    for platform in platforms:
        await platform.close()


@pytest.fixture
async def recorded() -> AsyncIterator[Recorded]:
    """The sandbox's own aiohttp app (real data) on a test server, recording queries."""
    sandbox = Sandbox()
    app = make_app(sandbox)
    holder: list[Recorded] = []

    async def record(request: web.Request, _: web.StreamResponse) -> None:
        holder[0].seen.append((request.path, dict(request.rel_url.query)))
        holder[0].raw.append((request.path, request.rel_url.raw_query_string))

    app.on_response_prepare.append(record)
    server, url = await start_server(app)
    client = make_client(url, client_id=sandbox.client_id, client_secret=sandbox.client_secret)
    holder.append(Recorded(client, sandbox))
    try:
        yield holder[0]
    finally:
        await client.aclose()
        await server.close()
