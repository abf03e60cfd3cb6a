"""Exit codes and the one-line ``sehatmu: error: …`` every failure becomes."""

from __future__ import annotations

import os
import sys

from .._exc_group import first_failure

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "CommandError",
    "UsageError",
    "describe",
    "say",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

PROG = "sehatmu"


class CommandError(Exception):
    """A runtime failure found by the CLI itself (e.g. the demo's count check)."""

    exit_code = EXIT_FAILURE


class UsageError(CommandError):
    """Bad arguments or settings, found before any request was sent."""

    exit_code = EXIT_USAGE


def say(kind: str, message: str) -> None:
    """One line on stderr: ``sehatmu: <kind>: <message>``."""
    # Messages from lower layers are one line by contract; this keeps it so if one is not.
    flat = " ".join(message.split())
    try:
        sys.stderr.write(f"{PROG}: {kind}: {flat}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # stderr closed: nothing left to tell anyone


def describe(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line to print for a failure."""
    from ..errors import ConfigurationError, SehatMuError

    exc = first_failure(exc)
    if isinstance(exc, CommandError):
        return exc.exit_code, str(exc)
    if isinstance(exc, ConfigurationError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, SehatMuError):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, OSError):
        # e.g. "[Errno 28] No space left on device: 'out.jsonl'"
        return EXIT_FAILURE, str(exc) or type(exc).__name__
    hint = "" if os.environ.get("SEHATMU_DEBUG") else " (set SEHATMU_DEBUG=1 for a traceback)"
    return EXIT_FAILURE, f"unexpected {type(exc).__name__}: {exc}{hint}"
