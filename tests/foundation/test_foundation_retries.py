"""The retry loop against a real local server; waits go to a recording fake sleep."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from _foundation_helpers import FakePlatform, MakeClient, RecordingSleep, reply
from aiohttp import web

from sehatmu_async import RetryPolicy
from sehatmu_async.errors import (
    APIError,
    OutcomeUnknownError,
    RateLimitError,
    ServerError,
    TransportError,
)

PATH = "/masterdata/v1/provinces"
PATIENT = {"resourceType": "Patient", "identifier": [{"value": "3171012345678901"}]}


class FlakyConnect:
    """Makes the next ``fail_next`` TCP connects fail as refused (nothing was sent)."""

    def __init__(self) -> None:
        self.fail_next = 0
        self.connects = 0
        self.refused = 0


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> FlakyConnect:
    state = FlakyConnect()
    original = aiohttp.TCPConnector._create_connection

    async def create_connection(self: aiohttp.TCPConnector, req: Any, *args: Any) -> Any:
        state.connects += 1
        if state.fail_next > 0:
            state.fail_next -= 1
            state.refused += 1
            raise aiohttp.ClientConnectorError(
                req.connection_key, ConnectionRefusedError(111, "Connection refused")
            )
        return await original(self, req, *args)

    monkeypatch.setattr(aiohttp.TCPConnector, "_create_connection", create_connection)
    return state


@pytest.fixture
async def fresh_connections() -> AsyncIterator[aiohttp.ClientSession]:
    """A borrowed session that opens a new connection for every request."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        yield s


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def data_methods(platform: FakePlatform) -> list[str]:
    return [r.method for r in platform.data_requests]


# -- retryable statuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [(502, "Bad Gateway"), (503, "no healthy upstream"), (504, "Gateway Timeout")],
)
async def test_5xx_on_get_retried_up_to_attempts_then_server_error(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep, status: int, body: str
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.extend(reply(status, body) for _ in range(5))
    with pytest.raises(ServerError) as info:
        await client.request("GET", PATH)
    assert len(platform.data_requests) == 3
    assert info.value.status == status
    assert info.value.body == body
    assert body in str(info.value)
    assert len(sleep.calls) == 2
    assert 0 <= sleep.calls[0] <= 0.5  # full jitter under base * 2**0
    assert 0 <= sleep.calls[1] <= 1.0  # and base * 2**1
    assert len(platform.data_script) == 2


@pytest.mark.parametrize("attempts", [1, 2, 5])
async def test_attempts_setting_is_the_number_of_requests(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep, attempts: int
) -> None:
    client = make_client(retry=RetryPolicy(attempts=attempts))
    await client.token()
    platform.data_script.extend(reply(503, "Service Unavailable") for _ in range(10))
    with pytest.raises(ServerError):
        await client.request("GET", PATH)
    assert len(platform.data_requests) == attempts
    assert len(sleep.calls) == attempts - 1


async def test_429_retried_then_rate_limit_error(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.extend(
        reply(429, "Too Many Requests", headers={"Retry-After": "1"}) for _ in range(3)
    )
    with pytest.raises(RateLimitError) as info:
        await client.request("GET", PATH)
    assert len(platform.data_requests) == 3
    assert info.value.retry_after == 1.0
    assert sleep.calls == [1.0, 1.0]


async def test_recovers_after_transient_failures(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.extend([reply(503, "no healthy upstream"), reply(502, "Bad Gateway")])
    response = await client.request("GET", PATH)
    assert response.json() == {"ok": True, "n": 3}
    assert len(platform.data_requests) == 3
    assert len(sleep.calls) == 2


async def test_patch_is_retried(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reply(503, "Service Unavailable"))
    ops = [{"op": "replace", "path": "/language", "value": "id"}]
    response = await client.request("PATCH", "/fhir-r4/v1/Patient/P1", json=ops)
    assert response.status == 200
    assert data_methods(platform) == ["PATCH", "PATCH"]


async def test_retry_after_seconds_is_honoured(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reply(429, "", headers={"Retry-After": "7"}))
    await client.request("GET", PATH)
    assert sleep.calls == [7.0]
    assert len(platform.data_requests) == 2


async def test_retry_after_http_date_is_honoured(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    when = datetime.now(timezone.utc) + timedelta(seconds=10)
    platform.data_script.append(
        reply(503, "busy", headers={"Retry-After": format_datetime(when, usegmt=True)})
    )
    await client.request("GET", PATH)
    assert len(sleep.calls) == 1
    assert 8.0 < sleep.calls[0] <= 10.0  # HTTP-date has whole seconds


async def test_retry_after_above_the_cap_is_not_waited_out(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    # The total budget would allow the wait: only the cap refuses it.
    client = make_client(retry=RetryPolicy(retry_after_cap=30.0, total_timeout=600.0))
    await client.token()
    platform.data_script.append(reply(429, "slow down", headers={"Retry-After": "120"}))
    with pytest.raises(RateLimitError) as info:
        await client.request("GET", PATH)
    assert info.value.retry_after == 120.0
    assert "after 120 s" in str(info.value)
    assert sleep.calls == []
    assert len(platform.data_requests) == 1


async def test_retry_after_beyond_the_total_budget_is_not_waited_out(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(retry_after_cap=30.0, total_timeout=5.0))
    await client.token()
    platform.data_script.append(reply(503, "busy", headers={"Retry-After": "20"}))
    with pytest.raises(ServerError):
        await client.request("GET", PATH)
    assert sleep.calls == []
    assert len(platform.data_requests) == 1


# -- network failures ----------------------------------------------------------------------


async def test_connection_refused_on_get_is_retried_then_transport_error(
    make_client: MakeClient, sleep: RecordingSleep, closed_port_url: str
) -> None:
    client = make_client(base_url=closed_port_url)
    with pytest.raises(TransportError) as info:
        await client.request("GET", PATH, auth=False)
    err = info.value
    assert type(err) is TransportError
    assert err.attempts == 3
    assert len(sleep.calls) == 2
    assert "could not connect" in str(err)
    assert "after 3 attempt(s)" in str(err)
    assert "\n" not in str(err)


async def test_token_request_is_retried_on_refused_connections(
    make_client: MakeClient, sleep: RecordingSleep, closed_port_url: str
) -> None:
    client = make_client(base_url=closed_port_url)
    with pytest.raises(TransportError) as info:
        await client.token()
    assert info.value.attempts == 3
    assert info.value.method == "POST"
    assert client.token_requests == 1


async def test_refused_connection_then_success_on_get(
    platform: FakePlatform,
    make_client: MakeClient,
    sleep: RecordingSleep,
    flaky: FlakyConnect,
    fresh_connections: aiohttp.ClientSession,
) -> None:
    client = make_client(session=fresh_connections)
    await client.token()
    flaky.fail_next = 2
    response = await client.request("GET", PATH)
    assert response.status == 200
    assert flaky.refused == 2
    assert len(platform.data_requests) == 1
    assert len(sleep.calls) == 2


async def test_timeout_on_get_is_retried(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(timeout=0.3)
    await client.token()
    platform.data_script.append(platform.slow(10))
    started = time.monotonic()
    response = await client.request("GET", PATH)
    assert time.monotonic() - started < 3
    assert response.status == 200
    assert len(platform.data_requests) == 2
    assert len(sleep.calls) == 1


async def test_token_request_is_retried_on_5xx_and_timeouts(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(timeout=0.3)
    platform.token_script.extend([reply(503, "Gateway Timeout"), platform.slow(10)])
    token = await client.token()
    assert token.access_token == platform.issued[0]
    assert len(platform.token_requests) == 3
    assert client.token_requests == 1  # one renewal, retried inside
    assert len(sleep.calls) == 2


async def test_token_request_5xx_exhausted_is_server_error(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    platform.token_script.extend(reply(504, "Gateway Timeout") for _ in range(3))
    with pytest.raises(ServerError) as info:
        await client.request("GET", PATH)
    assert info.value.body == "Gateway Timeout"
    assert len(platform.token_requests) == 3
    assert platform.data_requests == []


# -- non-idempotent requests (Patient create) -----------------------------------------------


async def test_post_not_idempotent_503_is_outcome_unknown_and_not_retried(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.extend(reply(503, "no healthy upstream") for _ in range(3))
    with pytest.raises(OutcomeUnknownError) as info:
        await client.request("POST", "/fhir-r4/v1/Patient", json=PATIENT, idempotent=False)
    assert data_methods(platform) == ["POST"]
    assert sleep.calls == []
    err = info.value
    assert err.status == 503
    assert err.payload == PATIENT
    assert err.attempts == 1
    assert "\n" not in str(err)


async def test_post_not_idempotent_timeout_is_outcome_unknown_and_not_retried(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(timeout=0.3)
    await client.token()
    platform.data_script.extend([platform.slow(10), reply(201, {"id": "P1"})])
    with pytest.raises(OutcomeUnknownError) as info:
        await client.request("POST", "/fhir-r4/v1/Patient", json=PATIENT, idempotent=False)
    assert data_methods(platform) == ["POST"]
    assert sleep.calls == []
    assert info.value.payload == PATIENT
    assert info.value.status is None


async def test_post_not_idempotent_is_retried_when_the_connection_was_refused(
    platform: FakePlatform,
    make_client: MakeClient,
    sleep: RecordingSleep,
    flaky: FlakyConnect,
    fresh_connections: aiohttp.ClientSession,
) -> None:
    client = make_client(session=fresh_connections)
    await client.token()
    platform.data_script.append(reply(201, {"resourceType": "Patient", "id": "P02029102687"}))
    flaky.fail_next = 1
    response = await client.request("POST", "/fhir-r4/v1/Patient", json=PATIENT, idempotent=False)
    assert response.status == 201
    assert flaky.refused == 1
    assert data_methods(platform) == ["POST"]  # provably unsent, so sent exactly once
    assert len(sleep.calls) == 1


async def test_post_not_idempotent_refused_every_time_is_a_transport_error(
    make_client: MakeClient, sleep: RecordingSleep, closed_port_url: str
) -> None:
    client = make_client(base_url=closed_port_url)
    with pytest.raises(TransportError) as info:
        await client.request(
            "POST", "/fhir-r4/v1/Patient", json=PATIENT, idempotent=False, auth=False
        )
    assert type(info.value) is TransportError  # never sent: not "outcome unknown"
    assert info.value.attempts == 3


async def test_post_not_idempotent_4xx_is_the_typed_error(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reply(429, "", headers={"Retry-After": "1"}))
    with pytest.raises(RateLimitError):
        await client.request("POST", "/fhir-r4/v1/Patient", json=PATIENT, idempotent=False)
    assert data_methods(platform) == ["POST"]


# -- budgets and limits -----------------------------------------------------------------------


async def test_total_timeout_bounds_the_whole_call(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client(timeout=10, retry=RetryPolicy(attempts=5, total_timeout=0.5))
    await client.token()
    platform.data_script.extend(platform.slow(10) for _ in range(5))
    started = time.monotonic()
    with pytest.raises(TransportError):
        await client.request("GET", PATH)
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 2.0
    assert len(platform.data_requests) == 1


async def test_total_timeout_counts_waits_and_attempts(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    # Real sleeps here: 0.25 s Retry-After waits inside a 0.6 s budget allow two attempts.
    client = make_client(sleep=asyncio.sleep, retry=RetryPolicy(attempts=10, total_timeout=0.6))
    await client.token()
    platform.data_script.extend(
        reply(503, "busy", headers={"Retry-After": "0.25"}) for _ in range(10)
    )
    started = time.monotonic()
    with pytest.raises(ServerError):
        await client.request("GET", PATH)
    assert time.monotonic() - started < 1.0
    assert len(platform.data_requests) in (2, 3)


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("status", [200, 503])
async def test_huge_body_is_an_api_error_and_not_retried(
    platform: FakePlatform,
    make_client: MakeClient,
    sleep: RecordingSleep,
    chunked: bool,
    status: int,
) -> None:
    client = make_client(max_body_bytes=1000)
    await client.token()

    async def huge(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(status=status, body=b"x" * 5000, headers={"X-Request-Id": "big"})
        response = web.StreamResponse(status=status, headers={"X-Request-Id": "big"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 500)
        await response.write_eof()
        return response

    platform.data_script.extend([huge, huge, huge])
    with pytest.raises(APIError) as info:
        await client.request("GET", PATH)
    err = info.value
    assert type(err) is APIError
    assert err.status == status
    assert err.request_id == "big"
    assert "larger than 1000 bytes" in str(err)
    assert len(platform.data_requests) == 1
    assert sleep.calls == []


async def test_body_at_the_limit_is_fine(platform: FakePlatform, make_client: MakeClient) -> None:
    client = make_client(max_body_bytes=1000)
    await client.token()
    platform.data_script.append(reply(200, b"z" * 1000))
    response = await client.request("GET", PATH)
    assert response.body == b"z" * 1000


@pytest.mark.parametrize("status", [301, 302, 307])
async def test_redirects_are_not_followed(
    platform: FakePlatform, make_client: MakeClient, status: int
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reply(status, "", headers={"Location": "/elsewhere"}))
    with pytest.raises(APIError) as info:
        await client.request("GET", PATH)
    assert info.value.status == status
    assert [r.path for r in platform.data_requests] == [PATH]


async def test_request_id_kept_on_errors_from_the_server(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reply(404, "", headers={"X-Request-Id": "9f1c-77"}))
    with pytest.raises(APIError) as info:
        await client.request("GET", "/fhir-r4/v1/Patient/nope")
    err = info.value
    assert err.request_id == "9f1c-77"
    assert "[request id 9f1c-77]" in str(err)
    assert err.url == platform.url + "/fhir-r4/v1/Patient/nope"
    assert err.method == "GET"


# -- resets after sending ------------------------------------------------------------------
# (aioresponses 0.7.9 cannot build responses for aiohttp 3.14: a real server resets instead.)


async def reset_connection(request: web.Request) -> web.StreamResponse:
    """Read the request, then drop the connection without answering."""
    await request.read()
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=204)


async def test_reset_after_sending_a_get_is_retried(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.append(reset_connection)
    response = await client.request("GET", PATH)
    assert response.status == 200
    assert data_methods(platform)[-1] == "GET"
    assert 2 <= len(platform.data_requests) <= 3  # aiohttp itself may repeat a GET once


async def test_reset_after_sending_a_create_is_outcome_unknown(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.data_script.extend([reset_connection, reply(201, {"id": "P1"})])
    with pytest.raises(OutcomeUnknownError) as info:
        await client.request("POST", "/fhir-r4/v1/Patient", json=PATIENT, idempotent=False)
    assert info.value.payload == PATIENT
    assert "closed the connection" in str(info.value)
    assert "\n" not in str(info.value)
    assert sleep.calls == []
    assert data_methods(platform) == ["POST"]
