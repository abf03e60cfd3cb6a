"""On a terminal (a pseudo-terminal here): a rich progress bar and a summary on stderr,
while the data file stays clean."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import orjson
import pytest
from _cli_helpers import TIMEOUT_S, cli_args, sandbox_env

from sehatmu_async.sandbox import Sandbox

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def _drain(fd: int, sink: bytearray) -> None:
    # A pty's buffer is small: read it while the child writes, or the child blocks.
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO once the child side is closed
            return
        if not chunk:
            return
        sink.extend(chunk)


async def test_progress_bar_on_a_terminal(sandbox: Sandbox, tmp_path: Path) -> None:
    import pty

    out = tmp_path / "districts.jsonl"
    primary, secondary = pty.openpty()
    seen = bytearray()
    reader = threading.Thread(target=_drain, args=(primary, seen), daemon=True)
    reader.start()
    try:
        proc = await asyncio.create_subprocess_exec(
            *cli_args("regions", "pull", "districts", "--limit", "200", "--out", str(out)),
            env=sandbox_env(sandbox, COLUMNS="100"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=secondary,
        )
        os.close(secondary)
        code = await asyncio.wait_for(proc.wait(), TIMEOUT_S)
        await asyncio.to_thread(reader.join, TIMEOUT_S)
    finally:
        os.close(primary)
    shown = seen.decode("utf-8", "replace")
    assert code == 0, shown
    assert "\x1b[" in shown  # rich drew a live display
    assert "7277/7277" in shown
    assert "sehatmu: 7277 districts written to" in shown
    lines = out.read_bytes().splitlines()
    assert len(lines) == 7277
    assert all(orjson.loads(line)["level"] == "districts" for line in lines[:5])
    assert b"\x1b" not in out.read_bytes()
