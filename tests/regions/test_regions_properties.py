"""Property tests: CodeSet against a reference set; the page decoders on arbitrary JSON."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from _regions_helpers import sorted_codes
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sehatmu_async import PageMeta, Region, RegionLevel, SehatMuError
from sehatmu_async._codeset import CodeSet
from sehatmu_async._decoders import ResponseContext
from sehatmu_async.pagination import (
    decode_page_meta,
    decode_pull_page,
    decode_pulled_regions,
    decode_region_list,
    decode_region_page,
)

CTX = ResponseContext(status=200, method="GET", url="http://x/p", path="/p", request_id="r1")

# -- CodeSet -------------------------------------------------------------------------------

# Small ranges force overlapping, interleaved and repeated batches; the wide one real codes.
code_ints = st.one_of(st.integers(0, 60), st.integers(0, 10**10 - 1), st.integers(0, 2**64 - 1))
batches = st.lists(st.lists(code_ints, max_size=40), max_size=30)


@settings(max_examples=200, deadline=None)
@given(batches=batches, probes=st.lists(code_ints, max_size=20))
@example(batches=[[5, 1, 3], [2, 4], [0, 6], [1, 2, 3, 4, 5, 6, 7]], probes=[8])
@example(batches=[[10, 20], [15], [5, 25], [20, 10, 30]], probes=[0, 11])
def test_codeset_matches_a_set(batches: list[list[int]], probes: list[int]) -> None:
    seen = CodeSet()
    reference: set[int] = set()
    for batch in batches:
        fresh = seen.add(batch)
        assert fresh == set(batch) - reference
        reference.update(batch)
        assert len(seen) == len(reference)
    for code in reference:
        assert code in seen
    for code in probes:
        assert (code in seen) == (code in reference)
    assert seen.add([]) == set()
    assert seen.add(list(reference)) == set()
    assert len(seen) == len(reference)


@given(st.one_of(st.text(), st.floats(), st.none(), st.tuples(st.integers())))
def test_codeset_non_integers_are_never_members(value: Any) -> None:
    seen = CodeSet()
    seen.add([0, 1, 2, 11])
    assert value not in seen


def test_codeset_village_codes_cost_about_8_bytes_each() -> None:
    villages = [int(c) for c in sorted_codes("sub_districts")]
    seen = CodeSet()
    delivered = 0
    # Pages of 1000 in a shuffled-but-disjoint order, as concurrent page fetches arrive.
    pages = [villages[i : i + 1000] for i in range(0, len(villages), 1000)]
    for page in pages[1::2] + pages[::2]:
        delivered += len(seen.add(page))
    assert delivered == len(seen) == 83763
    assert seen.add(villages[500:1500]) == set()
    arrays = seen._runs
    payload = sum(run.itemsize * len(run) for run in arrays)
    assert payload == 8 * 83763
    total = sum(sys.getsizeof(run) for run in arrays) + sys.getsizeof(arrays)
    assert total < 10 * 83763  # a set of ints would be ~7 MB


# -- page decoders on arbitrary JSON -------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.text(alphabet="0123456789²³¹٣۴ -.+e", max_size=5),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=25,
)
numberish = st.one_of(
    st.integers(-3, 3000), st.integers(0, 2**80), scalars, st.just("10"), st.just(" 2 ")
)
code_values = st.one_of(
    st.sampled_from(["11", "12", "1101", "110101", "1101012001", "", "1a", "١١"]),
    scalars,
)
items = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {"code": code_values, "name": st.one_of(st.text(max_size=5), scalars)},
            optional={"parent_code": code_values, "bps_code": code_values},
        ),
        json_values,
    ),
    max_size=5,
)
near_pages = st.fixed_dictionaries(
    {"status": st.just(200), "data": st.one_of(items, json_values)},
    optional={
        "meta": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "item_count": numberish,
                    "page": st.one_of(
                        st.fixed_dictionaries(
                            {},
                            optional={
                                k: numberish
                                for k in (
                                    "current",
                                    "total_page",
                                    "total",
                                    "limit",
                                    "previous",
                                    "next",
                                    "is_cursor",
                                )
                            },
                        ),
                        json_values,
                    ),
                    "cursors": st.one_of(
                        st.fixed_dictionaries({}, optional={"next": scalars, "previous": scalars}),
                        json_values,
                    ),
                },
            ),
            json_values,
        )
    },
)
any_page = st.one_of(near_pages, json_values)


def _check_meta(meta: PageMeta, n_items: int) -> None:
    assert meta.item_count == n_items
    assert n_items <= meta.limit
    for value in (meta.item_count, meta.current, meta.total_page, meta.total, meta.limit):
        assert isinstance(value, int)
        assert not isinstance(value, bool)
        assert value >= 0
    assert meta.limit >= 1
    last = meta.last_page
    assert last >= meta.total_page
    assert last * meta.limit >= meta.total
    assert (last - 1) * meta.limit < meta.total or last == meta.total_page


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=any_page, level=st.sampled_from(list(RegionLevel)))
@example(
    obj={"data": [], "meta": {"page": {"current": "²", "total": 1, "total_page": 1, "limit": 1}}},
    level=RegionLevel.PROVINCES,
)
@example(
    obj={
        "data": [],
        "meta": {"page": {"current": 1, "total": 10**30, "total_page": 1, "limit": 3}},
    },
    level=RegionLevel.PROVINCES,
)
def test_decode_region_page_never_raises_anything_else(obj: Any, level: RegionLevel) -> None:
    try:
        regions, meta, nxt, prev = decode_region_page(obj, level, CTX, b"{}")
    except SehatMuError:
        return
    assert all(isinstance(r, Region) and r.level is level for r in regions)
    assert all(isinstance(r.code, str) and r.code for r in regions)
    _check_meta(meta, len(regions))
    assert nxt is None or (isinstance(nxt, str) and nxt.strip())
    assert prev is None or (isinstance(prev, str) and prev.strip())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=any_page, level=st.sampled_from(list(RegionLevel)))
def test_decode_pulled_page_never_raises_anything_else(obj: Any, level: RegionLevel) -> None:
    # A pull checks meta when the page arrives and decodes regions when it is consumed.
    try:
        data, meta = decode_pull_page(obj, CTX, b"{}")
        regions, keys = decode_pulled_regions(data, level, CTX, b"{}")
    except SehatMuError:
        return
    assert len(keys) == len(regions)
    for region, key in zip(regions, keys, strict=True):
        assert len(region.code) == level.code_length
        assert int(region.code) == key
    _check_meta(meta, len(regions))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=any_page, n_items=st.integers(0, 3))
@example(obj=[], n_items=0)
@example(obj="meta", n_items=0)
def test_decode_page_meta_never_raises_anything_else(obj: Any, n_items: int) -> None:
    regions = [Region(f"{11 + i}", None, None, "x", RegionLevel.PROVINCES) for i in range(n_items)]
    try:
        meta, _, _ = decode_page_meta(obj, regions, CTX)
    except SehatMuError:
        return
    _check_meta(meta, n_items)


@settings(max_examples=100, deadline=None)
@given(obj=any_page, level=st.sampled_from(list(RegionLevel)))
def test_decode_region_list_never_raises_anything_else(obj: Any, level: RegionLevel) -> None:
    try:
        regions = decode_region_list(obj, level, CTX, b"")
    except SehatMuError:
        return
    assert all(isinstance(r, Region) for r in regions)


@given(
    total=st.integers(0, 2**90),
    limit=st.integers(1, 2**70),
    total_page=st.integers(0, 2**80),
)
def test_last_page_is_the_exact_ceiling(total: int, limit: int, total_page: int) -> None:
    meta = PageMeta(item_count=0, current=1, total_page=total_page, total=total, limit=limit)
    ceiling = total // limit + (1 if total % limit else 0)
    assert meta.last_page == max(total_page, ceiling)


@pytest.mark.parametrize(
    ("total", "limit", "total_page", "last"),
    [(514, 10, 51, 52), (2, 10, 1, 1), (83763, 1000, 84, 84), (0, 10, 0, 0), (20, 10, 2, 2)],
)
def test_last_page_examples(total: int, limit: int, total_page: int, last: int) -> None:
    meta = PageMeta(item_count=0, current=1, total_page=total_page, total=total, limit=limit)
    assert meta.last_page == last


@settings(max_examples=100, deadline=None)
@given(pages=st.lists(st.lists(st.integers(0, 10**6 - 1), max_size=30), max_size=20))
@example(pages=[[1, 2, 3], [7, 8], [2, 9], [5, 6, 7], [4]])
def test_codeset_pages_of_digit_strings_match_a_set(pages: list[list[int]]) -> None:
    # Packed runs (sorted pages of their own range) and overlapping pages, mixed.
    seen = CodeSet()
    reference: set[int] = set()
    for page in pages:
        if len(page) % 2:
            page = sorted(set(page))
        fresh = seen.add_page([f"{code:06d}" for code in page])
        new = set(page) - reference
        assert (set(page) if fresh is None else fresh) == new
        if fresh is None:
            assert len(new) == len(page)
        reference.update(page)
        assert len(seen) == len(reference)
    for code in range(0, 10**6, 9973):
        assert (code in seen) == (code in reference)
    for code in reference:
        assert code in seen
