"""End to end against the package's sandbox: an independent reading of the same documents."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timezone
from typing import Any

import attrs
import pytest
from _patient_helpers import MOTHER_NIK, NIK, no_sleep

from sehatmu_async import (
    WIB,
    Address,
    AdministrativeCode,
    CitizenNotFoundError,
    DuplicateResourceError,
    HumanName,
    Identifier,
    OutcomeUnknownError,
    PatchOperation,
    Patient,
    PatientExistsError,
    RetryPolicy,
    SehatMuClient,
)
from sehatmu_async.sandbox import Sandbox

CREATE_ROUTE = "POST /fhir-r4/v1/Patient"


def budi(nik: str = NIK, **changes: Any) -> Patient:
    patient = Patient(
        identifier=[Identifier.nik(nik)],
        name=[HumanName(use="official", text="Budi Santoso", family="Santoso", given=["Budi"])],
        gender="male",
        birth_date=date(1990, 5, 12),
        address=[
            Address(
                line=["Jl. Merdeka No. 1"],
                administrative_code=AdministrativeCode.from_village("3171011001", rt=2, rw=2),
            )
        ],
        extra={"extension": [{"url": "https://example.org/ext/note", "valueString": "kept"}]},
    )
    return attrs.evolve(patient, **changes)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(seed=1) as sb:
        yield sb


def connect(sb: Sandbox, **settings: object) -> SehatMuClient:
    return SehatMuClient(
        sb.client_id,
        sb.client_secret,
        base_url=sb.url,
        sleep=no_sleep,
        retry=RetryPolicy(attempts=3, backoff_base=0.01, total_timeout=10),
        **settings,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("answer", ["fhir", "envelope"])
async def test_create_get_patch_search(sandbox: Sandbox, answer: str) -> None:
    sandbox.patient_answer = answer  # type: ignore[assignment]
    async with connect(sandbox) as client:
        created = await client.patients.create(
            budi(deceased=datetime(2024, 1, 1, 7, tzinfo=WIB), language="en")
        )
        assert created.id
        stored = await client.patients.get(created.id)
        assert stored.nik == NIK
        assert stored.address[0].administrative_code == AdministrativeCode(
            province="31", city="3171", district="317101", village="3171011001", rt="2", rw="2"
        )
        assert stored.extra["extension"][0]["valueString"] == "kept"
        patched = await client.patients.patch(
            created.id,
            [
                PatchOperation.replace(PatchOperation.path("name", 0, "family"), "Wijaya"),
                PatchOperation.replace("/deceasedDateTime", datetime(2024, 1, 2, 7, tzinfo=WIB)),
                PatchOperation.replace("/birthDate", date(1990, 5, 13)),
                PatchOperation.replace("/language", "id"),
            ],
            content_type="application/json-patch+json",
        )
        assert patched.name[0].family == "Wijaya"
        assert patched.deceased == datetime(2024, 1, 2, 0, 0, tzinfo=timezone.utc)
        assert patched.birth_date == date(1990, 5, 13)
        assert patched.language == "id"
        assert patched.extra == stored.extra  # unknown fields untouched
        found = await client.patients.search_by_nik(NIK)
        assert [p.id for p in found] == [created.id]
        assert await client.patients.search_by_nik(NIK, mother=True) == []
    assert sandbox.counters.by_route[CREATE_ROUTE] == 1


async def test_envelope_refusals(sandbox: Sandbox) -> None:
    sandbox.patient_answer = "envelope"
    async with connect(sandbox) as client:
        first = await client.patients.create(budi())
        with pytest.raises(PatientExistsError) as caught:
            await client.patients.create(budi(gender="other"))
        assert caught.value.patient_id == first.id
        with pytest.raises(CitizenNotFoundError):
            await client.patients.create(budi("0000123456789012"))


async def test_fhir_refusals(sandbox: Sandbox) -> None:
    async with connect(sandbox) as client:
        await client.patients.create(budi())
        with pytest.raises(DuplicateResourceError):
            await client.patients.create(budi())  # the very same payload again
        with pytest.raises(CitizenNotFoundError):
            await client.patients.create(budi("0000123456789012"))


async def test_newborn_by_mothers_nik(sandbox: Sandbox) -> None:
    sandbox.patient_answer = "envelope"
    baby = budi(identifier=[Identifier.nik_ibu(MOTHER_NIK)], multiple_birth=2)
    async with connect(sandbox) as client:
        created = await client.patients.create(baby)
        assert created.id
        assert created.nik_ibu == MOTHER_NIK
        assert [p.id for p in await client.patients.search_by_nik(MOTHER_NIK, mother=True)] == [
            created.id
        ]
        with pytest.raises(PatientExistsError) as caught:
            await client.patients.create(attrs.evolve(baby, gender="female"))
        assert caught.value.patient_id == created.id


async def test_reconcile_after_an_unknown_outcome(sandbox: Sandbox) -> None:
    """The README's recipe: on OutcomeUnknownError, look up by NIK, create only if absent."""
    sandbox.faults.slow_create_s = 0.6
    async with connect(sandbox, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.patients.create(budi())
        assert sandbox.counters.by_route[CREATE_ROUTE] == 1
        err = caught.value
        assert err.nik == NIK
        sandbox.faults.slow_create_s = 0
        found = await client.patients.search_by_nik(err.nik)
        patient = found[0] if found else await client.patients.create(err.payload)
        assert patient.id
    assert sandbox.counters.by_route[CREATE_ROUTE] == 1  # never sent twice


async def test_server_errors_on_create_are_not_retried(sandbox: Sandbox) -> None:
    sandbox.faults.fail_rate = 1.0
    async with connect(sandbox) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.patients.create(budi())
    assert caught.value.status in (502, 503, 504)
    assert sandbox.counters.by_route[CREATE_ROUTE] == 1
