"""What the sandbox writes to the logs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from _fakes import client_for
from aiohttp.test_utils import TestServer

from sehatmu_async import RetryPolicy, TransportError
from sehatmu_async.sandbox import PathOnlyAccessLogger, Sandbox, make_app


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


async def test_the_access_log_has_paths_but_never_a_nik(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    nik = "3171012345678901"
    async with Sandbox() as sandbox, client_for(sandbox) as client:
        assert await client.patients.search_by_nik(nik) == []
        await client.regions.v1.cities(province_codes=["11"])
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any('"GET /fhir-r4/v1/Patient" 200' in line for line in access), access
    assert any('"GET /masterdata/v1/cities" 200' in line for line in access), access
    assert not any("?" in line for line in access), access
    for record in caplog.records:
        assert nik not in record.getMessage(), (record.name, record.getMessage())


async def test_the_sandbox_app_on_a_test_server_can_log_paths_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sandbox = Sandbox()
    server = TestServer(make_app(sandbox), host="127.0.0.1")
    await server.start_server(access_log_class=PathOnlyAccessLogger)
    try:
        async with client_for(f"http://127.0.0.1:{server.port}", client_id=sandbox.client_id,
                              client_secret=sandbox.client_secret) as client:
            await client.patients.search_by_nik("3171012345678901")
    finally:
        await server.close()
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert access
    assert not any("3171012345678901" in line for line in access)
