"""A server answering garbage gets a typed error within a bounded time, never a hang."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sehatmu_async import (
    APIError,
    PaginationError,
    RetryPolicy,
    SehatMuClient,
    SehatMuError,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN = {"access_token": "tok-garbage", "token_type": "Bearer", "expires_in": 3600}


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


async def _token(_: web.Request) -> web.StreamResponse:
    return web.json_response(TOKEN)


async def _serve(handler: Handler) -> TestServer:
    app = web.Application()
    app.router.add_post("/oauth2/v1/accesstoken", _token)
    app.router.add_get("/masterdata/v2/provinces", handler)
    app.router.add_get("/masterdata/v1/provinces", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


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
    server = await _serve(handler)
    try:
        client = SehatMuClient(
            "id",
            "secret",
            base_url=str(server.make_url("")).rstrip("/"),
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
    finally:
        await server.close()
