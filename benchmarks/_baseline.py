"""What a careful user writes by hand with aiohttp: the same requests as the SDK.

Token once, page 1 to learn ``total_page``, then pages 2..N with a semaphore and a
bounded queue to the consumer, each region handed over as the server's dict.
``loads`` picks the JSON decoder: aiohttp's default (stdlib ``json``) or orjson.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson

from ._harness import SandboxProcess

Loads = Callable[[bytes], Any]


def stdlib_loads(body: bytes) -> Any:
    import json

    return json.loads(body)


async def token(session: aiohttp.ClientSession, sandbox: SandboxProcess) -> str:
    async with session.post(
        sandbox.url + "/oauth2/v1/accesstoken",
        params={"grant_type": "client_credentials"},
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
        headers={"User-Agent": "baseline"},
    ) as response:
        response.raise_for_status()
        return str((await response.json())["access_token"])


async def pull(
    session: aiohttp.ClientSession,
    sandbox: SandboxProcess,
    *,
    level_path: str,
    limit: int,
    concurrency: int,
    loads: Loads,
) -> AsyncIterator[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {await token(session, sandbox)}"}
    url = f"{sandbox.url}/masterdata/v2/{level_path}"

    async def page(number: int) -> dict[str, Any]:
        params = {"current_page": str(number), "limit": str(limit)}
        async with session.get(url, params=params, headers=headers) as response:
            response.raise_for_status()
            result: dict[str, Any] = loads(await response.read())
            return result

    first = await page(1)
    for item in first["data"]:
        yield item
    queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(concurrency)
    semaphore = asyncio.Semaphore(concurrency)

    async def fetch(number: int) -> None:
        async with semaphore:
            data = (await page(number))["data"]
        await queue.put(data)

    async def produce() -> None:
        await asyncio.gather(*(fetch(n) for n in range(2, first["meta"]["page"]["total_page"] + 1)))
        await queue.put(None)

    producer = asyncio.create_task(produce())
    try:
        while (data := await queue.get()) is not None:
            for item in data:
                yield item
        await producer
    finally:
        producer.cancel()


async def count_pull(
    sandbox: SandboxProcess, *, level_path: str, limit: int, concurrency: int, loads: Loads
) -> int:
    async with aiohttp.ClientSession() as session:
        count = 0
        async for _ in pull(
            session,
            sandbox,
            level_path=level_path,
            limit=limit,
            concurrency=concurrency,
            loads=loads,
        ):
            count += 1
        return count


async def bytes_pull(
    sandbox: SandboxProcess, *, level_path: str, limit: int, concurrency: int
) -> int:
    """The floor: the same requests, each body read and dropped (page 1 parsed for its meta)."""
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {await token(session, sandbox)}"}
        url = f"{sandbox.url}/masterdata/v2/{level_path}"

        async def page(number: int) -> bytes:
            params = {"current_page": str(number), "limit": str(limit)}
            async with session.get(url, params=params, headers=headers) as response:
                response.raise_for_status()
                return await response.read()

        meta = orjson.loads(await page(1))["meta"]
        semaphore = asyncio.Semaphore(concurrency)

        async def fetch(number: int) -> None:
            async with semaphore:
                await page(number)

        await asyncio.gather(*(fetch(n) for n in range(2, meta["page"]["total_page"] + 1)))
        return int(meta["page"]["total"])


__all__ = ["bytes_pull", "count_pull", "orjson", "stdlib_loads", "token"]
