"""``main()``: parse, run one command, turn every failure into one line and an exit code."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import warnings
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TextIO

from ._failures import EXIT_INTERRUPTED, EXIT_OK, describe, say
from ._parser import build_parser
from ._run import Interrupted, run

__all__ = ["main"]

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _command(name: str) -> tuple[Command, bool]:
    """The command's coroutine function, and whether a signal is its normal way to end."""
    # Imported here: each command pulls in aiohttp, rich or the sandbox's data.
    if name == "fhir_transaction":
        from ._fhir_transaction import fhir_transaction

        return fhir_transaction, False
    if name == "regions_pull":
        from ._regions import regions_pull

        return regions_pull, False
    if name == "token":
        from ._token import show_token

        return show_token, False
    if name.startswith("fhir_"):
        from ._fhir import fhir_command

        return fhir_command(name), False
    if name == "sandbox":
        from ._sandbox import serve_sandbox

        return serve_sandbox, True
    from ._demo import run_demo

    return run_demo, False


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    # e.g. InsecureTransportWarning for a plain-http base URL: the text matters, the
    # source line of the SDK that raised it does not.
    say("warning", str(message))


def _silence_stdout() -> None:
    # The reader went away (`sehatmu regions pull cities | head`): point stdout at
    # /dev/null so the interpreter's final flush does not complain about it.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``sehatmu`` and ``python -m sehatmu_async``; returns the exit code."""
    warnings.showwarning = _one_line_warning
    try:
        args = build_parser().parse_args(argv)
        command, signal_ends_it = _command(args.run)
        try:
            return run(lambda: command(args))
        except Interrupted as stop:
            if signal_ends_it:
                return EXIT_OK
            say("error", "interrupted" if stop.signum == signal.SIGINT else "terminated")
            return 128 + stop.signum
    except KeyboardInterrupt:
        # Ctrl-C before the event loop (or its signal handler) was up.
        say("error", "interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        return 128 + getattr(signal, "SIGPIPE", 13)
    except Exception as exc:
        if os.environ.get("SEHATMU_DEBUG"):
            raise
        code, line = describe(exc)
        say("error", line)
        return code
