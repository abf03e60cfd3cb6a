"""Leaving a pull early (break, aclose, cancellation) leaves nothing running, and a slow
consumer holds the pull back instead of letting it buffer the whole tree.

The sandbox runs in its own thread here, so the test's loop holds only the client's
tasks: "nothing left" is exactly ``asyncio.all_tasks() == {this test}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable

import pytest
from _regions_helpers import (
    SANDBOX_V2,
    ThreadedServer,
    acquired_connections,
    codes,
    make_client,
    other_tasks,
)

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox, make_app
from sehatmu_async.testing import SandboxHarness

VILLAGES = SANDBOX_V2["sub_districts"]


class Remote:
    def __init__(self, sandbox: Sandbox, client: SehatMuClient) -> None:
        self.sandbox = sandbox
        self.client = client

    @property
    def fetched(self) -> int:
        return self.sandbox.counters.by_route[VILLAGES]


@pytest.fixture
async def remote() -> AsyncIterator[Remote]:
    """The sandbox served from another thread, and a client for it."""
    sandbox = Sandbox()
    with ThreadedServer(make_app(sandbox)) as server:
        client = make_client(
            server.url, client_id=sandbox.client_id, client_secret=sandbox.client_secret
        )
        async with client:
            yield Remote(sandbox, client)


async def nothing_left(client: SehatMuClient, *, rounds: int = 10) -> None:
    """After a few loop iterations, only the test's task runs and no connection is out."""
    for _ in range(rounds):
        await asyncio.sleep(0)
    assert other_tasks() == set()
    assert acquired_connections(client) == 0


async def stays_at(count: Callable[[], int], seconds: float = 0.15) -> int:
    """The counter, checked not to move for ``seconds``."""
    before = count()
    await asyncio.sleep(seconds)
    assert count() == before
    return before


async def settled(count: Callable[[], int], quiet: float = 0.1, timeout: float = 5.0) -> int:
    """The counter once it has stopped moving for ``quiet`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = count()
    while loop.time() < deadline:
        await asyncio.sleep(quiet)
        if count() == value:
            return value
        value = count()
    raise AssertionError(f"still moving after {timeout} s: {value}")


async def no_more_fetches(remote: Remote) -> int:
    """Pages the sandbox saw, once requests already on the wire have arrived; then none."""
    await settled(lambda: remote.fetched)
    return await stays_at(lambda: remote.fetched, 0.2)


async def test_break_inside_aclosing(remote: Remote) -> None:
    got: list[str] = []
    stream = remote.client.regions.pull("sub_districts", limit=200, concurrency=8)
    async with contextlib.aclosing(stream):
        async for village in stream:
            got.append(village.code)
            if len(got) == 500:
                break
    await nothing_left(remote.client)
    assert len(set(got)) == 500
    assert set(got) <= codes("sub_districts")
    fetched = await no_more_fetches(remote)
    assert fetched <= 3 + 8 + 1  # the pages read, the workers' pages, one in between


async def test_explicit_aclose(remote: Remote) -> None:
    stream = remote.client.regions.pull("sub_districts", limit=100, concurrency=4)
    first = await stream.__anext__()
    assert first.code in codes("sub_districts")
    await stream.aclose()
    await nothing_left(remote.client)
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()
    await no_more_fetches(remote)


async def test_plain_break_then_collected(remote: Remote) -> None:
    stream = remote.client.regions.pull("sub_districts", limit=100, concurrency=8)
    n = 0
    async for _ in stream:
        n += 1
        if n == 250:
            break
    del stream
    gc.collect()
    await nothing_left(remote.client, rounds=20)
    fetched = await no_more_fetches(remote)
    assert fetched <= 3 + 8 + 1


async def test_unstarted_pull_sends_nothing(remote: Remote) -> None:
    stream = remote.client.regions.pull("sub_districts")
    await asyncio.sleep(0.05)
    del stream
    gc.collect()
    await nothing_left(remote.client)
    assert remote.sandbox.counters.requests == 0


@pytest.mark.parametrize("where", ["waiting for a page", "in the consumer's own await"])
async def test_cancelling_the_consuming_task(remote: Remote, where: str) -> None:
    remote.sandbox.faults.latency_ms = 5 if where == "waiting for a page" else 0
    got: list[str] = []
    enough = asyncio.Event()

    async def consume() -> None:
        async for village in remote.client.regions.pull("sub_districts", limit=50):
            got.append(village.code)
            if len(got) == 300:
                enough.set()
            if where == "in the consumer's own await":
                await asyncio.sleep(0.001)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(enough.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    del task
    gc.collect()
    await nothing_left(remote.client, rounds=20)
    fetched = await no_more_fetches(remote)
    assert len(set(got)) == len(got)
    assert fetched <= len(got) // 50 + 1 + 8 + 1


async def test_failed_pull_then_the_client_still_works(remote: Remote) -> None:
    # After an early exit the client's pool and token are intact for the next call.
    stream = remote.client.regions.pull("sub_districts", limit=100)
    async with contextlib.aclosing(stream):
        async for _ in stream:
            break
    got = await remote.client.regions.v1.provinces(["11"])
    assert [r.code for r in got] == ["11"]
    assert remote.sandbox.counters.token_requests == 1
    await nothing_left(remote.client)


# -- back-pressure -------------------------------------------------------------------------


async def test_slow_consumer_bounds_the_pages_fetched(sehatmu_sandbox: SandboxHarness) -> None:
    concurrency, limit = 4, 100
    counters = sehatmu_sandbox.counters
    permits = asyncio.Semaphore(0)
    got: list[str] = []

    async def consume() -> None:
        stream = sehatmu_sandbox.client.regions.pull(
            "sub_districts", limit=limit, concurrency=concurrency
        )
        async with contextlib.aclosing(stream):
            async for village in stream:
                got.append(village.code)
                await permits.acquire()  # one permit per region

    async def until(predicate: Callable[[], bool]) -> None:
        for _ in range(1000):
            if predicate():
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the consumer never got there")

    task = asyncio.create_task(consume())
    try:
        await until(lambda: len(got) == 1)
        # Paused on the first village: the workers may each fetch one page ahead, no more.
        paused = await settled(lambda: counters.by_route[VILLAGES])
        assert paused == await stays_at(lambda: counters.by_route[VILLAGES], 0.2)
        assert paused <= concurrency + 2
        assert paused < 838  # (the whole level would be 838 pages)
        for _ in range(250):
            permits.release()
        await until(lambda: len(got) == 251)
        # Three pages touched by the consumer, plus at most one waiting page per worker.
        paused = await settled(lambda: counters.by_route[VILLAGES])
        assert paused == await stays_at(lambda: counters.by_route[VILLAGES], 0.2)
        assert 3 <= paused <= 3 + concurrency + 1
        assert len(set(got)) == 251
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
