"""Issued access tokens, their expiry, revocation and periodic revocation."""

from __future__ import annotations

import enum
import secrets
import string
from collections.abc import Callable

import attrs

_ALPHABET = string.ascii_letters + string.digits
# Past this many remembered tokens, forget the expired ones; an expired token then
# reads as "invalid" rather than "expired", which is still a 401.
_PRUNE_ABOVE = 10_000


class TokenState(enum.Enum):
    VALID = "valid"
    INVALID = "invalid"
    EXPIRED = "expired"


@attrs.define(eq=False)
class TokenStore:
    """Tokens keyed by value; expiry is on ``clock`` (monotonic by default, injectable)."""

    clock: Callable[[], float]
    _expiry: dict[str, float] = attrs.field(factory=dict, repr=False)
    _next_revocation: float | None = None

    def issue(self, ttl_s: float) -> str:
        now = self.clock()
        if len(self._expiry) > _PRUNE_ABOVE:
            self._expiry = {t: exp for t, exp in self._expiry.items() if exp > now}
        # Apigee tokens look like 28 alphanumerics (k8JIDROZHfXjmUcQJE62lMqQwlLU).
        token = "".join(secrets.choice(_ALPHABET) for _ in range(28))
        self._expiry[token] = now + ttl_s
        return token

    def check(self, token: str) -> TokenState:
        expiry = self._expiry.get(token)
        if expiry is None:
            return TokenState.INVALID
        if self.clock() >= expiry:
            return TokenState.EXPIRED
        return TokenState.VALID

    def revoke_all(self) -> None:
        self._expiry.clear()

    def tick(self, revoke_every_s: float | None) -> None:
        """Apply periodic revocation, lazily, on each request.

        Revoking when a request arrives and a period boundary has passed since the last
        one is indistinguishable, for any client, from a timer firing at the boundary,
        and it follows the injectable clock with no task to start or cancel.
        """
        if revoke_every_s is None or revoke_every_s <= 0:
            self._next_revocation = None
            return
        now = self.clock()
        due = self._next_revocation
        if due is None:
            self._next_revocation = now + revoke_every_s
            return
        if now >= due:
            self.revoke_all()
            missed = int((now - due) // revoke_every_s) + 1
            self._next_revocation = due + missed * revoke_every_s
