"""Every failure: one line on stderr, the right exit code, no traceback, no half file."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from _cli_helpers import (
    TIMEOUT_S,
    Result,
    base_env,
    cli_args,
    has_partial_file,
    listing,
    run_cli,
    sandbox_env,
)

from sehatmu_async.sandbox import Sandbox


async def test_missing_credentials_is_a_usage_error(sandbox: Sandbox) -> None:
    env = base_env(SEHATMU_BASE_URL=sandbox.url)
    result = await run_cli("regions", "pull", "provinces", env=env)
    line = result.assert_one_line_error(2)
    assert "SEHATMU_CLIENT_ID" in line
    assert "SEHATMU_CLIENT_SECRET" in line
    assert result.out == b""
    assert sandbox.counters.requests == 0


async def test_bad_credentials_fail_at_runtime(sandbox: Sandbox) -> None:
    wrong = "not-the-secret-" + sandbox.client_secret[::-1]
    env = sandbox_env(sandbox, SEHATMU_CLIENT_SECRET=wrong)
    result = await run_cli("regions", "pull", "provinces", env=env)
    line = result.assert_one_line_error(1)
    assert "401" in line
    result.assert_clean(wrong, sandbox.client_secret, sandbox.client_id)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["regions", "pull", "hamlets"], "unknown region level"),
        (["regions", "pull", "villages", "--limit", "5000"], "limit must be an integer from 1"),
    ],
)
async def test_usage_errors_exit_2_before_any_request(
    sandbox: Sandbox, args: list[str], needle: str
) -> None:
    result = await run_cli(*args, env=sandbox_env(sandbox))
    line = result.assert_one_line_error(2)
    assert needle in line
    assert result.out == b""
    assert sandbox.counters.requests == 0
    result.assert_clean(sandbox.client_secret)


async def test_a_server_failing_every_request_leaves_the_previous_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "cities.csv"
    out.write_text("the previous, complete download\n")
    sandbox.faults.fail_rate = 1.0
    result = await run_cli(
        "regions",
        "pull",
        "cities",
        "--format",
        "csv",
        "--out",
        str(out),
        env=sandbox_env(sandbox),
    )
    line = result.assert_one_line_error(1)
    assert "50" in line  # 502, 503 or 504, after the retries
    assert sandbox.counters.faults["5xx"] > 1
    result.assert_clean(sandbox.client_secret, sandbox.client_id)
    assert out.read_text() == "the previous, complete download\n"
    assert listing(tmp_path) == [out.name]


async def test_ctrl_c_mid_pull_exits_130_and_keeps_the_previous_file(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    out = tmp_path / "villages.jsonl"
    out.write_text("previous\n")
    # Slow pages, so the pull is surely running when the signal comes.
    sandbox.faults.latency_ms = 150
    proc = await asyncio.create_subprocess_exec(
        *cli_args("regions", "pull", "sub-districts", "--limit", "100", "--out", str(out)),
        env=sandbox_env(sandbox),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        for _ in range(int(TIMEOUT_S / 0.05)):
            if has_partial_file(tmp_path):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the pull never started writing")
        proc.send_signal(signal.SIGINT)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    result = Result(proc.returncode or 0, stdout, stderr.decode())
    assert result.assert_one_line_error(130) == "sehatmu: error: interrupted"
    assert out.read_text() == "previous\n"
    assert listing(tmp_path) == [out.name]
