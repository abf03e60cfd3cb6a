"""Helpers for the foundation tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import _fakes
import _platform_answers
from _fakes import (  # re-exported: this folder's tests import them from here
    CLIENT_ID,
    CLIENT_SECRET,
    INVALID_TOKEN_FAULT,  # noqa: F401
    TOKEN_PATH,  # noqa: F401
)
from aiohttp import web
from multidict import CIMultiDict

from sehatmu_async import SehatMuClient
from sehatmu_async._decoders import ResponseContext


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


#: The suite's one fake clock and fake sleep (``tests/_fakes.py``), by their old names here.
FakeClock = _fakes.FakeClock
RecordingSleep = _fakes.FakeSleep


def apigee_token(access_token: str, expires_in: int = 3599) -> dict[str, Any]:
    """The token answer in the Apigee shape, for this folder's client id."""
    return _platform_answers.apigee_token(access_token, CLIENT_ID, expires_in)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The ``make_client`` fixture: ``make_client(**SehatMuClient settings)``.
MakeClient = Callable[..., SehatMuClient]


#: A scripted step answering with a fixed response (``tests/_fakes.py``).
reply = _fakes.reply


class FakePlatform(_fakes.ScriptedPlatform):
    """The shared :class:`~_fakes.ScriptedPlatform`, scripted the way this folder's tests
    script it: ``token_script`` steps are answered first by the token endpoint, every other
    path is a data route answering the next ``data_script`` step or ``{"ok": true}``.
    """

    def __init__(self) -> None:
        super().__init__(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        self.token_script: deque[Handler] = deque()
        self.data_script: deque[Handler] = deque()
        self.on(*_fakes.TOKEN_ROUTE, self._token)
        self.on("*", "/{tail:.*}", self._data)

    async def _token(self, request: web.Request) -> web.StreamResponse:
        if self.token_script:
            return await _fakes.run_answer(self.token_script.popleft(), request)
        return await self.issue_token(request)

    async def _data(self, request: web.Request) -> web.StreamResponse:
        if self.data_script:
            return await _fakes.run_answer(self.data_script.popleft(), request)
        return web.json_response({"ok": True, "n": len(self.data_requests)})

    @property
    def data_requests(self) -> list[_fakes.Received]:
        return self.api_requests

    @property
    def token_forms(self) -> list[dict[str, str]]:
        return [r.form() for r in self.token_requests]

    @property
    def require_auth(self) -> bool:
        return self.check_auth

    @require_auth.setter
    def require_auth(self, value: bool) -> None:
        self.check_auth = value

    @property
    def stop(self) -> asyncio.Event:
        return self.release

    async def wait_or_stop(self, seconds: float) -> None:
        """Sleep in a handler, but end at once when the test tears the server down."""
        await self.hold(seconds)
