"""Back-off after failed token requests, against a real local token server (fake clock).

The figures of issue 9 item 6: 200 callers looping through a 20 s token-endpoint outage,
and through 60 s with a wrong secret. The client runs on a fake clock (its retry sleeps
move it), so the minute of a test takes well under a second; every request is real HTTP
to 127.0.0.1 and the server counts them.
"""

from __future__ import annotations

import asyncio

import pytest
from _fleet_helpers import CLIENT_ID, CLIENT_SECRET, DATA_PATH, ClockSleep, FakeClock, TokenServer

from sehatmu_async import AuthenticationError, SehatMuClient, ServerError

CALLERS = 200
TICK = 0.1  # each caller calls again 0.1 s after its last call ended


async def loop_callers(client: SehatMuClient, clock: FakeClock, seconds: float) -> list[object]:
    """Every caller calls, then again one tick later, for ``seconds`` of fake clock."""
    outcomes: list[object] = []
    end = clock.now + seconds
    while clock.now < end:
        results = await asyncio.gather(
            *(client.request("GET", DATA_PATH) for _ in range(CALLERS)), return_exceptions=True
        )
        outcomes.extend(results)
        clock.advance(TICK)
    return outcomes


async def test_20s_token_outage_with_200_looping_callers(token_server: TokenServer) -> None:
    clock = FakeClock()
    start = clock.now
    token_server.mode_for = lambda: "outage" if clock.now < start + 20.0 else "ok"
    async with SehatMuClient(
        CLIENT_ID, CLIENT_SECRET, base_url=token_server.url, clock=clock, sleep=ClockSleep(clock)
    ) as client:
        outcomes = await loop_callers(client, clock, 20.0)
        during = token_server.token_requests
        failed = [o for o in outcomes if isinstance(o, ServerError)]
        # The last fetch's retries may carry the fake clock past the outage's end.
        assert len(failed) + sum(getattr(o, "status", 0) == 200 for o in outcomes) == len(outcomes)
        assert len(failed) > 0.9 * len(outcomes)
        assert any("next one is allowed in" in str(o) for o in failed)
        # Recovery: once the back-off in force when the outage ended is over (at most 16 s
        # here), calls succeed again.
        recovered = await loop_callers(client, clock, 20.0)
    print(
        f"\n20 s outage, {CALLERS} looping callers: {during} token requests "
        f"({client.token_requests} token fetches, each retried by the retry policy)"
    )
    # The old cache sent a fetch (3 attempts) per round of callers: 200 rounds -> ~600.
    # Back-off 1, 2, 4, 8 s between fetches of up to 3 attempts: at most 6 fetches.
    assert during <= 18
    assert client.token_requests <= 6
    assert any(getattr(r, "status", None) == 200 for r in recovered)
    assert token_server.data_requests > 0


async def test_wrong_secret_over_60s_sends_one_token_request(token_server: TokenServer) -> None:
    clock = FakeClock()
    async with SehatMuClient(
        CLIENT_ID, "wrong-secret", base_url=token_server.url, clock=clock, sleep=ClockSleep(clock)
    ) as client:
        outcomes = await loop_callers(client, clock, 59.9)
        in_the_minute = token_server.token_requests
        assert len(outcomes) >= CALLERS * 590
        assert all(isinstance(o, AuthenticationError) for o in outcomes)
        assert all(getattr(o, "status", None) == 401 for o in outcomes)
        assert not any("wrong-secret" in str(o) for o in outcomes)
        # One minute after the refusal: one more try.
        assert clock.now < 1060.0
        clock.now = 1060.0
        with pytest.raises(AuthenticationError):
            await client.request("GET", DATA_PATH)
    print(f"\nwrong secret, {CALLERS} looping callers for 60 s: {in_the_minute} token request(s)")
    assert in_the_minute == 1
    assert token_server.token_requests == 2
    assert token_server.data_requests == 0


async def test_cooldown_setting_reaches_the_client(token_server: TokenServer) -> None:
    clock = FakeClock()
    async with SehatMuClient(
        CLIENT_ID,
        "wrong-secret",
        base_url=token_server.url,
        clock=clock,
        sleep=ClockSleep(clock),
        token_failure_cooldown=10.0,
    ) as client:
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                await client.token()
            assert token_server.token_requests == 1 + _ // 2
            clock.advance(5.0)
    assert token_server.token_requests == 2
