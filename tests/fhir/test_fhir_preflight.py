"""Pre-flight: the 004 rules on any resource, caught before anything is sent."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest
from _fakes import MakeClient, ScriptedPlatform, json_reply
from _fhir_helpers import encounter, location, patient

from sehatmu_async import WIB, ConfigurationError, ValidationError
from sehatmu_async._validation import PREFLIGHT_URL, resource_issues

ENC_PATH = "/fhir-r4/v1/Encounter"


def _enc() -> dict[str, Any]:
    return encounter("P02029102687", "100025753", value="E-1")


def _claim() -> dict[str, Any]:
    return {
        "resourceType": "Claim",
        "status": "active",
        "type": {"coding": [{"code": "institutional"}]},
        "use": "claim",
        "patient": {"reference": "Patient/P1"},
        "created": "2023-08-23T10:35:00+00:00",
        "provider": {"reference": "Organization/100025753"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/c1"}}],
        "supportingInfo": [{"sequence": 1, "category": {"text": "info"}}],
    }


CASES = [
    (
        "identifier system",
        _enc,
        lambda r: r["identifier"][0].update(system="http://xxx.org"),
        [
            (
                10117,
                "value",
                "Encounter.identifier[0].system",
                "Invalid identifier system: http://xxx.org (RuleNumber: 10117)",
            )
        ],
    ),
    (
        "dangling-shaped reference",
        _enc,
        lambda r: r["serviceProvider"].update(reference="100025753"),
        [
            (
                10124,
                "value",
                "Encounter.serviceProvider",
                "Reference is mandatory : Encounter.serviceProvider (RuleNumber: 10124)",
            )
        ],
    ),
    (
        "missing subject",
        _enc,
        lambda r: r.pop("subject"),
        [],  # Encounter.subject is 0..1 in FHIR R4: the platform's call
    ),
    (
        "period date only",
        _enc,
        lambda r: r["period"].update(start="2023-08-23"),
        [
            (
                10132,
                "format",
                "Encounter.period.start",
                "Invalid date time format : 2023-08-23 (RuleNumber: 10132). "
                "Format allowed : YYYY-MM-DDThh:mm:ss+00:00",
            )
        ],
    ),
    (
        "statusHistory local time",
        _enc,
        lambda r: r["statusHistory"][0]["period"].update(end="2023-08-23T17:35:00+07:00"),
        [(10132, "format", "Encounter.statusHistory[0].period.end", None)],
    ),
    (
        "empty text",
        _enc,
        lambda r: r["class"].update(display=""),
        [(10134, "value", "Encounter.class.display", "Text is empty: '' (RuleNumber: 10134)")],
    ),
    (
        "missing status",
        _enc,
        lambda r: r.pop("status"),
        [
            (
                10263,
                "value",
                "Encounter.status",
                "Element not found: Encounter.status (RuleNumber: 10263)",
            )
        ],
    ),
    (
        "integer as string",
        _claim,
        lambda r: r["supportingInfo"][0].update(sequence="Satu"),
        [
            (
                10254,
                "value",
                "Claim.supportingInfo[0].sequence",
                "Integer formated as a string: 'Satu' (RuleNumber: 10254)",
            )
        ],
    ),
    (
        "claim insurance focal",
        _claim,
        lambda r: r["insurance"][0].pop("focal"),
        [
            (
                10263,
                "value",
                "Claim.insurance[0].focal",
                "Element not found: Claim.insurance[0].focal (RuleNumber: 10263)",
            )
        ],
    ),
    (
        "rank as string",
        lambda: patient(telecom=[{"system": "phone", "value": "0812", "rank": 1}]),
        lambda r: r["telecom"][0].update(rank="1"),
        [(10254, "value", "Patient.telecom[0].rank", None)],
    ),
    (
        "gender robot (9.15)",
        patient,
        lambda r: r.update(gender="robot"),
        [
            (
                10001,
                "value",
                "Patient.gender",
                "Code not found: 'robot' in system: http://hl7.org/fhir/administrative-gender "
                "(RuleNumber: 10001)",
            )
        ],
    ),
    (
        "text 123 (9.15)",
        patient,
        lambda r: r["name"][0].update(text=123),
        [
            (
                None,
                "value",
                "Patient.name[0].text",
                "Invalid value type at Patient.name[0].text: expected a string, got number",
            )
        ],
    ),
    (
        "given item not a string",
        patient,
        lambda r: r["name"][0].update(given=["Budi", 7]),
        [(None, "value", "Patient.name[0].given[1]", None)],
    ),
    (
        "composition date",
        lambda: {
            "resourceType": "Composition",
            "status": "final",
            "type": {"text": "x"},
            "date": "2023-08-23T10:35:00+00:00",
            "author": [{"reference": "Practitioner/N1"}],
            "title": "Resume",
        },
        lambda r: r.update(date="2022-06-14"),
        [(10132, "format", "Composition.date", None)],
    ),
]


@pytest.mark.parametrize(("name", "base", "change", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_each_rule_is_caught_with_nothing_sent(
    platform: ScriptedPlatform,
    make_client: MakeClient,
    name: str,
    base: Any,
    change: Any,
    expected: list[tuple[int | None, str, str, str | None]],
) -> None:
    resource = base()
    assert resource_issues(resource) == []
    change(resource)
    issues = resource_issues(resource)
    assert [(i.rule_number, i.code, i.expression[0]) for i in issues] == [e[:3] for e in expected]
    for issue, want in zip(issues, expected, strict=True):
        if want[3] is not None:
            assert issue.text == want[3]
    if not expected:
        return
    client = make_client()
    with pytest.raises(ValidationError) as caught:
        await client.fhir.create(resource)
    assert caught.value.url == PREFLIGHT_URL
    assert caught.value.status == 0
    assert "nothing was sent" in str(caught.value)
    assert platform.received == []  # not even a token


async def test_every_problem_in_one_error(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    resource = _enc()
    resource["identifier"][0]["system"] = "http://xxx.org"
    resource["period"]["start"] = "2023-08-23"
    resource["class"]["display"] = ""
    resource["subject"]["reference"] = "P1"
    with pytest.raises(ValidationError) as caught:
        await make_client().fhir.create(resource)
    assert sorted(caught.value.rule_numbers) == [10117, 10124, 10132, 10134]
    assert "+3 more issue(s)" in str(caught.value)
    assert platform.received == []


async def test_validate_false_sends_it(platform: ScriptedPlatform, make_client: MakeClient) -> None:
    resource = _enc()
    resource["period"]["start"] = "2023-08-23"
    platform.on("POST", ENC_PATH, json_reply({**resource, "id": "e1"}, 201))
    made = await make_client().fhir.create(resource, validate=False)
    assert made["id"] == "e1"
    assert platform.requests("POST", ENC_PATH)[0].json()["period"]["start"] == "2023-08-23"


async def test_utc_z_and_python_datetimes_go_out_as_plus_zero(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    resource = _enc()
    resource["period"] = {
        "start": "2023-08-23T10:35:00Z",
        "end": datetime(2023, 8, 23, 18, 5, tzinfo=WIB),
    }
    resource["meta"] = {"lastUpdated": "2023-08-23T10:35:00.000Z"}
    platform.on("POST", ENC_PATH, json_reply({**resource, "id": "e1", "period": {}}, 201))
    await make_client().fhir.create(resource)
    sent = platform.requests("POST", ENC_PATH)[0].json()
    assert sent["period"] == {
        "start": "2023-08-23T10:35:00+00:00",
        "end": "2023-08-23T11:05:00+00:00",
    }
    assert sent["meta"]["lastUpdated"] == "2023-08-23T10:35:00+00:00"


async def test_naive_datetime_and_nan_are_refused(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    client = make_client()
    resource = _enc()
    resource["period"]["start"] = datetime(2023, 8, 23, 10, 35)
    with pytest.raises(ConfigurationError):
        await client.fhir.create(resource)
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueQuantity": {"value": float("nan")},
    }
    with pytest.raises(ConfigurationError):
        await client.fhir.create(obs)
    assert platform.received == []


async def test_put_without_id_is_refused_before_sending(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(ConfigurationError, match=r"id is required|needs the Encounter's id"):
        await client.fhir.update(_enc())
    with pytest.raises(ConfigurationError, match="is not id="):
        await client.fhir.update({**_enc(), "id": "a"}, id="b")
    assert platform.received == []


@pytest.mark.parametrize(
    ("kind", "rid"),
    [
        ("Encounter", ".."),
        ("Encounter", "."),
        ("Encounter", "a/b"),
        ("encounter", "a"),
        ("../Patient", "a"),
        ("Encounter", ""),
        ("Encounter", "a?b=c"),
        ("Encounter", "x" * 65),
    ],
)
async def test_type_and_id_are_checked_before_any_request(
    platform: ScriptedPlatform, make_client: MakeClient, kind: str, rid: str
) -> None:
    client = make_client()
    with pytest.raises(ConfigurationError):
        await client.fhir.read(kind, rid)
    with pytest.raises(ConfigurationError):
        await client.fhir.patch(kind, rid, [{"op": "remove", "path": "/status"}])
    with pytest.raises(ConfigurationError):
        await client.fhir.update({"resourceType": kind, "id": rid})
    assert platform.received == []


@pytest.mark.parametrize(
    "operations",
    [
        [],
        [{"op": "merge", "path": "/status"}],
        [{"op": "replace", "path": "status", "value": "x"}],
        [{"op": "replace", "path": "/status"}],
        [{"op": "move", "path": "/a"}],
        [{"op": "replace", "path": "/a~2", "value": 1}],
        [{"op": "replace", "path": "/a", "value": float("inf")}],
        {"op": "replace", "path": "/a", "value": 1},
    ],
)
async def test_bad_patch_documents_are_refused(
    platform: ScriptedPlatform, make_client: MakeClient, operations: Any
) -> None:
    with pytest.raises(ConfigurationError):
        await make_client().fhir.patch("Encounter", "e1", operations)
    assert platform.received == []


async def test_patch_values_and_location_rule_are_checked(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(ValidationError) as caught:
        await client.fhir.patch(
            "Encounter", "e1", [{"op": "replace", "path": "/period/start", "value": "2023"}]
        )
    assert caught.value.issues[0].expression == ("Encounter.period.start",)
    with pytest.raises(ValidationError) as caught:
        await client.fhir.patch(
            "Location", "l1", [{"op": "replace", "path": "/operationalStatus/code", "value": "O"}]
        )
    assert caught.value.rule_numbers == (10171,)
    assert platform.received == []


async def test_patient_patch_keeps_replace_only(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    client = make_client()
    with pytest.raises(ConfigurationError, match="only 'replace'"):
        await client.fhir.patch("Patient", "P1", [{"op": "remove", "path": "/gender"}])
    assert platform.received == []
    platform.on("PATCH", "/fhir-r4/v1/Patient/{id}", json_reply({**patient(), "id": "P1"}))
    await client.fhir.patch(
        "Patient", "P1", [{"op": "replace", "path": "/gender", "value": "male"}]
    )
    assert platform.requests("PATCH")[0].headers["Content-Type"] == "application/json"


async def test_pydantic_models_in(platform: ScriptedPlatform, make_client: MakeClient) -> None:
    from fhir.resources.R4B.encounter import Encounter as FhirEncounter

    model = FhirEncounter.model_validate(
        {**_enc(), "period": {"start": datetime(2023, 8, 23, 10, 35, tzinfo=timezone.utc)}}
    )
    platform.on("POST", ENC_PATH, json_reply({**_enc(), "id": "e1"}, 201))
    made = await make_client().fhir.create(model, model=FhirEncounter)
    assert isinstance(made, FhirEncounter)
    sent = platform.requests("POST", ENC_PATH)[0].json()
    assert sent["resourceType"] == "Encounter"
    assert sent["period"]["start"] == "2023-08-23T10:35:00+00:00"
    assert sent["identifier"] == _enc()["identifier"]


async def test_a_pydantic_model_with_bad_values_is_refused(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    from fhir.resources.R4B.location import Location as FhirLocation

    bad = copy.deepcopy(location("100025753"))
    bad["identifier"][0]["system"] = "http://xxx.org"
    with pytest.raises(ValidationError) as caught:
        await make_client().fhir.create(FhirLocation.model_validate(bad))
    assert caught.value.rule_numbers == (10117,)
    assert platform.received == []


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda w: w.update(gender="robot"), 10001),
        (lambda w: w["name"][0].update(text=123), None),
        (lambda w: w["name"][0].update(family=True), None),
        (lambda w: w.update(birthDate=19900512), 10132),
    ],
)
async def test_patients_create_preflight_is_strict_too(
    platform: ScriptedPlatform, make_client: MakeClient, change: Any, rule: int | None
) -> None:
    """Issue 9 item 15: 0.1.0 accepted gender="robot" and text=123."""
    wire = patient()
    change(wire)
    with pytest.raises(ValidationError) as caught:
        await make_client().patients.create(wire)
    assert [i.rule_number for i in caught.value.issues] == [rule]
    assert platform.received == []


async def test_patient_exists_through_the_generic_layer(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    from sehatmu_async import PatientExistsError

    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "duplicate",
                "details": {"text": "Patient Resource Exists: P02029102416"},
            }
        ],
    }
    platform.on("POST", "/fhir-r4/v1/Patient", json_reply(outcome, 400))
    with pytest.raises(PatientExistsError) as caught:
        await make_client().fhir.create(patient())
    assert caught.value.patient_id == "P02029102416"
