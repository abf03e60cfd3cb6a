"""Create payloads: what cannot go out as JSON is refused before sending; dates in a dict go
out as they would from a ``Patient``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from _fakes import client_for

from sehatmu_async import ConfigurationError, Patient
from sehatmu_async.sandbox import Sandbox

NIK = "3171012345678901"


async def test_payload_that_is_not_json_is_refused_before_sending() -> None:
    async with Sandbox() as sandbox:
        async with client_for(sandbox) as client:
            patient = Patient(extra={"weight": Decimal("3.2")})
            with pytest.raises(ConfigurationError):
                await client.patients.create(patient, validate=False)
        assert sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 0

async def test_dict_payload_dates_go_out_like_a_patients() -> None:
    wib = timezone(timedelta(hours=7))
    async with Sandbox() as sandbox:
        async with client_for(sandbox) as client:
            created = await client.patients.create(
                {
                    "identifier": [{"use": "official",
                                    "system": "https://fhir.kemkes.go.id/id/nik",
                                    "value": NIK}],
                    "birthDate": date(1990, 5, 12),
                    "deceasedDateTime": datetime(2023, 8, 23, 17, 35, tzinfo=wib),
                }
            )
            assert created.id
            stored = await client.patients.get(created.id)
            assert stored.birth_date == date(1990, 5, 12)
            assert stored.to_wire()["deceasedDateTime"] == "2023-08-23T10:35:00+00:00"
            with pytest.raises(ConfigurationError):
                await client.patients.create(
                    {"identifier": [{"system": "https://fhir.kemkes.go.id/id/nik",
                                     "value": "3171012345678902"}],
                     "deceasedDateTime": datetime(2023, 8, 23, 17, 35)},
                    validate=False,
                )
        assert sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 1
