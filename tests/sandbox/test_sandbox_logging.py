"""What the sandbox writes to the logs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from _fakes import client_for

from sehatmu_async import RetryPolicy, TransportError
from sehatmu_async.sandbox import Sandbox


async def test_sandbox_stays_quiet_when_a_client_gives_up_mid_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Sandbox() as sandbox:
        sandbox.faults.latency_ms = 300
        async with client_for(sandbox, timeout=0.05, retry=RetryPolicy(attempts=1)) as client:
            with pytest.raises(TransportError):
                await client.regions.v1.provinces(codes=["11"])
        await asyncio.sleep(0.4)  # the sandbox finishes the abandoned request
    assert not [r for r in caplog.records if "Error handling request" in r.getMessage()]
