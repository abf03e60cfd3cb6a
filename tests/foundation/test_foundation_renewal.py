"""The one token renewal a 401 earns, and what a 401 after it means."""

from __future__ import annotations

import pytest
from _foundation_helpers import FakePlatform, MakeClient, RecordingSleep
from aiohttp import web

from sehatmu_async.errors import AuthenticationError

PATH = "/masterdata/v1/provinces"


async def test_revoked_then_503_then_revoked_again_does_not_blame_the_credentials(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    client = make_client()
    await client.token()
    platform.revoke_all()

    async def unavailable_and_revoke_again(_: web.Request) -> web.StreamResponse:
        platform.revoke_all()  # the token the renewal just brought is revoked too
        return web.Response(status=503, text="no healthy upstream")

    platform.data_script.append(unavailable_and_revoke_again)
    with pytest.raises(AuthenticationError) as caught:
        await client.request("GET", PATH)
    err = caught.value
    message = str(err)
    assert err.status == 401
    assert "client id and secret" not in message.split("—")[-1]  # the advice names no credentials
    assert "check the client id" not in message
    assert "just issued" in message
    assert "Invalid access token" in message  # what the platform said is kept
    # One renewal for the call, never a loop: initial token + one renewal.
    assert len(platform.token_requests) == 2
    assert [r.method for r in platform.data_requests] == ["GET", "GET", "GET"]
    assert len(sleep.calls) == 1  # the 503 was retried once


async def test_the_refused_fresh_token_is_forgotten_for_the_next_call(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    platform.revoke_all()

    async def revoke_again(_: web.Request) -> web.StreamResponse:
        platform.revoke_all()
        return web.Response(status=503, text="down")

    platform.data_script.append(revoke_again)
    with pytest.raises(AuthenticationError):
        await client.request("GET", PATH)
    assert len(platform.token_requests) == 2
    # The next call does not reuse the refused token: it asks for a new one and succeeds.
    response = await client.request("GET", PATH)
    assert response.status == 200
    assert len(platform.token_requests) == 3


async def test_refused_credentials_still_say_check_the_client_id_and_secret(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client(client_secret="wrong-secret")
    with pytest.raises(AuthenticationError, match="check the client id and secret"):
        await client.request("GET", PATH)
