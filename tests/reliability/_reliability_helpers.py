"""Helpers of the reliability suite: a fast retry policy and task/connection checks."""

from __future__ import annotations

import asyncio

from sehatmu_async import RetryPolicy, SehatMuClient
from sehatmu_async.sandbox import Sandbox

#: Retries that ride out injected faults quickly: every loop stays bounded.
FAST_RETRIES = RetryPolicy(attempts=8, backoff_base=0.005, backoff_cap=0.05, total_timeout=20)


def client_for(sandbox: Sandbox, **settings: object) -> SehatMuClient:
    settings.setdefault("retry", FAST_RETRIES)
    return SehatMuClient(
        sandbox.client_id,
        sandbox.client_secret,
        base_url=sandbox.url,
        **settings,  # type: ignore[arg-type]
    )


async def settle() -> None:
    """Let finalizers and cancellations run: a few loop turns, no wall-clock sleep."""
    for _ in range(20):
        await asyncio.sleep(0)


def other_tasks() -> set[asyncio.Task[object]]:
    """Tasks still running besides the test itself and the sandbox server's own."""
    current = asyncio.current_task()
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current
        and not task.done()
        # The in-process sandbox keeps server-side keep-alive handlers: not the SDK's.
        and not task.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
    }


def acquired_connections(client: SehatMuClient) -> int:
    session = client._session
    if session is None or session.connector is None:
        return 0
    # aiohttp keeps connections handed to responses in ``_acquired``; a released
    # (closed or returned) response leaves none behind.
    return len(session.connector._acquired)


