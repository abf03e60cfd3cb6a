"""Running a command's coroutine so that Ctrl-C and SIGTERM end it cleanly.

A signal cancels the command's task instead of raising ``KeyboardInterrupt`` at some
random line: cancellation unwinds every ``async with``/``finally`` (the client closes,
a half-written output file is deleted) before the process exits.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["Interrupted", "run"]


class Interrupted(Exception):
    """The command was stopped by SIGINT or SIGTERM; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


async def _supervise(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(main())
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signum = int(sig)
        try:
            loop.add_signal_handler(signum, stop, signum)
        except (NotImplementedError, RuntimeError, ValueError):
            continue  # Windows, or not the main thread: Ctrl-C stays a KeyboardInterrupt
        installed.append(signum)
    try:
        return await task
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def run(main: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run ``main()`` in a fresh event loop; raise :class:`Interrupted` on a signal."""
    return asyncio.run(_supervise(main))
