"""The SDK's own work yields to the event loop: a 2000-region page is decoded, checked and
handed over in slices, with the loop free to run other tasks between them."""

from __future__ import annotations

import asyncio

from _regions_helpers import V2, MiniPlatform, Serve, json_response
from _wilayah_data import rows
from aiohttp import web

PAGE = 2000
#: The most regions the SDK may handle without letting the loop run (a few ms of work).
MOST_PER_STRETCH = 500


def one_big_page() -> MiniPlatform:
    villages = sorted(rows("sub_districts"))[:PAGE]
    keys = ("code", "parent_code", "bps_code", "name")
    data = [dict(zip(keys, r, strict=True)) for r in villages]
    page = {"current": 1, "total_page": 1, "total": PAGE, "limit": PAGE}
    meta = {"item_count": PAGE, "page": page}

    def answer(_: web.Request) -> web.Response:
        return json_response({"status": 200, "error": False, "data": data, "meta": meta})

    return MiniPlatform().route(V2["sub_districts"], answer)


async def test_a_2000_region_page_yields_to_the_loop_between_slices(serve: Serve) -> None:
    client = await serve(one_big_page())
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        # The tick count each region was received at: one value per uninterrupted stretch.
        seen: list[int] = []
        async for _ in client.regions.pull("sub_districts", limit=PAGE):
            seen.append(ticks)
    finally:
        running = False
        await task
    assert len(seen) == PAGE
    stretches = len(set(seen))
    # The page arrives in slices and the ticker ran between every two.
    assert stretches >= PAGE // MOST_PER_STRETCH
    longest = max(seen.count(value) for value in set(seen))
    assert longest <= MOST_PER_STRETCH
