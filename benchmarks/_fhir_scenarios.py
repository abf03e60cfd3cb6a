"""FHIR scenarios: a paged search and concurrent creates, SDK vs plain aiohttp, same run.

* ``fhir_search``: 1,000 Observations of one patient, ``_count=100`` (10 pages), walked
  through ``client.fhir.search`` and by a plain aiohttp loop following the same
  ``link[relation=next]`` URLs (orjson for both). Target: SDK throughput >= 0.9x.
* ``fhir_create``: Observation creates at 32 in flight, ``client.fhir.create`` (pre-flight
  checks included) vs plain aiohttp POSTs. Target: SDK throughput >= 0.9x.

Registered with ``@scenario``; run with ``python -m benchmarks --only fhir_search``.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import orjson

from sehatmu_async import SehatMuClient

from . import _baseline
from ._harness import SandboxProcess, interleaved, start_sandbox, throughput
from ._registry import scenario

__all__ = ["fhir_create", "fhir_search"]

_OBS_SYSTEM = "http://sys-ids.kemkes.go.id/observation/10000004"
_serial = itertools.count(1)


def _observation(patient_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": _OBS_SYSTEM, "value": f"OBS-{next(_serial):08d}"}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "vital-signs",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2023-08-23T10:35:00+00:00",
        "valueQuantity": {"value": 80, "unit": "beats/minute", "code": "/min"},
    }


def _client(sandbox: SandboxProcess) -> SehatMuClient:
    return SehatMuClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url)


async def _patient(sandbox: SandboxProcess) -> str:
    async with _client(sandbox) as client:
        patient = await client.fhir.create(
            {
                "resourceType": "Patient",
                "identifier": [
                    {"system": "https://fhir.kemkes.go.id/id/nik", "value": "3171019999000001"}
                ],
                "name": [{"text": "Benchmark"}],
                "gender": "female",
                "birthDate": "1990-01-01",
            }
        )
        return str(patient["id"])


async def _seed(sandbox: SandboxProcess, patient_id: str, count: int) -> None:
    async with _client(sandbox) as client:
        semaphore = asyncio.Semaphore(32)

        async def one() -> None:
            async with semaphore:
                await client.fhir.create(_observation(patient_id))

        await asyncio.gather(*(one() for _ in range(count)))


@scenario("fhir_search")
async def fhir_search(repetitions: int, resources: int = 1000) -> dict[str, Any]:
    """One search of ``resources`` Observations at _count=100: SDK pager vs aiohttp loop."""
    sandbox = start_sandbox()
    try:
        patient_id = await _patient(sandbox)
        await _seed(sandbox, patient_id, resources)
        params = {"subject": patient_id, "_count": "100"}

        async def sdk() -> int:
            async with _client(sandbox) as client:
                return sum([1 async for _ in client.fhir.search("Observation", params)])

        async def baseline() -> int:
            async with aiohttp.ClientSession() as session:
                token = await _baseline.token(session, sandbox)
                headers = {"Authorization": f"Bearer {token}", "User-Agent": "baseline"}
                url: str | None = sandbox.url + "/fhir-r4/v1/Observation"
                query: dict[str, str] | None = params
                count = 0
                for _ in range(1000):  # bounded, as every loop that sends requests
                    if url is None:
                        break
                    async with session.get(url, params=query, headers=headers) as response:
                        response.raise_for_status()
                        bundle = orjson.loads(await response.read())
                    count += len(bundle.get("entry", ()))
                    url = next(
                        (x["url"] for x in bundle.get("link", ()) if x["relation"] == "next"),
                        None,
                    )
                    query = None
                return count

        await sdk()  # warm up both paths once
        await baseline()
        series = await interleaved({"sdk": sdk, "aiohttp": baseline}, repetitions)
    finally:
        sandbox.close()
    for name, s in series.items():
        if any(sample.result != resources for sample in s.samples):
            raise RuntimeError(f"{name} did not deliver {resources} resources")
    return {
        **throughput(series, resources, "resources"),
        "target": "SDK / aiohttp throughput >= 0.9",
    }


@scenario("fhir_create")
async def fhir_create(repetitions: int, per_run: int = 500) -> dict[str, Any]:
    """``per_run`` Observation creates at 32 in flight: SDK vs plain aiohttp."""
    sandbox = start_sandbox()
    try:
        patient_id = await _patient(sandbox)

        async def sdk() -> int:
            async with _client(sandbox) as client:
                semaphore = asyncio.Semaphore(32)

                async def one() -> None:
                    async with semaphore:
                        made = await client.fhir.create(_observation(patient_id))
                        assert made["id"]

                await asyncio.gather(*(one() for _ in range(per_run)))
                return per_run

        async def baseline() -> int:
            async with aiohttp.ClientSession() as session:
                token = await _baseline.token(session, sandbox)
                headers = {"Authorization": f"Bearer {token}", "User-Agent": "baseline"}
                semaphore = asyncio.Semaphore(32)

                async def one() -> None:
                    async with (
                        semaphore,
                        session.post(
                            sandbox.url + "/fhir-r4/v1/Observation",
                            data=orjson.dumps(_observation(patient_id)),
                            headers={**headers, "Content-Type": "application/json"},
                        ) as response,
                    ):
                        response.raise_for_status()
                        assert orjson.loads(await response.read())["id"]

                await asyncio.gather(*(one() for _ in range(per_run)))
                return per_run

        await sdk()
        await baseline()
        series = await interleaved({"sdk": sdk, "aiohttp": baseline}, repetitions)
    finally:
        sandbox.close()
    return {
        **throughput(series, per_run, "creates"),
        "target": "SDK / aiohttp throughput >= 0.9 at 32 in flight",
    }
