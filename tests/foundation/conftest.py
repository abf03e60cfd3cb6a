"""Fixtures for the foundation tests: a real local platform and clients pointed at it.

Built on the suite's shared fakes (``tests/_fakes.py``); ``sleep`` and ``clock`` are the
root fixtures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from _fakes import FakeSleep, client_for
from _foundation_helpers import FakePlatform, MakeClient

from sehatmu_async import SehatMuClient


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    async with FakePlatform() as fake:
        yield fake


@pytest.fixture
async def make_client(platform: FakePlatform, sleep: FakeSleep) -> AsyncIterator[MakeClient]:
    """Clients against ``platform`` with the SDK's own retry policy (these tests check it)
    and the recording ``sleep``; all closed at teardown."""
    made: list[SehatMuClient] = []

    def build(**settings: Any) -> SehatMuClient:
        settings.setdefault("retry", None)  # None: the SDK's default policy
        settings.setdefault("sleep", sleep)
        client = client_for(platform, **settings)
        made.append(client)
        return client

    yield build
    for client in made:
        await client.aclose()
