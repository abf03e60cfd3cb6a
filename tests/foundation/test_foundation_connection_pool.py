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


async def test_many_callers_share_the_slots_without_leaking_one(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    """300 concurrent calls on 4 slots, a third of them cancelled while waiting or sending."""
    client = make_client(connection_limit=4, timeout=10)
    await client.token()
    in_flight = 0
    most = 0

    async def counted(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.002)
            return web.json_response({"ok": True})
        finally:
            in_flight -= 1

    platform.data_script.extend(counted for _ in range(300))
    calls = [asyncio.ensure_future(client.request("GET", PATH)) for _ in range(300)]
    await asyncio.sleep(0.01)
    hit = sum(call.cancel() for call in calls[::3])  # those still waiting or sending
    assert hit > 50
    results = await asyncio.gather(*calls, return_exceptions=True)
    cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
    answered = [r for r in results if not isinstance(r, asyncio.CancelledError)]
    assert len(cancelled) == hit
    assert {getattr(r, "status", r) for r in answered} == {200}
    assert most <= 4
    slots = client._sender._slots  # the invariant under test
    assert (slots.free, len(slots.waiters)) == (4, 0)
    # And all four are usable at once again.
    platform.data_script.extend(counted for _ in range(4))
    most = 0
    await asyncio.gather(*(client.request("GET", PATH) for _ in range(4)))
    assert most == 4


async def test_under_a_storm_of_creates_never_sent_means_the_server_never_saw_it(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    """120 creates on 4 connections with short budgets: every create reported as not sent
    (a plain TransportError) never reached the server; none was sent twice."""
    client = make_client(connection_limit=4, timeout=10)
    await client.token()
    # Open all four connections first: connecting is not what this test is about.
    platform.data_script.extend(platform.slow(0.05) for _ in range(4))
    await asyncio.gather(*(client.request("GET", PATH) for _ in range(4)))
    client.retry = RetryPolicy(attempts=1, total_timeout=0.15)
    seen: list[str] = []
    busy = 0

    async def slow_create(request: web.Request) -> web.StreamResponse:
        nonlocal busy
        busy += 1
        try:
            seen.append((await request.json())["identifier"][0]["value"])
            await asyncio.sleep(0.05)
            return web.json_response({"id": "P"}, status=201)
        finally:
            busy -= 1

    platform.data_script.extend(slow_create for _ in range(120))
    niks = [f"31710123{n:08d}" for n in range(120)]

    async def create(nik: str) -> BaseException | None:
        payload = {"resourceType": "Patient", "identifier": [{"value": nik}]}
        try:
            await client.request("POST", PATIENT_PATH, json=payload, idempotent=False)
        except TransportError as exc:
            return exc
        return None

    outcomes = dict(zip(niks, await asyncio.gather(*(create(n) for n in niks)), strict=True))
    quiet, last = 0, -1
    for _ in range(300):  # let the server take in what was already sent to it
        quiet = quiet + 1 if (busy == 0 and len(seen) == last) else 0
        if quiet >= 5:
            break
        last = len(seen)
        await asyncio.sleep(0.01)
    not_sent = [n for n, e in outcomes.items() if type(e) is TransportError]
    unknown = [n for n, e in outcomes.items() if isinstance(e, OutcomeUnknownError)]
    assert not_sent, "the pool never filled: the test did not test anything"
    assert not set(not_sent) & set(seen)  # "not sent" is true
    assert set(unknown) <= set(seen)  # "outcome unknown" only for what did leave
    assert len(seen) == len(set(seen))  # nothing sent twice
    assert all(n in seen for n, e in outcomes.items() if e is None)
