"""The shared fakes behave as their docstrings promise (other tests rely on them)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from _fakes import (
    CLIENT_ID,
    CLIENT_SECRET,
    FAST_RETRY,
    TOKEN_PATH,
    FakeClock,
    FakeSleep,
    MakeClient,
    ScriptedPlatform,
    client_for,
    json_reply,
    other_tasks,
    reply,
    settle,
)
from aiohttp import web

from sehatmu_async import AuthenticationError, ServerError
from sehatmu_async.sandbox import Sandbox

PROVINCES_V1 = "/masterdata/v1/provinces"
ACEH = {"code": "11", "parent_code": "", "bps_code": "11", "name": "Aceh"}


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _token(http: aiohttp.ClientSession, platform: ScriptedPlatform) -> dict[str, str]:
    form = {"client_id": platform.client_id, "client_secret": platform.client_secret}
    async with http.post(platform.url + TOKEN_PATH, data=form) as answer:
        assert answer.status == 200
        token = (await answer.json())["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def _get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    async with http.get(url, headers=headers) as answer:
        return answer.status, await answer.text()


async def test_steps_come_first_then_the_standing_answer(
    platform: ScriptedPlatform, http: aiohttp.ClientSession
) -> None:
    platform.on("GET", "/a", reply(200, "standing"))
    platform.script("GET", "/a", reply(503, "one"), reply(502, "two"))
    auth = await _token(http, platform)
    got = [await _get(http, platform.url + "/a?x=1", auth) for _ in range(4)]
    assert got == [(503, "one"), (502, "two"), (200, "standing"), (200, "standing")]
    assert platform.count("GET", "/a") == platform.count("GET", "/a", x="1") == 4
    assert len(platform.token_requests) == 1
    assert platform.token_requests[0].form() == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert {r.bearer for r in platform.api_requests} == {platform.issued[0]}
    assert platform.api_requests[0].query_string == "x=1"


async def test_patterns_methods_and_the_newest_route_first(
    platform: ScriptedPlatform, http: aiohttp.ClientSession
) -> None:
    platform.on("*", "/{tail:.*}", reply(200, "catch-all"))

    def plain(request: web.Request) -> web.Response:  # a plain function is an answer too
        return web.Response(text=f"patient {request.path.rsplit('/', 1)[1]}")

    platform.on("GET", "/fhir-r4/v1/Patient/{id}", plain)
    auth = await _token(http, platform)
    assert await _get(http, platform.url + "/fhir-r4/v1/Patient/P1", auth) == (200, "patient P1")
    assert await _get(http, platform.url + "/other", auth) == (200, "catch-all")
    seen = platform.requests("GET", "/fhir-r4/v1/Patient/{id}")
    assert [(r.path, r.match) for r in seen] == [("/fhir-r4/v1/Patient/P1", {"id": "P1"})]
    assert platform.requests(route="/fhir-r4/v1/Patient/P1") == seen


async def test_unrouted_paths_are_404_and_unknown_tokens_401(
    platform: ScriptedPlatform, http: aiohttp.ClientSession
) -> None:
    assert (await _get(http, platform.url + "/nothing"))[0] == 401
    auth = await _token(http, platform)
    assert (await _get(http, platform.url + "/nothing", auth))[0] == 404
    platform.revoke_all()
    status, body = await _get(http, platform.url + "/nothing", auth)
    assert status == 401
    assert "InvalidAccessToken" in body


async def test_the_token_endpoint_checks_credentials(
    platform: ScriptedPlatform, make_client: MakeClient
) -> None:
    with pytest.raises(AuthenticationError):
        await make_client(client_secret="wrong-secret-0123456789").token()
    assert len(platform.token_requests) == 1


async def test_tokens_in_scripted_token_answers_are_accepted(http: aiohttp.ClientSession) -> None:
    async with ScriptedPlatform() as fake:
        fake.on("POST", TOKEN_PATH, json_reply({"access_token": "T" * 20, "expires_in": 600}))
        fake.on("GET", "/x", reply(200, "ok"))
        auth = await _token(http, fake)
        assert await _get(http, fake.url + "/x", auth) == (200, "ok")


async def test_hold_ends_at_teardown(http: aiohttp.ClientSession) -> None:
    fake = await ScriptedPlatform(check_auth=False).start()
    fake.on("GET", "/slow", fake.slow(60, reply(200, "late")))
    call = asyncio.ensure_future(_get(http, fake.url + "/slow"))
    await asyncio.sleep(0.1)
    await fake.close()
    assert (await asyncio.wait_for(call, 10))[0] in (200, 500)  # answered, not hung


async def test_fake_sleep_records_advances_and_yields() -> None:
    clock = FakeClock()
    sleep = FakeSleep(clock)
    ran: list[int] = []

    async def other() -> None:
        ran.append(1)

    task = asyncio.ensure_future(other())
    await sleep(2.5)
    assert ran == [1]  # it yielded to the loop
    assert (sleep.calls, clock(), sleep.total) == ([2.5], 1002.5, 2.5)
    await task


async def test_clients_retry_with_the_fake_sleep(
    platform: ScriptedPlatform, make_client: MakeClient, sleep: FakeSleep, clock: FakeClock
) -> None:
    platform.on("GET", PROVINCES_V1, reply(503, "no healthy upstream"))
    with pytest.raises(ServerError):
        await make_client().regions.v1.provinces(codes=["11"])
    assert len(sleep.calls) == FAST_RETRY.attempts - 1
    assert clock() == pytest.approx(1000.0 + sum(sleep.calls))
    assert platform.count("GET", PROVINCES_V1) == FAST_RETRY.attempts


async def test_a_threaded_platform_leaves_only_client_tasks() -> None:
    fake = await ScriptedPlatform().start(threaded=True)
    try:
        fake.on("GET", PROVINCES_V1, json_reply({"status": 200, "data": [ACEH]}))
        async with client_for(fake) as client:
            provinces = await client.regions.v1.provinces(codes=["11"])
        assert [p.name for p in provinces] == ["Aceh"]
        await settle()
        assert other_tasks(ignore=()) == set()
    finally:
        await fake.close()


async def test_client_for_a_sandbox_uses_its_credentials() -> None:
    async with Sandbox() as sandbox, client_for(sandbox) as client:
        provinces = await client.regions.v1.provinces(codes=["11"])
    assert [p.code for p in provinces] == ["11"]
