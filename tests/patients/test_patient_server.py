"""The Patient resource against a real local server: what reaches the platform, and how often."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import aiohttp
import orjson
import pytest
from _patient_helpers import (
    MOTHER_NIK,
    NIK,
    PATIENT_PATH,
    FakePlatform,
    json_answer,
    make_client,
    minimal_wire,
)
from aiohttp import web

from sehatmu_async import (
    CitizenNotFoundError,
    ConfigurationError,
    DuplicateResourceError,
    Identifier,
    OutcomeUnknownError,
    Patient,
    PatientExistsError,
    SehatMuClient,
    ValidationError,
)
from sehatmu_async._patient_models import NIK_IBU_SYSTEM


def _outcome(code: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "text": {"status": "generated"},
        "issue": [{"severity": "error", "code": code, "details": {"text": text}}],
    }


@pytest.mark.parametrize(
    ("status", "answer", "expected"),
    [
        (201, {**minimal_wire(), "id": "100000000001"}, "100000000001"),
        (200, {"success": True, "data": {"Patient ID:": "P02029102687"}}, "P02029102687"),
        (200, {"success": True, "data": {"patient_id": "P02029102688"}}, "P02029102688"),
        (200, {"success": True, "data": {"resourceID": "P02029102689"}}, "P02029102689"),
        (
            200,
            {"create_patient": {"success": True, "data": {"patient_id": "P1"}}, "log_time": {}},
            "P1",
        ),
        (
            200,
            {"success": False, "message": "Patient Resource Exists", "data": {"resourceID": "P2"}},
            PatientExistsError,
        ),
        (
            200,
            {
                "success": False,
                "message": "Failed to create new patient, another identifier has found",
                "data": {"resourceID": "P2"},
            },
            PatientExistsError,
        ),
        (200, {"success": False, "message": "Citizen Not Exists"}, CitizenNotFoundError),
        (400, _outcome("duplicate", "Found duplicate resource: Patient"), DuplicateResourceError),
        (400, _outcome("value", "Element not found: x (RuleNumber: 10263)"), ValidationError),
        # A 2xx nobody can read: the Patient was probably stored; never a plain failure.
        (200, {"resourceType": "Bundle"}, OutcomeUnknownError),
    ],
)
async def test_every_create_answer_shape(
    platform: FakePlatform, client: SehatMuClient, status: int, answer: Any, expected: Any
) -> None:
    platform.on("POST", PATIENT_PATH, json_answer(answer, status))
    sent = Patient(identifier=[Identifier.nik(NIK)], gender="female")
    if isinstance(expected, str):
        patient = await client.patients.create(sent)
        assert patient.id == expected
        assert patient.nik == NIK
    else:
        with pytest.raises(expected) as caught:
            await client.patients.create(sent)
        assert type(caught.value) is expected
        if expected is PatientExistsError:
            assert caught.value.patient_id == "P2"
        if expected is OutcomeUnknownError:
            assert caught.value.nik == NIK
            assert caught.value.payload == sent.to_wire()
    assert platform.count("POST") == 1
    (received,) = [r for r in platform.api_requests if r.method == "POST"]
    assert received.content_type == "application/json"
    assert received.json() == sent.to_wire()


async def test_a_create_whose_answer_never_comes_is_not_resent(platform: FakePlatform) -> None:
    async def never_answers(request: web.Request) -> web.StreamResponse:
        await platform.hold()  # the platform stores it, but answers too late
        return await json_answer({"success": True, "data": {"patient_id": "late"}})(request)

    platform.on("POST", PATIENT_PATH, never_answers)
    wire = minimal_wire(MOTHER_NIK, NIK_IBU_SYSTEM)
    async with make_client(platform.url, timeout=0.3) as client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.patients.create(wire)
    error = caught.value
    assert error.payload == wire
    assert error.nik == MOTHER_NIK
    assert error.method == "POST"
    assert MOTHER_NIK not in str(error)
    assert "search_by_nik" in str(error)
    assert platform.count("POST") == 1


async def test_a_5xx_after_sending_is_outcome_unknown_and_not_resent(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    async def upstream_down(_: web.Request) -> web.StreamResponse:
        return web.Response(text="no healthy upstream", status=503, content_type="text/plain")

    platform.on("POST", PATIENT_PATH, upstream_down)
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.patients.create(minimal_wire())
    assert caught.value.status == 503
    assert caught.value.nik == NIK
    assert caught.value.payload == minimal_wire()
    assert platform.count("POST") == 1


async def test_a_dropped_connection_is_outcome_unknown_and_not_resent(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        return web.Response()

    platform.on("POST", PATIENT_PATH, drop)
    with pytest.raises(OutcomeUnknownError):
        await client.patients.create(minimal_wire())
    assert platform.count("POST") == 1


class RefuseFirstCreate(aiohttp.TCPConnector):
    """Refuses the first connection a Patient create asks for, as a closed port would."""

    refused = 0

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        if req.method == "POST" and req.url.path == PATIENT_PATH and not self.refused:
            self.refused += 1
            raise aiohttp.ClientConnectorError(
                req.connection_key, ConnectionRefusedError(111, "Connection refused")
            )
        return await super().connect(req, traces, timeout)


async def test_a_create_that_provably_never_left_is_retried(platform: FakePlatform) -> None:
    platform.on("POST", PATIENT_PATH, json_answer({**minimal_wire(), "id": "P7"}, 201))
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)

    connector = RefuseFirstCreate()
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        make_client(platform.url, session=session, sleep=record_sleep) as client,
    ):
        patient = await client.patients.create(minimal_wire())
    assert patient.id == "P7"
    assert connector.refused == 1
    assert len(waits) == 1  # one backoff, then the second attempt
    assert platform.count("POST") == 1


async def test_get_and_search_send_the_documented_requests(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    stored = {**minimal_wire(), "id": "P02029102687"}
    platform.on("GET", PATIENT_PATH + "/{id}", json_answer(stored))
    platform.on(
        "GET",
        PATIENT_PATH,
        json_answer(
            {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": stored}]}
        ),
    )
    assert (await client.patients.get("P02029102687")).id == "P02029102687"
    found = await client.patients.search_by_nik(NIK)
    assert [p.id for p in found] == ["P02029102687"]
    get, search = platform.api_requests
    assert get.path == PATIENT_PATH + "/P02029102687"
    assert search.path == PATIENT_PATH
    assert parse_qs(search.query) == {"identifier": [f"https://fhir.kemkes.go.id/id/nik|{NIK}"]}


async def test_search_with_no_entry_is_empty(platform: FakePlatform, client: SehatMuClient) -> None:
    platform.on("GET", PATIENT_PATH, json_answer({"resourceType": "Bundle", "total": 0}))
    assert await client.patients.search_by_nik(NIK, mother=True) == []


async def test_search_refuses_a_bad_nik_before_sending(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    with pytest.raises(ConfigurationError, match="16"):
        await client.patients.search_by_nik("367400001111222")
    assert platform.received == []


async def test_created_payload_is_not_changed_by_later_edits_of_the_dict(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    platform.on("POST", PATIENT_PATH, json_answer({"success": True, "data": {"patient_id": "P1"}}))
    wire = minimal_wire()
    patient = await client.patients.create(wire)
    wire["name"][0]["text"] = "changed"
    assert patient.name[0].text == "Budi Santoso"
    assert orjson.loads(platform.api_requests[0].body)["name"][0]["text"] == "Budi Santoso"
