"""A client belongs to the event loop that first used it; another loop gets a clear error."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest
from _foundation_helpers import CLIENT_ID, CLIENT_SECRET, FakePlatform
from aiohttp.test_utils import TestServer

from sehatmu_async import SehatMuClient
from sehatmu_async.errors import ConfigurationError

PATH = "/masterdata/v1/provinces"


def test_a_second_asyncio_run_gets_a_configuration_error() -> None:
    holder: dict[str, SehatMuClient] = {}

    async def first_loop() -> None:
        platform = FakePlatform()
        server = TestServer(platform.app, host="127.0.0.1")
        await server.start_server()
        session = aiohttp.ClientSession()
        try:
            client = SehatMuClient(
                CLIENT_ID,
                CLIENT_SECRET,
                base_url=f"http://127.0.0.1:{server.port}",
                session=session,
            )
            await client.request("GET", PATH)
            holder["client"] = client
        finally:
            await session.close()
            await server.close()

    async def second_loop() -> None:
        client = holder["client"]
        with pytest.raises(ConfigurationError, match="event loop") as caught:
            await client.request("GET", PATH)
        assert "first used it" in str(caught.value)
        assert "one client per event loop" in str(caught.value).lower()
        with pytest.raises(ConfigurationError, match="event loop"):
            await client.token()

    asyncio.run(first_loop())
    asyncio.run(second_loop())


async def test_a_client_used_from_another_thread_gets_a_configuration_error(
    platform: FakePlatform,
) -> None:
    async with SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=platform.url) as client:
        await client.request("GET", PATH)
        raised: list[BaseException] = []

        def other_thread() -> None:
            try:
                asyncio.run(client.request("GET", PATH))
            except BaseException as exc:
                raised.append(exc)

        thread = threading.Thread(target=other_thread)
        thread.start()
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        assert len(raised) == 1
        assert type(raised[0]) is ConfigurationError
        assert "event loop" in str(raised[0])
        # The client still works in its own loop.
        assert (await client.request("GET", PATH)).status == 200
