"""Retry policy: which failures are retried, and how long to wait between attempts."""

from __future__ import annotations

import math
import random
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import attrs

from .errors import ConfigurationError

__all__ = ["RetryPolicy", "parse_retry_after"]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# RFC 9110 delta-seconds are digits; a fraction is tolerated, float()'s "1_000" or "inf" not.
_DELTA_SECONDS = re.compile(r"\d+(\.\d+)?")


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"RetryPolicy.{attribute.name} must be a finite number >= 0")


def _attempts(_: object, __: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 20:
        raise ConfigurationError("RetryPolicy.attempts must be an integer from 1 to 20")


@attrs.frozen(slots=True)
class RetryPolicy:
    """How the client retries requests that are safe to repeat.

    Retried: connection errors, timeouts, 429, 502, 503 and 504, for GET, the
    token request and PATCH. A Patient create is retried only when it provably
    never left the machine (connection refused, DNS failure).

    ``attempts`` counts the first try. Waits use exponential backoff with full
    jitter, ``uniform(0, min(backoff_cap, backoff_base * 2**n))``; a server's
    ``Retry-After`` replaces that wait when it is at most ``retry_after_cap``
    (a longer one is not waited out: the error is raised with ``retry_after``).
    ``total_timeout`` bounds one call, all attempts and waits together.
    """

    attempts: int = attrs.field(default=3, validator=_attempts)
    backoff_base: float = attrs.field(default=0.5, validator=_positive)
    backoff_cap: float = attrs.field(default=8.0, validator=_positive)
    retry_after_cap: float = attrs.field(default=30.0, validator=_positive)
    total_timeout: float = attrs.field(default=30.0, validator=_positive)

    @staticmethod
    def retryable_status(status: int) -> bool:
        return status in _RETRY_STATUSES

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """Full-jitter wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (retry_number - 1)))
        return (rng or random).uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns None for a missing or unreadable value; never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
