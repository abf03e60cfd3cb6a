"""``sehatmu token``: type and expiry of a fresh token, never the token or the credentials."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from _cli_helpers import run_cli, sandbox_env

from sehatmu_async import SehatMuClient
from sehatmu_async.sandbox import Sandbox

# The sandbox's tokens are 28 letters and digits, like Apigee's.
TOKEN_LIKE = re.compile(r"[A-Za-z0-9]{28}")


async def test_token_shows_expiry_but_not_the_token(sandbox: Sandbox) -> None:
    sandbox.faults.token_ttl_s = 1800
    async with SehatMuClient(sandbox.client_id, sandbox.client_secret, base_url=sandbox.url) as c:
        parallel = (await c.token()).access_token
    before = datetime.now(timezone.utc)
    result = await run_cli("token", env=sandbox_env(sandbox))
    assert result.code == 0, result.err
    assert result.err == ""
    result.assert_no_escapes()
    result.assert_clean(sandbox.client_secret, sandbox.client_id, parallel)
    assert not TOKEN_LIKE.search(result.text)
    assert sandbox.counters.token_requests == 2  # the parallel client's and the CLI's

    fields = dict(line.split(": ", 1) for line in result.text.splitlines())
    assert set(fields) == {"base_url", "token_type", "expires_at", "expires_in", "issued_at"}
    assert fields["base_url"] == sandbox.url
    assert fields["token_type"] == "BearerToken"
    expires_at = datetime.fromisoformat(fields["expires_at"])
    assert expires_at.utcoffset() == timedelta(0)
    assert before + timedelta(seconds=1790) < expires_at < before + timedelta(seconds=1830)
    remaining = re.fullmatch(r"(\d+) s \(granted 1800 s\)", fields["expires_in"])
    assert remaining is not None
    assert 1780 <= int(remaining.group(1)) <= 1800


async def test_token_with_wrong_credentials(sandbox: Sandbox) -> None:
    env = sandbox_env(sandbox, SEHATMU_CLIENT_ID="someone-else")
    result = await run_cli("token", env=env)
    assert "401" in result.assert_one_line_error(1)
    result.assert_clean(sandbox.client_secret, "someone-else")
