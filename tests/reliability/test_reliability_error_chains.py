"""An error's whole chain, as an error reporter records it, carries no token and no NIK."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from sehatmu_async import RetryPolicy, SehatMuClient, TransportError

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
