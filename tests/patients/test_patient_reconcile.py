"""A create whose outcome is unknown: the transport's own error, given what the Patient
can be found by (resource type, identifiers, NIK) and one sentence on how to reconcile."""

from __future__ import annotations

from typing import Any

import pytest
from _patient_helpers import MOTHER_NIK, NIK, PATIENT_PATH, FakePlatform, json_answer, minimal_wire

from sehatmu_async import OutcomeUnknownError, SehatMuClient
from sehatmu_async._patient_models import NIK_IBU_SYSTEM, NIK_SYSTEM
from sehatmu_async._patients_wire import RECONCILE_HINT, identifiers_of
from sehatmu_async.resources._patients import Patients

TRANSPORT_MESSAGE = "POST /fhir-r4/v1/Patient: connection reset after the request was sent."


class RaisingClient:
    """Stands in for the pipeline: raises the error it is given, records the payload."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.sent: list[Any] = []

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        self.sent.append(kwargs.get("json"))
        raise self.error


def _wire_with_both_niks() -> dict[str, Any]:
    wire = minimal_wire()
    wire["identifier"].append({"system": NIK_IBU_SYSTEM, "value": MOTHER_NIK})
    return wire


async def test_the_transports_error_is_raised_itself_with_the_patients_context() -> None:
    original = OutcomeUnknownError(TRANSPORT_MESSAGE, method="POST", url="u", payload=None)
    fake = RaisingClient(original)
    with pytest.raises(OutcomeUnknownError) as caught:
        await Patients(fake).create(_wire_with_both_niks())  # type: ignore[arg-type]
    error = caught.value
    assert error is original  # 0.1.0 raised a copy, with a third copy of the advice
    assert error.resource_type == "Patient"
    assert error.identifiers == ((NIK_SYSTEM, NIK), (NIK_IBU_SYSTEM, MOTHER_NIK))
    assert error.nik == NIK
    assert error.payload == fake.sent[0]
    assert str(error) == f"{TRANSPORT_MESSAGE} {RECONCILE_HINT}"
    assert str(error).count("search_by_nik") == 1
    assert NIK not in str(error)


async def test_a_payload_the_transport_kept_is_not_replaced() -> None:
    kept = {"resourceType": "Patient", "kept": True}
    fake = RaisingClient(OutcomeUnknownError(TRANSPORT_MESSAGE, payload=kept))
    with pytest.raises(OutcomeUnknownError) as caught:
        await Patients(fake).create(minimal_wire())  # type: ignore[arg-type]
    assert caught.value.payload is kept


async def test_an_unreadable_2xx_create_answer_carries_the_same_context(
    platform: FakePlatform, client: SehatMuClient
) -> None:
    platform.on("POST", PATIENT_PATH, json_answer({"unexpected": True}, 200))
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.patients.create(minimal_wire())
    error = caught.value
    assert error.resource_type == "Patient"
    assert error.identifiers == ((NIK_SYSTEM, NIK),)
    assert error.nik == NIK
    assert error.payload == minimal_wire()
    assert str(error).endswith(RECONCILE_HINT)
    assert platform.count("POST") == 1


def test_identifiers_are_every_system_value_pair() -> None:
    wire = _wire_with_both_niks()
    wire["identifier"] += [{"system": "x"}, {"value": "y"}, "junk", {"system": 1, "value": "z"}]
    assert identifiers_of(wire) == [(NIK_SYSTEM, NIK), (NIK_IBU_SYSTEM, MOTHER_NIK)]
    assert identifiers_of({"identifier": {"system": "x", "value": "y"}}) == []
    assert identifiers_of({}) == []
