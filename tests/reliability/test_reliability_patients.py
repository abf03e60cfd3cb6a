"""A create whose answer is lost is sent exactly once and reported as unknown."""

from __future__ import annotations

from datetime import date

from _fakes import client_for

from sehatmu_async import HumanName, Identifier, OutcomeUnknownError, Patient
from sehatmu_async.sandbox import Sandbox


async def test_lost_create_answer_is_sent_once_and_raises_outcome_unknown() -> None:
    nik = "3171012345678901"
    async with Sandbox() as sandbox:
        sandbox.faults.slow_create_s = 2.0
        async with client_for(sandbox, timeout=0.5) as client:
            patient = Patient(
                identifier=[Identifier.nik(nik)],
                name=[HumanName(text="Siti Aminah")],
                gender="female",
                birth_date=date(1991, 3, 4),
            )
            try:
                await client.patients.create(patient)
            except OutcomeUnknownError as unknown:
                error = unknown
            else:  # pragma: no cover - the assertion below explains
                raise AssertionError("a create whose answer was lost must not look successful")
            assert error.nik == nik
            assert error.payload is not None
            assert sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 1
            # The reconcile recipe: the patient was stored, so look it up instead of resending.
            sandbox.faults.slow_create_s = 0
            found = await client.patients.search_by_nik(nik)
            assert len(found) == 1
            assert found[0].id
        assert sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 1
