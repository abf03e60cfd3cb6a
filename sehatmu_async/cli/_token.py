"""``sehatmu token``: fetch a token and show its type and expiry, never the token."""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from ._connect import client_from_args

__all__ = ["show_token"]


def _shown_url(url: str) -> str:
    # A base URL with user:password@ in it would otherwise be echoed verbatim.
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host))


async def show_token(args: argparse.Namespace) -> int:
    client = client_from_args(args)
    async with client:
        token = await client.token()
    expires_at = token.expires_at_utc.astimezone(timezone.utc)
    remaining = (expires_at - datetime.now(timezone.utc)).total_seconds()
    lines = [
        f"base_url: {_shown_url(client.base_url)}",
        f"token_type: {token.token_type}",
        f"expires_at: {expires_at.isoformat(timespec='seconds')}",
        f"expires_in: {max(0, int(remaining))} s (granted {token.expires_in:g} s)",
    ]
    if token.issued_at is not None:
        lines.append(f"issued_at: {token.issued_at.isoformat(timespec='seconds')}")
    print("\n".join(lines), flush=True)
    return 0
