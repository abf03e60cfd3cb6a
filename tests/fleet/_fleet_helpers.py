"""Helpers for the fleet tests: a counting token server and a fake clock.

The token server is a real aiohttp app on 127.0.0.1, shared by the in-process tests and
the multi-process ones (worker processes reach it over TCP).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable

import _platform_answers
import orjson
from aiohttp import web

CLIENT_ID = "cid-" + "fleetQ7wXr4fuJicFoGt4MwoRp35O6B"
CLIENT_SECRET = "csec-" + "fleettFb3el8LGjW08mWcGLyBDdiJp1"
TOKEN_PATH = "/oauth2/v1/accesstoken"
DATA_PATH = "/masterdata/v1/provinces"

BAD_CREDENTIALS = orjson.dumps(
    {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "invalid",
                "code": "value",
                "details": {
                    "text": "The user or system was not able to be authenticated (either "
                    "client_id or client_secret combination is unacceptable)"
                },
            }
        ],
    }
)
INVALID_TOKEN_FAULT = (
    b'{"fault": {"faultstring": "Invalid access token", '
    b'"detail": {"errorcode": "oauth.v2.InvalidAccessToken"}}}'
)


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ClockSleep:
    """``sleep=`` for a client on a fake clock: moves the clock, then yields once."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)


class TokenServer:
    """Counts token requests; ``mode`` is ``"ok"``, ``"outage"`` (503) or ``"refuse"`` (401).

    ``lifetime`` is the ``expires_in`` it grants; data requests need a token it issued and
    did not revoke; ``token_delay`` holds each token answer (real seconds).
    """

    def __init__(self, *, lifetime: int = 3599) -> None:
        self.url = ""
        self.mode = "ok"
        self.mode_for: Callable[[], str] | None = None
        self.lifetime = lifetime
        self.token_delay = 0.0
        self.token_requests = 0
        self.token_answers: dict[str, int] = {}
        self.data_requests = 0
        self.data_status: dict[int, int] = {}
        self.issued: list[str] = []
        self.valid: set[str] = set()
        self.app = web.Application()
        self.app.router.add_post(TOKEN_PATH, self._token)
        self.app.router.add_get(DATA_PATH, self._data)
        self.app.router.add_get("/stats", self._stats)
        self.app.router.add_post("/revoke", self._revoke)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        self.token_requests += 1
        form = await request.post()
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        mode = self.mode_for() if self.mode_for is not None else self.mode
        self.token_answers[mode] = self.token_answers.get(mode, 0) + 1
        if mode == "outage":
            return web.Response(status=503, text="Gateway Timeout")
        if (
            mode == "refuse"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return web.Response(status=401, body=BAD_CREDENTIALS, content_type="application/json")
        token = "AT" + secrets.token_hex(16)
        self.issued.append(token)
        self.valid.add(token)
        body = orjson.dumps(_platform_answers.apigee_token(token, CLIENT_ID, self.lifetime))
        return web.Response(body=body, content_type="application/json")

    async def _data(self, request: web.Request) -> web.StreamResponse:
        self.data_requests += 1
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid:
            self.data_status[401] = self.data_status.get(401, 0) + 1
            return web.Response(
                status=401, body=INVALID_TOKEN_FAULT, content_type="application/json"
            )
        self.data_status[200] = self.data_status.get(200, 0) + 1
        return web.json_response({"ok": True})

    async def _stats(self, _: web.Request) -> web.StreamResponse:
        return web.json_response(
            {"token_requests": self.token_requests, "data_requests": self.data_requests}
        )

    async def _revoke(self, _: web.Request) -> web.StreamResponse:
        self.valid.clear()
        return web.json_response({"revoked": True})

    def revoke_all(self) -> None:
        self.valid.clear()
