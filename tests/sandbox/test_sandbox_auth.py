"""The token endpoint and the bearer check."""

from __future__ import annotations

import time

import aiohttp
import pytest
from _fakes import FakeClock
from _sandbox_helpers import TOKEN_PATH, fetch_token
from aiohttp.test_utils import TestClient, TestServer

from sehatmu_async.sandbox import Sandbox, SandboxFaults, make_app

BAD_CREDENTIALS = (
    "The user or system was not able to be authenticated "
    "(either client_id or client_secret combination is unacceptable)"
)
PROVINCES = "/masterdata/v1/provinces?codes=11"


async def test_token_has_the_apigee_shape_with_string_numbers(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    before_ms = time.time_ns() // 1_000_000
    async with session.post(
        sandbox.url + TOKEN_PATH,
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        assert len(response.headers["X-Request-Id"]) == 32
        body = await response.json()
    assert set(body) == {
        "refresh_token_expires_in",
        "api_product_list",
        "api_product_list_json",
        "organization_name",
        "developer.email",
        "token_type",
        "issued_at",
        "client_id",
        "access_token",
        "application_name",
        "scope",
        "expires_in",
        "refresh_count",
        "status",
    }
    assert body["token_type"] == "BearerToken"
    assert body["expires_in"] == "3599"
    assert body["refresh_token_expires_in"] == "0"
    assert body["refresh_count"] == "0"
    assert body["status"] == "approved"
    assert body["client_id"] == sandbox.client_id
    assert body["api_product_list_json"] == ["api-sandbox"]
    assert isinstance(body["issued_at"], str)
    assert before_ms <= int(body["issued_at"]) <= time.time_ns() // 1_000_000
    assert body["access_token"].isalnum()
    assert sandbox.counters.token_requests == 1


@pytest.mark.parametrize(
    "form",
    [
        {"client_id": "wrong", "client_secret": "wrong"},
        {"client_id": "__ID__", "client_secret": "wrong"},
        {"client_id": "__ID__"},
        {},
    ],
)
async def test_bad_credentials_are_a_401_operation_outcome(
    sandbox: Sandbox, session: aiohttp.ClientSession, form: dict[str, str]
) -> None:
    form = {k: sandbox.client_id if v == "__ID__" else v for k, v in form.items()}
    async with session.post(sandbox.url + TOKEN_PATH, data=form) as response:
        assert response.status == 401
        body = await response.json()
    assert body == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "invalid", "code": "value", "details": {"text": BAD_CREDENTIALS}}],
    }


@pytest.mark.parametrize("query", ["", "?grant_type=password"])
async def test_wrong_grant_type_is_a_400(
    sandbox: Sandbox, session: aiohttp.ClientSession, query: str
) -> None:
    form = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    async with session.post(f"{sandbox.url}/oauth2/v1/accesstoken{query}", data=form) as response:
        assert response.status == 400
        assert (await response.json())["resourceType"] == "OperationOutcome"


async def test_a_token_request_without_user_agent_is_refused(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    form = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    async with aiohttp.ClientSession(skip_auto_headers=["User-Agent"]) as bare:
        async with bare.post(sandbox.url + TOKEN_PATH, data=form) as response:
            assert response.status == 400
        sandbox.require_user_agent = False
        async with bare.post(sandbox.url + TOKEN_PATH, data=form) as response:
            assert response.status == 200


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
async def test_missing_or_unknown_token_is_an_invalid_access_token_fault(
    sandbox: Sandbox, session: aiohttp.ClientSession, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with session.get(sandbox.url + PROVINCES, headers=headers) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == (
            'Bearer realm="null",error="invalid_token",error_description="Invalid access token"'
        )
        assert await response.json() == {
            "fault": {
                "faultstring": "Invalid access token",
                "detail": {"errorcode": "oauth.v2.InvalidAccessToken"},
            }
        }


async def test_token_expires_server_side_after_its_ttl(
    clock: FakeClock, sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.faults.token_ttl_s = 60
    token = await fetch_token(session, sandbox)
    headers = {"Authorization": f"Bearer {token}"}
    clock.advance(59.9)
    async with session.get(sandbox.url + PROVINCES, headers=headers) as response:
        assert response.status == 200
    clock.advance(0.1)
    async with session.get(sandbox.url + PROVINCES, headers=headers) as response:
        assert response.status == 401
        assert "Access Token expired" in response.headers["WWW-Authenticate"]
        assert await response.json() == {
            "fault": {
                "faultstring": "Access Token expired",
                "detail": {"errorcode": "keymanagement.service.access_token_expired"},
            }
        }


async def test_expires_in_follows_the_ttl_knob(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.faults.token_ttl_s = 1
    async with session.post(
        sandbox.url + TOKEN_PATH,
        data={"client_id": sandbox.client_id, "client_secret": sandbox.client_secret},
    ) as response:
        assert (await response.json())["expires_in"] == "1"


async def test_revoke_tokens_invalidates_every_token_issued_so_far(
    sandbox: Sandbox, session: aiohttp.ClientSession, auth: dict[str, str]
) -> None:
    sandbox.revoke_tokens()
    async with session.get(sandbox.url + PROVINCES, headers=auth) as response:
        assert response.status == 401
        assert (await response.json())["fault"]["faultstring"] == "Invalid access token"
    fresh = {"Authorization": f"Bearer {await fetch_token(session, sandbox)}"}
    async with session.get(sandbox.url + PROVINCES, headers=fresh) as response:
        assert response.status == 200


async def test_periodic_revocation(session: aiohttp.ClientSession, clock: FakeClock) -> None:
    async with Sandbox(faults=SandboxFaults(revoke_every_s=10), clock=clock) as sandbox:
        old = {"Authorization": f"Bearer {await fetch_token(session, sandbox)}"}
        clock.advance(9)
        async with session.get(sandbox.url + PROVINCES, headers=old) as response:
            assert response.status == 200
        clock.advance(2)  # past the first boundary (t=10)
        new = {"Authorization": f"Bearer {await fetch_token(session, sandbox)}"}
        async with session.get(sandbox.url + PROVINCES, headers=old) as response:
            assert response.status == 401
        async with session.get(sandbox.url + PROVINCES, headers=new) as response:
            assert response.status == 200
        clock.advance(25)  # several boundaries while idle: one revocation covers them
        async with session.get(sandbox.url + PROVINCES, headers=new) as response:
            assert response.status == 401


async def test_credentials_and_tokens_stay_out_of_repr(sandbox: Sandbox) -> None:
    text = repr(sandbox)
    assert sandbox.client_id not in text
    assert sandbox.client_secret not in text
    assert "client" not in repr(sandbox.counters)


async def test_given_credentials_are_used() -> None:
    async with Sandbox("my-id", "my-secret") as sandbox:
        assert (sandbox.client_id, sandbox.client_secret) == ("my-id", "my-secret")
        assert sandbox.url == f"http://127.0.0.1:{sandbox.port}"
    with pytest.raises(RuntimeError):
        _ = sandbox.url


async def test_make_app_serves_the_sandboxs_state_under_aiohttps_test_server() -> None:
    sandbox = Sandbox()
    async with TestClient(TestServer(make_app(sandbox))) as client:
        form = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
        response = await client.post(TOKEN_PATH, data=form)
        assert response.status == 200
        headers = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
        response = await client.get(PROVINCES, headers=headers)
        assert response.status == 200
        sandbox.revoke_tokens()
        response = await client.get(PROVINCES, headers=headers)
        assert response.status == 401
    assert sandbox.counters.requests == 3
