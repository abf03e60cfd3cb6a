"""Settings: environments, from_env, checks before any request, session ownership."""

from __future__ import annotations

import math
from typing import Any

import aiohttp
import pytest
from _foundation_helpers import CLIENT_ID, CLIENT_SECRET, FakePlatform, MakeClient

from sehatmu_async import ENVIRONMENTS, RetryPolicy, SehatMuClient
from sehatmu_async._version import __version__
from sehatmu_async.errors import ConfigurationError

STAGING = "https://api-satusehat-stg.dto.kemkes.go.id"
DEVELOPMENT = "https://api-SehatMu-dev.dto.kemkes.go.id"


def client(**settings: Any) -> SehatMuClient:
    return SehatMuClient(CLIENT_ID, CLIENT_SECRET, **settings)


# -- environments and base URLs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "url"),
    [("development", DEVELOPMENT), ("staging", STAGING), ("sandbox", STAGING),
     ("STAGING", STAGING), (" development ", DEVELOPMENT), (None, STAGING)],
)  # fmt: skip
def test_environment_names(name: str | None, url: str) -> None:
    assert client(environment=name).base_url == url


def test_environments_are_the_documented_ones() -> None:
    assert dict(ENVIRONMENTS) == {"development": DEVELOPMENT, "staging": STAGING}


@pytest.mark.parametrize("name", ["production", "prod", "dev", "stg"])
def test_unknown_environment(name: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        client(environment=name)


def test_environment_and_base_url_together_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="either"):
        client(environment="staging", base_url="https://api.example")


@pytest.mark.parametrize(
    "url",
    ["ftp://api.example", "api.example", "https://", "https:///path", "https://h/?a=1",
     "https://h/#frag", "", "   "],
)  # fmt: skip
def test_bad_base_url(url: str) -> None:
    with pytest.raises(ConfigurationError):
        client(base_url=url)


def test_base_url_not_a_string() -> None:
    with pytest.raises(ConfigurationError):
        client(base_url=b"https://api.example")  # type: ignore[arg-type]


def test_base_url_trailing_slash_is_trimmed() -> None:
    assert client(base_url="https://api.example/prefix/").base_url == "https://api.example/prefix"


# -- other settings --------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "10", True])
def test_bad_timeout(timeout: Any) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        client(environment="staging", timeout=timeout)


def test_timeout_forms() -> None:
    assert client(timeout=5)._timeout.total == 5.0
    custom = aiohttp.ClientTimeout(total=12, sock_read=3)
    assert client(timeout=custom)._timeout is custom
    default = client()
    # A hung attempt must leave room to retry within the call's 30 s budget.
    assert default._timeout.total == 10.0
    assert default._timeout.total * default.retry.attempts <= default.retry.total_timeout


@pytest.mark.parametrize(
    ("settings", "match"),
    [({"connection_limit": 0}, "connection_limit"),
     ({"connection_limit": True}, "connection_limit"),
     ({"retry": {"attempts": 3}}, "RetryPolicy"),
     ({"token_soft_window": 10, "token_hard_window": 60}, "window")],
)  # fmt: skip
def test_bad_settings(settings: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        client(**settings)


@pytest.mark.parametrize(("cid", "secret"), [("", "s"), ("c", ""), ("  ", "s"), (None, "s")])
def test_credentials_must_be_non_empty_strings(cid: Any, secret: Any) -> None:
    with pytest.raises(ConfigurationError):
        SehatMuClient(cid, secret)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="timeout"):
        client(timeout=-1)


# -- from_env ------------------------------------------------------------------------------


def test_from_env_with_environment() -> None:
    made = SehatMuClient.from_env(
        {"SEHATMU_CLIENT_ID": CLIENT_ID, "SEHATMU_CLIENT_SECRET": CLIENT_SECRET,
         "SEHATMU_ENVIRONMENT": "development"}
    )  # fmt: skip
    assert made.base_url == DEVELOPMENT
    assert made._client_id == CLIENT_ID
    assert made._client_secret == CLIENT_SECRET


def test_from_env_base_url_wins_and_settings_pass_through() -> None:
    made = SehatMuClient.from_env(
        {"SEHATMU_CLIENT_ID": CLIENT_ID, "SEHATMU_CLIENT_SECRET": CLIENT_SECRET,
         "SEHATMU_ENVIRONMENT": "development", "SEHATMU_BASE_URL": "http://127.0.0.1:9"},
        retry=RetryPolicy(attempts=1),
    )  # fmt: skip
    assert made.base_url == "http://127.0.0.1:9"
    assert made.retry.attempts == 1


def test_from_env_defaults_to_staging() -> None:
    made = SehatMuClient.from_env(
        {"SEHATMU_CLIENT_ID": CLIENT_ID, "SEHATMU_CLIENT_SECRET": CLIENT_SECRET}
    )
    assert made.base_url == STAGING


def test_from_env_reads_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEHATMU_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SEHATMU_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SEHATMU_BASE_URL", "https://api.example")
    monkeypatch.delenv("SEHATMU_ENVIRONMENT", raising=False)
    assert SehatMuClient.from_env().base_url == "https://api.example"


@pytest.mark.parametrize(
    ("environ", "missing"),
    [({"SEHATMU_CLIENT_SECRET": "s"}, ["SEHATMU_CLIENT_ID"]),
     ({"SEHATMU_CLIENT_ID": "c"}, ["SEHATMU_CLIENT_SECRET"]),
     ({"SEHATMU_CLIENT_ID": "", "SEHATMU_CLIENT_SECRET": "s"}, ["SEHATMU_CLIENT_ID"]),
     ({}, ["SEHATMU_CLIENT_ID", "SEHATMU_CLIENT_SECRET"])],
)  # fmt: skip
def test_from_env_missing_names_the_variable(environ: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        SehatMuClient.from_env(environ)
    for name in missing:
        assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_from_env_bad_environment() -> None:
    with pytest.raises(ConfigurationError, match="unknown environment"):
        SehatMuClient.from_env(
            {"SEHATMU_CLIENT_ID": "c", "SEHATMU_CLIENT_SECRET": "s", "SEHATMU_ENVIRONMENT": "prod"}
        )


# -- session ownership and headers ------------------------------------------------------------


async def test_borrowed_session_is_left_open(platform: FakePlatform) -> None:
    async with aiohttp.ClientSession() as session:
        async with SehatMuClient(
            CLIENT_ID, CLIENT_SECRET, base_url=platform.url, session=session
        ) as borrowed:
            await borrowed.request("GET", "/masterdata/v1/provinces")
        assert not session.closed
        async with session.get(platform.url + "/anything") as still_usable:
            assert still_usable.status == 401  # no token, but the session works
    assert len(platform.token_requests) == 1


async def test_own_session_is_opened_lazily_and_closed(platform: FakePlatform) -> None:
    own = SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=platform.url)
    assert own._session is None  # nothing opened outside the loop
    async with own:
        await own.request("GET", "/masterdata/v1/provinces")
        session = own._session
        assert session is not None
        assert not session.closed
    assert session.closed
    with pytest.raises(ConfigurationError, match="closed"):
        await own.request("GET", "/masterdata/v1/provinces")


async def test_closed_borrowed_session_is_refused(platform: FakePlatform) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    made = SehatMuClient(CLIENT_ID, CLIENT_SECRET, base_url=platform.url, session=session)
    with pytest.raises(ConfigurationError, match="closed"):
        await made.token()


async def test_aclose_twice_is_fine(make_client: MakeClient) -> None:
    made = make_client()
    await made.token()
    await made.aclose()
    await made.aclose()


async def test_user_agent_and_authorization_at_the_server(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    made = make_client()
    token = await made.token()
    await made.request("GET", "/masterdata/v1/provinces")
    ua = f"sehatmu-async/{__version__}"
    assert [r.headers["User-Agent"] for r in platform.token_requests] == [ua]
    (data,) = platform.data_requests
    assert data.headers["User-Agent"] == ua
    assert data.headers["Authorization"] == f"Bearer {token.access_token}"
    assert data.headers["Accept"] == "application/json"


async def test_custom_user_agent(platform: FakePlatform, make_client: MakeClient) -> None:
    made = make_client(user_agent="my-clinic/2.1")
    await made.request("GET", "/masterdata/v1/provinces")
    assert platform.token_requests[0].headers["User-Agent"] == "my-clinic/2.1"
    assert platform.data_requests[0].headers["User-Agent"] == "my-clinic/2.1"


async def test_token_api(platform: FakePlatform, make_client: MakeClient) -> None:
    made = make_client()
    assert made.token_requests == 0
    token = await made.token()
    assert token.token_type == "BearerToken"
    assert token.expires_in == 3599.0
    assert await made.token() is token
    assert made.token_requests == 1
