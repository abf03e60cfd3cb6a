"""The region and patient scenarios. Each returns a dict of figures; ratios say SDK vs baseline.

Register a scenario with ``@scenario("name")`` (see ``_registry.py``).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
import tracemalloc
from typing import Any

import attrs
import orjson

from sehatmu_async import SehatMuClient
from sehatmu_async._decoders import ResponseContext
from sehatmu_async._models import Region, RegionLevel
from sehatmu_async._regions_checked import structure_regions
from sehatmu_async._regions_wire import read_pull_page
from sehatmu_async.sandbox import Sandbox

from . import _baseline
from ._harness import SandboxProcess, interleaved, start_sandbox, worst_lateness
from ._registry import scenario

VILLAGES = 83_763


def _client(sandbox: SandboxProcess | Sandbox, **settings: Any) -> SehatMuClient:
    return SehatMuClient(
        sandbox.client_id, sandbox.client_secret, base_url=sandbox.url, **settings
    )


async def _sdk_pull(sandbox: SandboxProcess, limit: int, concurrency: int) -> int:
    async with _client(sandbox) as client:
        count = 0
        async for _ in client.regions.pull("sub_districts", limit=limit, concurrency=concurrency):
            count += 1
        return count


@scenario("full_pull")
async def full_pull(repetitions: int) -> dict[str, Any]:
    """All villages, limit 1000, 8 in flight: SDK vs plain aiohttp (json, orjson, bytes only)."""
    sandbox = start_sandbox()
    path = "sub-districts"
    try:
        runs = {
            "sdk": lambda: _sdk_pull(sandbox, 1000, 8),
            "aiohttp_json": lambda: _baseline.count_pull(
                sandbox, level_path=path, limit=1000, concurrency=8, loads=_baseline.stdlib_loads
            ),
            "aiohttp_orjson": lambda: _baseline.count_pull(
                sandbox, level_path=path, limit=1000, concurrency=8, loads=orjson.loads
            ),
            "aiohttp_bytes_only": lambda: _baseline.bytes_pull(
                sandbox, level_path=path, limit=1000, concurrency=8
            ),
        }
        await runs["sdk"]()  # warm the server's caches and the connection path once
        series = await interleaved(runs, repetitions)
    finally:
        sandbox.close()
    for name, s in series.items():
        if any(sample.result != VILLAGES for sample in s.samples):
            raise RuntimeError(f"{name} did not deliver {VILLAGES} villages")
    sdk = series["sdk"]
    figures: dict[str, Any] = {"runs": {name: s.as_dict() for name, s in series.items()}}
    for name in ("aiohttp_json", "aiohttp_orjson", "aiohttp_bytes_only"):
        figures[f"wall_ratio_vs_{name}"] = round(sdk.wall / series[name].wall, 3)
        figures[f"cpu_ratio_vs_{name}"] = round(sdk.cpu / series[name].cpu, 3)
    figures["target"] = "wall vs aiohttp_json <= 0.75; vs aiohttp_orjson <= 1.10"
    return figures


@scenario("loop_lateness")
async def loop_lateness(repetitions: int) -> dict[str, Any]:
    """Worst lateness of a task sleeping 1 ms in a loop, during a pull at limit 2000."""
    sandbox = start_sandbox()
    try:
        series = await interleaved(
            {
                "sdk": lambda: worst_lateness(lambda: _sdk_pull(sandbox, 2000, 8)),
                "aiohttp_json": lambda: worst_lateness(
                    lambda: _baseline.count_pull(
                        sandbox,
                        level_path="sub-districts",
                        limit=2000,
                        concurrency=8,
                        loads=_baseline.stdlib_loads,
                    )
                ),
            },
            repetitions,
        )
    finally:
        sandbox.close()
    worst = {name: [sample.result[1] for sample in s.samples] for name, s in series.items()}
    for name, s in series.items():
        if any(sample.result[0] != VILLAGES for sample in s.samples):
            raise RuntimeError(f"{name} did not deliver {VILLAGES} villages")
    return {
        "worst_lateness_ms_median": {
            name: round(statistics.median(values) * 1000, 2) for name, values in worst.items()
        },
        "worst_lateness_ms_runs": {
            name: [round(v * 1000, 2) for v in values] for name, values in worst.items()
        },
        "target": "SDK <= 10 ms (the plain loop: ~35 ms)",
    }


async def _sdk_walk(sandbox: SandboxProcess, limit: int) -> int:
    async with _client(sandbox) as client:
        count = 0
        async for _ in client.regions.sub_districts(limit=limit):
            count += 1
        return count


@scenario("latency_pull")
async def latency_pull(repetitions: int) -> dict[str, Any]:
    """10 ms per answer, limit 100 (838 pages): pull at 16 in flight vs a sequential walk."""
    sandbox = start_sandbox(latency_ms=10.0)
    try:
        series = await interleaved(
            {
                "concurrent_pull_16": lambda: _sdk_pull(sandbox, 100, 16),
                "aiohttp_concurrent_16": lambda: _baseline.count_pull(
                    sandbox,
                    level_path="sub-districts",
                    limit=100,
                    concurrency=16,
                    loads=orjson.loads,
                ),
                "sequential_cursor_walk": lambda: _sdk_walk(sandbox, 100),
            },
            repetitions,
        )
    finally:
        sandbox.close()
    for name, s in series.items():
        if any(sample.result != VILLAGES for sample in s.samples):
            raise RuntimeError(f"{name} did not deliver {VILLAGES} villages")
    walk = series["sequential_cursor_walk"].wall
    return {
        "runs": {name: s.as_dict() for name, s in series.items()},
        "speedup": round(walk / series["concurrent_pull_16"].wall, 2),
        "aiohttp_fan_out_speedup": round(walk / series["aiohttp_concurrent_16"].wall, 2),
        "target": "speedup >= 15 (plain aiohttp reaches ~15; ideal ~20)",
    }


@scenario("token_cache")
async def token_cache(repetitions: int) -> dict[str, Any]:
    """1,000 cold concurrent callers -> token requests; fast-path cost per call."""
    counts = []
    async with Sandbox() as sandbox:
        for _ in range(repetitions):
            sandbox.counters.reset()
            async with _client(sandbox) as client:
                await asyncio.gather(*(client.token() for _ in range(1000)))
            counts.append(sandbox.counters.token_requests)
        async with _client(sandbox) as client:
            await client.token()
            calls = 200_000
            best = float("inf")
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(calls):
                    await client.token()
                best = min(best, (time.perf_counter() - started) / calls)

            async def noop() -> None:
                return None

            started = time.perf_counter()
            for _ in range(calls):
                await noop()
            floor = (time.perf_counter() - started) / calls
    return {
        "token_requests_for_1000_cold_callers": counts,
        "fast_path_us_per_call": round(best * 1e6, 3),
        "awaiting_an_empty_coroutine_us": round(floor * 1e6, 3),
        "target": "1 token request; fast path <= 2 us",
    }


def _page_body(count: int) -> bytes:
    """A v2 page of ``count`` villages, as the sandbox serves it."""
    import csv
    import gzip
    from importlib import resources

    data = resources.files("sehatmu_async.sandbox") / "data" / "sub_districts.csv.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        rows = [row for _, row in zip(range(count), csv.DictReader(text), strict=False)]
    page = {"current": 1, "total_page": 1, "total": count, "limit": count}
    return orjson.dumps(
        {"status": 200, "data": rows, "meta": {"item_count": len(rows), "page": page}}
    )


@attrs.frozen(slots=True)
class _AttrsRegion:
    """0.1.0's ``Region``: measured against the Struct that replaced it."""

    code: str
    parent_code: str | None
    bps_code: str | None
    name: str
    level: RegionLevel


@scenario("decode_cost")
def decode_cost(repetitions: int) -> dict[str, Any]:
    """Per-region cost of one 2000-item page: dicts, the SDK's paths, attrs vs Struct."""
    body = _page_body(2000)
    level = RegionLevel.SUB_DISTRICTS
    ctx = ResponseContext(status=200, method="GET", url="", path="", request_id=None)

    def fast() -> Any:
        return read_pull_page(body, {}, ctx, b"").regions(0, 2000, level)

    def as_attrs() -> list[_AttrsRegion]:
        items = read_pull_page(body, {}, ctx, b"")._items
        return [
            _AttrsRegion(i.code, i.parent_code or None, i.bps_code or None, i.name, level)
            for i in items
        ]

    def as_structs() -> list[Region]:
        items = read_pull_page(body, {}, ctx, b"")._items
        return [
            Region(i.code, i.parent_code or None, i.bps_code or None, i.name, level)
            for i in items
        ]

    contenders = {
        "us_per_region_orjson_to_dicts": lambda: orjson.loads(body)["data"],
        "us_per_region_sdk_fast_path_checked": fast,
        "us_per_region_sdk_checked_path": lambda: structure_regions(
            orjson.loads(body)["data"], level
        ),
        "us_per_region_msgspec_into_attrs_region": as_attrs,
        "us_per_region_msgspec_into_struct_region": as_structs,
    }
    # Round robin, best of many: each contender sees the same machine state.
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(max(5, repetitions) * 4):
        for name, run in contenders.items():
            started = time.perf_counter()
            for _ in range(5):
                run()
            best[name] = min(best[name], (time.perf_counter() - started) / 5 / 2000)
    return {name: round(value * 1e6, 3) for name, value in best.items()}


@scenario("streaming_memory")
async def streaming_memory(_: int) -> dict[str, Any]:
    """Peak traced memory growth while streaming all villages (limit 2000, 8 in flight)."""
    sandbox = start_sandbox()
    try:
        async with _client(sandbox) as client:
            await client.token()
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            count = 0
            async for _ in client.regions.pull("sub_districts", limit=2000, concurrency=8):
                count += 1
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            gc.collect()
            tracemalloc.start()
            before_all = tracemalloc.get_traced_memory()[0]
            held = [r async for r in client.regions.pull("sub_districts", limit=2000)]
            holding = tracemalloc.get_traced_memory()[0] - before_all
            tracemalloc.stop()
            del held
    finally:
        sandbox.close()
    if count != VILLAGES:
        raise RuntimeError(f"streamed {count} villages, not {VILLAGES}")
    return {
        "streaming_peak_growth_mib": round((peak - before) / 2**20, 2),
        "holding_every_region_mib": round(holding / 2**20, 2),
        "target": "streaming growth <= 8 MiB",
    }


@scenario("patients")
async def patients(repetitions: int) -> dict[str, Any]:
    """Patient create + patch round trips per second at 32 in flight, SDK vs aiohttp."""
    from datetime import date

    import aiohttp

    from sehatmu_async import HumanName, Identifier, PatchOperation, Patient

    sandbox = start_sandbox()
    niks = iter(range(10**15, 10**16))
    per_run = 1000

    async def sdk() -> int:
        async with _client(sandbox) as client:
            semaphore = asyncio.Semaphore(32)

            async def one() -> None:
                async with semaphore:
                    created = await client.patients.create(
                        Patient(
                            identifier=[Identifier.nik(str(next(niks)))],
                            name=[HumanName(text="Budi Santoso")],
                            gender="male",
                            birth_date=date(1990, 5, 12),
                        )
                    )
                    assert created.id is not None
                    await client.patients.patch(
                        created.id, [PatchOperation.replace("/language", "id")]
                    )

            await asyncio.gather(*(one() for _ in range(per_run)))
            return per_run

    async def baseline() -> int:
        async with aiohttp.ClientSession() as session:
            token = await _baseline.token(session, sandbox)
            headers = {"Authorization": f"Bearer {token}", "User-Agent": "baseline"}
            semaphore = asyncio.Semaphore(32)

            async def one() -> None:
                async with semaphore:
                    payload = {
                        "resourceType": "Patient",
                        "identifier": [
                            {
                                "use": "official",
                                "system": "https://fhir.kemkes.go.id/id/nik",
                                "value": str(next(niks)),
                            }
                        ],
                        "name": [{"text": "Budi Santoso"}],
                        "gender": "male",
                        "birthDate": "1990-05-12",
                    }
                    async with session.post(
                        sandbox.url + "/fhir-r4/v1/Patient", json=payload, headers=headers
                    ) as response:
                        response.raise_for_status()
                        patient_id = (await response.json())["id"]
                    async with session.patch(
                        f"{sandbox.url}/fhir-r4/v1/Patient/{patient_id}",
                        json=[{"op": "replace", "path": "/language", "value": "id"}],
                        headers=headers,
                    ) as response:
                        response.raise_for_status()
                        await response.read()

            await asyncio.gather(*(one() for _ in range(per_run)))
            return per_run

    try:
        series = await interleaved({"sdk": sdk, "aiohttp": baseline}, repetitions)
    finally:
        sandbox.close()
    rates = {name: round(per_run / s.wall, 1) for name, s in series.items()}
    return {
        "runs": {name: s.as_dict() for name, s in series.items()},
        "round_trips_per_s": rates,
        "sdk_rate_ratio": round(rates["sdk"] / rates["aiohttp"], 3),
        "target": "SDK / aiohttp >= 0.95",
    }
