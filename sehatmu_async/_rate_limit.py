"""Request rate limiting: the protocol the pipeline calls before every send.

The pipeline calls :meth:`RateLimiter.acquire` before each request except the token
request (the token service has its own rule: see the token cache's cool-down), bounded
by the call's remaining time budget, and :meth:`RateLimiter.pause` when the platform
answers 429 with a ``Retry-After``, so every caller sharing the limiter holds back.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["RateLimiter"]


@runtime_checkable
class RateLimiter(Protocol):
    """Decides when the next request may go. Implementations must be safe to share."""

    async def acquire(self) -> None:
        """Wait until one more request may be sent now."""
        ...

    async def pause(self, seconds: float) -> None:
        """The platform asked everyone to wait ``seconds`` (a 429's ``Retry-After``)."""
        ...
