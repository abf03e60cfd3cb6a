"""Waiting for a pooled connection is not "sent": a create that times out there is retried."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _foundation_helpers import CLIENT_ID, CLIENT_SECRET, FakePlatform, MakeClient, RecordingSleep
from aiohttp import web

from sehatmu_async import RetryPolicy, SehatMuClient
from sehatmu_async.errors import OutcomeUnknownError, TransportError

PATH = "/masterdata/v1/provinces"
PATIENT_PATH = "/fhir-r4/v1/Patient"
PATIENT = {"resourceType": "Patient", "identifier": [{"value": "3171012345678901"}]}


async def _hold_the_only_connection(
    platform: FakePlatform, client: SehatMuClient, seconds: float
) -> asyncio.Task[object]:
    """A GET the server answers after ``seconds``; returns once the server has it."""
    arrived = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        arrived.set()
        return await platform.slow(seconds)(request)

    platform.data_script.append(hold)
    holder = asyncio.ensure_future(client.request("GET", PATH))
    await asyncio.wait_for(arrived.wait(), 5)
    return holder


async def _release(holder: asyncio.Task[object]) -> None:
    holder.cancel()
    await asyncio.gather(holder, return_exceptions=True)


async def test_a_create_waiting_for_a_busy_pool_is_never_sent_and_not_outcome_unknown(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(connection_limit=1, timeout=10)
    await client.token()
    holder = await _hold_the_only_connection(platform, client, 30)
    client.retry = RetryPolicy(total_timeout=0.3)  # the create's budget: much shorter
    with pytest.raises(TransportError) as caught:
        await client.request("POST", PATIENT_PATH, json=PATIENT, idempotent=False)
    err = caught.value
    assert not isinstance(err, OutcomeUnknownError)
    assert "busy" in str(err)
    assert "not sent" in str(err)
    assert [r.method for r in platform.data_requests] == ["GET"]  # the server never saw it
    await _release(holder)


async def test_a_create_that_waited_for_the_pool_goes_out_once_it_is_free(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client(connection_limit=1, timeout=5.0)
    await client.token()
    holder = await _hold_the_only_connection(platform, client, 0.3)
    response = await client.request("POST", PATIENT_PATH, json=PATIENT, idempotent=False)
    assert response.status == 200
    assert [r.method for r in platform.data_requests] == ["GET", "POST"]
    await holder


async def test_a_lost_answer_after_sending_is_still_outcome_unknown(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(connection_limit=1, timeout=0.3)
    await client.token()
    platform.data_script.append(platform.slow(30))
    with pytest.raises(OutcomeUnknownError) as caught:
        await client.request("POST", PATIENT_PATH, json=PATIENT, idempotent=False)
    assert "no answer within the timeout" in str(caught.value)
    assert caught.value.payload == PATIENT
    assert [r.method for r in platform.data_requests] == ["POST"]
    assert sleep.calls == []


async def test_a_borrowed_session_bounds_the_client_by_its_connector(
    platform: FakePlatform, sleep: RecordingSleep
) -> None:
    """The client waits here (not sent) for a borrowed connector's one connection."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
        client = SehatMuClient(
            CLIENT_ID, CLIENT_SECRET, base_url=platform.url, session=session, timeout=10,
            sleep=sleep,
        )  # fmt: skip
        await client.token()
        holder = await _hold_the_only_connection(platform, client, 30)
        client.retry = RetryPolicy(total_timeout=0.3)
        with pytest.raises(TransportError) as caught:
            await client.request("POST", PATIENT_PATH, json=PATIENT, idempotent=False)
        assert not isinstance(caught.value, OutcomeUnknownError)
        assert [r.method for r in platform.data_requests] == ["GET"]
        await _release(holder)
        await client.aclose()
