"""Filters and limits: checked before any request, and sent comma-joined as the platform
expects them (asserted on the query the server saw)."""

from __future__ import annotations

from typing import Any

import pytest
from _regions_helpers import V1, V2, Recorded, b64, children, sorted_codes

from sehatmu_async import ConfigurationError, RegionLevel
from sehatmu_async.testing import SandboxHarness

# -- refused before any request ------------------------------------------------------------

BAD_LIMITS = [0, -1, 2001, 10**6, "10", True, False, 1.5, 10.0, "", [10]]

#: parameter -> bad values for it (its level's codes are 2, 4, 6 or 10 digits).
BAD_CODES: dict[str, list[Any]] = {
    "province": [
        "1",
        "111",
        "1a",
        "",
        " ",
        [],
        ["11", "1101"],
        ["١١"],
        [True],
        [11.0],
        [None],
        [["11"]],
        "11,12",
        "+1",
        ["-1"],
        b"31",  # bytes iterate as integers: 51, 49 would be two valid province codes
        bytearray(b"31"),
    ],
    "city": ["11", "11010", "11O1", [], ["1101", "110101"], [b"1101"], "11 01"],
    "district": ["1101", "1101011", "11010x", [], [110101, 1101], ["１１０１０１"]],
    "village": ["110101", "11010120011", "1101012OO1", [], ["1101012001", None]],
}


def _calls() -> list[tuple[str, Any]]:
    """(id, a call that must raise ConfigurationError) for every pager and v1 entry point."""
    calls: list[tuple[str, Any]] = []
    for value in BAD_CODES["province"]:
        calls += [
            (f"v2.provinces codes={value!r}", lambda r, v=value: r.provinces(codes=v)),
            (f"v2.cities province_codes={value!r}", lambda r, v=value: r.cities(province_codes=v)),
            (f"v1.provinces {value!r}", lambda r, v=value: r.v1.provinces(v)),
            (f"v1.cities {value!r}", lambda r, v=value: r.v1.cities(v)),
        ]
    for value in BAD_CODES["city"]:
        calls += [
            (f"v2.cities codes={value!r}", lambda r, v=value: r.cities(codes=v)),
            (f"v2.districts city_codes={value!r}", lambda r, v=value: r.districts(city_codes=v)),
            (f"v1.cities codes={value!r}", lambda r, v=value: r.v1.cities(["11"], codes=v)),
            (f"v1.districts {value!r}", lambda r, v=value: r.v1.districts(v)),
        ]
    for value in BAD_CODES["district"]:
        calls += [
            (f"v2.districts codes={value!r}", lambda r, v=value: r.districts(codes=v)),
            (
                f"v2.sub_districts district_codes={value!r}",
                lambda r, v=value: r.sub_districts(district_codes=v),
            ),
            (f"v1.districts codes={value!r}", lambda r, v=value: r.v1.districts(["1101"], codes=v)),
            (f"v1.sub_districts {value!r}", lambda r, v=value: r.v1.sub_districts(v)),
        ]
    for value in BAD_CODES["village"]:
        calls += [
            (f"v2.sub_districts codes={value!r}", lambda r, v=value: r.sub_districts(codes=v)),
            (
                f"v1.sub_districts codes={value!r}",
                lambda r, v=value: r.v1.sub_districts(["110101"], codes=v),
            ),
        ]
    for value in BAD_LIMITS:
        for level in ("provinces", "cities", "districts", "sub_districts"):
            calls.append(
                (f"v2.{level} limit={value!r}", lambda r, v=value, n=level: getattr(r, n)(limit=v))
            )
        calls.append((f"pull limit={value!r}", lambda r, v=value: r.pull("cities", limit=v)))
    for value in ("", "   ", 123, b"MTE="):
        calls.append((f"v2 cursor={value!r}", lambda r, v=value: r.cities(cursor=v)))
    for value in (0, 65, -1, True, 2.0, "8"):
        calls.append(
            (f"pull concurrency={value!r}", lambda r, v=value: r.pull("cities", concurrency=v))
        )
    for level in ("kelurahan", "", "regions", 3):
        calls.append((f"pull level={level!r}", lambda r, v=level: r.pull(v)))
    for parents, level in [
        ([], "cities"),
        (["1101"], "cities"),  # the target's own level
        (["110101"], "cities"),  # below the target
        (["1101012001"], "sub_districts"),
        (["11", "1101"], "districts"),  # mixed levels
        (["1a"], "cities"),
        (b"11", "cities"),
        (["111"], "districts"),
        ([True], "cities"),
        ("", "cities"),
        (1.5, "cities"),
        (object(), "districts"),
    ]:
        calls.append(
            (
                f"pull {level} parent_codes={parents!r}",
                lambda r, p=parents, n=level: r.pull(n, parent_codes=p),
            )
        )
    for direction in ("up", "prev", None):
        calls.append(
            (f"pages direction={direction!r}", lambda r, d=direction: _first(r.cities().pages(d)))
        )
    return calls


async def _first(pages: Any) -> None:
    async for _ in pages:
        break


CALLS = _calls()


async def invoke(call: Any, regions: Any) -> None:
    """Make the call; await it if it is a coroutine (v1) rather than a pager or a pull."""
    result = call(regions)
    if hasattr(result, "__await__"):
        await result


@pytest.mark.parametrize("call", [c for _, c in CALLS], ids=[i for i, _ in CALLS])
async def test_bad_arguments_are_refused_before_any_request(
    sehatmu_sandbox: SandboxHarness, call: Any
) -> None:
    with pytest.raises(ConfigurationError):
        await invoke(call, sehatmu_sandbox.client.regions)
    assert sehatmu_sandbox.counters.requests == 0
    assert sehatmu_sandbox.counters.token_requests == 0


def test_bad_argument_messages_say_what_to_do() -> None:
    from sehatmu_async import SehatMuClient

    regions = SehatMuClient("id", "secret", base_url="http://127.0.0.1:9").regions
    with pytest.raises(ConfigurationError, match=r"limit must be an integer from 1 to 2000"):
        regions.cities(limit=2001)
    with pytest.raises(ConfigurationError, match=r"those are 4 digits"):
        regions.cities(codes=["110"])
    with pytest.raises(ConfigurationError, match=r"province_codes is empty"):
        regions.cities(province_codes=[])
    with pytest.raises(ConfigurationError, match=r"unknown region level 'kelurahan'"):
        regions.pull("kelurahan")


async def test_limit_bounds_are_accepted(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    one = await regions.cities(limit=1).first_page()
    assert [r.code for r in one.items] == [sorted_codes("cities")[0]]
    most = await regions.districts(limit=2000).first_page()
    assert len(most.items) == 2000
    assert (most.meta.limit, most.meta.total, most.meta.total_page) == (2000, 7277, 4)


async def test_level_names_and_aliases(sehatmu_sandbox: SandboxHarness) -> None:
    regions = sehatmu_sandbox.client.regions
    for name in ("provinces", "PROVINCES", "province", RegionLevel.PROVINCES):
        got = [r.code async for r in regions.pull(name, limit=10)]
        assert len(got) == 37


# -- on the wire ---------------------------------------------------------------------------


async def test_v1_filters_on_the_wire(recorded: Recorded) -> None:
    got = await recorded.client.regions.v1.cities(
        province_codes=[11, "12", "11", " 12 "], codes=[1103, "1210", 1103]
    )
    assert [r.code for r in got] == ["1103", "1210"]
    assert recorded.queries(V1["cities"]) == [{"province_codes": "11,12", "codes": "1103,1210"}]
    assert ("/masterdata/v1/cities", "province_codes=11,12&codes=1103,1210") in recorded.raw
    await recorded.client.regions.v1.provinces("11")
    await recorded.client.regions.v1.sub_districts(110101, codes=[1101012001, 1101012002])
    assert recorded.queries(V1["provinces"]) == [{"codes": "11"}]
    assert recorded.queries(V1["sub_districts"]) == [
        {"district_codes": "110101", "codes": "1101012001,1101012002"}
    ]


async def test_v2_walk_on_the_wire(recorded: Recorded) -> None:
    pages = [
        p
        async for p in recorded.client.regions.cities(
            province_codes=[11, "12", 11], limit=10
        ).pages()
    ]
    queries = recorded.queries(V2["cities"])
    assert len(queries) == len(pages) == 6  # 23 + 33 cities, 10 a page
    assert queries[0] == {"province_codes": "11,12", "limit": "10", "current_page": "1"}
    for number, (query, before) in enumerate(zip(queries[1:], pages, strict=False), start=2):
        # current_page is always sent, also with a cursor (api.md, "Decided here").
        assert query == {
            "province_codes": "11,12",
            "limit": "10",
            "current_page": str(number),
            "next": b64(before.items[-1].code),
        }
    assert {r.code for p in pages for r in p.items} == children("cities", {"11", "12"})


async def test_v2_backward_walk_and_default_limit_on_the_wire(recorded: Recorded) -> None:
    pages = [p async for p in recorded.client.regions.provinces().pages("previous")]
    queries = recorded.queries(V2["provinces"])
    # No limit given: none sent (the platform's default, 10). Probe, last page, back.
    assert queries[0] == {"current_page": "1"}
    assert queries[1] == {"current_page": "4"}
    assert queries[2] == {"current_page": "3", "prev": b64(pages[0].items[0].code)}
    assert queries[3] == {"current_page": "2", "prev": b64(pages[1].items[0].code)}
    assert queries[4] == {"current_page": "1", "prev": b64(pages[2].items[0].code)}
    assert len(queries) == 5
    assert sorted(r.code for p in pages for r in p.items) == list(sorted_codes("provinces"))


async def test_resume_cursor_on_the_wire(recorded: Recorded) -> None:
    cursor = b64("3273")
    got = [r.code async for r in recorded.client.regions.cities(cursor=cursor, limit=500)]
    assert got == [c for c in sorted_codes("cities") if c > "3273"]
    assert recorded.queries(V2["cities"])[0] == {
        "limit": "500",
        "current_page": "1",
        "next": cursor,
    }


async def test_pull_parent_filters_on_the_wire(recorded: Recorded) -> None:
    got = [
        r.code
        async for r in recorded.client.regions.pull(
            "districts", parent_codes=["1102", 1101, "1101"], limit=20
        )
    ]
    assert sorted(got) == sorted(children("districts", {"1101", "1102"}))
    queries = recorded.queries(V2["districts"])
    assert queries[0]["city_codes"] == "1101,1102"  # deduplicated, sorted, comma-joined
    assert {q["city_codes"] for q in queries} == {"1101,1102"}
    assert {q["limit"] for q in queries} == {"20"}
    assert sorted(int(q["current_page"]) for q in queries) == list(range(1, len(queries) + 1))


async def test_pull_tree_walk_on_the_wire(recorded: Recorded) -> None:
    got = [
        r.code
        async for r in recorded.client.regions.pull("sub_districts", parent_codes=[11], limit=2000)
    ]
    cities = children("cities", {"11"})
    districts = children("districts", cities)
    assert sorted(got) == sorted(children("sub_districts", districts))
    assert [q["province_codes"] for q in recorded.queries(V2["cities"])] == ["11"]
    sent_districts = [q["city_codes"] for q in recorded.queries(V2["districts"])]
    assert sent_districts == [",".join(sorted(cities))]
    village_filters = {q["district_codes"] for q in recorded.queries(V2["sub_districts"])}
    # Parent codes batched so that no URL grows past ~1000 characters of filter.
    assert all(len(f) <= 1000 for f in village_filters)
    assert len(village_filters) > 1
    sent = [c for f in village_filters for c in f.split(",")]
    assert sorted(sent) == sorted(districts)


def test_bytes_codes_are_refused_with_what_to_pass() -> None:
    from sehatmu_async import SehatMuClient

    regions = SehatMuClient("id", "secret", base_url="http://127.0.0.1:9").regions
    with pytest.raises(ConfigurationError, match=r"codes: b'31' is bytes; pass region codes"):
        regions.provinces(codes=b"31")
    with pytest.raises(ConfigurationError, match=r"parent_codes: b'11' is bytes"):
        regions.pull("cities", parent_codes=b"11")


# -- v1 filters too long for one URL: several short requests, one merged answer -----------


async def test_v1_long_filters_are_split_and_merged_in_code_order(recorded: Recorded) -> None:
    import aiohttp

    villages = list(sorted_codes("sub_districts")[:3000])
    districts = sorted({code[:6] for code in villages})
    wanted = ",".join(villages)
    # The sandbox, like any real server, refuses the one long URL outright.
    url = recorded.client.base_url + V1["sub_districts"]
    async with aiohttp.ClientSession() as session, session.get(
        url, params={"district_codes": ",".join(districts), "codes": wanted}
    ) as response:
        assert response.status == 400
    shuffled = villages[1::2] + villages[::2]
    got = await recorded.client.regions.v1.sub_districts(districts, codes=shuffled)
    assert [r.code for r in got] == villages
    queries = recorded.raw
    sent = [q for path, q in queries if path == V1["sub_districts"]]
    assert len(sent) > 1
    assert all(len(q) <= 2200 for q in sent)
    asked = [c for q in recorded.queries(V1["sub_districts"]) for c in q["codes"].split(",")]
    assert sorted(asked) == villages  # every code asked for, none twice per parent batch


async def test_v1_short_filters_stay_one_request(recorded: Recorded) -> None:
    got = await recorded.client.regions.v1.cities(["11", "12"])
    assert len(got) == len(children("cities", {"11", "12"}))
    assert len(recorded.queries(V1["cities"])) == 1


async def test_v1_filters_needing_too_many_requests_are_refused_before_sending(
    sehatmu_sandbox: SandboxHarness,
) -> None:
    villages = list(sorted_codes("sub_districts")[:30000])
    districts = sorted({code[:6] for code in villages})
    refused = r"requests of short URLs .* use client\.regions\.pull"
    with pytest.raises(ConfigurationError, match=refused):
        await sehatmu_sandbox.client.regions.v1.sub_districts(districts, codes=villages)
    assert sehatmu_sandbox.counters.requests == 0


async def test_v2_walk_filters_too_long_for_a_url_are_refused_before_sending(
    sehatmu_sandbox: SandboxHarness,
) -> None:
    villages = list(sorted_codes("sub_districts")[:1000])
    with pytest.raises(ConfigurationError, match=r"more than one URL can carry"):
        sehatmu_sandbox.client.regions.sub_districts(codes=villages)
    assert sehatmu_sandbox.counters.requests == 0
    # Below the bound a walk is one query, as before.
    got = [r.code async for r in sehatmu_sandbox.client.regions.sub_districts(codes=villages[:300])]
    assert got == villages[:300]
