"""The one exception-group unwrapper: task groups (anyio 4 always) wrap what they raise.

Used by the bulk pull, which re-raises the first real failure of its workers, and by
the CLI, which turns a failure into one line.
"""

from __future__ import annotations

import asyncio

__all__ = ["first_failure"]


def _is_cancellation(exc: BaseException) -> bool:
    # anyio's cancellation on asyncio is asyncio's; asking anyio needs a running loop,
    # and the CLI unwraps after the loop has ended.
    return isinstance(exc, asyncio.CancelledError)


def first_failure(exc: BaseException) -> BaseException:
    """The first failure inside ``exc`` that is not a cancellation (``exc`` itself if flat).

    A group of only cancellations yields its first leaf: the caller re-raises a
    cancellation rather than inventing a failure.
    """
    inner = getattr(exc, "exceptions", None)
    if not inner:
        return exc
    for child in inner:
        leaf = first_failure(child)
        if not _is_cancellation(leaf):
            return leaf
    return first_failure(inner[0])
