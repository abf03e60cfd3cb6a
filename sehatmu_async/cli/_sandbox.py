"""``sehatmu sandbox``: serve the local SehatMu server until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import shlex
import sys

from ..sandbox import Sandbox, SandboxFaults
from ._failures import UsageError, say

__all__ = ["serve_sandbox"]


def _faults(args: argparse.Namespace) -> SandboxFaults:
    try:
        return SandboxFaults(
            latency_ms=args.latency_ms,
            fail_rate=args.fail_rate,
            rate_limit_rate=args.rate_limit_rate,
            retry_after_s=args.retry_after,
            drop_rate=args.drop_rate,
            token_ttl_s=args.token_ttl,
            revoke_every_s=args.revoke_every,
            slow_create_s=args.slow_create,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _banner(sandbox: Sandbox) -> str:
    url = sandbox.url
    exports = " ".join(
        f"{name}={shlex.quote(value)}"
        for name, value in (
            ("SEHATMU_BASE_URL", url),
            ("SEHATMU_CLIENT_ID", sandbox.client_id),
            ("SEHATMU_CLIENT_SECRET", sandbox.client_secret),
        )
    )
    # The sandbox's own throw-away credentials: printing them is the point.
    return "\n".join(
        [
            f"url: {url}",
            f"client_id: {sandbox.client_id}",
            f"client_secret: {sandbox.client_secret}",
            f"export {exports}",
        ]
    )


async def serve_sandbox(args: argparse.Namespace) -> int:
    for flag, value in (("--client-id", args.client_id), ("--client-secret", args.client_secret)):
        if value is not None and not value:
            raise UsageError(f"{flag} is empty")
    sandbox = Sandbox(
        args.client_id,
        args.client_secret,
        faults=_faults(args),
        patient_answer=args.patient_answer,
    )
    try:
        await sandbox.start(host=args.host, port=args.port)
    except OSError as exc:
        raise OSError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
            + (" (try --port 0 for any free port)" if args.port else "")
        ) from None
    try:
        print(_banner(sandbox), flush=True)
        if not _is_loopback(args.host):
            say("warning", f"listening on {args.host}: reachable beyond this machine")
        if sys.stderr.isatty():
            sys.stderr.write("sehatmu: sandbox running; Ctrl-C to stop\n")
        # Serves until a signal cancels this task (the caller treats that as success).
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()
    return 0
