"""The ``rate_limiter=`` hook: acquired before every send but the token request, bounded by
the call's time budget, and told about the platform's ``429 Retry-After``."""

from __future__ import annotations

import asyncio

import pytest
from _foundation_helpers import CLIENT_ID, FakePlatform, MakeClient, RecordingSleep, reply

from sehatmu_async import RetryPolicy
from sehatmu_async._rate_limit import RateLimiter
from sehatmu_async.errors import ConfigurationError, OutcomeUnknownError, TransportError

PATH = "/masterdata/v1/provinces"
PATIENT_PATH = "/fhir-r4/v1/Patient"


class FakeLimiter:
    """Counts acquisitions and pauses; ``hold`` makes ``acquire`` wait until it is set."""

    def __init__(self) -> None:
        self.acquired = 0
        self.paused: list[float] = []
        self.hold: asyncio.Event | None = None

    async def acquire(self) -> None:
        self.acquired += 1
        if self.hold is not None:
            await self.hold.wait()

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


def test_the_fake_is_a_rate_limiter() -> None:
    assert isinstance(FakeLimiter(), RateLimiter)


async def test_acquired_once_per_send_and_never_for_the_token_request(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    limiter = FakeLimiter()
    client = make_client(rate_limiter=limiter)
    await client.request("GET", PATH)
    assert client.token_requests == 1
    assert limiter.acquired == 1  # the token request did not take a turn
    platform.data_script.append(reply(503, "busy"))
    await client.request("GET", PATH)
    assert limiter.acquired == 3  # the retry waited for its own turn


async def test_a_renewal_after_401_takes_a_turn_for_the_repeat_only(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    limiter = FakeLimiter()
    client = make_client(rate_limiter=limiter)
    await client.token()
    platform.revoke_all()
    await client.request("GET", PATH)
    assert client.token_requests == 2
    assert limiter.acquired == 2


async def test_a_limiter_holding_past_the_budget_is_a_transport_error_and_nothing_is_sent(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    limiter = FakeLimiter()
    client = make_client(rate_limiter=limiter, retry=RetryPolicy(total_timeout=0.2))
    await client.token()
    limiter.hold = asyncio.Event()
    with pytest.raises(TransportError) as caught:
        await client.request(
            "POST", PATIENT_PATH, json={"resourceType": "Patient"}, idempotent=False
        )
    err = caught.value
    assert not isinstance(err, OutcomeUnknownError)  # provably not sent
    assert "rate limiter" in str(err)
    assert "not sent" in str(err)
    assert platform.data_requests == []


async def test_429_with_retry_after_pauses_the_limiter_then_retries(
    platform: FakePlatform, make_client: MakeClient, sleep: RecordingSleep
) -> None:
    limiter = FakeLimiter()
    client = make_client(rate_limiter=limiter)
    await client.token()
    platform.data_script.append(reply(429, "slow down", headers={"Retry-After": "2"}))
    response = await client.request("GET", PATH)
    assert response.status == 200
    assert limiter.paused == [2.0]
    assert sleep.calls == [2.0]
    assert limiter.acquired == 2


async def test_429_without_retry_after_does_not_pause(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    limiter = FakeLimiter()
    client = make_client(rate_limiter=limiter)
    await client.token()
    platform.data_script.append(reply(429, "slow down"))
    await client.request("GET", PATH)
    assert limiter.paused == []


async def test_a_create_429_pauses_the_limiter_even_though_it_is_not_retried(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    limiter = FakeLimiter()
    client = make_client(rate_limiter=limiter)
    await client.token()
    platform.data_script.append(reply(429, "slow down", headers={"Retry-After": "5"}))
    with pytest.raises(Exception, match="rate limited"):
        await client.request("POST", PATIENT_PATH, json={}, idempotent=False)
    assert limiter.paused == [5.0]


def test_something_that_is_not_a_limiter_is_refused(make_client: MakeClient) -> None:
    with pytest.raises(ConfigurationError, match="rate_limiter"):
        make_client(rate_limiter=object())


async def test_a_fleet_limiter_is_bound_to_the_client(
    platform: FakePlatform, make_client: MakeClient
) -> None:
    class FleetLimiter(FakeLimiter):
        def __init__(self) -> None:
            super().__init__()
            self.bound: list[tuple[str, str]] = []
            self.child = FakeLimiter()

        def for_client(self, base_url: str, client_id: str) -> FakeLimiter:
            self.bound.append((base_url, client_id))
            return self.child

    fleet = FleetLimiter()
    client = make_client(rate_limiter=fleet)
    await client.request("GET", PATH)
    assert fleet.bound == [(platform.url, CLIENT_ID)]
    assert (fleet.acquired, fleet.child.acquired) == (0, 1)
