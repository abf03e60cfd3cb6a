"""Master Wilayah v2 against the sandbox (real data): full walks, backward walks, resume."""

from __future__ import annotations

import pytest
from _regions_helpers import (
    SANDBOX_V2,
    children,
    codes,
    region,
    sorted_codes,
)
from _wilayah_data import TOTALS, rows

from sehatmu_async import RegionLevel, RegionPage, RegionPager
from sehatmu_async.testing import SandboxHarness


@pytest.mark.parametrize(
    ("level", "limit", "pages"),
    [
        ("provinces", None, 4),  # the platform's default page size, 10
        ("cities", 100, 6),
        ("districts", 2000, 4),
    ],
)
async def test_v2_full_walk_matches_the_data(
    sehatmu_sandbox: SandboxHarness, level: str, limit: int | None, pages: int
) -> None:
    pager = getattr(sehatmu_sandbox.client.regions, level)(limit=limit)
    assert isinstance(pager, RegionPager)
    assert sehatmu_sandbox.counters.requests == 0  # a pager is built without awaiting
    got = [r async for r in pager]
    assert len(got) == TOTALS[level]
    assert {r.code for r in got} == codes(level)
    assert len({r.code for r in got}) == len(got)
    assert [r.code for r in got] == list(sorted_codes(level))  # served in code order
    assert all(r.level is RegionLevel(level) for r in got)
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2[level]] == pages
    if level == "provinces":
        assert sorted(got, key=lambda r: r.code) == sorted(
            (region("provinces", r) for r in rows("provinces")), key=lambda r: r.code
        )


@pytest.mark.parametrize(("level", "limit", "pages"), [("cities", 257, 2), ("provinces", 37, 1)])
async def test_v2_walk_ends_on_a_full_last_page(
    sehatmu_sandbox: SandboxHarness, level: str, limit: int, pages: int
) -> None:
    # The last page is full and has a next cursor: current >= total_page ends the walk.
    got = [r.code async for r in getattr(sehatmu_sandbox.client.regions, level)(limit=limit)]
    assert got == list(sorted_codes(level))
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2[level]] == pages


async def test_v2_pages_and_meta(sehatmu_sandbox: SandboxHarness) -> None:
    pager = sehatmu_sandbox.client.regions.cities(limit=100)
    seen: list[RegionPage] = [page async for page in pager.pages()]
    assert [len(p.items) for p in seen] == [100] * 5 + [14]
    assert [p.meta.current for p in seen] == [1, 2, 3, 4, 5, 6]
    assert {p.meta.total for p in seen} == {514}
    assert {p.meta.total_page for p in seen} == {6}
    assert [p.is_last for p in seen] == [False] * 5 + [True]
    assert [p.is_first for p in seen] == [True] + [False] * 5
    assert await seen[-1].next_page() is None
    assert await seen[0].previous_page() is None
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2["cities"]] == 6


async def test_v2_filtered_walks(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    cities = [r async for r in regions.cities(province_codes=[11, "32"], limit=7)]
    assert {r.code for r in cities} == children("cities", {"11", "32"})
    assert len(cities) == len(children("cities", {"11", "32"}))
    districts = [r async for r in regions.districts(city_codes=["1101"], limit=5)]
    assert {r.code for r in districts} == children("districts", {"1101"})
    villages = [r async for r in regions.sub_districts(district_codes=["110101"], limit=3)]
    assert {r.code for r in villages} == children("sub_districts", {"110101"})
    assert len(villages) == len(children("sub_districts", {"110101"}))
    picked = [r async for r in regions.provinces(codes=["31", 11, "96"])]
    assert [r.code for r in picked] == ["11", "31"]  # 96 is not in the decree's data


async def test_v2_backward_walk_from_the_end(sehatmu_sandbox: SandboxHarness) -> None:
    pager = sehatmu_sandbox.client.regions.cities(limit=50)
    backward = [page async for page in pager.pages(direction="previous")]
    # The last page first (14 cities), then full pages back to page 1.
    assert [len(p.items) for p in backward] == [14] + [50] * 10
    assert [p.meta.current for p in backward] == list(range(11, 0, -1))
    flat = [r.code for p in reversed(backward) for r in p.items]
    assert flat == list(sorted_codes("cities"))
    # One probe of page 1 for total_page, then the 11 pages.
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2["cities"]] == 12


async def test_v2_backward_walk_from_a_cursor(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    page = await regions.cities(limit=46).first_page()
    for _ in range(5):
        page = await page.next_page()
        assert page is not None
    # Page 6 at 46 a page starts at index 230: its previous cursor points there.
    assert page.meta.current == 6
    assert page.items[0].code == sorted_codes("cities")[230]
    cursor = page.previous_cursor
    assert cursor is not None
    before = sehatmu_sandbox.counters.by_route[SANDBOX_V2["cities"]]
    backward = [p async for p in regions.cities(limit=50, cursor=cursor).pages("previous")]
    assert [len(p.items) for p in backward] == [50, 50, 50, 50, 30]
    flat = [r.code for p in reversed(backward) for r in p.items]
    assert flat == list(sorted_codes("cities")[:230])
    assert sehatmu_sandbox.counters.by_route[SANDBOX_V2["cities"]] - before == 5


async def test_v2_previous_page_chain_back_to_page_one(sehatmu_sandbox: SandboxHarness) -> None:
    pager = sehatmu_sandbox.client.regions.districts(city_codes=["1101", "1102"], limit=4)
    forward = [await pager.first_page()]
    for _ in range(3):
        nxt = await forward[-1].next_page()
        assert nxt is not None
        forward.append(nxt)
    back = [forward[-1]]
    while True:
        prev = await back[-1].previous_page()
        if prev is None:
            break
        back.append(prev)
    assert [p.meta.current for p in back] == [4, 3, 2, 1]
    assert [p.items for p in back] == [p.items for p in reversed(forward)]
    assert back[-1].is_first


async def test_v2_resume_from_saved_cursor(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    first_part: list[str] = []
    saved: str | None = None
    async for page in regions.cities(limit=100).pages():
        first_part += [r.code for r in page.items]
        if page.meta.current == 2:
            saved = page.next_cursor
            break
    assert saved is not None
    assert len(first_part) == 200
    resumed = [r.code async for r in regions.cities(cursor=saved, limit=100)]
    assert resumed[0] == sorted_codes("cities")[200]  # exactly where the walk stopped
    assert len(resumed) == 314
    assert not set(first_part) & set(resumed)
    assert set(first_part) | set(resumed) == codes("cities")
    assert first_part + resumed == list(sorted_codes("cities"))
