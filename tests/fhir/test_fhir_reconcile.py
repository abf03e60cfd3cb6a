"""reconcile(err): the stored resource or None, and the newborn / mother's-NIK case."""

from __future__ import annotations

from typing import Any

import pytest
from _fakes import MakeClient, ScriptedPlatform, json_reply, reply
from _fhir_helpers import NIK_IBU_SYSTEM, encounter, patient, searchset

from sehatmu_async import ConfigurationError, MultipleResultsError, OutcomeUnknownError

PATIENT_PATH = "/fhir-r4/v1/Patient"
MOTHER = "3674000011112222"


def _newborn(name: str, birth_date: str, order: int | None = None) -> dict[str, Any]:
    extra: dict[str, Any] = {"birthDate": birth_date, "gender": "female"}
    if order is not None:
        extra["multipleBirthInteger"] = order
    born = patient(MOTHER, system=NIK_IBU_SYSTEM, **extra)
    born["name"] = [{"use": "official", "text": name}]
    return born


async def _lost_create(
    platform: ScriptedPlatform, make_client: MakeClient, payload: dict[str, Any]
) -> OutcomeUnknownError:
    platform.script("POST", PATIENT_PATH, reply(504, b"Gateway Timeout", content_type="text/plain"))
    before = len(platform.requests("POST", PATIENT_PATH))
    with pytest.raises(OutcomeUnknownError) as caught:
        await make_client().fhir.create(payload)
    assert len(platform.requests("POST", PATIENT_PATH)) == before + 1
    return caught.value


async def test_a_sibling_under_the_mothers_nik_is_not_the_newborn(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    payload = _newborn("Bayi Ny. Siti", "2023-08-23")
    err = await _lost_create(platform, make_client, payload)
    assert err.identifiers == ((NIK_IBU_SYSTEM, MOTHER),)
    assert err.nik == MOTHER
    sibling = {**_newborn("Andi", "2020-01-02"), "id": "P1"}
    platform.on("GET", PATIENT_PATH, json_reply(searchset([sibling])))
    assert await make_client().fhir.reconcile(err) is None
    search = platform.requests("GET", PATIENT_PATH)[0]
    assert search.query["identifier"] == f"{NIK_IBU_SYSTEM}|{MOTHER}"


async def test_the_newborn_is_found_among_its_siblings(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    payload = _newborn("Bayi Ny. Siti", "2023-08-23")
    err = await _lost_create(platform, make_client, payload)
    stored = {
        **payload,
        "id": "P3",
        "name": [{"use": "official", "text": "Bayi Ny. Siti", "given": ["Bayi"]}],
    }
    others = [{**_newborn("Andi", "2020-01-02"), "id": "P1"}, stored]
    platform.on("GET", PATIENT_PATH, json_reply(searchset(others)))
    found = await make_client().fhir.reconcile(err)
    assert found is not None
    assert found["id"] == "P3"


async def test_twins_are_told_apart_by_birth_order_or_refused(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    first = {**_newborn("Bayi Ny. Siti", "2023-08-23", order=1), "id": "P4"}
    second = {**_newborn("Bayi Ny. Siti", "2023-08-23", order=2), "id": "P5"}
    platform.on("GET", PATIENT_PATH, json_reply(searchset([first, second])))
    err = await _lost_create(platform, make_client, _newborn("Bayi Ny. Siti", "2023-08-23", 2))
    found = await make_client().fhir.reconcile(err)
    assert found is not None
    assert found["id"] == "P5"
    err = await _lost_create(platform, make_client, _newborn("Bayi Ny. Siti", "2023-08-23"))
    with pytest.raises(MultipleResultsError):
        await make_client().fhir.reconcile(err)


async def test_a_patient_is_reconciled_by_its_own_nik_only(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    payload = patient("3171012345678901")
    payload["identifier"].append({"system": "http://sys-ids.kemkes.go.id/mr/1", "value": "MR9"})
    err = await _lost_create(platform, make_client, payload)
    assert err.identifiers == (("https://fhir.kemkes.go.id/id/nik", "3171012345678901"),)
    platform.on("GET", PATIENT_PATH, json_reply(searchset([{**payload, "id": "P9"}])))
    found = await make_client().fhir.reconcile(err)
    assert found is not None
    assert found["id"] == "P9"


async def test_without_an_identifier_reconcile_says_so(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    payload = encounter("P1", "O1")
    del payload["identifier"]
    platform.on("POST", "/fhir-r4/v1/Encounter", reply(502, b"Bad Gateway"))
    with pytest.raises(OutcomeUnknownError) as caught:
        await make_client().fhir.create(payload)
    assert "no identifier" in str(caught.value)
    with pytest.raises(ConfigurationError):
        await make_client().fhir.reconcile(caught.value)
    with pytest.raises(ConfigurationError):
        await make_client().fhir.reconcile(ValueError("x"))  # type: ignore[arg-type]
