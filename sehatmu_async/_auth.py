"""The access-token cache shared by every call of one client.

Design, in the order a caller meets it:

* **Fast path** (no lock, no await on anything shared): a cached token before its
  soft deadline is returned as is.
* **Soft window** (default 300 s before expiry, jittered so a fleet of workers
  does not renew in the same second): the first caller starts one background
  renewal and everybody keeps using the still-valid token. A failed background
  renewal is logged and retried after a back-off; it is never raised.
* **Hard window** (default 60 s before expiry) or no token: callers wait for the
  one renewal in flight (single flight) and its failure is raised to them.

The renewal runs in its own task and callers wait on it through
``asyncio.shield``, so a cancelled caller cancels only its own wait: the cache is
never wedged and a failure is never stored. Both windows shrink for short-lived
tokens (to at most half and a quarter of the lifetime) so a token that arrives
already "inside the window" cannot cause a renewal loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import attrs

from ._token import AccessToken
from .errors import ConfigurationError, TransportError

__all__ = ["TokenCache"]

logger = logging.getLogger("sehatmu_async")

#: Called with the monotonic time taken just before the token request is sent.
TokenFetcher = Callable[[float], Awaitable[AccessToken]]


@attrs.frozen(slots=True)
class _Entry:
    token: AccessToken
    soft_at: float
    hard_at: float


class TokenCache:
    """Single-flight, early-renewing cache of one client's access token."""

    def __init__(
        self,
        fetch: TokenFetcher,
        *,
        clock: Callable[[], float] = time.monotonic,
        soft_window: float = 300.0,
        hard_window: float = 60.0,
        jitter: float = 0.2,
        renew_backoff: float = 1.0,
        renew_backoff_cap: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 <= hard_window <= soft_window:
            raise ConfigurationError("token windows need 0 <= hard_window <= soft_window")
        if not 0 <= jitter < 1:
            raise ConfigurationError("token window jitter must be in [0, 1)")
        self._fetch = fetch
        self._clock = clock
        self._soft_window = soft_window
        self._hard_window = hard_window
        self._jitter = jitter
        self._renew_backoff = renew_backoff
        self._renew_backoff_cap = renew_backoff_cap
        self._rng = rng or random.Random()
        self._entry: _Entry | None = None
        self._inflight: asyncio.Task[AccessToken] | None = None
        self._soft_failures = 0
        self._soft_retry_at = float("-inf")
        #: How many token requests this cache started (a request retried inside counts once).
        self.fetches = 0
        self._closed = False

    def __repr__(self) -> str:
        state = "empty" if self._entry is None else "holding a token"
        return f"<TokenCache {state}>"

    @property
    def current(self) -> AccessToken | None:
        """The cached token, without renewing it."""
        return self._entry.token if self._entry is not None else None

    async def get(self) -> AccessToken:
        entry = self._entry
        if entry is not None:
            now = self._clock()
            if now < entry.soft_at:
                return entry.token
            if now < entry.hard_at:
                if self._inflight is None and now >= self._soft_retry_at:
                    self._start(background=True)
                return entry.token
        task = self._inflight or self._start(background=False)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if self._closed and task.cancelled():
                # aclose() stopped the renewal; this caller was not cancelled itself.
                raise TransportError(
                    "the client was closed while waiting for an access token"
                ) from None
            raise

    def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after the server refused it, unless it was already replaced.

        Comparing identity keeps two callers that saw the same stale token from
        throwing away the fresh one the first of them fetched.
        """
        entry = self._entry
        if entry is not None and entry.token is token:
            self._entry = None

    async def aclose(self) -> None:
        self._closed = True
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _start(self, *, background: bool) -> asyncio.Task[AccessToken]:
        requested_at = self._clock()
        self.fetches += 1
        task = asyncio.get_running_loop().create_task(self._renew(requested_at, background))
        self._inflight = task
        task.add_done_callback(self._forget_task)
        return task

    def _forget_task(self, task: asyncio.Task[AccessToken]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            # Mark the exception retrieved: every waiter may have been cancelled.
            task.exception()

    async def _renew(self, requested_at: float, background: bool) -> AccessToken:
        try:
            token = await self._fetch(requested_at)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if background:
                self._soft_failures += 1
                delay = min(
                    self._renew_backoff_cap,
                    self._renew_backoff * 2 ** (self._soft_failures - 1),
                )
                self._soft_retry_at = self._clock() + delay
                logger.warning(
                    "access token renewal failed (%s: %s); the current token stays in use, "
                    "next try in %.1f s",
                    type(exc).__name__,
                    exc,
                    delay,
                )
            raise
        finally:
            if self._inflight is asyncio.current_task():
                self._inflight = None
        self._store(token)
        return token

    def _store(self, token: AccessToken) -> None:
        lifetime = token.expires_in
        soft_lead = min(self._soft_window, lifetime * 0.5)
        soft_lead *= 1.0 - self._jitter * self._rng.random()
        hard_lead = min(self._hard_window, lifetime * 0.25, soft_lead)
        self._entry = _Entry(
            token=token,
            soft_at=token.expires_at - soft_lead,
            hard_at=token.expires_at - hard_lead,
        )
        self._soft_failures = 0
        self._soft_retry_at = float("-inf")
