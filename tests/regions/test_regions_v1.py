"""Master Wilayah v1 against the sandbox (real data): every level, filters, refusals."""

from __future__ import annotations

import pytest
from _regions_helpers import (
    children,
    region,
    row_of,
)
from _wilayah_data import TOTALS, rows

from sehatmu_async import ConfigurationError, Region, RegionLevel
from sehatmu_async.testing import SandboxHarness


async def test_v1_provinces_by_codes(sehatmu_sandbox: SandboxHarness) -> None:
    got = await sehatmu_sandbox.client.regions.v1.provinces(["11", 12, "11"])
    assert got == [region("provinces", row_of("provinces", c)) for c in ("11", "12")]
    assert got[0].parent_code is None
    assert got[0].level is RegionLevel.PROVINCES
    assert sehatmu_sandbox.counters.by_route["GET /masterdata/v1/provinces"] == 1


async def test_v1_provinces_all_37_by_codes(sehatmu_sandbox: SandboxHarness) -> None:
    all_codes = [r[0] for r in rows("provinces")]
    got = await sehatmu_sandbox.client.regions.v1.provinces(all_codes)
    assert sorted(got, key=lambda r: r.code) == sorted(
        (region("provinces", r) for r in rows("provinces")), key=lambda r: r.code
    )
    assert len(got) == TOTALS["provinces"]


async def test_v1_cities_by_province_and_codes(sehatmu_sandbox: SandboxHarness) -> None:
    v1 = sehatmu_sandbox.client.regions.v1
    aceh = await v1.cities(province_codes=[11])
    assert {r.code for r in aceh} == children("cities", {"11"})
    assert len(aceh) == len(children("cities", {"11"})) == 23
    assert all(r.parent_code == "11" and r.level is RegionLevel.CITIES for r in aceh)
    assert sorted(aceh, key=lambda r: r.code) == sorted(
        (region("cities", row_of("cities", c)) for c in children("cities", {"11"})),
        key=lambda r: r.code,
    )
    two = await v1.cities(["11", "12"], codes=["1103", 1210, "1103"])
    assert [r.code for r in two] == ["1103", "1210"]
    # A city outside the given provinces is filtered out by the platform.
    none = await v1.cities(["11"], codes=["3273"])
    assert none == []


async def test_v1_districts(sehatmu_sandbox: SandboxHarness) -> None:
    v1 = sehatmu_sandbox.client.regions.v1
    got = await v1.districts(city_codes=["1101", 3273])
    want = children("districts", {"1101", "3273"})
    assert {r.code for r in got} == want
    assert len(got) == len(want)
    one = await v1.districts(["1101"], codes="110101")
    assert one == [region("districts", row_of("districts", "110101"))]


async def test_v1_sub_districts(sehatmu_sandbox: SandboxHarness) -> None:
    v1 = sehatmu_sandbox.client.regions.v1
    got = await v1.sub_districts(district_codes=["110101"])
    want = children("sub_districts", {"110101"})
    assert {r.code for r in got} == want
    assert len(got) == len(want) > 0
    assert all(isinstance(r, Region) and r.level is RegionLevel.SUB_DISTRICTS for r in got)
    one = await v1.sub_districts(["110101"], codes=[1101012001])
    assert one == [region("sub_districts", row_of("sub_districts", "1101012001"))]


async def test_v1_empty_bps_code_is_none(sehatmu_sandbox: SandboxHarness) -> None:
    row = next(r for r in rows("cities") if r[2] == "")
    got = await sehatmu_sandbox.client.regions.v1.cities([row[1]], codes=[row[0]])
    assert got == [region("cities", row)]
    assert got[0].bps_code is None


@pytest.mark.parametrize(
    ("call", "param"),
    [
        (lambda v1: v1.provinces(None), "codes"),
        (lambda v1: v1.cities(None), "province_codes"),
        (lambda v1: v1.cities(None, codes=["1101"]), "province_codes"),
        (lambda v1: v1.districts(None), "city_codes"),
        (lambda v1: v1.districts(None, codes=["110101"]), "city_codes"),
        (lambda v1: v1.sub_districts(None), "district_codes"),
        (lambda v1: v1.sub_districts(None, codes=["1101012001"]), "district_codes"),
    ],
)
async def test_v1_required_filter_refused_before_any_request(
    sehatmu_sandbox: SandboxHarness, call, param: str
) -> None:
    with pytest.raises(ConfigurationError, match=param):
        await call(sehatmu_sandbox.client.regions.v1)
    assert sehatmu_sandbox.counters.requests == 0
    assert sehatmu_sandbox.counters.token_requests == 0
