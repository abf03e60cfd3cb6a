"""Fixtures for the foundation tests: a real local platform and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _foundation_helpers import CLIENT_ID, CLIENT_SECRET, FakePlatform, MakeClient, RecordingSleep
from aiohttp.test_utils import TestServer

from sehatmu_async import SehatMuClient


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    fake = FakePlatform()
    server = TestServer(fake.app, host="127.0.0.1")
    await server.start_server()
    fake.url = f"http://127.0.0.1:{server.port}"
    try:
        yield fake
    finally:
        fake.stop.set()
        if fake.token_gate is not None:
            fake.token_gate.set()
        await server.close()


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def make_client(platform: FakePlatform, sleep: RecordingSleep) -> AsyncIterator[MakeClient]:
    """Build clients against ``platform`` with the recording sleep; all closed at teardown."""
    made: list[SehatMuClient] = []

    def build(**settings: Any) -> SehatMuClient:
        settings.setdefault("base_url", platform.url)
        settings.setdefault("sleep", sleep)
        client = SehatMuClient(
            settings.pop("client_id", CLIENT_ID),
            settings.pop("client_secret", CLIENT_SECRET),
            **settings,
        )
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()
