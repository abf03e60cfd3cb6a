"""Regressions for defects an independent review confirmed with reproducers."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from _reliability_helpers import client_for
from aiohttp import web
from aiohttp.test_utils import TestServer

from sehatmu_async import (
    ConfigurationError,
    PaginationError,
    Patient,
    PermissionDeniedError,
    RetryPolicy,
    SehatMuClient,
    TransportError,
)
from sehatmu_async.sandbox import Sandbox

TOKEN = "SECRET-ACCESS-TOKEN-0123456789"
NIK = "3171012345678901"


def _chain_texts(error: BaseException) -> str:
    """Everything an error reporter could record: the chain and every attribute, deeply."""
    seen: set[int] = set()
    texts: list[str] = []

    def walk(obj: Any, depth: int) -> None:
        if depth > 6 or id(obj) in seen:
            return
        seen.add(id(obj))
        texts.append(repr(obj))
        if isinstance(obj, BaseException):
            walk(obj.__cause__, depth + 1)
            walk(obj.__context__, depth + 1)
        for value in getattr(obj, "__dict__", {}).values():
            walk(value, depth + 1)

    walk(error, 0)
    return "\n".join(texts)


async def _broken_http_server() -> tuple[asyncio.AbstractServer, str]:
    """Answers the token request properly, then anything else with a broken status line."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if b"accesstoken" in request.split(b"\r\n", 1)[0]:
            length = int(request.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            body = orjson.dumps({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 600})
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
        else:
            writer.write(b"HTTP/1.1 2OO BROKEN\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def _one_route_platform(
    path: str, handler: Callable[[web.Request], Awaitable[web.Response]]
) -> tuple[TestServer, str]:
    """A local platform with a token endpoint and one GET route."""

    async def token(_: web.Request) -> web.Response:
        return web.json_response({"access_token": TOKEN, "expires_in": 600})

    app = web.Application()
    app.router.add_post("/oauth2/v1/accesstoken", token)
    app.router.add_get(path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


async def test_an_unparseable_answer_leaks_neither_token_nor_nik_through_the_chain() -> None:
    server, url = await _broken_http_server()
    try:
        async with SehatMuClient(
            "client-id-for-review", "client-secret-for-review", base_url=url,
            retry=RetryPolicy(attempts=1),
        ) as client:
            with pytest.raises(TransportError) as caught:
                await client.patients.search_by_nik(NIK)
    finally:
        server.close()
        await server.wait_closed()
    assert "not valid HTTP" in str(caught.value)
    texts = _chain_texts(caught.value)
    assert TOKEN not in texts
    assert NIK not in texts


async def test_closing_the_client_under_running_calls_raises_sdk_errors() -> None:
    async with Sandbox() as sandbox:
        sandbox.faults.latency_ms = 300
        client = client_for(sandbox, retry=RetryPolicy(attempts=3, backoff_base=0.001))
        calls = [
            asyncio.ensure_future(client.regions.v1.provinces(codes=["11"])) for _ in range(5)
        ]
        await asyncio.sleep(0.05)  # everybody is waiting for the token or the answer
        await client.aclose()
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, TransportError) for r in results), results
    assert not any(c.cancelled() for c in calls)


async def test_business_rule_refusal_is_permission_denied_whatever_the_status() -> None:
    async def refuse(_: web.Request) -> web.Response:
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "value", "details": {
                "text": "resource cannot be accessed due to business rule"}}],
        }
        return web.json_response(body, status=400)

    server, base = await _one_route_platform("/fhir-r4/v1/Patient/{id}", refuse)
    try:
        async with SehatMuClient("client-id", "client-secret", base_url=base) as client:
            with pytest.raises(PermissionDeniedError):
                await client.patients.get("P02029100001")
    finally:
        await server.close()


def test_base_url_with_user_and_password_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="user:password"):
        SehatMuClient("id", "secret", base_url="http://user:pass@127.0.0.1:8080")


async def test_payload_that_is_not_json_is_refused_before_sending() -> None:
    async with Sandbox() as sandbox:
        async with client_for(sandbox) as client:
            patient = Patient(extra={"weight": Decimal("3.2")})
            with pytest.raises(ConfigurationError):
                await client.patients.create(patient, validate=False)
        assert sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 0


async def test_dict_payload_dates_go_out_like_a_patients() -> None:
    wib = timezone(timedelta(hours=7))
    async with Sandbox() as sandbox:
        async with client_for(sandbox) as client:
            created = await client.patients.create(
                {
                    "identifier": [{"use": "official",
                                    "system": "https://fhir.kemkes.go.id/id/nik",
                                    "value": NIK}],
                    "birthDate": date(1990, 5, 12),
                    "deceasedDateTime": datetime(2023, 8, 23, 17, 35, tzinfo=wib),
                }
            )
            assert created.id
            stored = await client.patients.get(created.id)
            assert stored.birth_date == date(1990, 5, 12)
            assert stored.to_wire()["deceasedDateTime"] == "2023-08-23T10:35:00+00:00"
            with pytest.raises(ConfigurationError):
                await client.patients.create(
                    {"identifier": [{"system": "https://fhir.kemkes.go.id/id/nik",
                                     "value": "3171012345678902"}],
                     "deceasedDateTime": datetime(2023, 8, 23, 17, 35)},
                    validate=False,
                )
        assert sandbox.counters.by_route["POST /fhir-r4/v1/Patient"] == 1


async def test_meta_numbers_with_thousands_of_digits_are_a_pagination_error() -> None:
    async def page(_: web.Request) -> web.Response:
        body = {"status": 200, "data": [], "meta": {"item_count": 0, "page": {
            "current": 1, "total_page": "9" * 5000, "total": 0, "limit": 10}}}
        return web.json_response(body)

    server, base = await _one_route_platform("/masterdata/v2/provinces", page)
    try:
        async with SehatMuClient("client-id", "client-secret", base_url=base) as client:
            with pytest.raises(PaginationError) as caught:
                await client.regions.provinces().first_page()
        assert len(str(caught.value)) < 400
    finally:
        await server.close()


async def test_leaving_a_pull_early_leaves_no_unclosed_stream() -> None:
    async with Sandbox() as sandbox, client_for(sandbox) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            stream = client.regions.pull("sub_districts", limit=100)
            async for index, _ in _enumerate(stream):
                if index == 250:
                    break
            await stream.aclose()
            del stream
            gc.collect()


async def _enumerate(stream: Any) -> Any:
    index = 0
    async for item in stream:
        yield index, item
        index += 1


async def test_sandbox_stays_quiet_when_a_client_gives_up_mid_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Sandbox() as sandbox:
        sandbox.faults.latency_ms = 300
        async with client_for(sandbox, timeout=0.05, retry=RetryPolicy(attempts=1)) as client:
            with pytest.raises(TransportError):
                await client.regions.v1.provinces(codes=["11"])
        await asyncio.sleep(0.4)  # the sandbox finishes the abandoned request
    assert not [r for r in caplog.records if "Error handling request" in r.getMessage()]
