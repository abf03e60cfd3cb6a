"""Helpers for the foundation tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import _platform_answers
import orjson
from _foundation_seeds import TOKEN_BAD_CREDENTIALS_001 as BAD_CREDENTIALS_BODY
from aiohttp import web
from multidict import CIMultiDict

from sehatmu_async import SehatMuClient
from sehatmu_async._decoders import ResponseContext

CLIENT_ID = "cid-" + "Q7wXr4fuJicFoGt4MwoRp35O6Bg3LaWw"
CLIENT_SECRET = "csec-" + "tFb3el8LGjW08mWcGLyBDdiJp1hwymrA"
TOKEN_PATH = "/oauth2/v1/accesstoken"

INVALID_TOKEN_FAULT = (
    b'{"fault": {"faultstring": "Invalid access token", '
    b'"detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}'
)


def ctx(
    status: int,
    method: str = "GET",
    path: str = "/masterdata/v1/provinces",
    request_id: str | None = "req-123",
    *,
    withhold_body: bool = False,
) -> ResponseContext:
    return ResponseContext(
        status=status,
        method=method,
        url="https://api.example" + path,
        path=path,
        request_id=request_id,
        withhold_body=withhold_body,
    )


def headers(**values: str) -> CIMultiDict[str]:
    """Case-insensitive headers, as aiohttp hands them over; ``_`` becomes ``-``."""
    return CIMultiDict({k.replace("_", "-"): v for k, v in values.items()})


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """Stands in for ``asyncio.sleep`` in the retry loop: records, then yields once."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[float] = []
        self._clock = clock

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self._clock is not None:
            self._clock.advance(seconds)
        await asyncio.sleep(0)


def apigee_token(access_token: str, expires_in: int = 3599) -> dict[str, Any]:
    """The token answer in the Apigee shape, for this folder's client id."""
    return _platform_answers.apigee_token(access_token, CLIENT_ID, expires_in)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The ``make_client`` fixture: ``make_client(**SehatMuClient settings)``.
MakeClient = Callable[..., SehatMuClient]


def reply(
    status: int,
    body: bytes | str | Mapping[str, Any] | list[Any] = b"",
    *,
    content_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Handler:
    """A scripted step answering with a fixed response."""
    if isinstance(body, (Mapping, list)):
        raw = orjson.dumps(body)
        content_type = content_type or "application/json"
    else:
        raw = body.encode() if isinstance(body, str) else body
        content_type = content_type or "text/plain"

    async def step(_: web.Request) -> web.StreamResponse:
        response = web.Response(status=status, body=raw, headers=headers)
        response.content_type = content_type
        return response

    return step


class FakePlatform:
    """A real aiohttp app on 127.0.0.1 that speaks just enough of the platform.

    * ``POST /oauth2/v1/accesstoken`` checks the form credentials and issues
      Apigee-shaped tokens; ``token_script`` steps are answered first.
    * Every other path is a data route: it records the request, refuses tokens
      not in ``valid_tokens`` with the gateway's 401 ``fault``, then answers the
      next ``data_script`` step or ``{"ok": true}``.
    """

    def __init__(self) -> None:
        self.url = ""
        self.token_requests: list[web.Request] = []
        self.token_forms: list[Mapping[str, str]] = []
        self.data_requests: list[web.Request] = []
        self.token_script: deque[Handler] = deque()
        self.data_script: deque[Handler] = deque()
        self.valid_tokens: set[str] = set()
        self.issued: list[str] = []
        self.token_gate: asyncio.Event | None = None
        self.token_seen = asyncio.Event()
        self.token_lifetime = 3599
        self.require_auth = True
        self.stop = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_post(TOKEN_PATH, self._token)
        self.app.router.add_route("*", "/{tail:.*}", self._data)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self.token_requests.append(request)
        form = await request.post()
        self.token_forms.append({k: str(v) for k, v in form.items()})
        self.token_seen.set()
        if self.token_gate is not None:
            await self.token_gate.wait()
        if self.token_script:
            return await self.token_script.popleft()(request)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return web.Response(
                status=401, body=BAD_CREDENTIALS_BODY, content_type="application/json"
            )
        token = "AT" + secrets.token_hex(16)
        self.issued.append(token)
        self.valid_tokens.add(token)
        return web.json_response(
            apigee_token(token, self.token_lifetime), dumps=lambda o: orjson.dumps(o).decode()
        )

    async def _data(self, request: web.Request) -> web.StreamResponse:
        self.data_requests.append(request)
        await request.read()
        if self.require_auth:
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
                return web.Response(
                    status=401,
                    body=INVALID_TOKEN_FAULT,
                    content_type="application/json",
                    headers={
                        "WWW-Authenticate": 'Bearer realm="null",error="invalid_token"',
                        "X-Request-Id": f"rid-{len(self.data_requests)}",
                    },
                )
        if self.data_script:
            return await self.data_script.popleft()(request)
        return web.json_response({"ok": True, "n": len(self.data_requests)})

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    async def wait_or_stop(self, seconds: float) -> None:
        """Sleep in a handler, but end at once when the test tears the server down."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)

    def slow(self, seconds: float, then: Handler | None = None) -> Handler:
        async def step(request: web.Request) -> web.StreamResponse:
            await self.wait_or_stop(seconds)
            if then is not None:
                return await then(request)
            return web.json_response({"ok": True, "slow": True})

        return step
