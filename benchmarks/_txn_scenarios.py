"""Transaction scenario: whole visits sent as bundles, SDK vs plain aiohttp, same run.

* ``transaction_visits``: ``per_run`` visits (an Encounter, two Conditions, an
  Observation, wired by ``urn:uuid:`` references) at 16 in flight, through
  ``TransactionBundle`` + ``client.fhir.transaction`` (the bundle built, pre-flight
  checked, the answer decoded into a ``BundleResult``) vs plain aiohttp POSTing the same
  bundle JSON and reading the ids from the answer. No target in the issue; the ratio
  shows what the checks and the decoding cost.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import orjson

from sehatmu_async import SehatMuClient, TransactionBundle

from . import _baseline
from ._harness import SandboxProcess, interleaved, start_sandbox, throughput
from ._registry import scenario

__all__ = ["transaction_visits"]

_SYS = "http://sys-ids.kemkes.go.id"
_ORG = "10000004"
_WHEN = "2023-08-23T10:35:00+00:00"
_serial = itertools.count(1)


def _visit(patient_id: str) -> TransactionBundle:
    n = next(_serial)
    subject = {"reference": f"Patient/{patient_id}"}
    bundle = TransactionBundle()
    enc = bundle.add(
        {
            "resourceType": "Encounter",
            "identifier": [{"system": f"{_SYS}/encounter/{_ORG}", "value": f"V-{n:08d}"}],
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": subject,
            "period": {"start": _WHEN, "end": _WHEN},
        }
    )
    for k, code in enumerate(("A01.0", "J00")):
        bundle.add(
            {
                "resourceType": "Condition",
                "identifier": [{"system": f"{_SYS}/condition/{_ORG}", "value": f"C-{n:08d}-{k}"}],
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
                "subject": subject,
                "encounter": {"reference": enc},
                "recordedDate": _WHEN,
            }
        )
    bundle.add(
        {
            "resourceType": "Observation",
            "identifier": [{"system": f"{_SYS}/observation/{_ORG}", "value": f"O-{n:08d}"}],
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
            "subject": subject,
            "encounter": {"reference": enc},
            "effectiveDateTime": _WHEN,
            "valueQuantity": {"value": 38.6, "unit": "C"},
        }
    )
    return bundle


def _client(sandbox: SandboxProcess) -> SehatMuClient:
    return SehatMuClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url)


async def _patient(sandbox: SandboxProcess) -> str:
    async with _client(sandbox) as client:
        made = await client.fhir.create(
            {
                "resourceType": "Patient",
                "identifier": [
                    {"system": "https://fhir.kemkes.go.id/id/nik", "value": "3171019999000002"}
                ],
                "gender": "male",
                "birthDate": "1990-01-01",
            }
        )
        return str(made["id"])


@scenario("transaction_visits")
async def transaction_visits(repetitions: int, per_run: int = 200) -> dict[str, Any]:
    """``per_run`` visits as transactions at 16 in flight: SDK vs plain aiohttp."""
    sandbox = start_sandbox()
    try:
        patient_id = await _patient(sandbox)

        async def sdk() -> int:
            async with _client(sandbox) as client:
                semaphore = asyncio.Semaphore(16)

                async def one() -> None:
                    async with semaphore:
                        bundle = _visit(patient_id)
                        result = await client.fhir.transaction(bundle)
                        assert result.ok
                        assert result.id_for(bundle.full_urls[0])

                await asyncio.gather(*(one() for _ in range(per_run)))
                return per_run

        async def baseline() -> int:
            async with aiohttp.ClientSession() as session:
                token = await _baseline.token(session, sandbox)
                headers = {
                    "Authorization": f"Bearer {token}",
                    "User-Agent": "baseline",
                    "Content-Type": "application/json",
                }
                semaphore = asyncio.Semaphore(16)

                async def one() -> None:
                    # The same JSON the SDK sends, built without the SDK's checks.
                    wire = _visit(patient_id).to_wire()
                    async with semaphore, session.post(
                        sandbox.url + "/fhir-r4/v1", data=orjson.dumps(wire), headers=headers
                    ) as response:
                        response.raise_for_status()
                        answer = orjson.loads(await response.read())
                        assert len(answer["entry"]) == 4

                await asyncio.gather(*(one() for _ in range(per_run)))
                return per_run

        await sdk()
        await baseline()
        series = await interleaved({"sdk": sdk, "aiohttp": baseline}, repetitions)
    finally:
        sandbox.close()
    return {
        **throughput(series, per_run, "visits"),
        "note": "the SDK side includes building the bundle and its pre-flight checks",
    }
