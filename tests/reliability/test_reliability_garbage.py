"""A server answering garbage gets a typed error within a bounded time, never a hang."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable

import orjson
import pytest
from _fakes import ScriptedPlatform, client_for, json_reply
from aiohttp import web

from sehatmu_async import APIError, PaginationError, RetryPolicy, SehatMuError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

def _meta(current: int, cursor: str) -> dict[str, object]:
    return {
        "item_count": 1,
        "page": {"current": current, "total_page": 10**6, "total": 10**6, "limit": 1},
        "cursors": {"next": cursor, "previous": cursor},
    }


async def _html(_: web.Request) -> web.StreamResponse:
    return web.Response(text="<!DOCTYPE html><html><body>Maintenance</body></html>",
                        content_type="text/html")


async def _truncated(_: web.Request) -> web.StreamResponse:
    return web.Response(body=b'{"status": 200, "data": [{"code": "11", "na',
                        content_type="application/json")


async def _wrong_types(_: web.Request) -> web.StreamResponse:
    body = {"status": 200, "data": [{"code": ["11"], "name": 5}], "meta": {}}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def _huge(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * 65536
    for _ in range(4096):  # 256 MiB if nobody stops reading
        await response.write(chunk)
    return response


async def _cursor_loop(request: web.Request) -> web.StreamResponse:
    # Always the same page and the same cursor, and a total that promises more.
    cursor = base64.b64encode(b"11").decode()
    body = {"status": 200, "data": [{"code": "11", "parent_code": "", "bps_code": "11",
                                     "name": "ACEH"}],
            "meta": _meta(int(request.query.get("current_page", "1")), cursor)}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def _fresh_cursors(request: web.Request) -> web.StreamResponse:
    # New cursors forever, each page the same count: the walk must still end.
    page = int(request.query.get("current_page", "1"))
    cursor = base64.b64encode(str(page).encode()).decode()
    body = {"status": 200, "data": [{"code": f"{10 + page % 80}", "parent_code": "",
                                     "bps_code": "", "name": "X"}],
            "meta": {"item_count": 1, "page": {"current": 1, "total_page": 3, "total": 3,
                                               "limit": 1},
                     "cursors": {"next": cursor, "previous": cursor}}}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (_html, APIError),
        (_truncated, APIError),
        (_wrong_types, APIError),
        (_huge, APIError),
        (_cursor_loop, PaginationError),
        (_fresh_cursors, PaginationError),
    ],
)
async def test_garbage_answers_raise_typed_errors_quickly(
    handler: Handler, expected: type[SehatMuError]
) -> None:
    async with ScriptedPlatform() as fake:
        fake.on("GET", "/masterdata/v2/provinces", handler)
        fake.on("GET", "/masterdata/v1/provinces", handler)
        client = client_for(
            fake,
            retry=RetryPolicy(attempts=2, backoff_base=0.001, backoff_cap=0.01),
            max_body_bytes=1 << 20,
        )
        async with client:

            async def walk() -> None:
                async for _ in client.regions.provinces(limit=1):
                    pass

            with pytest.raises(expected) as caught:
                await asyncio.wait_for(walk(), timeout=10)
    # One line saying what went wrong: the user can act on it.
    assert "\n" not in str(caught.value)


async def test_meta_numbers_with_thousands_of_digits_are_a_pagination_error() -> None:
    body = {"status": 200, "data": [], "meta": {"item_count": 0, "page": {
        "current": 1, "total_page": "9" * 5000, "total": 0, "limit": 10}}}
    async with ScriptedPlatform() as fake:
        fake.on("GET", "/masterdata/v2/provinces", json_reply(body))
        async with client_for(fake) as client:
            with pytest.raises(PaginationError) as caught:
                await client.regions.provinces().first_page()
    assert len(str(caught.value)) < 400
