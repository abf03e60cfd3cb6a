"""Single flight and 401 handling against a REAL aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest
from _foundation_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN_PATH,
    FakeClock,
    FakePlatform,
    MakeClient,
    reply,
)

from sehatmu_async import TransportError
from sehatmu_async._version import __version__
from sehatmu_async.errors import AuthenticationError


@pytest.mark.parametrize("callers", [500, 1000])
async def test_cold_client_concurrent_token_calls_make_one_token_request(
    platform: FakePlatform, make_client: MakeClient, callers: int
) -> None:
    client = make_client()
    platform.token_gate = asyncio.Event()  # hold the answer until every caller is waiting
    tasks = [asyncio.ensure_future(client.token()) for _ in range(callers)]
    await asyncio.wait_for(platform.token_seen.wait(), 5)
    await asyncio.sleep(0.05)
    assert not any(t.done() for t in tasks)
    platform.token_gate.set()
    tokens = await asyncio.gather(*tasks)
    assert len(platform.token_requests) == 1
    assert client.token_requests == 1
    assert {t.access_token for t in tokens} == {platform.issued[0]}


@pytest.mark.parametrize("callers", [500, 1000])
async def test_cold_client_concurrent_authenticated_gets_make_one_token_request(
    platform: FakePlatform, make_client: MakeClient, callers: int
) -> None:
    client = make_client()
    results = await asyncio.gather(
        *(client.request("GET", "/masterdata/v1/provinces") for _ in range(callers))
    )
    assert len(platform.token_requests) == 1
    assert len(platform.data_requests) == callers
    assert all(r.status == 200 for r in results)
    sent = {r.headers["Authorization"] for r in platform.data_requests}
    assert sent == {f"Bearer {platform.issued[0]}"}


async def test_token_request_is_the_documented_form_post(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.request("GET", "/masterdata/v1/provinces", params={"codes": "11,12"})
    (token_request,) = platform.token_requests
    assert token_request.method == "POST"
    assert token_request.path == TOKEN_PATH
    assert dict(token_request.query) == {"grant_type": "client_credentials"}
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token_request.headers
    assert platform.token_forms == [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}]
    ua = f"sehatmu-async/{__version__}"
    assert token_request.headers["User-Agent"] == ua
    (data,) = platform.data_requests
    assert data.headers["User-Agent"] == ua
    assert data.headers["Authorization"] == f"Bearer {platform.issued[0]}"
    assert data.query["codes"] == "11,12"


async def test_401_drops_the_token_fetches_one_and_repeats_once(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    first = await client.token()
    platform.revoke_all()  # the server forgets the token early (revocation, restart)
    response = await client.request("GET", "/masterdata/v1/provinces")
    assert response.status == 200
    assert len(platform.token_requests) == 2
    assert len(platform.data_requests) == 2
    assert [r.headers["Authorization"] for r in platform.data_requests] == [
        f"Bearer {first.access_token}",
        f"Bearer {platform.issued[1]}",
    ]
    assert (await client.token()).access_token == platform.issued[1]


async def test_second_401_raises_authentication_error_without_looping(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    platform.revoke_all()
    platform.data_script.extend(
        [reply(401, b'{"fault": {"faultstring": "Invalid access token", "detail": '
                    b'{"errorcode": "oauth.v2.InvalidAccessToken"}}}',
               headers={"X-Request-Id": "r-2"})]
    )  # fmt: skip
    with pytest.raises(AuthenticationError) as info:
        await client.request("GET", "/masterdata/v1/provinces")
    assert len(platform.token_requests) == 2
    assert len(platform.data_requests) == 2
    err = info.value
    assert err.status == 401
    assert err.request_id == "r-2"
    assert "Invalid access token" in str(err)


async def test_401_on_many_concurrent_calls_renews_once(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    await client.token()
    platform.revoke_all()
    results = await asyncio.gather(
        *(client.request("GET", "/masterdata/v1/cities") for _ in range(200))
    )
    assert all(r.status == 200 for r in results)
    assert len(platform.token_requests) == 2
    assert client.token_requests == 2
    assert len(platform.data_requests) == 400


async def test_bad_credentials_raise_authentication_error_once(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    clock = FakeClock()
    client = make_client(client_secret="wrong-secret-value", clock=clock)
    with pytest.raises(AuthenticationError) as info:
        await client.request("GET", "/masterdata/v1/provinces")
    assert len(platform.token_requests) == 1  # a 401 from the token endpoint is not retried
    assert platform.data_requests == []
    assert "not able to be authenticated" in str(info.value)
    assert info.value.status == 401
    # Not cached for good, but the platform accepts one try a minute after a refusal:
    # during the cool-down every caller gets the refusal at once, without a request.
    clock.advance(59.0)
    with pytest.raises(AuthenticationError) as again:
        await client.token()
    assert again.value.status == 401
    assert "not able to be authenticated" in str(again.value)
    assert "no new token request for 1 s" in str(again.value)
    assert len(platform.token_requests) == 1
    # After it, the next call asks again.
    clock.advance(1.0)
    with pytest.raises(AuthenticationError):
        await client.token()
    assert len(platform.token_requests) == 2


async def test_aclose_cancels_an_inflight_token_request(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    client = make_client()
    platform.token_gate = asyncio.Event()
    waiter = asyncio.ensure_future(client.token())
    await asyncio.wait_for(platform.token_seen.wait(), 5)
    await client.aclose()
    assert client._tokens._inflight is None
    with pytest.raises(TransportError, match="closed"):
        await waiter
    assert not waiter.cancelled()
    assert client._session is None
