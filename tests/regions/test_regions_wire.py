"""Region wire shapes: the msgspec fast path agrees with the checked path, byte for byte;
``Region`` keeps its value contract as a ``msgspec.Struct``."""

from __future__ import annotations

import gc
import pickle
from typing import Any

import msgspec
import orjson
import pytest
from _regions_helpers import SEED_PROVINCES_V2
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_regions_properties import any_page

import sehatmu_async._regions_wire as wire
from sehatmu_async import Region, RegionLevel, SehatMuError
from sehatmu_async._decoders import ResponseContext
from sehatmu_async.pagination import (
    decode_pull_page,
    decode_pulled_regions,
    decode_region_list,
    decode_region_page,
)

CTX = ResponseContext(status=200, method="GET", url="http://x/p", path="/p", request_id="r1")
HEADERS = {"Content-Type": "application/json"}
ACEH = Region("11", None, "11", "Aceh", RegionLevel.PROVINCES)

# -- Region's contract ---------------------------------------------------------------------


def test_region_is_a_frozen_hashable_value() -> None:
    by_keyword = Region(
        code="11", parent_code=None, bps_code="11", name="Aceh", level=RegionLevel.PROVINCES
    )
    assert by_keyword == ACEH
    assert hash(by_keyword) == hash(ACEH)
    assert len({ACEH, by_keyword}) == 1
    assert Region("11", None, "11", "Aceh ", RegionLevel.PROVINCES) != ACEH
    with pytest.raises(AttributeError):
        ACEH.name = "other"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(ACEH)) == ACEH
    assert repr(ACEH) == (
        "Region(code='11', parent_code=None, bps_code='11', name='Aceh', "
        "level=<RegionLevel.PROVINCES: 'provinces'>)"
    )
    assert msgspec.structs.replace(ACEH, name="NAD") == Region(
        "11", None, "11", "NAD", RegionLevel.PROVINCES
    )
    # Strings and an enum only: the collector never needs to walk 83,763 of them.
    assert not gc.is_tracked(ACEH)


def test_the_seed_example_decodes_on_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_slow_path(*_: Any) -> Any:
        raise AssertionError("the documented shape took the checked path")

    monkeypatch.setattr(wire, "decode_json", no_slow_path)
    body = SEED_PROVINCES_V2.encode()
    items, meta, nxt, prev = wire.read_region_page(body, HEADERS, CTX, RegionLevel.PROVINCES)
    assert items == [ACEH, Region("12", None, "12", "Sumatera Utara", RegionLevel.PROVINCES)]
    assert (meta.total, meta.total_page, meta.limit, meta.item_count) == (2, 1, 10, 2)
    assert (nxt, prev) == ("MTI=", "MTE=")
    assert wire.read_region_list(body, HEADERS, CTX, RegionLevel.PROVINCES) == items
    pulled = wire.read_pull_page(body, HEADERS, CTX, b"")
    assert pulled.regions(0, 2, RegionLevel.PROVINCES) == (items, ["11", "12"])


# -- the fast path against the checked path ------------------------------------------------


def _outcome(run: Any) -> Any:
    try:
        return ("ok", run())
    except SehatMuError as exc:
        return ("error", type(exc), str(exc))


envelopes = st.fixed_dictionaries(
    {},
    optional={
        "error": st.one_of(st.booleans(), st.none(), st.just("true")),
        "status_code": st.one_of(st.integers(100, 600), st.none(), st.just("500")),
        "resourceType": st.sampled_from(["OperationOutcome", "Patient", None]),
        "message": st.text(max_size=5),
    },
)


def _bodies(obj: Any, extra: dict[str, Any]) -> bytes:
    if isinstance(obj, dict):
        obj = {**obj, **extra}
    try:
        return orjson.dumps(obj)
    except TypeError:  # beyond 64-bit integers: not JSON orjson writes
        return b"[]"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=any_page, extra=envelopes, level=st.sampled_from(list(RegionLevel)))
@example(obj=orjson.loads(SEED_PROVINCES_V2), extra={}, level=RegionLevel.PROVINCES)
@example(obj={"data": None, "meta": {"page": {}}}, extra={}, level=RegionLevel.CITIES)
@example(
    obj={
        "data": [],
        "meta": {"page": {"current": 1, "total": 10**19, "total_page": 1, "limit": 3}},
    },
    extra={},
    level=RegionLevel.PROVINCES,
)
def test_fast_and_checked_paths_agree(
    obj: Any, extra: dict[str, Any], level: RegionLevel
) -> None:
    body = _bodies(obj, extra)

    def checked() -> Any:
        parsed = wire.decode_json(CTX, HEADERS, body)
        wire.raise_for_embedded_error(CTX, parsed, body)
        return parsed

    assert _outcome(lambda: wire.read_region_page(body, HEADERS, CTX, level)) == _outcome(
        lambda: decode_region_page(checked(), level, CTX, body)
    )
    assert _outcome(lambda: wire.read_region_list(body, HEADERS, CTX, level)) == _outcome(
        lambda: decode_region_list(checked(), level, CTX, body)
    )

    def fast_pull() -> Any:
        pulled = wire.read_pull_page(body, HEADERS, CTX, body)
        regions, codes = pulled.regions(0, len(pulled), level)
        return pulled.meta, (regions, [int(code) for code in codes])

    def checked_pull() -> Any:
        data, meta = decode_pull_page(checked(), CTX, body)
        return meta, decode_pulled_regions(data, level, CTX, body)

    assert _outcome(fast_pull) == _outcome(checked_pull)


def test_pulled_slices_name_the_item_by_its_index_in_the_page() -> None:
    data = [{"code": f"{11 + i}", "name": "x"} for i in range(5)] + [{"code": "17", "name": 3}]
    body = orjson.dumps(
        {"data": data, "meta": {"page": {"current": 1, "total": 6, "total_page": 1, "limit": 9}}}
    )
    pulled = wire.read_pull_page(body, HEADERS, CTX, body)
    assert pulled.regions(0, 4, RegionLevel.PROVINCES)[1] == ["11", "12", "13", "14"]
    with pytest.raises(SehatMuError, match=r"data\[5\]\.name is not a string"):
        pulled.regions(4, 8, RegionLevel.PROVINCES)
