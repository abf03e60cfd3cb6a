"""Helpers shared by the sandbox's tests (a unique name: tests/ has no packages)."""

from __future__ import annotations

from typing import Any

import aiohttp

from sehatmu_async.sandbox import Sandbox

TOKEN_PATH = "/oauth2/v1/accesstoken?grant_type=client_credentials"


async def fetch_token(session: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    async with session.post(
        sandbox.url + TOKEN_PATH,
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
    ) as response:
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
    return str(body["access_token"])
