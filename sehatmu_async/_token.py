"""The access token and its pure decoder.

The platform's gateway (Apigee) sends every number as a string, ``issued_at`` in
epoch milliseconds and ``token_type: "BearerToken"``; an RFC 6749 server sends
integers and ``"Bearer"``. Both are accepted. Expiry is counted on the client's
monotonic clock from just before the request was sent: the server's
``issued_at`` is kept for display but not trusted against a skewed local clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from ._decoders import ResponseContext, decode_json, raise_for_embedded_error, shape_error

__all__ = ["AccessToken", "decode_token"]


def _hidden(_: object) -> str:
    return "'<hidden>'"


@attrs.frozen(slots=True)
class AccessToken:
    """An OAuth 2 access token. Its ``repr`` and ``str`` never show the token itself."""

    access_token: str = attrs.field(repr=_hidden)
    token_type: str
    #: Lifetime the server granted, in seconds.
    expires_in: float
    #: Monotonic-clock time at which the token stops being valid.
    expires_at: float
    #: Wall-clock estimate of the expiry, for display (``sehatmu token``).
    expires_at_utc: datetime
    #: The server's ``issued_at``, if it sent a readable one.
    issued_at: datetime | None = None
    scope: str | None = None

    def __str__(self) -> str:
        return repr(self)

    def authorization(self) -> str:
        """The ``Authorization`` header value."""
        return f"Bearer {self.access_token}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def decode_token(
    ctx: ResponseContext,
    headers: Mapping[str, str],
    body: bytes,
    *,
    requested_at: float,
    requested_at_utc: datetime | None = None,
) -> AccessToken:
    """Decode a 2xx token answer. ``requested_at`` is the monotonic time before sending."""
    obj = decode_json(ctx, headers, body)
    raise_for_embedded_error(ctx, obj, body)
    if not isinstance(obj, Mapping):
        raise shape_error(ctx, b"", "the token answer is not a JSON object")
    token = obj.get("access_token")
    if not isinstance(token, str) or not token.strip():
        raise shape_error(ctx, b"", "the token answer has no access_token")
    token_type = obj.get("token_type")
    if not isinstance(token_type, str) or not token_type:
        token_type = "Bearer"  # noqa: S105 (RFC 6749 default type)
    if token_type.lower() not in ("bearer", "bearertoken"):
        raise shape_error(ctx, b"", f"token_type {token_type!r} is not a bearer token")
    expires_in = _number(obj.get("expires_in"))
    if expires_in is None or expires_in <= 0:
        # A token with no usable lifetime would make every caller refresh forever.
        raise shape_error(ctx, b"", "the token answer has no positive expires_in")
    issued_ms = _number(obj.get("issued_at"))
    issued_at: datetime | None = None
    if issued_ms is not None:
        try:
            issued_at = datetime.fromtimestamp(issued_ms / 1000.0, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            issued_at = None
    scope = obj.get("scope")
    wall = requested_at_utc or datetime.now(timezone.utc)
    try:
        expires_at_utc = wall + timedelta(seconds=expires_in)
    except (OverflowError, ValueError):
        # e.g. "expires_in": "1e300": not a lifetime any clock can hold.
        raise shape_error(ctx, b"", "the token answer's expires_in is out of range") from None
    return AccessToken(
        access_token=token,
        token_type=token_type,
        expires_in=expires_in,
        expires_at=requested_at + expires_in,
        expires_at_utc=expires_at_utc,
        issued_at=issued_at,
        scope=scope if isinstance(scope, str) else None,
    )
