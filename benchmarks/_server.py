"""A sandbox in its own process, so server and client CPU are measured apart.

Prints one JSON line (url and credentials), serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from sehatmu_async.sandbox import Sandbox, SandboxFaults


async def _serve(latency_ms: float) -> None:
    sandbox = Sandbox(faults=SandboxFaults(latency_ms=latency_ms))
    url = await sandbox.start("127.0.0.1", 0)
    print(
        json.dumps(
            {"url": url, "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
        ),
        flush=True,
    )
    loop = asyncio.get_running_loop()
    # Serve until the parent closes our stdin (or dies): no orphan servers.
    await loop.run_in_executor(None, sys.stdin.read)
    await sandbox.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=0.0)
    asyncio.run(_serve(parser.parse_args().latency_ms))


if __name__ == "__main__":
    main()
