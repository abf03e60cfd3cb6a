"""The Patient resource over a mocked transport (aioresponses): shapes, requests, no resends."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from _aioresponses_compat import compat_aioresponses
from _patient_helpers import MOTHER_NIK, NIK, PATIENT_PATH, TOKEN_ANSWER, make_client, minimal_wire
from aiohttp.client_reqrep import ConnectionKey

from sehatmu_async import (
    APIError,
    CitizenNotFoundError,
    DuplicateResourceError,
    Identifier,
    OutcomeUnknownError,
    Patient,
    PatientExistsError,
    SehatMuClient,
    ValidationError,
)
from sehatmu_async._patient_models import NIK_SYSTEM
from sehatmu_async._patients_wire import RECONCILE_HINT

BASE = "https://api.test"
CREATE_URL = BASE + PATIENT_PATH


@pytest.fixture
def mocked() -> Any:
    with compat_aioresponses() as m:
        m.post(
            re.compile(r"https://api\.test/oauth2/v1/accesstoken.*"),
            payload=TOKEN_ANSWER,
            repeat=True,
        )
        yield m


@pytest.fixture
async def api(mocked: Any) -> AsyncIterator[SehatMuClient]:
    async with make_client(BASE) as c:
        yield c


def calls(mocked: Any, method: str, path: str = PATIENT_PATH) -> list[Any]:
    return [
        call
        for (m, url), found in mocked.requests.items()
        if m == method and url.path == path
        for call in found
    ]


def envelope(message: str, existing: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"success": False, "message": message}
    if existing is not None:
        answer["data"] = {"resourceID": existing}
    return answer


def outcome(code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "details": {"text": text}}],
    }


async def test_create_sends_the_wire_form_once_and_returns_the_fhir_answer(
    mocked: Any, api: SehatMuClient
) -> None:
    mocked.post(CREATE_URL, status=201, payload={**minimal_wire(), "id": "100000000001"})
    patient = await api.patients.create(minimal_wire())
    assert patient.id == "100000000001"
    (call,) = calls(mocked, "POST")
    assert orjson.loads(call.kwargs["data"]) == minimal_wire()
    assert call.kwargs["headers"]["Content-Type"] == "application/json"
    assert call.kwargs["headers"]["Authorization"] == "Bearer test-access-token"


@pytest.mark.parametrize(
    ("sent", "answer", "expected_id"),
    [
        (
            Patient(identifier=[Identifier.nik(NIK)]),
            {
                "success": True,
                "message": "New Patient has been created successfully",
                "data": {"Patient ID:": "P02029102687"},
            },
            "P02029102687",
        ),
        (
            Patient(identifier=[Identifier.nik_ibu(MOTHER_NIK)]),
            {
                "create_patient": {"success": True, "data": {"patient_id": "P02029102688"}},
                "create_related_patient": {"success": True, "data": {}},
            },
            "P02029102688",
        ),
    ],
)
async def test_create_understands_the_live_envelopes(
    mocked: Any, api: SehatMuClient, sent: Patient, answer: Any, expected_id: str
) -> None:
    mocked.post(CREATE_URL, payload=answer)
    patient = await api.patients.create(sent)
    assert patient.id == expected_id
    assert patient.identifier == sent.identifier


@pytest.mark.parametrize(
    ("status", "answer", "error"),
    [
        (200, envelope("Patient Resource Exists", "P1"), PatientExistsError),
        (200, envelope("Failed to create new patient, another identifier has found", "P1"), PatientExistsError),  # noqa: E501
        (200, envelope("Citizen Not Exists"), CitizenNotFoundError),
        (400, outcome("duplicate", "Found duplicate resource: Patient"), DuplicateResourceError),
        (400, outcome("value", "Citizen Not Exists"), CitizenNotFoundError),
        (400, outcome("value", "Invalid identifier system: x (RuleNumber: 10117)"), ValidationError),  # noqa: E501
        (201, outcome("value", "Text is empty: '' (RuleNumber: 10134)"), ValidationError),
        # A 2xx nobody can read: the create probably happened, so the outcome is unknown.
        (200, {"unexpected": True}, OutcomeUnknownError),
    ],
)  # fmt: skip
async def test_create_refusals_are_typed(
    mocked: Any, api: SehatMuClient, status: int, answer: Any, error: type[Exception]
) -> None:
    mocked.post(CREATE_URL, status=status, payload=answer)
    with pytest.raises(error) as caught:
        await api.patients.create(minimal_wire())
    assert type(caught.value) is error
    if isinstance(caught.value, PatientExistsError):
        assert caught.value.patient_id == "P1"
    assert len(calls(mocked, "POST")) == 1


@pytest.mark.parametrize(
    "failure",
    [asyncio.TimeoutError(), aiohttp.ServerDisconnectedError()],
)
async def test_create_with_unknown_outcome_is_never_resent(
    mocked: Any, api: SehatMuClient, failure: Exception
) -> None:
    mocked.post(CREATE_URL, exception=failure, repeat=True)
    with pytest.raises(OutcomeUnknownError) as caught:
        await api.patients.create(minimal_wire())
    assert caught.value.payload == minimal_wire()
    assert caught.value.nik == NIK
    # The transport's own error, given the Patient's context (0.1.0 re-raised a copy).
    assert caught.value.resource_type == "Patient"
    assert caught.value.identifiers == ((NIK_SYSTEM, NIK),)
    assert str(caught.value).endswith(RECONCILE_HINT)
    assert NIK not in str(caught.value)
    assert len(calls(mocked, "POST")) == 1


async def test_create_answered_5xx_is_outcome_unknown(mocked: Any, api: SehatMuClient) -> None:
    mocked.post(
        CREATE_URL, status=504, body="Gateway Timeout", content_type="text/plain", repeat=True
    )
    with pytest.raises(OutcomeUnknownError) as caught:
        await api.patients.create(minimal_wire())
    assert caught.value.status == 504
    assert caught.value.nik == NIK
    assert len(calls(mocked, "POST")) == 1


async def test_create_refused_connection_is_retried(mocked: Any, api: SehatMuClient) -> None:
    key = ConnectionKey("api.test", 443, True, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    mocked.post(CREATE_URL, exception=refused)
    mocked.post(CREATE_URL, status=201, payload={**minimal_wire(), "id": "P9"})
    patient = await api.patients.create(minimal_wire())
    assert patient.id == "P9"
    # Two attempts, the first of which provably never reached the platform.
    assert len(calls(mocked, "POST")) == 2


async def test_get(mocked: Any, api: SehatMuClient) -> None:
    mocked.get(f"{CREATE_URL}/P02029102687", payload={**minimal_wire(), "id": "P02029102687"})
    patient = await api.patients.get("P02029102687")
    assert patient.id == "P02029102687"
    assert patient.nik == NIK


@pytest.mark.parametrize(
    ("mother", "system"),
    [(False, "https://fhir.kemkes.go.id/id/nik"), (True, "https://fhir.kemkes.go.id/id/nik-ibu")],
)
async def test_search_by_nik(mocked: Any, api: SehatMuClient, mother: bool, system: str) -> None:
    mocked.get(
        re.compile(r"https://api\.test/fhir-r4/v1/Patient\?.*"),
        payload={"resourceType": "Bundle", "entry": [{"resource": {**minimal_wire(), "id": "P1"}}]},
    )
    found = await api.patients.search_by_nik(NIK, mother=mother)
    assert [p.id for p in found] == ["P1"]
    (call,) = calls(mocked, "GET")
    assert call.kwargs["params"] == {"identifier": f"{system}|{NIK}"}


async def test_search_answer_that_is_not_a_bundle(mocked: Any, api: SehatMuClient) -> None:
    mocked.get(re.compile(r"https://api\.test/fhir-r4/v1/Patient\?.*"), payload={"data": []})
    with pytest.raises(APIError, match="not a Bundle"):
        await api.patients.search_by_nik(NIK)
