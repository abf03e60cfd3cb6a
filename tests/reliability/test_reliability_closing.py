"""Closing a client under running calls ends each of them with an SDK error."""

from __future__ import annotations

import asyncio

from _fakes import client_for

from sehatmu_async import RetryPolicy, TransportError
from sehatmu_async.sandbox import Sandbox


async def test_closing_the_client_under_running_calls_raises_sdk_errors() -> None:
    async with Sandbox() as sandbox:
        sandbox.faults.latency_ms = 300
        client = client_for(sandbox, retry=RetryPolicy(attempts=3, backoff_base=0.001))
        calls = [
            asyncio.ensure_future(client.regions.v1.provinces(codes=["11"])) for _ in range(5)
        ]
        await asyncio.sleep(0.05)  # everybody is waiting for the token or the answer
        await client.aclose()
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, TransportError) for r in results), results
    assert not any(c.cancelled() for c in calls)
