"""Client id, client secret and access tokens never reach reprs, errors or logs."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from _foundation_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    FakeClock,
    FakePlatform,
    MakeClient,
    RecordingSleep,
    apigee_token,
    reply,
)

from sehatmu_async import InsecureTransportWarning, SehatMuClient
from sehatmu_async.errors import APIError, AuthenticationError, SehatMuError, ServerError

# ``secret_scan`` is the shared fixture of tests/conftest.py (a SecretScan).
SecretScan = Any

PATH = "/masterdata/v1/provinces"


async def test_reprs_hide_credentials_and_token(
    platform: FakePlatform, make_client: MakeClient, secret_scan: SecretScan
) -> None:
    client = make_client()
    token = await client.token()
    secret_scan.add(client, token, client._tokens, [token])
    assert "<hidden>" in repr(client)
    assert repr(client) == str(client)
    assert "<hidden>" in repr(token)
    assert str(token) == repr(token)
    secret_scan.assert_clean(CLIENT_ID, CLIENT_SECRET, token.access_token)


async def test_a_run_with_retries_401s_and_failures_leaks_nothing(
    platform: FakePlatform, make_client: MakeClient, secret_scan: SecretScan
) -> None:
    client = make_client()
    # Token request: one 503, then a token.
    platform.token_script.append(reply(503, "Gateway Timeout"))
    await client.request("GET", PATH)
    # Data: retried 5xx.
    platform.data_script.extend([reply(503, "no healthy upstream"), reply(502, "Bad Gateway")])
    await client.request("GET", PATH)
    # 401 with a revoked token: renewed and repeated.
    platform.revoke_all()
    await client.request("GET", PATH, params={"identifier": f"nik|{CLIENT_ID}"})
    # A failure that is raised: 5xx exhausted.
    platform.data_script.extend(reply(504, "Gateway Timeout") for _ in range(3))
    with pytest.raises(ServerError) as server_error:
        await client.request("POST", "/fhir-r4/v1/Patient", json={"resourceType": "Patient"})
    secret_scan.add(server_error.value)
    # A second 401 in a row: raised.
    platform.revoke_all()
    platform.data_script.append(reply(401, b'{"fault": {"faultstring": "Invalid access token"}}'))
    with pytest.raises(AuthenticationError) as auth_error:
        await client.request("GET", PATH)
    secret_scan.add(auth_error.value)

    assert len(platform.issued) == 3
    debug_lines = [r.getMessage() for r in secret_scan.records() if r.name == "sehatmu_async"]
    assert any("retry_in=" in line for line in debug_lines)  # the run did retry and log it
    assert any("renewing token" in line for line in debug_lines)
    secret_scan.assert_clean(CLIENT_ID, CLIENT_SECRET, *platform.issued)


async def test_bad_credentials_error_leaks_nothing(
    platform: FakePlatform, make_client: MakeClient, secret_scan: SecretScan
) -> None:
    client = make_client(client_secret=CLIENT_SECRET + "-wrong")
    with pytest.raises(AuthenticationError) as info:
        await client.request("GET", PATH)
    secret_scan.add(info.value, client)
    secret_scan.assert_clean(CLIENT_ID, CLIENT_SECRET)


@pytest.mark.parametrize(
    "body",
    [
        b"access_token=LEAKED-TOKEN-4711&token_type=bearer&expires_in=3599",
        b'{"access_token": "LEAKED-TOKEN-4711", "expires_in": ',
        b'{"access_token": "LEAKED-TOKEN-4711", "expires_in": "0"}',
        b'{"access_token": "LEAKED-TOKEN-4711", "token_type": "mac", "expires_in": 60}',
        b'{"access_token": "LEAKED-TOKEN-4711", "expires_in": "1e300"}',
    ],
)
async def test_malformed_token_answer_holding_the_token_leaks_nothing(
    platform: FakePlatform, make_client: MakeClient, secret_scan: SecretScan, body: bytes
) -> None:
    client = make_client()
    platform.token_script.append(reply(200, body, content_type="text/plain"))
    with pytest.raises(APIError) as info:
        await client.request("GET", PATH)
    secret_scan.add(info.value)
    secret_scan.assert_clean(CLIENT_ID, CLIENT_SECRET, "LEAKED-TOKEN-4711")


async def test_failed_background_renewal_log_leaks_nothing(
    platform: FakePlatform, make_client: MakeClient, secret_scan: SecretScan
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, sleep=RecordingSleep(clock))
    first = await client.token()
    clock.advance(3599 - 200)  # soft window: renewal runs in the background
    platform.token_script.append(
        reply(200, b'{"access_token": "LEAKED-TOKEN-4711", "expires_in": ')
    )
    assert await client.token() is first
    await platform.token_seen.wait()
    for _ in range(20):
        if any(r.levelname == "WARNING" for r in secret_scan.records()):
            break
        await platform.wait_or_stop(0.01)
    warnings_logged = [r for r in secret_scan.records() if r.levelname == "WARNING"]
    assert len(warnings_logged) == 1
    secret_scan.assert_clean(CLIENT_ID, CLIENT_SECRET, "LEAKED-TOKEN-4711", first.access_token)


async def test_token_in_a_2xx_token_answer_is_withheld_from_embedded_errors(
    platform: FakePlatform, make_client: MakeClient, secret_scan: SecretScan
) -> None:
    client = make_client()
    body = {
        **apigee_token("LEAKED-TOKEN-4711"),
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "value"}],
    }
    platform.token_script.append(reply(200, body))
    with pytest.raises(SehatMuError) as info:
        await client.token()
    secret_scan.add(info.value)
    secret_scan.assert_clean(CLIENT_ID, CLIENT_SECRET, "LEAKED-TOKEN-4711")


# -- transport security warnings -----------------------------------------------------------


def test_verify_tls_false_warns() -> None:
    with pytest.warns(InsecureTransportWarning, match="TLS certificate verification is OFF") as rec:
        SehatMuClient(CLIENT_ID, CLIENT_SECRET, environment="staging", verify_tls=False)
    assert rec[0].filename == __file__  # points at the caller's line


@pytest.mark.parametrize(
    "url",
    ["http://api.example.com", "http://10.0.0.5:8080", "http://api-satusehat-stg.dto.kemkes.go.id"],
)
def test_plain_http_to_a_remote_host_warns(url: str) -> None:
    with pytest.warns(InsecureTransportWarning, match="plain HTTP") as rec:
        SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=url)
    assert rec[0].filename == __file__  # points at the caller's line
    assert CLIENT_SECRET not in str(rec[0].message)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080", "http://localhost:1234", "http://[::1]:80", "http://127.5.6.7",
     "https://api.example.com"],
)  # fmt: skip
def test_loopback_http_and_https_do_not_warn(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=url)


def test_tls_verification_is_on_by_default() -> None:
    client = SehatMuClient(CLIENT_ID, CLIENT_SECRET, environment="staging")
    assert client._ssl is True
