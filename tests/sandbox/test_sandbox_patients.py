"""Patient create / patch / read / search, both answer styles, and the validation rules."""

from __future__ import annotations

import copy
import re
from typing import Any

import aiohttp
import pytest
from _sandbox_helpers import fetch_token

from sehatmu_async.sandbox import Sandbox

NIK = "https://fhir.kemkes.go.id/id/nik"
NIK_IBU = "https://fhir.kemkes.go.id/id/nik-ibu"


def patient(nik: str = "3171012345678901", system: str = NIK, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"use": "official", "system": system, "value": nik}],
        "name": [{"use": "official", "family": "Santoso", "given": ["Budi"]}],
        "gender": "male",
        "birthDate": "1990-05-12",
        **extra,
    }


async def create(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str], body: Any
) -> tuple[int, Any]:
    async with session.post(f"{sandbox.url}/fhir-r4/v1/Patient", json=body, headers=auth) as r:
        assert r.content_type == "application/json"
        return r.status, await r.json()


async def patch(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    patient_id: str,
    operations: Any,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    async with session.patch(
        f"{sandbox.url}/fhir-r4/v1/Patient/{patient_id}",
        data=aiohttp.JsonPayload(operations, content_type=content_type),
        headers=auth,
    ) as r:
        return r.status, await r.json()


def issues(body: dict[str, Any]) -> list[tuple[str, str, list[str] | None]]:
    assert body["resourceType"] == "OperationOutcome"
    assert body["text"] == {"status": "generated"}
    assert all(i["severity"] == "error" for i in body["issue"])
    return [(i["code"], i["details"]["text"], i.get("expression")) for i in body["issue"]]


# create, "fhir" answers (the documents)


async def test_create_answers_201_with_the_stored_patient(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    status, body = await create(sandbox, session, auth, patient(id="mine"))
    assert status == 201
    assert re.fullmatch(r"P\d{11}", body["id"])
    assert body["meta"]["versionId"] == "1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", body["meta"]["lastUpdated"])
    assert {k: v for k, v in body.items() if k not in ("id", "meta")} == patient()
    assert sandbox.counters.patient_creates == 1
    _, second = await create(sandbox, session, auth, patient("3171012345678902"))
    assert int(second["id"][1:]) == int(body["id"][1:]) + 1


async def test_same_payload_twice_is_a_duplicate(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    await create(sandbox, session, auth, patient())
    reordered = dict(reversed(list(patient().items())))
    status, body = await create(sandbox, session, auth, reordered)
    assert status == 400
    assert body["issue"] == [
        {
            "severity": "error",
            "code": "duplicate",
            "details": {"text": "Found duplicate resource: Patient"},
        }
    ]


async def test_another_payload_for_a_known_nik_names_the_existing_patient(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    _, first = await create(sandbox, session, auth, patient())
    status, body = await create(sandbox, session, auth, patient(gender="female"))
    assert status == 400
    assert issues(body) == [("duplicate", f"Patient Resource Exists: {first['id']}", None)]


async def test_unknown_citizen(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    status, body = await create(sandbox, session, auth, patient("0000123456789012"))
    assert status == 400
    assert issues(body) == [("value", "Citizen Not Exists", None)]


# create, "envelope" answers (the live platform)


async def test_envelope_answers(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    sandbox.patient_answer = "envelope"
    status, body = await create(sandbox, session, auth, patient())
    assert status == 200
    assert body["success"] is True
    assert body["message"] == "New Patient has been created successfully"
    patient_id = body["data"]["Patient ID:"]
    assert re.fullmatch(r"P\d{11}", patient_id)

    status, body = await create(sandbox, session, auth, patient(gender="female"))
    assert (status, body) == (
        200,
        {
            "success": False,
            "message": "Patient Resource Exists",
            "data": {"resourceID": patient_id},
        },
    )
    status, body = await create(sandbox, session, auth, patient("0000123456789012"))
    assert (status, body) == (200, {"success": False, "message": "Citizen Not Exists"})


async def test_envelope_answers_for_a_newborn_by_mothers_nik(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    sandbox.patient_answer = "envelope"
    status, body = await create(sandbox, session, auth, patient("3674000011112222", NIK_IBU))
    assert status == 200
    assert set(body) == {
        "create_patient",
        "create_related_patient",
        "update_link_patient",
        "log_time",
    }
    assert body["create_patient"]["success"] is True
    newborn_id = body["create_patient"]["data"]["patient_id"]
    status, body = await create(
        sandbox, session, auth, patient("3674000011112222", NIK_IBU, gender="female")
    )
    assert (status, body) == (
        200,
        {
            "success": False,
            "message": "Failed to create new patient, another identifier has found",
            "data": {"resourceID": newborn_id},
        },
    )


def test_patient_answer_is_checked() -> None:
    with pytest.raises(ValueError, match="patient_answer"):
        Sandbox(patient_answer="xml")  # type: ignore[arg-type]
    sandbox = Sandbox()
    with pytest.raises(ValueError, match="patient_answer"):
        sandbox.patient_answer = "xml"  # type: ignore[assignment]


# validation rules


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            patient(identifier=[{"system": "http://xxx.org", "value": "1"}]),
            [
                (
                    "value",
                    "Invalid identifier system: http://xxx.org (RuleNumber: 10117)",
                    ["Patient.identifier[0].system"],
                ),
                ("value", "RuleNumber: 10263", ["Patient.identifier"]),
            ],
        ),
        (
            patient(name=[{"family": "", "given": ["Budi"]}]),
            [("value", "Text is empty: '' (RuleNumber: 10134)", ["Patient.name[0].family"])],
        ),
        (
            patient(birthDate="12-05-1990"),
            [
                (
                    "format",
                    "Invalid date time format : 12-05-1990 (RuleNumber: 10132)",
                    ["Patient.birthDate"],
                )
            ],
        ),
        (
            patient(birthDate="1990-02-30"),
            [("format", "(RuleNumber: 10132)", ["Patient.birthDate"])],
        ),
        (
            patient(deceasedDateTime="2023-08-23T17:35:00+07:00"),
            [
                (
                    "format",
                    "Invalid date time format : 2023-08-23T17:35:00+07:00 (RuleNumber: 10132). "
                    "Format allowed : YYYY-MM-DDThh:mm:ss+00:00",
                    ["Patient.deceasedDateTime"],
                )
            ],
        ),
        (
            patient(multipleBirthInteger="Satu"),
            [
                (
                    "value",
                    "Integer formated as a string: 'Satu' (RuleNumber: 10254)",
                    ["Patient.multipleBirthInteger"],
                )
            ],
        ),
        (patient("317101234567890"), [("value", "16 digits", ["Patient.identifier[0].value"])]),
        (patient("31710123456789ab"), [("value", "16 digits", ["Patient.identifier[0].value"])]),
        (
            patient(identifier=[]),
            [("value", "Element not found: Patient.identifier", ["Patient.identifier"])],
        ),
    ],
)
async def test_each_validation_rule(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    body: dict[str, Any],
    expected: list[tuple[str, str, list[str]]],
) -> None:
    status, answer = await create(sandbox, session, auth, body)
    assert status == 400
    found = issues(answer)
    assert len(found) == len(expected), found
    for (code, text, expression), (want_code, want_text, want_expression) in zip(
        found, expected, strict=True
    ):
        assert code == want_code
        assert want_text in text
        assert expression == want_expression
    assert len(await search(sandbox, session, auth, NIK, "3171012345678901")) == 0


async def test_several_problems_come_in_one_outcome(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    body = patient(
        birthDate="1990/05/12",
        multipleBirthInteger="2",
        telecom=[{"system": "phone", "value": ""}],
    )
    body["identifier"].append({"system": "http://xxx.org", "value": "9"})
    status, answer = await create(sandbox, session, auth, body)
    assert status == 400
    rules = [re.search(r"RuleNumber: (\d+)", text) for _, text, _ in issues(answer)]
    assert sorted(m.group(1) for m in rules if m) == ["10117", "10132", "10134", "10254"]


@pytest.mark.parametrize("body", [{"resourceType": "Encounter"}, ["Patient"], "Patient"])
async def test_not_a_patient_is_refused(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str], body: Any
) -> None:
    status, answer = await create(sandbox, session, auth, body)
    assert status == 400
    assert answer["resourceType"] == "OperationOutcome"


# patch, read, search


async def search(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str], system: str, nik: str
) -> list[dict[str, Any]]:
    url = f"{sandbox.url}/fhir-r4/v1/Patient"
    async with session.get(url, params={"identifier": f"{system}|{nik}"}, headers=auth) as r:
        assert r.status == 200
        bundle = await r.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(bundle.get("entry", []))
    for entry in bundle.get("entry", []):
        assert entry["fullUrl"] == f"{url}/{entry['resource']['id']}"
    return [e["resource"] for e in bundle.get("entry", [])]


@pytest.mark.parametrize("content_type", ["application/json", "application/json-patch+json"])
async def test_patch_replaces_and_bumps_the_version(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    content_type: str,
) -> None:
    _, created = await create(sandbox, session, auth, patient())
    operations = [
        {"op": "replace", "path": "/gender", "value": "female"},
        {"op": "replace", "path": "/name/0/family", "value": "Wijaya"},
    ]
    status, body = await patch(sandbox, session, auth, created["id"], operations, content_type)
    assert status == 200
    assert body["gender"] == "female"
    assert body["name"][0]["family"] == "Wijaya"
    assert body["meta"]["versionId"] == "2"
    async with session.get(f"{sandbox.url}/fhir-r4/v1/Patient/{created['id']}", headers=auth) as r:
        assert r.status == 200
        assert await r.json() == body


async def test_replace_sets_a_member_the_patient_does_not_have_yet(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    # The documents' own example, on a Patient created without a language.
    _, created = await create(sandbox, session, auth, patient())
    assert "language" not in created
    operations = [{"op": "replace", "path": "/language", "value": "id"}]
    status, answer = await patch(sandbox, session, auth, created["id"], operations)
    assert status == 200
    assert answer["language"] == "id"


@pytest.mark.parametrize(
    ("operations", "status"),
    [
        ([{"op": "add", "path": "/language", "value": "id"}], 400),
        ([{"op": "replace", "path": "/contact/0/name", "value": "X"}], 400),  # no such parent
        ([{"op": "replace", "path": "/name/5/family", "value": "X"}], 400),
        ([{"op": "replace", "path": "language", "value": "id"}], 400),
        ([{"op": "replace", "path": "/id", "value": "P0"}], 400),
        ([{"op": "replace", "path": "/name/0/family", "value": ""}], 400),
        ([{"op": "replace", "path": "/birthDate", "value": "1990"}], 400),
        ({"op": "replace", "path": "/gender", "value": "female"}, 400),
        ([], 400),
    ],
)
async def test_bad_patches_are_refused_and_change_nothing(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    operations: Any,
    status: int,
) -> None:
    _, created = await create(sandbox, session, auth, patient())
    answer_status, answer = await patch(sandbox, session, auth, created["id"], operations)
    assert answer_status == status
    assert answer["resourceType"] == "OperationOutcome"
    async with session.get(f"{sandbox.url}/fhir-r4/v1/Patient/{created['id']}", headers=auth) as r:
        assert await r.json() == created


async def test_patch_moving_to_a_taken_nik_is_a_duplicate(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    _, first = await create(sandbox, session, auth, patient())
    _, second = await create(sandbox, session, auth, patient("3171012345678902"))
    operations = [{"op": "replace", "path": "/identifier/0/value", "value": "3171012345678901"}]
    status, body = await patch(sandbox, session, auth, second["id"], operations)
    assert status == 400
    assert issues(body) == [("duplicate", f"Patient Resource Exists: {first['id']}", None)]


async def test_unknown_patient_is_404_not_found(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    url = f"{sandbox.url}/fhir-r4/v1/Patient/P99999999999"
    async with session.get(url, headers=auth) as r:
        assert r.status == 404
        assert issues(await r.json())[0][0] == "not-found"
    operations = [{"op": "replace", "path": "/gender", "value": "female"}]
    status, body = await patch(sandbox, session, auth, "P99999999999", operations)
    assert status == 404
    assert issues(body)[0][0] == "not-found"


async def test_search_by_nik(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    assert await search(sandbox, session, auth, NIK, "3171012345678901") == []
    _, created = await create(sandbox, session, auth, patient())
    assert await search(sandbox, session, auth, NIK, "3171012345678901") == [created]
    assert await search(sandbox, session, auth, NIK_IBU, "3171012345678901") == []


@pytest.mark.parametrize(
    "query", ["", "?identifier=3171012345678901", "?identifier=|1", "?identifier=x|"]
)
async def test_search_needs_system_and_value(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str], query: str
) -> None:
    async with session.get(f"{sandbox.url}/fhir-r4/v1/Patient{query}", headers=auth) as r:
        assert r.status == 400
        assert (await r.json())["resourceType"] == "OperationOutcome"


async def test_state_belongs_to_one_sandbox(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    await create(sandbox, session, auth, patient())
    async with Sandbox() as other:
        headers = {"Authorization": f"Bearer {await fetch_token(session, other)}"}
        status, _ = await create(other, session, headers, copy.deepcopy(patient()))
        assert status == 201
