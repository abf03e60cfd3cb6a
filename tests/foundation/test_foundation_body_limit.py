"""``max_body_bytes`` holds on the decoded body, whatever its encoding or framing.

Against real local servers (aiohttp's, and a raw socket server for framings aiohttp's
server will not produce), with peak memory measured by tracemalloc: a small gzip answer
that would inflate far past the limit is refused with an APIError before it is inflated.
"""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from _foundation_helpers import CLIENT_ID, CLIENT_SECRET, FakePlatform, MakeClient
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from sehatmu_async import RetryPolicy, SehatMuClient
from sehatmu_async._body import BodyTooLarge, BodyUndecodable, Inflater
from sehatmu_async.errors import APIError

PATH = "/masterdata/v1/provinces"
LIMIT = 256 * 1024
INFLATED = 32 * 1024 * 1024  # 128 times the limit


def _zeros_gzip(size: int) -> bytes:
    """gzip of ``size`` zero bytes, built in pieces (the whole never sits in memory)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    piece = bytes(1 << 20)
    out = [packer.compress(piece) for _ in range(size // len(piece))]
    out.append(packer.flush())
    return b"".join(out)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _zeros_gzip(INFLATED)


async def _peak_during(work: Awaitable[object]) -> tuple[int, BaseException | None]:
    """Peak traced memory (bytes above the start) while ``work`` runs, and what it raised."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        raised: BaseException | None = None
        try:
            await work
        except Exception as exc:
            raised = exc
        return tracemalloc.get_traced_memory()[1] - base, raised
    finally:
        tracemalloc.stop()


def _gzip_answer(
    body: bytes, *, chunked: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def step(request: web.Request) -> web.StreamResponse:
        headers = {
            "Content-Encoding": "gzip",
            "Content-Type": "application/json",
            "X-Request-Id": "gz",
        }
        if not chunked:
            return web.Response(body=body, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 4096):
            await response.write(body[start : start + 4096])
        await response.write_eof()
        return response

    return step


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_gzip_bomb_is_refused_without_being_inflated(
    platform: FakePlatform, make_client: MakeClient, bomb: bytes, chunked: bool
) -> None:
    client = make_client(max_body_bytes=LIMIT)
    await client.token()
    platform.data_script.append(_gzip_answer(bomb, chunked=chunked))
    peak, raised = await _peak_during(client.request("GET", PATH))
    assert type(raised) is APIError
    assert raised.status == 200
    assert raised.request_id == "gz"
    assert f"larger than {LIMIT} bytes" in str(raised)
    assert len(bomb) < LIMIT  # the wire size alone would have passed the limit
    assert peak < 8 * LIMIT, f"peak {peak} bytes while refusing a {INFLATED}-byte bomb"
    assert len(platform.data_requests) == 1  # not retried: it would fetch the same bomb


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
async def test_compressed_answers_within_the_limit_are_decoded(
    platform: FakePlatform, make_client: MakeClient, encoding: str
) -> None:
    payload = b'{"data": [' + b",".join(b'{"code": "%d"}' % i for i in range(2000)) + b"]}"
    if encoding == "gzip":
        raw = gzip.compress(payload)
    elif encoding == "deflate":
        raw = zlib.compress(payload)
    else:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        raw = packer.compress(payload) + packer.flush()
    name = "deflate" if encoding == "raw-deflate" else encoding

    async def step(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=raw, headers={"Content-Encoding": name}, content_type="application/json"
        )

    client = make_client(max_body_bytes=len(payload))
    platform.data_script.append(step)
    response = await client.request("GET", PATH)
    assert response.body == payload
    assert response.json()["data"][1999] == {"code": "1999"}
    assert platform.data_requests[0].headers["Accept-Encoding"] == "gzip, deflate"


async def test_an_encoding_the_client_did_not_ask_for_is_an_api_error(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    async def brotli(_: web.Request) -> web.StreamResponse:
        return web.Response(body=b"\x0b\x02\x80{}\x03", headers={"Content-Encoding": "br"})

    client = make_client()
    await client.token()
    platform.data_script.append(brotli)
    with pytest.raises(APIError) as caught:
        await client.request("GET", PATH)
    assert type(caught.value) is APIError
    assert "'br'" in str(caught.value)


async def test_a_corrupt_gzip_answer_is_an_api_error(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    async def corrupt(_: web.Request) -> web.StreamResponse:
        return web.Response(
            body=gzip.compress(b"{}")[:-12] + b"garbage", headers={"Content-Encoding": "gzip"}
        )

    client = make_client()
    await client.token()
    platform.data_script.append(corrupt)
    with pytest.raises(APIError, match="cannot be decoded"):
        await client.request("GET", PATH)


# -- framings aiohttp's server does not produce: a raw socket server ----------------------


RawAnswer = Callable[[bytes], bytes]


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[bytes], Awaitable[str]]]:
    """Serves the token, then writes the given bytes verbatim for every data request."""
    servers: list[asyncio.AbstractServer] = []

    async def start(data_answer: bytes) -> str:
        token = b'{"access_token": "AT1", "token_type": "Bearer", "expires_in": 3599}'

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                if b"/oauth2/" in head.split(b"\r\n")[0]:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(token), token)
                    )
                else:
                    writer.write(data_answer)
                await writer.drain()
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("framing", ["close-delimited", "content-length-too-large"])
async def test_the_limit_holds_whatever_the_framing(
    raw_server: Callable[[bytes], Awaitable[str]], bomb: bytes, framing: str
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
    if framing == "close-delimited":
        answer = head + b"Connection: close\r\n\r\n" + bomb
    else:
        # Claims more than it sends (and less than the limit): the decoded bytes decide.
        assert 2 * len(bomb) < LIMIT
        answer = head + b"Content-Length: %d\r\n\r\n" % (2 * len(bomb)) + bomb
    url = await raw_server(answer)
    client = SehatMuClient(
        CLIENT_ID, CLIENT_SECRET, base_url=url, max_body_bytes=LIMIT, retry=RetryPolicy(attempts=1)
    )
    async with client:
        peak, raised = await _peak_during(client.request("GET", PATH))
    assert type(raised) is APIError
    assert f"larger than {LIMIT} bytes" in str(raised)
    assert peak < 8 * LIMIT


# -- the inflater itself (pure) -------------------------------------------------------------


def _inflate(raw: bytes, limit: int, encoding: str = "gzip", piece: int = 7) -> bytes:
    inflater = Inflater(encoding, limit)
    for start in range(0, len(raw), piece):
        inflater.feed(raw[start : start + piece])
        while inflater.step():
            pass
    return inflater.finish()


def test_several_gzip_members_and_trailing_padding_are_one_body() -> None:
    raw = gzip.compress(b'{"a": ') + gzip.compress(b"1}") + b"\x00" * 8
    assert _inflate(raw, 100) == b'{"a": 1}'


def test_the_limit_is_exact() -> None:
    raw = gzip.compress(b"x" * 1000)
    assert _inflate(raw, 1000) == b"x" * 1000
    with pytest.raises(BodyTooLarge):
        _inflate(raw, 999)


@pytest.mark.parametrize(
    "raw",
    [gzip.compress(b"{}" * 100)[:-5], b"\x1f\x8bnot gzip at all", gzip.compress(b"{}") + b"junk"],
    ids=["cut-off", "not-gzip", "trailing-junk"],
)
def test_broken_streams_are_undecodable(raw: bytes) -> None:
    with pytest.raises(BodyUndecodable):
        _inflate(raw, 10_000)


def test_deflate_has_exactly_one_stream() -> None:
    with pytest.raises(BodyUndecodable):
        _inflate(zlib.compress(b"{}") + zlib.compress(b"{}"), 100, "deflate")


@settings(max_examples=60, deadline=None)
@given(
    body=st.binary(max_size=3000),
    limit=st.integers(min_value=0, max_value=3000),
    piece=st.integers(min_value=1, max_value=600),
    encoding=st.sampled_from(["gzip", "deflate"]),
)
def test_inflating_gives_the_body_back_or_refuses_it(
    body: bytes, limit: int, piece: int, encoding: str
) -> None:
    raw = gzip.compress(body) if encoding == "gzip" else zlib.compress(body)
    if len(body) <= limit:
        assert _inflate(raw, limit, encoding, piece) == body
    else:
        with pytest.raises(BodyTooLarge):
            _inflate(raw, limit, encoding, piece)
