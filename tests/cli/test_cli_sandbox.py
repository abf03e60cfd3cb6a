"""``sehatmu sandbox`` as a child process: banner, a real request, a clean stop on a signal."""

from __future__ import annotations

import asyncio
import shlex
import signal

import aiohttp
import pytest
from _cli_helpers import TIMEOUT_S, base_env, cli_args


async def _banner(stdout: asyncio.StreamReader) -> dict[str, str]:
    fields: dict[str, str] = {}
    while "export" not in fields:
        line = (await asyncio.wait_for(stdout.readline(), TIMEOUT_S)).decode()
        assert line, "the sandbox exited before printing its banner"
        key, _, value = line.rstrip("\n").partition(" " if line.startswith("export ") else ": ")
        fields[key] = value
    return fields


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
async def test_sandbox_serves_until_a_signal(stop: signal.Signals) -> None:
    proc = await asyncio.create_subprocess_exec(
        *cli_args("sandbox", "--port", "0", "--token-ttl", "600", "--latency-ms", "1"),
        env=base_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        banner = await _banner(proc.stdout)
        url, client_id, secret = banner["url"], banner["client_id"], banner["client_secret"]
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0")
        exports = dict(word.split("=", 1) for word in shlex.split(banner["export"]))
        assert exports == {
            "SEHATMU_BASE_URL": url,
            "SEHATMU_CLIENT_ID": client_id,
            "SEHATMU_CLIENT_SECRET": secret,
        }
        async with (
            aiohttp.ClientSession(headers={"User-Agent": "cli-test"}) as session,
            session.post(
                f"{url}/oauth2/v1/accesstoken?grant_type=client_credentials",
                data={"client_id": client_id, "client_secret": secret},
            ) as response,
        ):
            assert response.status == 200
            body = await response.json()
        assert body["expires_in"] == "600"
        assert body["access_token"]
        proc.send_signal(stop)
        _, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, stderr
    assert b"Traceback" not in stderr
    assert stderr == b""
