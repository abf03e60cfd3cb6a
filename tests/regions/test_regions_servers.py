"""Master Wilayah against small misbehaving servers: the documents' quirky last page,
floor-rounded page counts, cursor loops, malformed meta and unreadable answers."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import orjson
import pytest
from _regions_helpers import (
    SEED_PROVINCES_V2,
    V1,
    V2,
    KeysetServer,
    MiniPlatform,
    Serve,
    acquired_connections,
    codes,
    drain,
    json_response,
    other_tasks,
    raw_response,
    settle,
    sorted_codes,
)
from _wilayah_data import SHARED_DATA
from aiohttp import web

from sehatmu_async import (
    APIError,
    IncompleteDownloadError,
    MasterDataError,
    PaginationError,
    Region,
    RegionLevel,
    RetryPolicy,
    ServerError,
)

# -- the documents' own last page ----------------------------------------------------------


def test_seed_example_is_verbatim() -> None:
    seed = next((SHARED_DATA.parent.parent / "seeds").glob("001_*.txt"), None)
    if seed is None:  # pragma: no cover - only outside this workspace
        pytest.skip("seeds/001 not present")
    assert SEED_PROVINCES_V2 in seed.read_text(encoding="utf-8")


def seed_platform() -> MiniPlatform:
    return MiniPlatform().route(V2["provinces"], lambda _: raw_response(SEED_PROVINCES_V2))


SEED_REGIONS = [
    Region("11", None, "11", "Aceh", RegionLevel.PROVINCES),
    Region("12", None, "12", "Sumatera Utara", RegionLevel.PROVINCES),
]


async def test_seed_last_page_ends_the_walk(serve: Serve) -> None:
    platform = seed_platform()
    client = await serve(platform)
    got = [r async for r in client.regions.provinces()]
    assert got == SEED_REGIONS
    assert platform.count() == 1  # page.next 2 and cursor MTI= do not mean another page
    assert platform.seen[0][1] == {"current_page": "1"}


async def test_seed_last_page_as_pages(serve: Serve) -> None:
    platform = seed_platform()
    client = await serve(platform)
    pages = [p async for p in client.regions.provinces().pages()]
    assert len(pages) == 1
    page = pages[0]
    assert page.items == SEED_REGIONS
    assert (page.meta.total, page.meta.total_page, page.meta.next) == (2, 1, 2)
    assert (page.next_cursor, page.previous_cursor) == ("MTI=", "MTE=")
    assert page.is_last
    assert page.is_first
    assert await page.next_page() is None
    assert await page.previous_page() is None
    backward = [p async for p in client.regions.provinces().pages(direction="previous")]
    assert [p.items for p in backward] == [SEED_REGIONS]
    assert platform.count() == 2  # one forward walk, one backward: one request each


async def test_seed_last_page_pull(serve: Serve) -> None:
    platform = seed_platform()
    client = await serve(platform)
    got = [r async for r in client.regions.pull("provinces")]
    assert got == SEED_REGIONS
    assert platform.count() == 1


async def test_full_last_page_with_next_cursor_ends_the_walk(serve: Serve) -> None:
    # The seed example at limit 2: a full page, page.next 2 and cursors, yet the last.
    body = SEED_PROVINCES_V2.replace('"limit": 10', '"limit": 2')
    platform = MiniPlatform().route(V2["provinces"], lambda _: raw_response(body))
    client = await serve(platform)
    assert [r async for r in client.regions.provinces(limit=2)] == SEED_REGIONS
    assert [r async for r in client.regions.pull("provinces", limit=2)] == SEED_REGIONS
    assert platform.count() == 2  # one request per walk


# -- total_page rounded down (the documents' 514 cities / 10 = 51) ------------------------


def floor_platform() -> MiniPlatform:
    server = KeysetServer("cities", total_page=lambda total, limit: total // limit)
    return MiniPlatform().route(V2["cities"], server)


async def test_floor_rounding_walk_delivers_everything(serve: Serve) -> None:
    platform = floor_platform()
    client = await serve(platform)
    pages = [p async for p in client.regions.cities(limit=10).pages()]
    assert pages[0].meta.total_page == 51
    assert pages[0].meta.last_page == 52
    assert len(pages) == 52
    got = [r.code for p in pages for r in p.items]
    assert got == list(sorted_codes("cities"))
    assert platform.count() == 52


async def test_floor_rounding_pull_and_backward_walk(serve: Serve) -> None:
    platform = floor_platform()
    client = await serve(platform)
    pulled = [r.code async for r in client.regions.pull("cities", limit=10, concurrency=8)]
    assert sorted(pulled) == list(sorted_codes("cities"))
    assert platform.count() == 52
    assert platform.count(V2["cities"], current_page="52") == 1
    backward = [p async for p in client.regions.cities(limit=10).pages("previous")]
    assert len(backward[0].items) == 4  # the partial page the floor count hides
    assert sorted(r.code for p in backward for r in p.items) == list(sorted_codes("cities"))


# -- cursor loops --------------------------------------------------------------------------


def looping_page(request: web.Request, *, cursor_next: str, cursor_prev: str) -> web.Response:
    current = int(request.rel_url.query["current_page"])
    data = [
        {"code": f"{11 + i}", "parent_code": "", "bps_code": "", "name": f"P{i}"} for i in range(10)
    ]
    meta = {
        "item_count": 10,
        "page": {"current": current, "limit": 10, "total_page": 10, "total": 100},
        "cursors": {"next": cursor_next, "previous": cursor_prev},
    }
    return json_response({"status": 200, "error": False, "data": data, "meta": meta})


async def test_repeated_next_cursor_is_an_error_not_a_loop(serve: Serve) -> None:
    platform = MiniPlatform().route(
        V2["provinces"], lambda r: looping_page(r, cursor_next="MTE=", cursor_prev="MTI=")
    )
    client = await serve(platform)
    with pytest.raises(PaginationError, match="second time"):
        await drain(client.regions.provinces())
    # Page 1, then page 2 via MTE=, which hands MTE= back again: stop there.
    assert platform.count() == 2
    assert platform.seen[1][1]["next"] == "MTE="


async def test_repeated_previous_cursor_is_an_error_not_a_loop(serve: Serve) -> None:
    platform = MiniPlatform().route(
        V2["provinces"], lambda r: looping_page(r, cursor_next="MTE=", cursor_prev="MTI=")
    )
    client = await serve(platform)
    with pytest.raises(PaginationError, match="second time"):
        await drain(client.regions.provinces().pages("previous"))
    # Probe page 1, the last page (10) by number, page 9 via MTI=, which repeats MTI=.
    assert platform.count() == 3


def fresh_cursors(*, current: int | None = None, total: Any = 30) -> Any:
    counter = itertools.count(1)

    def answer(request: web.Request) -> web.Response:
        n = next(counter)
        page_total = total(n) if callable(total) else total
        data = [{"code": str(10 + (n * 10 + i) % 89), "name": "x"} for i in range(10)]
        meta = {
            "item_count": 10,
            "page": {
                "current": current if current is not None else 1,
                "limit": 10,
                "total_page": -(-page_total // 10),
                "total": page_total,
            },
            "cursors": {
                "next": base64.b64encode(f"n{n}".encode()).decode(),
                "previous": base64.b64encode(f"p{n}".encode()).decode(),
            },
        }
        if n > 500:  # a safety net for the test itself: a non-retryable failure
            return web.Response(status=500, text="test server gave up", content_type="text/plain")
        return json_response({"status": 200, "error": False, "data": data, "meta": meta})

    return answer


async def test_cursors_that_never_converge_are_bounded(serve: Serve) -> None:
    # Every answer says "page 1 of 3" and hands out a new cursor: no end rule fires.
    platform = MiniPlatform().route(V2["provinces"], fresh_cursors())
    client = await serve(platform)
    with pytest.raises(PaginationError, match="do not converge"):
        await drain(client.regions.provinces())
    assert platform.count() == 6  # the server's own 3 pages, plus 2 of slack, plus 1


async def test_cursors_that_never_converge_are_bounded_when_resumed(serve: Serve) -> None:
    platform = MiniPlatform().route(V2["provinces"], fresh_cursors())
    client = await serve(platform)
    with pytest.raises(PaginationError, match="do not converge"):
        await drain(client.regions.provinces(cursor="MTE="))
    assert platform.count() == 6


async def test_cursors_that_never_converge_with_a_growing_total(serve: Serve) -> None:
    # The server's total grows with every answer, so its own count never catches up.
    platform = MiniPlatform().route(V2["provinces"], fresh_cursors(total=lambda n: 30 + 10 * n))
    client = await serve(platform)
    with pytest.raises(PaginationError, match="do not converge"):
        await drain(client.regions.provinces())
    # Bounded by what the first answer claimed (4 pages), however the total grows after.
    assert platform.count() == 7


# -- malformed meta ------------------------------------------------------------------------

GOOD_DATA = [
    {"code": "11", "parent_code": "", "bps_code": "11", "name": "Aceh"},
    {"code": "12", "parent_code": "", "bps_code": "12", "name": "Sumatera Utara"},
]


def good_meta() -> dict[str, Any]:
    return {
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


def _set(path: str, value: Any) -> Any:
    def change(meta: dict[str, Any]) -> dict[str, Any] | None:
        keys = path.split(".")
        target = meta
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
        return meta

    return change


_DELETE = object()

MALFORMED_META = {
    "no meta": lambda meta: None,
    "meta a list": lambda meta: [meta],
    "no page": _set("page", _DELETE),
    "page a string": _set("page", "1"),
    "no current": _set("page.current", _DELETE),
    "current a word": _set("page.current", "one"),
    "current a float": _set("page.current", 1.5),
    "current a decimal string": _set("page.current", "1.0"),
    "current true": _set("page.current", True),
    "current null": _set("page.current", None),
    "current negative": _set("page.current", -1),
    "total_page negative": _set("page.total_page", -1),
    "total_page a word": _set("page.total_page", "many"),
    "total missing": _set("page.total", _DELETE),
    "total negative": _set("page.total", -2),
    "total a list": _set("page.total", [2]),
    "limit zero": _set("page.limit", 0),
    "limit negative": _set("page.limit", -10),
    "limit a word": _set("page.limit", "ten"),
    "item_count mismatch": _set("item_count", 3),
    "item_count negative": _set("item_count", -2),
    "item_count a word": _set("item_count", "two"),
    "more items than limit": _set("page.limit", 1),
}


def meta_platform(change: Any) -> MiniPlatform:
    meta = change(good_meta())
    body: dict[str, Any] = {"status": 200, "error": False, "message": "success", "data": GOOD_DATA}
    if meta is not None:
        body["meta"] = meta
    return MiniPlatform().route(V2["provinces"], lambda _: json_response(body))


@pytest.mark.parametrize("change", MALFORMED_META.values(), ids=MALFORMED_META.keys())
async def test_malformed_meta_is_a_pagination_error(serve: Serve, change: Any) -> None:
    platform = meta_platform(change)
    client = await serve(platform)
    with pytest.raises(PaginationError, match="malformed"):
        await client.regions.provinces().first_page()
    with pytest.raises(PaginationError, match="malformed"):
        await drain(client.regions.pull("provinces"))
    assert platform.count() == 2  # one each: not retried


def test_meta_numbers_as_digit_strings_are_read() -> None:
    # Leniency kept on purpose (the token answer's numbers are strings too).
    from sehatmu_async._decoders import ResponseContext
    from sehatmu_async.pagination import decode_page_meta

    meta = good_meta()
    meta["page"].update(current="1", total="2", total_page="1", limit="10")
    ctx = ResponseContext(status=200, method="GET", url="u", path="/p", request_id=None)
    decoded, nxt, prev = decode_page_meta({"meta": meta}, SEED_REGIONS, ctx)
    assert (decoded.current, decoded.total, decoded.total_page, decoded.limit) == (1, 2, 1, 10)
    assert (nxt, prev) == ("MTI=", "MTE=")


# -- unreadable answers --------------------------------------------------------------------

PAGE = orjson.dumps(
    {"status": 200, "error": False, "message": "success", "data": GOOD_DATA, "meta": good_meta()}
)


def _page_with(data: Any) -> bytes:
    return orjson.dumps({"status": 200, "error": False, "data": data, "meta": good_meta()})


UNREADABLE: dict[str, tuple[bytes, str]] = {
    "html": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    "truncated json": (PAGE[: len(PAGE) // 2], "application/json"),
    "empty body": (b"", "application/json"),
    "a json list": (b"[]", "application/json"),
    "a json string": (b'"ok"', "application/json"),
    "no data": (orjson.dumps({"status": 200, "meta": good_meta()}), "application/json"),
    "data a string": (_page_with("11,12"), "application/json"),
    "data an object": (_page_with({"code": "11"}), "application/json"),
    "item a list": (_page_with([["11", "", "11", "Aceh"], GOOD_DATA[1]]), "application/json"),
    "item a string": (_page_with(["11", "12"]), "application/json"),
    "item without code": (_page_with([{"name": "Aceh"}, GOOD_DATA[1]]), "application/json"),
    "code null": (_page_with([{**GOOD_DATA[0], "code": None}, GOOD_DATA[1]]), "application/json"),
    "code a list": (
        _page_with([{**GOOD_DATA[0], "code": ["11"]}, GOOD_DATA[1]]),
        "application/json",
    ),
    "code empty": (_page_with([{**GOOD_DATA[0], "code": ""}, GOOD_DATA[1]]), "application/json"),
    "name a number": (_page_with([{**GOOD_DATA[0], "name": 5}, GOOD_DATA[1]]), "application/json"),
    "parent_code a list": (
        _page_with([{**GOOD_DATA[0], "parent_code": []}, GOOD_DATA[1]]),
        "application/json",
    ),
    "bps_code an object": (
        _page_with([{**GOOD_DATA[0], "bps_code": {}}, GOOD_DATA[1]]),
        "application/json",
    ),
}


def unreadable_platform(body: bytes, content_type: str) -> MiniPlatform:
    def answer(_: web.Request) -> web.Response:
        return raw_response(body, content_type=content_type)

    return MiniPlatform().route(V2["provinces"], answer).route(V1["provinces"], answer)


@pytest.mark.parametrize(("body", "content_type"), UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_unreadable_answers_are_api_errors(
    serve: Serve, body: bytes, content_type: str
) -> None:
    platform = unreadable_platform(body, content_type)
    client = await serve(platform)
    with pytest.raises(APIError) as walk:
        await drain(client.regions.provinces())
    with pytest.raises(APIError) as pull:
        await drain(client.regions.pull("provinces"))
    with pytest.raises(APIError) as v1:
        await client.regions.v1.provinces(["11", "12"])
    for caught in (walk, pull, v1):
        assert not isinstance(caught.value, (KeyError, TypeError, PaginationError))
        assert caught.value.status == 200
        assert caught.value.method == "GET"
    assert platform.count() == 3


async def test_pull_refuses_codes_of_the_wrong_level(serve: Serve) -> None:
    # A city code in a provinces page: the pull cannot key it, and says so.
    data = [GOOD_DATA[0], {**GOOD_DATA[1], "code": "1101"}]
    platform = MiniPlatform().route(
        V2["provinces"],
        lambda _: json_response({"status": 200, "error": False, "data": data, "meta": good_meta()}),
    )
    client = await serve(platform)
    with pytest.raises(APIError, match="2-digit provinces code"):
        await drain(client.regions.pull("provinces"))


@pytest.mark.parametrize("status", [200, 400])
async def test_master_data_envelope_is_a_master_data_error(serve: Serve, status: int) -> None:
    envelope = {"status_code": 400, "message": "limit cannot be more than 2000", "data": None}
    platform = MiniPlatform().route(V2["cities"], lambda _: json_response(envelope, status))
    client = await serve(platform)
    with pytest.raises(MasterDataError) as caught:
        await client.regions.cities(limit=2000).first_page()
    assert caught.value.api_message == "limit cannot be more than 2000"
    assert platform.count() == 1


# -- short pages in the middle -------------------------------------------------------------

DROPPED = sorted_codes("cities")[110]  # the 11th city of page 3 at 50 a page


def short_page_platform() -> MiniPlatform:
    def tamper(info: dict[str, Any]) -> None:
        if info["current"] == 3:
            info["rows"] = [r for r in info["rows"] if r[0] != DROPPED]
            info["meta"]["item_count"] = len(info["rows"])

    return MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))


async def test_short_page_in_a_walk_is_an_incomplete_download(serve: Serve) -> None:
    platform = short_page_platform()
    client = await serve(platform)
    got: list[str] = []
    with pytest.raises(IncompleteDownloadError) as caught:
        await drain(client.regions.cities(limit=50), got)
    assert (caught.value.expected, caught.value.delivered) == (514, 149)
    assert set(got) == set(sorted_codes("cities")[:150]) - {DROPPED}
    assert len(got) == 149
    assert platform.count() == 3


async def test_short_page_in_a_pull_is_an_incomplete_download(serve: Serve) -> None:
    platform = short_page_platform()
    client = await serve(platform)
    got: list[str] = []
    with pytest.raises(IncompleteDownloadError) as caught:
        await drain(client.regions.pull("cities", limit=50), got)
    assert (caught.value.expected, caught.value.delivered) == (514, 513)
    assert set(got) == codes("cities") - {DROPPED}
    assert len(got) == 513
    assert platform.count() == 11


async def test_pull_from_a_server_ignoring_current_page(serve: Serve) -> None:
    # Every request gets page 1's regions back, with the asked number echoed in meta.
    def tamper(info: dict[str, Any]) -> None:
        limit = info["limit"]
        info["rows"] = sorted(KeysetServer("cities").rows)[:limit]

    platform = MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))
    client = await serve(platform)
    with pytest.raises(PaginationError, match="only regions already delivered"):
        await drain(client.regions.pull("cities", limit=100, concurrency=1))


async def test_pull_delivers_each_region_once_from_overlapping_pages(serve: Serve) -> None:
    ordered = sorted_codes("cities")
    lost = {ordered[100], ordered[160]}

    # Page 3 starts with page 2's last city instead of its own first one, and page 4
    # lists one of its cities twice in place of another.
    def tamper(info: dict[str, Any]) -> None:
        rows = info["rows"]
        if info["current"] == 3:
            info["rows"] = [next(r for r in KeysetServer("cities").rows if r[0] == ordered[99])]
            info["rows"] += rows[1:]
        if info["current"] == 4:
            info["rows"] = [*rows[:10], rows[9], *rows[11:]]

    platform = MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))
    client = await serve(platform)
    got: list[str] = []
    with pytest.raises(IncompleteDownloadError) as caught:
        await drain(client.regions.pull("cities", limit=50, concurrency=3), got)
    assert len(got) == len(set(got)) == 512
    assert set(got) == codes("cities") - lost
    assert (caught.value.expected, caught.value.delivered) == (514, 512)


# -- pages that lie about their number, pages that keep failing ------------------------------


async def test_pull_page_answering_another_current_is_an_error(serve: Serve) -> None:
    def tamper(info: dict[str, Any]) -> None:
        if info["current"] == 4:
            info["meta"]["page"]["current"] = 1

    platform = MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))
    client = await serve(platform, threaded=True)
    with pytest.raises(PaginationError, match="asked cities page 4 but the server answered page 1"):
        await drain(client.regions.pull("cities", limit=50, concurrency=3))
    await settle()
    assert other_tasks() == set()
    assert acquired_connections(client) == 0


async def test_walk_fails_cleanly_when_a_page_keeps_failing(serve: Serve) -> None:
    def tamper(info: dict[str, Any]) -> web.Response | None:
        if info["current"] == 3:
            return web.Response(status=503, text="no healthy upstream", content_type="text/plain")
        return None

    platform = MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))
    client = await serve(platform, retry=RetryPolicy(attempts=3, backoff_base=0.001))
    got: list[str] = []
    with pytest.raises(ServerError) as caught:
        await drain(client.regions.cities(limit=50), got)
    assert caught.value.status == 503
    assert "no healthy upstream" in caught.value.body
    assert got == list(sorted_codes("cities")[:100])
    assert platform.count(V2["cities"], current_page="3") == 3


async def test_pull_fails_cleanly_when_a_page_keeps_failing(serve: Serve) -> None:
    def tamper(info: dict[str, Any]) -> web.Response | None:
        if info["current"] == 3:
            return web.Response(status=503, text="no healthy upstream", content_type="text/plain")
        return None

    platform = MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))
    client = await serve(platform, threaded=True, retry=RetryPolicy(attempts=3, backoff_base=0.001))
    with pytest.raises(ServerError) as caught:
        await drain(client.regions.pull("cities", limit=50, concurrency=4))
    assert caught.value.status == 503
    assert platform.count(V2["cities"], current_page="3") == 3  # exactly the policy's attempts
    assert platform.count(V2["cities"]) <= 11 + 2
    await settle()
    assert other_tasks() == set()
    assert acquired_connections(client) == 0


# -- distinct regions, not items, are counted (a repeated region hides a dropped one) -----


def repeating_platform() -> MiniPlatform:
    first_page: list[Any] = []

    def tamper(info: dict[str, Any]) -> None:
        if info["current"] == 1 and info["via"] is None:
            first_page[:] = info["rows"]
        elif info["current"] == 2:
            # Page 2 repeats page 1's first city where its own last one should be.
            info["rows"] = [*info["rows"][:-1], first_page[0]]

    return MiniPlatform().route(V2["cities"], KeysetServer("cities", tamper=tamper))


async def test_v2_walk_counts_distinct_regions(serve: Serve) -> None:
    client = await serve(repeating_platform())
    got: list[str] = []
    with pytest.raises(IncompleteDownloadError) as caught:
        await drain(client.regions.cities(limit=100), got)
    assert caught.value.expected == 514
    assert caught.value.delivered == 513
    assert len(got) == len(set(got)) == 513  # the repeated city was delivered once


async def test_v2_pages_still_show_what_the_server_sent(serve: Serve) -> None:
    client = await serve(repeating_platform())
    pages = [p async for p in client.regions.cities(limit=100).pages()]
    assert sum(len(p.items) for p in pages) == 514
