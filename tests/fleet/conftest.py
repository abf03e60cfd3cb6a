"""Fixtures for the fleet tests: the counting token server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _fleet_helpers import TokenServer
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
