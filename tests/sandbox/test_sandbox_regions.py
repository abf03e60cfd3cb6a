"""Master Wilayah v1 and v2 over the shipped region data."""

from __future__ import annotations

import asyncio
import base64
import math
from typing import Any

import aiohttp
import pytest

from sehatmu_async.sandbox import Sandbox

LEVEL_TOTALS = {"provinces": 37, "cities": 514, "districts": 7277, "sub-districts": 83763}


async def get(
    session: aiohttp.ClientSession, url: str, auth: dict[str, str], status: int = 200
) -> Any:
    async with session.get(url, headers=auth) as response:
        assert response.status == status, await response.text()
        assert response.content_type == "application/json"
        return await response.json()


def b64(code: str) -> str:
    return base64.b64encode(code.encode()).decode()


# v1


@pytest.mark.parametrize(
    ("path", "query", "codes"),
    [
        ("provinces", "codes=11,12", ["11", "12"]),
        ("cities", "province_codes=11&codes=1103, 1104", ["1103", "1104"]),
        ("districts", "city_codes=1103,1104&codes=110302,110301", ["110301", "110302"]),
        ("sub-districts", "district_codes=110301&codes=1103012002", ["1103012002"]),
    ],
)
async def test_v1_filters_each_level(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    path: str,
    query: str,
    codes: list[str],
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v1/{path}?{query}", auth)
    assert body["status"] == 200
    assert body["error"] is False
    assert body["message"] == "success"
    assert [r["code"] for r in body["data"]] == codes
    assert "meta" not in body


async def test_v1_region_fields(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v1/provinces?codes=11", auth)
    assert body["data"] == [{"code": "11", "parent_code": "", "bps_code": "11", "name": "ACEH"}]
    body = await get(session, f"{sandbox.url}/masterdata/v1/districts?city_codes=1101", auth)
    assert body["data"][0] == {
        "code": "110101",
        "parent_code": "1101",
        "bps_code": "1103020",
        "name": "Bakongan",
    }
    assert all(r["parent_code"] == "1101" for r in body["data"])
    codes = [r["code"] for r in body["data"]]
    assert codes == sorted(codes)


async def test_v1_whole_parents_and_empty_bps_codes(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v1/cities?province_codes=11,12", auth)
    assert {r["parent_code"] for r in body["data"]} == {"11", "12"}
    url = f"{sandbox.url}/masterdata/v2/provinces?current_page=1&limit=50"
    body = await get(session, url, auth)
    assert any(r["bps_code"] == "" for r in body["data"])


@pytest.mark.parametrize(
    ("path", "missing"),
    [
        ("provinces", "codes"),
        ("cities?codes=1101", "province_codes"),
        ("districts", "city_codes"),
        ("sub-districts?codes=1101012001", "district_codes"),
        ("provinces?codes=", "codes"),
    ],
)
async def test_v1_missing_required_filter_is_a_400_envelope(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    path: str,
    missing: str,
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v1/{path}", auth, status=400)
    assert body == {"status_code": 400, "message": f"{missing} is required", "data": None}


async def test_non_numeric_codes_are_refused(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v1/provinces?codes=11,x", auth, 400)
    assert body["status_code"] == 400
    assert body["data"] is None


# v2


async def test_v2_meta_matches_the_documents_provinces_example(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{sandbox.url}/masterdata/v2/provinces?current_page=1&codes=11,12"
    body = await get(session, url, auth)
    assert [r["code"] for r in body["data"]] == ["11", "12"]
    assert body["meta"] == {
        "item_count": 2,
        "page": {
            "is_cursor": True,
            "current": 1,
            "previous": 0,
            "next": 2,
            "limit": 10,
            "total_page": 1,
            "total": 2,
        },
        "cursors": {"next": "MTI=", "previous": "MTE="},
    }


async def test_v2_cities_total_and_first_page(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v2/cities?current_page=1", auth)
    page = body["meta"]["page"]
    assert (page["total"], page["total_page"], page["limit"]) == (514, 52, 10)
    assert body["meta"]["item_count"] == 10
    assert body["meta"]["cursors"]["previous"] == b64("1101")
    assert body["meta"]["cursors"]["next"] == b64(body["data"][-1]["code"])


@pytest.mark.parametrize(("path", "total"), LEVEL_TOTALS.items())
async def test_v2_without_filters_serves_the_whole_level(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str], path: str, total: int
) -> None:
    url = f"{sandbox.url}/masterdata/v2/{path}?current_page=1&limit=1"
    assert (await get(session, url, auth))["meta"]["page"]["total"] == total


async def test_v2_offsets_by_page_number(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{sandbox.url}/masterdata/v2/districts?city_codes=1101,1102"
    everything = (await get(session, f"{url}&current_page=1&limit=100", auth))["data"]
    third = await get(session, f"{url}&current_page=3&limit=4", auth)
    assert third["data"] == everything[8:12]
    assert third["meta"]["page"]["current"] == 3
    assert third["meta"]["page"]["previous"] == 2
    past_end = await get(session, f"{url}&current_page=99&limit=4", auth)
    assert past_end["data"] == []
    assert past_end["meta"]["item_count"] == 0
    assert past_end["meta"]["cursors"] == {"next": "", "previous": ""}
    assert past_end["meta"]["page"]["total"] == len(everything)


async def test_v2_keyset_walk_forward_and_back_is_consistent(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    filtered = f"{sandbox.url}/masterdata/v2/cities?province_codes=11,12,13"
    everything = (await get(session, f"{filtered}&current_page=1&limit=2000", auth))["data"]
    assert len(everything) % 7 != 0
    base = f"{filtered}&limit=7"
    pages = [await get(session, f"{base}&current_page=1", auth)]
    while len(pages[-1]["data"]) == 7:
        cursor = pages[-1]["meta"]["cursors"]["next"]
        url = f"{base}&current_page={len(pages) + 1}&next={cursor}"
        pages.append(await get(session, url, auth))
    pages = [p for p in pages if p["data"]]
    assert [r for p in pages for r in p["data"]] == everything
    assert len(pages) == math.ceil(len(everything) / 7)
    # Back from the last page with the previous cursors: the same pages, reversed.
    back = [pages[-1]]
    while back[-1]["data"]:
        cursor = back[-1]["meta"]["cursors"]["previous"]
        back.append(await get(session, f"{base}&current_page=1&prev={cursor}", auth))
    assert [p["data"] for p in back[:-1]] == [p["data"] for p in reversed(pages)]
    assert back[-1]["meta"]["cursors"] == {"next": "", "previous": ""}


async def test_v2_cursor_needs_no_existing_code(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{sandbox.url}/masterdata/v2/provinces?current_page=1&limit=2&next={b64('13')}"
    body = await get(session, url, auth)
    assert [r["code"] for r in body["data"]] == ["14", "15"]
    url = f"{sandbox.url}/masterdata/v2/provinces?current_page=1&limit=2&prev={b64('14')}"
    assert [r["code"] for r in (await get(session, url, auth))["data"]] == ["12", "13"]


async def test_v2_limit_above_2000_is_the_documented_envelope(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{sandbox.url}/masterdata/v2/sub-districts?current_page=1&limit=2001"
    async with session.get(url, headers=auth) as response:
        assert response.status == 400
        assert await response.json() == {
            "status_code": 400,
            "message": "limit cannot be more than 2000",
            "data": None,
        }


@pytest.mark.parametrize(
    "query",
    [
        "",
        "current_page=",
        "current_page=0",
        "current_page=abc",
        "current_page=1&limit=0",
        "current_page=1&limit=-5",
        "current_page=1&limit=ten",
        "current_page=1&next=!!notbase64",
        "current_page=1&next=YWJj",  # base64 of "abc": not a code
        f"current_page=1&next={b64('11')}&prev={b64('12')}",
    ],
)
async def test_v2_bad_paging_parameters_are_400_envelopes(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str], query: str
) -> None:
    body = await get(session, f"{sandbox.url}/masterdata/v2/provinces?{query}", auth, 400)
    assert set(body) == {"status_code", "message", "data"}
    assert body["status_code"] == 400
    assert body["data"] is None


async def test_all_villages_by_page_number_exactly_once(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{sandbox.url}/masterdata/v2/sub-districts?limit=2000"
    first = await get(session, f"{url}&current_page=1", auth)
    total, total_page = first["meta"]["page"]["total"], first["meta"]["page"]["total_page"]
    assert (total, total_page) == (83763, 42)
    semaphore = asyncio.Semaphore(16)

    async def page(number: int) -> list[str]:
        async with semaphore:
            body = await get(session, f"{url}&current_page={number}", auth)
        return [r["code"] for r in body["data"]]

    pages = await asyncio.gather(*(page(n) for n in range(2, total_page + 1)))
    codes = [r["code"] for r in first["data"]] + [c for p in pages for c in p]
    assert len(codes) == total
    assert len(set(codes)) == total
    assert codes == sorted(codes)
