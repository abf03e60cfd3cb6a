"""Where a client's access token is shared: the :class:`TokenStore` protocol.

A store holds, per *scope* (one base URL and client id; the scope key is a hash, so no
client id appears in it), the state a fleet of processes must agree on:

* the current token and how many seconds it has left (never the client secret);
* the renewal lock, so one process at a time sends the token request;
* the last failure and its cool-down, so nobody asks again before it ends.

The token cache (``_auth.py``) runs the fleet algorithm on these primitives; a store only
has to make each one atomic. Time is exchanged as *seconds left*, never as timestamps, so
processes on different machines need no synchronised clocks (Redis keeps the TTLs).

:class:`MemoryTokenStore` keeps that state in this process: give one instance to several
clients in one process and they share a token. Without any store (the default) each
client keeps its own token, as it always did. ``RedisTokenStore`` (``_redis_store.py``)
shares it between processes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import attrs

__all__ = [
    "MemoryTokenStore",
    "SharedFailure",
    "SharedToken",
    "TokenStore",
    "TokenStoreState",
    "scope_key",
]


def _hidden(_: object) -> str:
    return "'<hidden>'"


def scope_key(base_url: str, client_id: str) -> str:
    """The store key of one base URL and client id: a hash, so the id is not readable."""
    digest = hashlib.sha256(f"sehatmu-token\n{base_url}\n{client_id}".encode())
    return digest.hexdigest()[:32]


@attrs.frozen(slots=True)
class SharedToken:
    """A token as a store keeps it. ``ttl``: seconds of validity left when read."""

    access_token: str = attrs.field(repr=_hidden)
    token_type: str
    #: The lifetime the server granted, in seconds.
    expires_in: float
    ttl: float
    scope: str | None = None
    #: The server's ``issued_at``, in epoch seconds, if it sent one.
    issued_at: float | None = None


@attrs.frozen(slots=True)
class SharedFailure:
    """The last failed token request of the fleet, as a store keeps it.

    ``ttl`` is the cool-down left in seconds (0 once it is over: the count of failures
    in a row is kept a while longer so the back-off keeps growing). The texts are the
    SDK's own error message, which never holds a secret.
    """

    #: The error's class name, e.g. ``"AuthenticationError"``.
    error: str
    message: str
    status: int | None
    request_id: str | None
    #: Token requests that failed in a row, fleet-wide.
    failures: int
    ttl: float


@attrs.frozen(slots=True)
class TokenStoreState:
    """One read of a scope: token, failure, and whether a renewal is in progress."""

    token: SharedToken | None = None
    failure: SharedFailure | None = None
    renewing: bool = False


@runtime_checkable
class TokenStore(Protocol):
    """Shared token state, one *scope* per base URL and client id.

    Every method is atomic on its own. A store never raises for "not found"; any
    exception it raises (connection refused, timeout) makes the client go on with its
    own in-memory cache until the store answers again.
    """

    #: Seconds a renewal lock lives unless its holder extends it: the longest a killed
    #: holder can keep the others waiting.
    lock_ttl: float

    async def load(self, key: str) -> TokenStoreState:
        """The scope's token, failure and lock state."""
        ...

    async def lock(self, key: str, owner: str) -> bool:
        """Take the renewal lock for ``lock_ttl`` (or extend it if ``owner`` holds it)."""
        ...

    async def unlock(self, key: str, owner: str) -> None:
        """Release the lock if ``owner`` still holds it."""
        ...

    async def publish(self, key: str, owner: str, token: SharedToken) -> None:
        """Store ``token`` for ``token.ttl`` seconds, forget failures, release ``owner``'s lock."""
        ...

    async def record_failure(self, key: str, owner: str, failure: SharedFailure) -> None:
        """Store ``failure`` for its cool-down (``failure.ttl``), release ``owner``'s lock."""
        ...

    async def discard(self, key: str, access_token: str) -> bool:
        """Drop the token only if it is still ``access_token`` (after a 401)."""
        ...


# How long the count of failures in a row outlives a cool-down.
FAILURE_MEMORY = 300.0


@attrs.define(slots=True)
class _Scope:
    token: SharedToken | None = None
    token_until: float = 0.0
    failure: SharedFailure | None = None
    failure_until: float = 0.0
    failures_until: float = 0.0
    owner: str | None = None
    lock_until: float = 0.0


class MemoryTokenStore:
    """A :class:`TokenStore` in this process's memory (one event loop).

    Pass the same instance to several clients with the same credentials to share one
    token and one renewal between them; across processes use ``RedisTokenStore``.
    """

    def __init__(
        self, *, lock_ttl: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lock_ttl = lock_ttl
        self._clock = clock
        self._scopes: dict[str, _Scope] = {}

    def __repr__(self) -> str:
        return f"<MemoryTokenStore scopes={len(self._scopes)}>"

    def _scope(self, key: str) -> _Scope:
        return self._scopes.setdefault(key, _Scope())

    async def load(self, key: str) -> TokenStoreState:
        s = self._scope(key)
        now = self._clock()
        token = None
        if s.token is not None and now < s.token_until:
            token = attrs.evolve(s.token, ttl=s.token_until - now)
        failure = None
        if s.failure is not None and now < s.failures_until:
            failure = attrs.evolve(s.failure, ttl=max(0.0, s.failure_until - now))
        renewing = s.owner is not None and now < s.lock_until
        return TokenStoreState(token=token, failure=failure, renewing=renewing)

    async def lock(self, key: str, owner: str) -> bool:
        s = self._scope(key)
        now = self._clock()
        if s.owner is None or s.owner == owner or now >= s.lock_until:
            s.owner = owner
            s.lock_until = now + self.lock_ttl
            return True
        return False

    async def unlock(self, key: str, owner: str) -> None:
        s = self._scope(key)
        if s.owner == owner:
            s.owner = None

    async def publish(self, key: str, owner: str, token: SharedToken) -> None:
        s = self._scope(key)
        s.token = token
        s.token_until = self._clock() + token.ttl
        s.failure = None
        await self.unlock(key, owner)

    async def record_failure(self, key: str, owner: str, failure: SharedFailure) -> None:
        s = self._scope(key)
        now = self._clock()
        s.failure = failure
        s.failure_until = now + failure.ttl
        s.failures_until = now + failure.ttl + FAILURE_MEMORY
        await self.unlock(key, owner)

    async def discard(self, key: str, access_token: str) -> bool:
        s = self._scope(key)
        if s.token is not None and s.token.access_token == access_token:
            s.token = None
            return True
        return False
