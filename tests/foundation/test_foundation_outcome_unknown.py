"""OutcomeUnknownError is made in one place, names no resource, and takes context later."""

from __future__ import annotations

import pytest
from _foundation_helpers import FakePlatform, MakeClient, reply

from sehatmu_async.errors import APIError, OutcomeUnknownError

PATH = "/fhir-r4/v1/Encounter"


async def test_the_transport_names_no_resource_and_the_resource_adds_context(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reply(503, "down", headers={"X-Request-Id": "r-9"}))
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.request("POST", PATH, json={"resourceType": "Encounter"}, idempotent=False)
    err = caught.value
    message = str(err)
    assert "patient" not in message.lower()
    assert "search_by_nik" not in message
    assert "[request id r-9]" in message
    assert "look it up first" in message
    assert err.payload == {"resourceType": "Encounter"}
    assert err.status == 503
    assert (err.resource_type, err.identifiers, err.nik) == (None, (), None)
    err.add_context(
        resource_type="Encounter",
        identifiers=[("http://sys/enc", "E1")],
        hint="Find it by its identifier before sending it again.",
    )
    assert err.identifiers == (("http://sys/enc", "E1"),)
    assert str(err).endswith("Find it by its identifier before sending it again.")
    assert "\n" not in str(err)


async def test_answer_statuses_hands_a_final_refusal_back_as_a_response(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    bundle = {"resourceType": "Bundle", "type": "transaction-response", "entry": []}
    platform.data_script.append(reply(422, bundle, headers={"X-Request-Id": "b-1"}))
    response = await client.request(
        "POST", "/fhir-r4/v1", json={}, idempotent=False, answer_statuses=(400, 422)
    )
    assert response.status == 422
    assert response.ctx.request_id == "b-1"
    assert response.json() == bundle
    platform.data_script.append(reply(409, bundle))
    with pytest.raises(APIError):  # a status not listed is still raised
        await client.request(
            "POST", "/fhir-r4/v1", json={}, idempotent=False, answer_statuses=(422,)
        )
