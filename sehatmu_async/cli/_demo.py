"""``sehatmu demo``: a sandbox, every region level pulled at once, a patient created and patched.

Everything runs in this process on a free loopback port; no credentials or network needed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable
from contextlib import aclosing
from datetime import date
from typing import Any, TypeVar

import attrs
from rich.console import Console

from .. import (
    Address,
    AdministrativeCode,
    HumanName,
    Identifier,
    PatchOperation,
    Patient,
    Region,
    RegionLevel,
    RegionStream,
    SehatMuClient,
)
from ..sandbox import Sandbox
from ._demo_fhir import demo_fhir
from ._demo_summary import LevelRow, Summary, render_summary
from ._demo_transaction import demo_transaction
from ._failures import CommandError
from ._progress import Bar, Bars

__all__ = ["run_demo"]

#: Regions in the sandbox's data (Kemendagri codes, 2023 edition).
EXPECTED = {
    RegionLevel.PROVINCES: 37,
    RegionLevel.CITIES: 514,
    RegionLevel.DISTRICTS: 7277,
    RegionLevel.SUB_DISTRICTS: 83763,
}
# The demo NIK's first six digits are its district of registration (Gambir, Jakarta
# Pusat): the patient's address is a village of that district when the data has one.
NIK = "3171012345678901"
_HOME_DISTRICT = NIK[:6]

T = TypeVar("T")


@attrs.define
class _Pulled:
    level: RegionLevel
    count: int = 0
    codes: set[str] = attrs.field(factory=set)
    seconds: float = 0.0


@attrs.define
class _Home:
    """The village for the patient's address, picked while the villages stream by."""

    village: Region | None = None
    names: dict[str, str] = attrs.field(factory=dict)


class _Notes:
    """Plain lines, above the bars when they are shown."""

    def __init__(self, console: Console | None) -> None:
        self._console = console

    def __call__(self, text: str) -> None:
        if self._console is not None:
            self._console.print(text, highlight=False)
        else:
            print(text, flush=True)


async def _all(*jobs: Awaitable[T]) -> list[T]:
    """Run ``jobs`` together; the first failure cancels (and waits for) the others."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _server_total(client: SehatMuClient, level: RegionLevel) -> int:
    pager: Any = getattr(client.regions, level.value)(limit=1)
    page = await pager.first_page()
    total: int = page.meta.total
    return total


def _better(current: Region | None, village: Region) -> bool:
    # The lowest code in the home district, so the choice does not depend on which
    # page arrived first; any village if the data has none there.
    if current is None:
        return True
    here = village.parent_code == _HOME_DISTRICT
    if here != (current.parent_code == _HOME_DISTRICT):
        return here
    return here and village.code < current.code


async def _pull(
    level: RegionLevel, regions: RegionStream, bar: Bar, home: _Home
) -> _Pulled:
    pulled = _Pulled(level)
    started = time.perf_counter()
    async with aclosing(regions) as stream:
        async for region in stream:
            pulled.count += 1
            pulled.codes.add(region.code)
            bar.add()
            if region.code in (_HOME_DISTRICT[:4], _HOME_DISTRICT):
                home.names[region.code] = region.name
            elif level is RegionLevel.SUB_DISTRICTS and _better(home.village, region):
                home.village = region
    bar.done()
    pulled.seconds = time.perf_counter() - started
    return pulled


def _check(pulled: _Pulled, server_total: int) -> None:
    expected = EXPECTED[pulled.level]
    name = pulled.level.value
    if server_total != expected:
        raise CommandError(f"the sandbox reports {server_total} {name}, expected {expected}")
    if pulled.count != expected:
        raise CommandError(f"pulled {pulled.count} {name}, expected {expected}")
    if len(pulled.codes) != pulled.count:
        raise CommandError(
            f"{name}: {pulled.count - len(pulled.codes)} regions were delivered more than once"
        )


def _patient(home: _Home) -> Patient:
    village = home.village
    if village is None:
        raise CommandError("no village was pulled to build the patient's address from")
    return Patient(
        identifier=[Identifier.nik(NIK)],
        active=True,
        name=[HumanName(use="official", text="Budi Santoso", family="Santoso", given=["Budi"])],
        gender="male",
        birth_date=date(1990, 5, 12),
        address=[
            Address(
                use="home",
                line=["Jl. Medan Merdeka Barat No. 1"],
                city=home.names.get(village.code[:4]),
                district=home.names.get(village.code[:6]),
                country="ID",
                administrative_code=AdministrativeCode.from_village(village, rt="001", rw="002"),
            )
        ],
        # English first, so the patch below has a value to replace (RFC 6902 replace
        # needs an existing member).
        language="en",
    )


async def run_demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    fancy = sys.stdout.isatty()
    console = Console() if fancy else None
    note = _Notes(console)
    home = _Home()
    async with Sandbox() as sandbox:
        async with SehatMuClient(
            sandbox.client_id, sandbox.client_secret, base_url=sandbox.url
        ) as client:
            levels = list(EXPECTED)
            # Nothing is sent yet: this only checks --concurrency, before any output.
            streams = [client.regions.pull(lv, concurrency=args.concurrency) for lv in levels]
            note(f"sandbox listening on {sandbox.url}")
            totals = await _all(*(_server_total(client, level) for level in levels))
            with Bars(console) as bars:
                bar_list = [
                    bars.bar(level.value, total)
                    for level, total in zip(levels, totals, strict=True)
                ]
                pulls = await _all(
                    *(
                        _pull(level, stream, bar, home)
                        for level, stream, bar in zip(levels, streams, bar_list, strict=True)
                    )
                )
            for pulled, total in zip(pulls, totals, strict=True):
                if not fancy:
                    note(f"pulled {pulled.count} {pulled.level.value} in {pulled.seconds:.2f} s")
                _check(pulled, total)
            created = await client.patients.create(_patient(home))
            if created.id is None:
                raise CommandError("the sandbox created the patient but returned no id")
            note(f"created patient {created.id}")
            patched = await client.patients.patch(
                created.id, [PatchOperation.replace("/language", "id")]
            )
            if patched.language != "id":
                raise CommandError(f"the patch left language {patched.language!r}, not 'id'")
            note(f"patched patient {created.id}: language en -> id")
            await demo_fhir(client, created.id, note)
            await demo_transaction(client, created.id, note)
        summary = Summary(
            levels=[
                LevelRow(p.level.value, EXPECTED[p.level], p.count, len(p.codes), p.seconds)
                for p in pulls
            ],
            patient_id=created.id,
            village=home.village,
            patch="language en -> id",
            seconds=time.perf_counter() - started,
            requests=sandbox.counters.requests,
            token_requests=sandbox.counters.token_requests,
        )
    render_summary(summary, console)
    return 0
