"""Helpers for the fleet tests: a counting token server and a fake clock.

The token server is a real aiohttp app on 127.0.0.1, shared by the in-process tests and
the multi-process ones (worker processes reach it over TCP).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

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
        #: time.time() of each token request and each data request.
        self.token_times: list[float] = []
        self.data_times: list[float] = []
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
        self.token_times.append(time.time())
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
        self.data_times.append(time.time())
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


# -- a redis-server of the test's own ------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A ``redis-server`` child process on 127.0.0.1 that keeps nothing on disk.

    ``stop()`` and ``start()`` again on the same port: a restart, as a fleet sees one.
    """

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: Any = None

    def start(self, timeout: float = 10.0) -> None:
        import subprocess
        import time

        self._process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self._process.returncode}")
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("redis-server did not answer within the timeout")

    def ping(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except Exception:
                process.kill()
                process.wait(5)
