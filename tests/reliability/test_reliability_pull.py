"""A full village pull survives the faults a flaky national platform produces."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from _reliability_helpers import acquired_connections, client_for, other_tasks, settle
from _wilayah_data import rows

from sehatmu_async.sandbox import Sandbox, SandboxFaults


def _village_codes() -> set[str]:
    return {row[0] for row in rows("sub_districts")}


async def test_full_pull_through_faults_and_short_tokens_delivers_every_village_once() -> None:
    faults = SandboxFaults(
        fail_rate=0.05, rate_limit_rate=0.01, retry_after_s=0, drop_rate=0.01, token_ttl_s=4
    )
    # The sandbox's clock runs 50 ms per reading, so its 4-second tokens expire many
    # times during the pull without the client's own clock noticing: 401 -> renew.
    server_time = itertools.count(step=0.05)
    async with Sandbox(faults=faults, seed=7, clock=lambda: next(server_time)) as sandbox:
        async with client_for(sandbox) as client:
            codes: list[str] = []

            async def pull() -> None:
                async for village in client.regions.pull("sub_districts", limit=100):
                    codes.append(village.code)

            await asyncio.wait_for(pull(), timeout=120)
        injected = sandbox.counters.faults
        token_requests = sandbox.counters.token_requests
    assert len(codes) == 83_763
    assert len(set(codes)) == 83_763
    assert set(codes) == _village_codes()
    # The faults really happened: otherwise this test proves nothing.
    assert injected["5xx"] > 0
    assert injected["drop"] > 0
    assert injected["429"] > 0
    assert token_requests >= 3


async def test_revoked_tokens_every_second_while_twenty_callers_keep_calling() -> None:
    clock_now = [0.0]
    async with Sandbox(clock=lambda: clock_now[0]) as sandbox:
        sandbox.faults.revoke_every_s = 1.0
        async with client_for(sandbox) as client:

            async def caller(index: int) -> int:
                done = 0
                for step in range(15):
                    page = await client.regions.provinces(limit=10).first_page()
                    assert page.meta.total == 37
                    done += 1
                    if index == 0:
                        # One caller drives the sandbox's clock: a revocation every second.
                        clock_now[0] += 0.5
                    await asyncio.sleep(0)
                    del step
                return done

            results = await asyncio.gather(*(caller(i) for i in range(20)))
        token_requests = sandbox.counters.token_requests
    assert results == [15] * 20
    # 7.5 simulated seconds -> about 8 revocations; each costs at most one renewal.
    assert 2 <= token_requests <= 12


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
async def test_cancellation_at_random_points_leaves_nothing_running(seed: int) -> None:
    rng = random.Random(seed)
    async with Sandbox(faults=SandboxFaults(latency_ms=rng.choice([0, 1, 3]))) as sandbox:
        client = client_for(sandbox)
        # Cancel while the consumer is mid-stream or parked on a region, at a random item.
        cancel_at = rng.randrange(1, 83_763)
        reached = asyncio.Event()

        async def consume() -> None:
            seen = 0
            async for _ in client.regions.pull("sub_districts", limit=1000, concurrency=8):
                seen += 1
                if seen == cancel_at:
                    reached.set()
                    if rng.random() < 0.5:
                        await asyncio.Event().wait()  # parked until cancelled

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(reached.wait(), timeout=60)
        for _ in range(rng.randrange(0, 5)):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle()
        assert other_tasks() == set()
        assert acquired_connections(client) == 0
        session = client._session
        await client.aclose()
        assert session is None or session.closed
