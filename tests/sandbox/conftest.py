"""Fixtures for testing the sandbox itself, over HTTP with a plain aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from _fakes import FakeClock
from _sandbox_helpers import fetch_token

from sehatmu_async.sandbox import Sandbox


@pytest.fixture
async def sandbox(clock: FakeClock) -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=7, clock=clock) as sb:
        yield sb


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def auth(session: aiohttp.ClientSession, sandbox: Sandbox) -> dict[str, str]:
    """Headers carrying a fresh valid token."""
    return {"Authorization": f"Bearer {await fetch_token(session, sandbox)}"}
