"""Running ``python -m sehatmu_async`` as a child process (a unique module name: tests/ has
no packages)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from sehatmu_async.sandbox import Sandbox

# Generous: the machine running the suite may be busy; a hang still fails the test.
TIMEOUT_S = 90.0


@attrs.frozen
class Result:
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8")

    def assert_one_line_error(self, code: int) -> str:
        """Exit ``code`` and exactly one ``sehatmu: error: …`` line on stderr; returns it."""
        assert self.code == code, (self.code, self.err)
        assert "Traceback" not in self.err
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("sehatmu: error: "), lines[0]
        return lines[0]

    def assert_no_escapes(self) -> None:
        assert b"\x1b[" not in self.out
        assert "\x1b[" not in self.err

    def assert_clean(self, *secrets: str) -> None:
        for secret in secrets:
            assert secret
            assert secret.encode() not in self.out
            assert secret not in self.err


def listing(directory: Path) -> list[str]:
    """File names in ``directory``, sorted."""
    return sorted(os.listdir(directory))


def has_partial_file(directory: Path) -> bool:
    """A non-empty ``.part`` temporary of the CLI's atomic writer is in ``directory``."""
    return any(p.name.endswith(".part") and p.stat().st_size > 0 for p in directory.iterdir())


def base_env(**extra: str) -> dict[str, str]:
    """This environment without any SEHATMU_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEHATMU_")}
    # Rich would colour a pipe if asked to: the CLI must not even ask when not on a tty.
    env["FORCE_COLOR"] = "1"
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def sandbox_env(sb: Sandbox, **extra: str) -> dict[str, str]:
    settings = {
        "SEHATMU_BASE_URL": sb.url,
        "SEHATMU_CLIENT_ID": sb.client_id,
        "SEHATMU_CLIENT_SECRET": sb.client_secret,
    }
    return base_env(**{**settings, **extra})


def cli_args(*args: str) -> list[str]:
    return [sys.executable, "-m", "sehatmu_async", *args]


async def run_cli(*args: str, env: Mapping[str, str], **popen: Any) -> Result:
    """Run the CLI; ``popen`` goes to the subprocess (e.g. ``user=`` to drop root)."""
    proc = await asyncio.create_subprocess_exec(
        *cli_args(*args),
        env=dict(env),
        **popen,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT_S)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    assert proc.returncode is not None
    return Result(proc.returncode, out, err.decode("utf-8", "replace"))
