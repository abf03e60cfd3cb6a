"""Every create answer shape of api.md, decoded without a network."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from _patient_helpers import MOTHER_NIK, NIK, minimal_wire

import sehatmu_async
from sehatmu_async import (
    APIError,
    CitizenNotFoundError,
    DuplicateResourceError,
    Identifier,
    Patient,
    PatientExistsError,
    ValidationError,
)
from sehatmu_async._decoders import ResponseContext
from sehatmu_async._patients_wire import (
    decode_create_answer,
    decode_patient,
    decode_search_bundle,
)

SENT = Patient(identifier=[Identifier.nik(NIK)], gender="male")


def ctx(status: int = 200) -> ResponseContext:
    return ResponseContext(
        status=status,
        method="POST",
        url="https://api.test/fhir-r4/v1/Patient",
        path="/fhir-r4/v1/Patient",
        request_id="req-1",
    )


def test_documented_fhir_patient_answer() -> None:
    answer = {**minimal_wire(), "id": "100000000001", "meta": {"versionId": "1"}}
    patient = decode_create_answer(ctx(201), answer, SENT)
    assert patient.id == "100000000001"
    assert patient.meta is not None
    assert patient.meta.version_id == "1"  # the server's copy, not the sent one
    assert patient.nik == NIK


@pytest.mark.parametrize(
    "data",
    [
        {"Patient ID:": "P02029102687"},  # the live key really ends in a colon
        {"patient_id": "P02029102687"},
        {"resourceID": "P02029102687"},
        {"Patient ID": " P02029102687 "},
    ],
)
def test_success_envelope_returns_the_sent_patient_with_its_id(data: dict[str, Any]) -> None:
    answer = {"success": True, "message": "New Patient has been created successfully", "data": data}
    patient = decode_create_answer(ctx(), answer, SENT)
    assert patient == Patient(id="P02029102687", identifier=[Identifier.nik(NIK)], gender="male")


def test_success_envelope_for_a_dict_that_was_sent() -> None:
    answer = {"success": True, "data": {"Patient ID:": "P1"}}
    patient = decode_create_answer(ctx(), answer, minimal_wire())
    assert patient.id == "P1"
    assert patient.nik == NIK


def test_mothers_nik_wrapper() -> None:
    sent = Patient(identifier=[Identifier.nik_ibu(MOTHER_NIK)])
    answer = {
        "create_patient": {"success": True, "data": {"patient_id": "P02029102999"}},
        "create_related_patient": {"success": True, "data": {"related_person_id": "R1"}},
        "update_link_patient": {"success": True, "data": {"patient_id": "P02029102999"}},
        "log_time": {"create_patient": "0.2s"},
    }
    patient = decode_create_answer(ctx(), answer, sent)
    assert patient.id == "P02029102999"
    assert patient.nik_ibu == MOTHER_NIK


@pytest.mark.parametrize(
    "answer",
    [
        {"success": False, "message": "Patient Resource Exists", "data": {"resourceID": "P0202"}},
        {
            "success": False,
            "message": "Failed to create new patient, another identifier has found",
            "data": {"resourceID": "P0202"},
        },
        {
            "create_patient": {
                "success": False,
                "message": "Failed to create new patient, another identifier has found",
                "data": {"resourceID": "P0202"},
            }
        },
    ],
)
def test_already_there_raises_patient_exists_with_its_id(answer: dict[str, Any]) -> None:
    with pytest.raises(PatientExistsError) as caught:
        decode_create_answer(ctx(), answer, SENT)
    error = caught.value
    assert error.patient_id == "P0202"
    assert isinstance(error, ValidationError)
    assert error.status == 200
    assert error.request_id == "req-1"
    assert error.issues[0].text == answer.get(
        "message", answer.get("create_patient", {}).get("message")
    )
    assert "P0202" in str(error)
    assert NIK not in str(error)


def test_citizen_not_exists() -> None:
    with pytest.raises(CitizenNotFoundError) as caught:
        decode_create_answer(ctx(), {"success": False, "message": "Citizen Not Exists"}, SENT)
    assert caught.value.issues[0].text == "Citizen Not Exists"
    assert "nik_ibu" in str(caught.value)


def test_other_refusal_envelope_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        decode_create_answer(ctx(), {"success": False, "message": "Something else"}, SENT)
    assert type(caught.value) is ValidationError
    assert "Something else" in str(caught.value)


def test_operation_outcome_duplicate_and_value() -> None:
    duplicate = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "duplicate",
                "details": {"text": "Found duplicate resource: Patient"},
            }
        ],
    }
    with pytest.raises(DuplicateResourceError):
        decode_create_answer(ctx(201), duplicate, SENT)
    value = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "value",
                "details": {"text": "Invalid identifier system: http://x (RuleNumber: 10117)"},
                "expression": ["Patient.identifier[0].system"],
            }
        ],
    }
    with pytest.raises(ValidationError) as caught:
        decode_create_answer(ctx(201), value, SENT)
    assert caught.value.rule_numbers == (10117,)
    assert caught.value.issues[0].expression == ("Patient.identifier[0].system",)


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ([], "not a JSON object"),
        ({}, "neither a Patient nor a success envelope"),
        ({"message": "ok"}, "neither a Patient nor a success envelope"),
        ({"success": True, "data": {}}, "without the new Patient's id"),
        ({"success": True, "data": {"Patient ID:": ""}}, "without the new Patient's id"),
        ({"success": "yes"}, "not true or false"),
        ({"create_patient": "created"}, "neither a Patient"),
        ({"resourceType": "Patient"}, "has no id"),
        ({"resourceType": "Bundle"}, "a Bundle instead"),
        (
            {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "information", "code": "suppressed"}],
            },
            "without errors",
        ),
    ],
)
def test_any_other_2xx_shape_is_an_api_error(answer: Any, why: str) -> None:
    with pytest.raises(APIError, match=why) as caught:
        decode_create_answer(ctx(), answer, SENT)
    assert type(caught.value) is APIError
    assert caught.value.request_id == "req-1"


def test_search_bundle() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"resource": {**minimal_wire(), "id": "P1"}},
            {"resource": {"resourceType": "OperationOutcome", "issue": []}},
            {"fullUrl": "no resource"},
            "junk",
            {"resource": {**minimal_wire(), "id": "P2"}},
        ],
    }
    assert [p.id for p in decode_search_bundle(ctx(), bundle)] == ["P1", "P2"]
    assert decode_search_bundle(ctx(), {"resourceType": "Bundle", "total": 0}) == []
    with pytest.raises(APIError, match="not a Bundle"):
        decode_search_bundle(ctx(), {"resourceType": "Patient"})
    with pytest.raises(APIError, match="not a list"):
        decode_search_bundle(ctx(), {"resourceType": "Bundle", "entry": {}})


def test_read_answer_must_be_a_patient() -> None:
    assert decode_patient(ctx(), {**minimal_wire(), "id": "P1"}).id == "P1"
    with pytest.raises(APIError, match="expected a Patient, got a Bundle"):
        decode_patient(ctx(), {"resourceType": "Bundle"})
    with pytest.raises(APIError, match="no FHIR resource"):
        decode_patient(ctx(), ["x"])


def test_the_patients_wire_module_does_no_io() -> None:
    # The answers' meaning lives in a pure module; the resource module keeps the I/O.
    source = (Path(sehatmu_async.__file__).parent / "_patients_wire.py").read_text()
    imported = {
        node.module or ""
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not imported & {"aiohttp", "asyncio", "anyio", "_base_client", "_client", "resources"}
