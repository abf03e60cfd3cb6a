"""Fixtures for the Master Patient Index tests: a programmable local platform and clients."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from _patient_helpers import FakePlatform, make_client

from sehatmu_async import SehatMuClient


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    async with FakePlatform() as fake:
        yield fake


@pytest.fixture
async def client(platform: FakePlatform) -> AsyncIterator[SehatMuClient]:
    async with make_client(platform.url) as c:
        yield c
