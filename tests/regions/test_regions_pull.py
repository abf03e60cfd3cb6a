"""The bulk pull against the sandbox (real data): exactly once, under faults, subtrees."""

from __future__ import annotations

import time

import pytest
from _regions_helpers import (
    SANDBOX_V2,
    TOKEN_ROUTE,
    children,
    codes,
    make_client,
    sorted_codes,
)
from _wilayah_data import TOTALS

from sehatmu_async import Region, RegionLevel, RetryPolicy
from sehatmu_async.sandbox import Sandbox
from sehatmu_async.testing import SandboxHarness


async def test_pull_every_village_exactly_once(sehatmu_sandbox: SandboxHarness) -> None:
    got: list[str] = []
    async for village in sehatmu_sandbox.client.regions.pull("sub_districts"):
        assert isinstance(village, Region)
        assert village.level is RegionLevel.SUB_DISTRICTS
        got.append(village.code)
    assert len(got) == TOTALS["sub_districts"] == 83763
    assert len(set(got)) == len(got)
    assert set(got) == codes("sub_districts")
    # 84 pages of 1000, each fetched once; one token.
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2["sub_districts"]] == 84
    assert sehatmu_sandbox.counters.token_requests == 1


@pytest.mark.parametrize(("level", "limit"), [("provinces", 7), ("cities", 50), ("districts", 999)])
async def test_pull_each_level(sehatmu_sandbox: SandboxHarness, level: str, limit: int) -> None:
    got = [r.code async for r in sehatmu_sandbox.client.regions.pull(level, limit=limit)]
    assert len(got) == TOTALS[level]
    assert set(got) == codes(level)
    pages = -(-TOTALS[level] // limit)
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2[level]] == pages


class SkewedClock:
    """The sandbox's clock, which a test can move forward to expire its tokens."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


async def test_pull_every_village_under_faults_and_expiring_tokens() -> None:
    clock = SkewedClock()
    async with Sandbox(seed=1, clock=clock) as sandbox:
        faults = sandbox.faults
        faults.fail_rate = 0.05
        faults.rate_limit_rate = 0.01
        faults.retry_after_s = 0
        faults.drop_rate = 0.01
        async with make_client(
            sandbox.url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            retry=RetryPolicy(attempts=6, backoff_base=0.01, backoff_cap=0.05),
        ) as client:
            got: list[str] = []
            async for village in client.regions.pull("sub_districts", limit=500, concurrency=8):
                got.append(village.code)
                if len(got) in (25_000, 55_000):
                    # Server-side expiry of the token in use, halfway through pages in flight.
                    clock.offset += 3600
        counters = sandbox.counters
    assert len(got) == 83763
    assert len(set(got)) == len(got)
    assert set(got) == codes("sub_districts")
    # The faults really happened, and were retried.
    assert counters.faults["5xx"] > 0
    assert counters.faults["429"] > 0
    assert counters.faults["drop"] > 0
    pages = counters.by_route[SANDBOX_V2["sub_districts"]]
    injected = counters.faults["5xx"] + counters.faults["429"] + counters.faults["drop"]
    assert pages >= 168 + injected
    # The first token, then exactly one renewal per expiry (401 -> new token -> repeat).
    assert counters.token_requests == 3
    assert counters.by_route[TOKEN_ROUTE] == 3


async def test_pull_with_short_lived_tokens(sehatmu_sandbox: SandboxHarness) -> None:
    sehatmu_sandbox.faults.token_ttl_s = 1
    sehatmu_sandbox.faults.latency_ms = 50
    async with make_client(
        sehatmu_sandbox.url,
        client_id=sehatmu_sandbox.sandbox.client_id,
        client_secret=sehatmu_sandbox.sandbox.client_secret,
    ) as client:
        got = [r.code async for r in client.regions.pull("districts", limit=250, concurrency=2)]
    assert len(got) == 7277
    assert set(got) == codes("districts")
    # 30 pages, 2 at a time, 50 ms each: ~0.8 s, so the 1 s token is renewed on the way.
    assert sehatmu_sandbox.counters.token_requests >= 2


async def test_pull_provinces_subtree_to_villages(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    got: list[Region] = [v async for v in regions.pull("sub_districts", parent_codes=["51", 11])]
    cities = children("cities", {"11", "51"})
    districts = children("districts", cities)
    want = children("sub_districts", districts)
    assert len(got) == len(want)
    assert {v.code for v in got} == want
    assert {v.parent_code for v in got} == districts
    assert all(v.level is RegionLevel.SUB_DISTRICTS for v in got)


async def test_pull_cities_subtree_to_districts(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    parents = ["1101", "3273", 3171, "9471"]
    got = [d.code async for d in regions.pull("districts", parent_codes=parents, limit=5)]
    want = children("districts", {"1101", "3273", "3171", "9471"})
    assert len(got) == len(want)
    assert set(got) == want


async def test_pull_provinces_to_cities_and_districts(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    every_province = sorted(codes("provinces"))
    cities = [c.code async for c in regions.pull("cities", parent_codes=every_province)]
    assert len(cities) == 514
    assert set(cities) == codes("cities")
    districts = [d.code async for d in regions.pull("districts", parent_codes=["32"])]
    assert set(districts) == children("districts", children("cities", {"32"}))


async def test_pull_of_an_empty_subtree(sehatmu_sandbox: SandboxHarness) -> None:
    # 99 is a well-formed province code with no cities: nothing to pull, no error.
    got = [v async for v in sehatmu_sandbox.client.regions.pull("districts", parent_codes=["99"])]
    assert got == []
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2["districts"]] == 0


async def test_pull_batches_hand_over_lists_without_an_await_per_region(
    sehatmu_sandbox: SandboxHarness,
) -> None:
    stream = sehatmu_sandbox.client.regions.pull("districts", limit=1000)
    first = [await stream.__anext__() for _ in range(3)]
    batches = [batch async for batch in stream.batches()]
    assert all(isinstance(batch, list) and batch for batch in batches)
    assert max(len(batch) for batch in batches) <= 1000
    codes = [r.code for r in first] + [r.code for batch in batches for r in batch]
    assert len(codes) == len(set(codes)) == TOTALS["districts"]
    assert set(codes) == set(sorted_codes("districts"))
    await stream.aclose()
