"""Fault knobs, counters, request ids and the platform's bare 404."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from _sandbox_helpers import TOKEN_PATH, fetch_token

from sehatmu_async.sandbox import Sandbox, SandboxFaults

PROVINCES = "/masterdata/v1/provinces?codes=11"
SERVER_ERRORS = {502: "Bad Gateway", 503: "no healthy upstream", 504: "Gateway Timeout"}


async def test_fail_rate_answers_5xx_text_plain(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    sandbox.faults.fail_rate = 1.0
    seen = set()
    for _ in range(30):
        async with session.get(sandbox.url + PROVINCES, headers=auth) as response:
            assert response.status in SERVER_ERRORS
            assert response.content_type == "text/plain"
            assert await response.text() == SERVER_ERRORS[response.status]
            assert response.headers["X-Request-Id"]
            seen.add(response.status)
    assert seen == set(SERVER_ERRORS)
    assert sandbox.counters.faults["5xx"] == 30
    # The token endpoint is spared unless asked.
    await fetch_token(session, sandbox)
    sandbox.faults.faults_on_token = True
    async with session.post(sandbox.url + TOKEN_PATH) as response:
        assert response.status in SERVER_ERRORS


async def test_random_faults_follow_the_seed(session: aiohttp.ClientSession) -> None:
    async def statuses(seed: int) -> list[int]:
        faults = SandboxFaults(fail_rate=0.5, faults_on_token=True)
        async with Sandbox(faults=faults, seed=seed) as sandbox:
            result = []
            for _ in range(20):
                async with session.post(sandbox.url + TOKEN_PATH) as response:
                    result.append(response.status)
            return result

    first = await statuses(3)
    assert first == await statuses(3)
    assert 401 in first
    assert any(status >= 500 for status in first)


@pytest.mark.parametrize(("retry_after_s", "header"), [(0, "0"), (1, "1"), (0.2, "1")])
async def test_rate_limit_answers_429_with_retry_after(
    sandbox: Sandbox,
    session: aiohttp.ClientSession,
    auth: dict[str, str],
    retry_after_s: float,
    header: str,
) -> None:
    sandbox.faults.rate_limit_rate = 1.0
    sandbox.faults.retry_after_s = retry_after_s
    async with session.get(sandbox.url + PROVINCES, headers=auth) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == header
        body = await response.json()
    assert body["fault"]["detail"]["errorcode"] == "policies.ratelimit.SpikeArrestViolation"
    assert sandbox.counters.faults["429"] == 1


async def test_drop_closes_the_connection_without_an_answer(
    sandbox: Sandbox, auth: dict[str, str]
) -> None:
    sandbox.faults.drop_rate = 1.0
    async with aiohttp.ClientSession() as session:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            async with session.get(sandbox.url + PROVINCES, headers=auth) as response:
                await response.read()
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await session.post(sandbox.url + "/fhir-r4/v1/Patient", json={}, headers=auth)
        # aiohttp repeats an idempotent GET once on a disconnect; never the POST.
        counters = sandbox.counters
        assert counters.faults["drop"] == counters.requests - counters.token_requests
        assert counters.by_route["POST /fhir-r4/v1/Patient"] == 1
        assert sandbox.counters.patient_creates == 1
        sandbox.faults.drop_rate = 0.0
        async with session.get(sandbox.url + PROVINCES, headers=auth) as response:
            assert response.status == 200


async def test_latency_delays_every_answer_token_included(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.faults.latency_ms = 150
    started = time.perf_counter()
    await fetch_token(session, sandbox)
    assert time.perf_counter() - started >= 0.15
    assert sandbox.counters.faults["latency"] == 1


async def test_slow_create_stores_before_answering(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    sandbox.faults.slow_create_s = 0.5
    nik = "3171012345678901"
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.kemkes.go.id/id/nik", "value": nik}],
    }
    with pytest.raises(asyncio.TimeoutError):  # the builtin only from Python 3.11
        await session.post(
            sandbox.url + "/fhir-r4/v1/Patient",
            json=body,
            headers=auth,
            timeout=aiohttp.ClientTimeout(total=0.1),
        )
    url = f"{sandbox.url}/fhir-r4/v1/Patient?identifier=https://fhir.kemkes.go.id/id/nik|{nik}"
    async with session.get(url, headers=auth) as response:
        assert (await response.json())["total"] == 1
    assert sandbox.counters.patient_creates == 1
    assert sandbox.counters.faults["slow_create"] == 1


def test_fault_knobs_are_validated() -> None:
    with pytest.raises(ValueError, match="fail_rate"):
        SandboxFaults(fail_rate=1.5)
    faults = SandboxFaults()
    with pytest.raises(ValueError, match="latency_ms"):
        faults.latency_ms = -1
    with pytest.raises(ValueError, match="revoke_every_s"):
        faults.revoke_every_s = 0


async def test_counters_and_request_ids(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    ids = set()
    for path in (PROVINCES, PROVINCES, "/fhir-r4/v1/Patient/P1"):
        async with session.get(sandbox.url + path, headers=auth) as response:
            ids.add(response.headers["X-Request-Id"])
    assert len(ids) == 3
    counters = sandbox.counters
    assert counters.requests == 4
    assert counters.token_requests == 1
    assert counters.by_route == {
        "POST /oauth2/v1/accesstoken": 1,
        "GET /masterdata/v1/provinces": 2,
        "GET /fhir-r4/v1/Patient/{id}": 1,
    }
    counters.reset()
    assert (
        counters.requests,
        counters.token_requests,
        counters.patient_creates,
        dict(counters.by_route),
        dict(counters.faults),
    ) == (0, 0, 0, {}, {})


async def test_unknown_routes_are_a_bare_404(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    async with session.get(sandbox.url + "/fhir-r4/v2/Encounter") as response:
        assert response.status == 404
        assert await response.read() == b""
        assert response.headers["X-Request-Id"]
    async with session.delete(sandbox.url + "/masterdata/v1/provinces") as response:
        assert response.status == 405
        assert await response.read() == b""
    assert sandbox.counters.by_route["GET /fhir-r4/v2/Encounter"] == 1
