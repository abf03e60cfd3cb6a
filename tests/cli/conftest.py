"""A sandbox in the test process for the CLI's child processes to talk to."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sehatmu_async.sandbox import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=11) as sb:
        yield sb
