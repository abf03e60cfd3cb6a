"""An existing NIK is a PatientExistsError with the existing id, whatever the answer style."""

from __future__ import annotations

import pytest

from sehatmu_async import HumanName, Identifier, Patient, PatientExistsError
from sehatmu_async.testing import SandboxHarness


@pytest.mark.parametrize("answer", ["fhir", "envelope"])
async def test_second_patient_with_the_same_nik_names_the_existing_one(
    sehatmu_sandbox: SandboxHarness, answer: str
) -> None:
    sehatmu_sandbox.sandbox.patient_answer = answer  # type: ignore[assignment]
    client = sehatmu_sandbox.client
    nik = Identifier.nik("3171012345678901")
    first = await client.patients.create(
        Patient(identifier=[nik], name=[HumanName(text="Budi")], gender="male")
    )
    with pytest.raises(PatientExistsError) as exists:
        await client.patients.create(
            Patient(identifier=[nik], name=[HumanName(text="Budi Santoso")], gender="male")
        )
    assert exists.value.patient_id == first.id
    assert sehatmu_sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 2
