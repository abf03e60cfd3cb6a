"""After ``aclose()``: every call refuses, and running calls say the client was closed."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _foundation_helpers import CLIENT_ID, CLIENT_SECRET, FakePlatform, MakeClient, RecordingSleep
from aiohttp import web

from sehatmu_async import SehatMuClient
from sehatmu_async.errors import ConfigurationError, OutcomeUnknownError, TransportError

PATH = "/masterdata/v1/provinces"
PATIENT_PATH = "/fhir-r4/v1/Patient"


async def test_token_after_aclose_refuses_like_every_other_call(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()  # cached: the old code handed it out even after aclose()
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.token()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.request("GET", PATH)
    assert len(platform.token_requests) == 1


async def _start_held_call(
    platform: FakePlatform, make_client: MakeClient, method: str, idempotent: bool
) -> tuple[asyncio.Task[object], object]:
    client = make_client()
    await client.token()
    arrived = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await platform.wait_or_stop(30)
        return web.json_response({"late": True})

    platform.data_script.append(hold)
    call = asyncio.ensure_future(
        client.request(
            method, PATIENT_PATH if method == "POST" else PATH, json={}, idempotent=idempotent
        )
    )
    await asyncio.wait_for(arrived.wait(), 5)
    return call, client


async def test_a_running_call_says_the_client_was_closed(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    call, client = await _start_held_call(platform, make_client, "GET", True)
    await client.aclose()  # type: ignore[attr-defined]
    with pytest.raises(TransportError) as caught:
        await call
    message = str(caught.value)
    assert "closed" in message
    assert "aclose()" in message
    assert "check the network" not in message
    assert len(platform.data_requests) == 1  # not retried on a closed client


async def test_a_running_create_closed_under_it_is_outcome_unknown_and_says_closed(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    call, client = await _start_held_call(platform, make_client, "POST", False)
    await client.aclose()  # type: ignore[attr-defined]
    with pytest.raises(OutcomeUnknownError) as caught:
        await call
    assert "closed" in str(caught.value)
    assert "check the network" not in str(caught.value)
    assert caught.value.payload == {}


async def test_a_borrowed_session_closed_by_its_owner_is_said_so_and_not_retried(
    platform: FakePlatform, sleep: RecordingSleep
) -> None:
    session = aiohttp.ClientSession()
    client = SehatMuClient(
        CLIENT_ID, CLIENT_SECRET, base_url=platform.url, session=session, sleep=sleep
    )
    await client.token()
    arrived = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        arrived.set()
        await platform.wait_or_stop(30)
        return web.json_response({})

    platform.data_script.append(hold)
    first = asyncio.ensure_future(client.request("GET", PATH))
    await asyncio.wait_for(arrived.wait(), 5)
    await session.close()  # the owner closes it under a running call
    with pytest.raises(TransportError) as caught:
        await first
    assert "the aiohttp session was closed" in str(caught.value)
    assert "check the network" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="session given to SehatMuClient is closed"):
        await client.request("GET", PATH)
    assert sleep.calls == []  # repeating on a closed session cannot help
    assert len(platform.data_requests) == 1
    await client.aclose()
