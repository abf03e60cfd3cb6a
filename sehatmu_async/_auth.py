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

**Shared with a fleet** (``store=``, a :class:`~sehatmu_async.TokenStore` such as
``RedisTokenStore``): the fast path and both windows stay in this process — a cached
token is returned without touching the store — and only the renewal (one task per
process, as above) goes through the store:

1. After a 401, the refused token is dropped from the store only if it is still the
   shared one (compare-and-delete), so a late 401 never throws away a fresh token.
2. Read the shared state. A token other than ours (and not the refused one) with more
   than the hard lead left: adopt it, no request. A shared cool-down in force: raise
   its failure at once (typed, from its class name, status and message).
3. Nobody renewing: take the lock (``SET NX PX``), and as the holder send the one token
   request of the fleet, extending the lock every third of its TTL while it runs;
   publish the token (or record the failure and its cool-down) and release the lock in
   one atomic step. A holder killed with SIGKILL stops extending: its lock expires after
   ``lock_ttl`` and the next process takes over, so nothing wedges.
4. Somebody else renewing: in the soft window keep the still-valid token and look
   again a second later; otherwise poll the store (20 ms, growing by half to 200 ms,
   each jittered ±50 %, so a fleet does not poll in step) until the new token, a
   failure, or a free lock appears. Polling rather than pub/sub: it needs no second
   connection per process, survives a missed message or a Redis restart, and costs a
   few small reads once an hour; the poll cap bounds how late a waiter learns of the
   new token.

The store never makes a call fail: a store error or a call slower than
``store_timeout`` logs ONE warning, the process renews on its own (exactly as without a
store) and says nothing more until the store answers again (probed at the next renewal,
at most every ``store_retry`` seconds), when it logs that it is back and shares again.

The renewal runs in its own task and callers wait on it through
``asyncio.shield``, so a cancelled caller cancels only its own wait: the cache is
never wedged and a failure is never stored. Both windows shrink for short-lived
tokens (to at most half and a quarter of the lifetime) so a token that arrives
already "inside the window" cannot cause a renewal loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import TypeVar

import attrs

from ._token import AccessToken
from ._token_store import SharedFailure, SharedToken, TokenStore, TokenStoreState, scope_key
from .errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)

__all__ = ["TokenCache"]

logger = logging.getLogger("sehatmu_async")

#: Called with the monotonic time taken just before the token request is sent.
TokenFetcher = Callable[[float], Awaitable[AccessToken]]

_T = TypeVar("_T")
_TOKEN_PATH = "/oauth2/v1/accesstoken"  # noqa: S105 (a path, not a secret)
# Waiting for another process's renewal: first poll, growth, cap (seconds).
_POLL_FIRST, _POLL_GROWTH, _POLL_CAP = 0.02, 1.5, 0.2
# In the soft window, while another process renews: look again after this long.
_SOFT_RECHECK = 1.0
# Rebuilt from a store's failure record by class name: only the SDK's own errors.
_ERRORS: dict[str, type[APIError]] = {
    cls.__name__: cls
    for cls in (APIError, AuthenticationError, PermissionDeniedError, RateLimitError, ServerError)
}


async def _bounded(call: Callable[[], Awaitable[_T]], timeout: float) -> _T:
    """``await call()``, or ``TimeoutError`` after ``timeout`` seconds.

    Not ``asyncio.wait_for``: before Python 3.12 it swallows a cancellation that arrives
    as the awaited call completes, and a cancelled renewal (``aclose()``) would then go
    on to send its token request.
    """
    task = asyncio.ensure_future(call())
    # A call abandoned here may still fail later: mark its exception retrieved.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise TimeoutError(f"the token store did not answer within {timeout:g} s")
    return task.result()


class _StoreDown(Exception):
    """Internal: the store failed or was skipped; renew without it."""


class _SharedCooldown(Exception):
    """Internal: the fleet is cooling down after another process's failure."""

    def __init__(self, error: Exception, ttl: float, failures: int) -> None:
        super().__init__("shared cool-down")
        self.error = error
        self.ttl = ttl
        self.failures = failures


class _KeepCurrent(Exception):
    """Internal: a soft-window renewal found another process renewing; keep ours."""


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
        store: TokenStore | None = None,
        store_scope: tuple[str, str] | None = None,
        store_timeout: float = 2.0,
        store_retry: float = 5.0,
    ) -> None:
        if store is not None and not isinstance(store, TokenStore):
            raise ConfigurationError(
                "token_store must be a TokenStore (e.g. RedisTokenStore(redis) or "
                "MemoryTokenStore())"
            )
        for name, value in (
            ("failure_cooldown", failure_cooldown),
            ("store_timeout", store_timeout),
            ("store_retry", store_retry),
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
        # -- fleet (store) state; unused without a store
        self._store = store
        base_url, client_id = store_scope or ("", "")
        self._key = scope_key(base_url, client_id)
        self._token_url = base_url + _TOKEN_PATH
        self._store_timeout = float(store_timeout)
        self._store_retry = float(store_retry)
        self._store_down = False
        self._store_skip_until = float("-inf")
        #: The access token a 401 refused, to drop from the store at the next renewal.
        self._refused: str | None = None
        #: Soft window, another process renewing: no new look before this time.
        self._recheck_at = float("-inf")

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
                if self._inflight is None and now >= self._retry_at and now >= self._recheck_at:
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
            if self._store is not None:
                self._refused = token.access_token

    async def aclose(self) -> None:
        self._closed = True
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _start(self, *, background: bool) -> asyncio.Task[AccessToken]:
        requested_at = self._clock()
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
        current = self._entry.token if self._entry is not None else None
        try:
            if self._store is None:
                token = await self._request(requested_at)
            else:
                token = await self._renew_shared(requested_at, background)
        except asyncio.CancelledError:
            raise
        except _KeepCurrent:
            self._recheck_at = self._clock() + _SOFT_RECHECK * (0.5 + self._rng.random())
            if current is None:  # pragma: no cover (only soft-window renewals keep)
                raise TransportError("no access token") from None
            return current
        except _SharedCooldown as shared:
            self._failures = shared.failures
            self._retry_at = self._clock() + shared.ttl
            self._failure = shared.error
            if current is not None and self._clock() < current.expires_at:
                # Another process failed; nobody asked for us: the valid token still works.
                return current
            raise shared.error from None
        except Exception as exc:
            self._cool_down(exc, background)
            raise
        finally:
            if self._inflight is asyncio.current_task():
                self._inflight = None
        self._keep(token)
        return token

    async def _request(self, requested_at: float) -> AccessToken:
        self.fetches += 1
        return await self._fetch(requested_at)

    # -- the fleet -----------------------------------------------------------------

    async def _renew_shared(self, requested_at: float, background: bool) -> AccessToken:
        """One process's renewal through the store (see the module docstring)."""
        try:
            return await self._renew_through_store(background)
        except _StoreDown:
            # Without the store, exactly as without one (the holder never gets here
            # after its own request: store errors after it are swallowed).
            return await self._request(self._clock())

    async def _renew_through_store(self, background: bool) -> AccessToken:
        store, key = self._store, self._key
        assert store is not None
        refused = self._refused
        if refused is not None:
            await self._call_store(lambda: store.discard(key, refused))
            if self._refused == refused:
                self._refused = None
        poll = _POLL_FIRST
        deadline = self._clock() + 2 * store.lock_ttl + 30.0
        while True:
            state, adopted = await self._shared_state(refused)
            if adopted is not None:
                return adopted
            if not state.renewing:
                owner = secrets.token_hex(16)
                try:
                    locked = await self._call_store(functools.partial(store.lock, key, owner))
                except asyncio.CancelledError:
                    await self._release(owner)  # it may have been taken before the cancel
                    raise
                if locked:
                    return await self._renew_as_holder(owner, refused)
            if background and self._entry is not None:
                raise _KeepCurrent
            if self._clock() >= deadline:
                raise _StoreDown  # waited longer than any renewal takes: go alone
            await asyncio.sleep(poll * (0.5 + self._rng.random()))
            poll = min(_POLL_CAP, poll * _POLL_GROWTH)

    async def _shared_state(
        self, refused: str | None
    ) -> tuple[TokenStoreState, AccessToken | None]:
        """The store's state and its token if this process may use it; raises the shared
        cool-down's error while one runs and there is no usable token."""
        store, key = self._store, self._key
        assert store is not None
        state = await self._call_store(lambda: store.load(key))
        adopted = self._adoptable(state, refused)
        if adopted is None:
            cooling = self._shared_cooldown(state)
            if cooling is not None:
                raise cooling
        return state, adopted

    def _shared_cooldown(self, state: TokenStoreState) -> _SharedCooldown | None:
        failure = state.failure
        if failure is None or failure.ttl <= 0:
            return None
        error = replay_error(self._error_from(failure), failure.ttl)
        return _SharedCooldown(error, failure.ttl, failure.failures)

    def _adoptable(self, state: TokenStoreState, refused: str | None) -> AccessToken | None:
        shared = state.token
        if shared is None or shared.access_token == refused:
            return None
        entry = self._entry
        if entry is not None and entry.token.access_token == shared.access_token:
            return None  # ours: it is the one being renewed
        if shared.ttl <= min(self._hard_window, shared.expires_in * 0.25):
            return None  # about to expire: renew instead
        now = self._clock()
        issued = None
        if shared.issued_at is not None:
            with contextlib.suppress(OverflowError, OSError, ValueError):
                issued = datetime.fromtimestamp(shared.issued_at, tz=timezone.utc)
        return AccessToken(
            access_token=shared.access_token,
            token_type=shared.token_type,
            expires_in=shared.expires_in,
            expires_at=now + shared.ttl,
            expires_at_utc=datetime.now(timezone.utc) + timedelta(seconds=shared.ttl),
            issued_at=issued,
            scope=shared.scope,
        )

    async def _renew_as_holder(self, owner: str, refused: str | None) -> AccessToken:
        store, key = self._store, self._key
        assert store is not None
        heartbeat = asyncio.get_running_loop().create_task(self._extend_lock(owner))
        published = False
        try:
            # A renewal may have ended between the last read and this lock.
            state, adopted = await self._shared_state(refused)
            if adopted is not None:
                return adopted
            requested_at = self._clock()
            try:
                token = await self._request(requested_at)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                shared_failures = state.failure.failures if state.failure is not None else 0
                self._failures = max(self._failures, shared_failures)
                delay = self._cooldown_for(exc, self._failures + 1)
                record = SharedFailure(
                    error=type(exc).__name__,
                    message=str(exc),
                    status=getattr(exc, "status", None),
                    request_id=getattr(exc, "request_id", None),
                    failures=self._failures + 1,
                    ttl=delay,
                )
                with contextlib.suppress(_StoreDown):
                    await self._call_store(lambda: store.record_failure(key, owner, record))
                    published = True
                raise
            shared = SharedToken(
                access_token=token.access_token,
                token_type=token.token_type,
                expires_in=token.expires_in,
                ttl=token.expires_at - self._clock(),
                scope=token.scope,
                issued_at=token.issued_at.timestamp() if token.issued_at is not None else None,
            )
            if shared.ttl > 0:
                with contextlib.suppress(_StoreDown):
                    await self._call_store(lambda: store.publish(key, owner, shared))
                    published = True
            return token
        finally:
            heartbeat.cancel()
            if not published:
                await self._release(owner)

    async def _release(self, owner: str) -> None:
        """Free ``owner``'s lock if the store answers; if not, it expires after lock_ttl."""
        store = self._store
        if store is None or self._clock() < self._store_skip_until:
            return
        with contextlib.suppress(BaseException):
            await _bounded(functools.partial(store.unlock, self._key, owner), self._store_timeout)

    async def _extend_lock(self, owner: str) -> None:
        store = self._store
        assert store is not None
        while True:
            await asyncio.sleep(store.lock_ttl / 3)
            try:
                held = await _bounded(
                    functools.partial(store.lock, self._key, owner), self._store_timeout
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                return  # the lock then expires and another process renews
            if not held:
                return

    async def _call_store(self, call: Callable[[], Awaitable[_T]]) -> _T:
        """One store call, bounded in time; any failure becomes :class:`_StoreDown`."""
        if self._clock() < self._store_skip_until:
            raise _StoreDown
        try:
            result = await _bounded(call, self._store_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a call never fails because of the store
            self._store_skip_until = self._clock() + self._store_retry
            if not self._store_down:
                self._store_down = True
                logger.warning(
                    "token store unavailable (%s: %.200s); this process renews its access "
                    "token on its own meanwhile",
                    type(exc).__name__,
                    exc,
                )
            raise _StoreDown from None
        if self._store_down:
            self._store_down = False
            logger.info("token store is back; the access token is shared again")
        return result

    def _error_from(self, failure: SharedFailure) -> Exception:
        """Another process's failure, as the error this process would have raised."""
        cls = _ERRORS.get(failure.error)
        message = failure.message or "the token request failed in another process"
        if cls is None:
            return TransportError(message, method="POST", url=self._token_url)
        return cls(
            message,
            status=failure.status or 0,
            method="POST",
            url=self._token_url,
            request_id=failure.request_id,
        )

    def _keep(self, token: AccessToken) -> None:
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
        self._recheck_at = float("-inf")

    # -- failures ------------------------------------------------------------------

    def _cooldown_for(self, exc: Exception, failures: int) -> float:
        """Seconds without token requests after ``exc``, the ``failures``-th in a row."""
        if isinstance(exc, AuthenticationError):
            # A refused secret does not heal by asking again; the platform counts it.
            return self._failure_cooldown
        delay = min(
            float(self._renew_backoff_cap),
            float(self._renew_backoff) * 2.0 ** (failures - 1),
        )
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay

    def _cool_down(self, exc: Exception, background: bool) -> None:
        self._failures += 1
        delay = self._cooldown_for(exc, self._failures)
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
