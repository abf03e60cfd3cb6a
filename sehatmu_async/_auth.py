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
* **After a failure, a cool-down** (single flight holds for failures too): the
  platform's token service accepts one request a minute after a failed attempt, so
  a refused secret (:class:`AuthenticationError`) stops token requests for
  ``failure_cooldown`` seconds (60 by default) and a 5xx, network or unreadable
  answer for a short back-off that doubles on each failure in a row (1, 2, 4 … s,
  at most ``renew_backoff_cap``; a 429's ``Retry-After`` is honoured). During it no
  caller starts a token request: a still-valid token is handed out, and a caller
  with none gets a copy of the failure at once (same type, status and message,
  plus how long the pause lasts), never a queue of doomed requests.

The renewal runs in its own task and callers wait on it through
``asyncio.shield``, so a cancelled caller cancels only its own wait: the cache is
never wedged and a failure is never stored. Both windows shrink for short-lived
tokens (to at most half and a quarter of the lifetime) so a token that arrives
already "inside the window" cannot cause a renewal loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable

import attrs

from ._token import AccessToken
from .errors import AuthenticationError, ConfigurationError, RateLimitError, TransportError

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
        failure_cooldown: float = 60.0,
        rng: random.Random | None = None,
    ) -> None:
        for name, value in (
            ("failure_cooldown", failure_cooldown),
            ("renew_backoff", renew_backoff),
            ("renew_backoff_cap", renew_backoff_cap),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigurationError(f"{name} must be a number of seconds >= 0")
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
        self._failure_cooldown = float(failure_cooldown)
        self._rng = rng or random.Random()
        self._entry: _Entry | None = None
        self._inflight: asyncio.Task[AccessToken] | None = None
        #: Token requests that failed in a row (reset by a success).
        self._failures = 0
        #: No token request before this time (the cool-down after a failure).
        self._retry_at = float("-inf")
        #: The failure behind the cool-down, replayed to callers with no token.
        self._failure: Exception | None = None
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
                if self._inflight is None and now >= self._retry_at:
                    self._start(background=True)
                return entry.token
        task = self._inflight
        if task is None:
            now = self._clock()
            if now < self._retry_at:
                # Cooling down after a failure: nobody sends a token request now.
                if entry is not None and now < entry.token.expires_at:
                    return entry.token
                raise self._replay(now)
            task = self._start(background=False)
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
            self._cool_down(exc, background)
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
        self._failures = 0
        self._retry_at = float("-inf")
        self._failure = None

    # -- failures ------------------------------------------------------------------

    def _cooldown_for(self, exc: Exception) -> float:
        """Seconds without token requests after ``exc`` (the ``_failures``-th in a row)."""
        if isinstance(exc, AuthenticationError):
            # A refused secret does not heal by asking again; the platform counts it.
            return self._failure_cooldown
        delay = min(
            float(self._renew_backoff_cap),
            float(self._renew_backoff) * 2.0 ** (self._failures - 1),
        )
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay

    def _cool_down(self, exc: Exception, background: bool) -> None:
        self._failures += 1
        delay = self._cooldown_for(exc)
        self._retry_at = self._clock() + delay
        self._failure = exc
        if background:
            logger.warning(
                "access token renewal failed (%s: %s); the current token stays in use, "
                "next try in %.1f s",
                type(exc).__name__,
                exc,
                delay,
            )
        else:
            # Raised to the callers: not a warning of its own (the CLI would print it twice).
            logger.info(
                "access token request failed (%s: %s); no new token request for %.1f s",
                type(exc).__name__,
                exc,
                delay,
            )

    def _replay(self, now: float) -> Exception:
        """A fresh copy of the failure behind the cool-down, saying how long it lasts.

        A copy, not the same object: re-raising one exception from many callers would
        chain every caller's traceback onto it.
        """
        failure = self._failure
        wait = max(0.0, self._retry_at - now)
        if failure is None:  # pragma: no cover (the two are always set together)
            return TransportError(f"no access token: token requests resume in {wait:.1f} s")
        return replay_error(failure, wait)


def replay_error(failure: Exception, wait: float) -> Exception:
    """``failure`` again, for a caller that arrived during its cool-down."""
    # Not copy.copy: it calls the class with ``args`` only, which APIError refuses.
    clone = type(failure).__new__(type(failure))
    clone.__dict__.update(failure.__dict__)
    clone.args = failure.args
    clone.__suppress_context__ = True
    if isinstance(failure, AuthenticationError):
        note = (
            f"no new token request for {wait:.0f} s: the platform accepts one a minute after "
            "a refused attempt"
        )
    else:
        note = f"the last token request failed; the next one is allowed in {wait:.1f} s"
    message = getattr(failure, "message", None)
    if isinstance(message, str):
        clone.message = f"{message} ({note})"  # type: ignore[attr-defined]
        clone.args = (clone.message,)  # type: ignore[attr-defined]
    return clone
