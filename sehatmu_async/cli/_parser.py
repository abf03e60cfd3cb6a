"""The argument parser: ``sehatmu {demo,regions pull,token,sandbox}``.

Only the standard library is imported here, so ``--help`` and ``--version`` are fast.
Values are checked for shape here; ranges the SDK owns (``--limit``, ``--concurrency``,
``--parent``) are left to the SDK so there is one rule and one message for each.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import NoReturn

from .._version import __version__
from ._failures import EXIT_USAGE, PROG
from ._fhir_args import add_fhir

__all__ = ["build_parser"]

_CREDENTIALS_NOTE = (
    "Credentials come only from the environment: SEHATMU_CLIENT_ID and "
    "SEHATMU_CLIENT_SECRET (never a flag, so they stay out of shell history and process "
    "lists). The server is --base-url, else --environment, else SEHATMU_BASE_URL, else "
    "SEHATMU_ENVIRONMENT, else staging."
)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (argparse's default prints the usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1")
    return value


def _amount(unit: str, *, allow_zero: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number of ``unit`` (milliseconds, seconds), not negative."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of {unit}") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
            least = "0 or more" if allow_zero else "more than 0"
            raise argparse.ArgumentTypeError(f"{text!r} is not {least} {unit}")
        return value

    return parse


def _whole_seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535)")
    return value


def _codes(text: str) -> list[str]:
    # "--parent 11,12" reads as two codes, the same as "--parent 11 --parent 12".
    return [code.strip() for code in text.split(",") if code.strip()]


def _add_server(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--environment",
        metavar="ENV",
        help="a named platform: staging (the documents' sandbox) or development",
    )
    where.add_argument(
        "--base-url",
        metavar="URL",
        help="the platform's base URL, e.g. http://127.0.0.1:8080 for `sehatmu sandbox`",
    )


def _add_regions(commands: argparse._SubParsersAction[_Parser]) -> None:
    regions = commands.add_parser(
        "regions",
        help="Master Wilayah: administrative regions",
        description="Master Wilayah (administrative regions of Indonesia).",
    )
    actions = regions.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=_Parser
    )
    pull = actions.add_parser(
        "pull",
        help="download every region of a level, concurrently",
        description=(
            "Download every region of LEVEL (or those under --parent), each exactly once, "
            "as JSON Lines or CSV. A progress bar is shown on stderr when it is a terminal. "
            "With --out, the file appears only once the download is complete."
        ),
        epilog=_CREDENTIALS_NOTE + " Examples: `sehatmu regions pull provinces`, "
        "`sehatmu regions pull sub-districts --parent 31 --format csv --out jakarta.csv`.",
    )
    pull.set_defaults(run="regions_pull")
    pull.add_argument(
        "level",
        metavar="LEVEL",
        help="provinces, cities, districts or sub-districts (villages; sub_districts also works)",
    )
    pull.add_argument(
        "--parent",
        metavar="CODE",
        action="extend",
        type=_codes,
        dest="parents",
        help="only regions under this code of a higher level (repeatable, or comma-separated)",
    )
    pull.add_argument(
        "--format",
        choices=("jsonl", "csv"),
        default="jsonl",
        help="JSON Lines (default) or CSV with the header code,parent_code,bps_code,name,level",
    )
    pull.add_argument(
        "--out",
        metavar="PATH",
        default="-",
        help="file to write (replaced only on success; a FIFO or device is written into); "
        "'-' or absent: stdout",
    )
    pull.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="requests in flight at most, 1-64 (default 8)",
    )
    pull.add_argument(
        "--limit", type=int, default=1000, metavar="N", help="page size, 1-2000 (default 1000)"
    )
    _add_server(pull)


def _add_token(commands: argparse._SubParsersAction[_Parser]) -> None:
    token = commands.add_parser(
        "token",
        help="check the credentials: fetch a token, show its type and expiry",
        description=(
            "Fetch a fresh access token and show its type and expiry. The token itself and "
            "the credentials are never printed."
        ),
        epilog=_CREDENTIALS_NOTE,
    )
    token.set_defaults(run="token")
    _add_server(token)


def _add_sandbox(commands: argparse._SubParsersAction[_Parser]) -> None:
    sandbox = commands.add_parser(
        "sandbox",
        help="run a local SehatMu server with fault injection",
        description=(
            "Serve the SehatMu API locally (real region data; patients kept in memory) until "
            "Ctrl-C. Prints its URL and credentials, and an `export` line to paste. In the "
            'sandbox a NIK starting with 0000 is not a citizen ("Citizen Not Exists").'
        ),
    )
    sandbox.set_defaults(run="sandbox")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    sandbox.add_argument(
        "--port", type=_port, default=8080, help="port to bind, 0 for any free one (default 8080)"
    )
    faults = sandbox.add_argument_group("fault injection (all off by default)")
    faults.add_argument(
        "--latency-ms",
        type=_amount("milliseconds"),
        default=0.0,
        metavar="N",
        help="delay added to every answer, in milliseconds",
    )
    faults.add_argument(
        "--fail-rate",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="fraction of requests answered 502/503/504 (text/plain)",
    )
    faults.add_argument(
        "--rate-limit-rate",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="fraction of requests answered 429 with Retry-After",
    )
    faults.add_argument(
        "--retry-after",
        type=_amount("seconds"),
        default=0.0,
        metavar="S",
        help="the Retry-After those 429 answers carry (default 0)",
    )
    faults.add_argument(
        "--drop-rate",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="fraction of connections dropped without an answer",
    )
    faults.add_argument(
        "--token-ttl",
        type=_whole_seconds,
        default=3599,
        metavar="S",
        help="lifetime of issued tokens in seconds (default 3599)",
    )
    faults.add_argument(
        "--revoke-every",
        type=_amount("seconds", allow_zero=False),
        default=None,
        metavar="S",
        help="revoke every issued token once per S seconds",
    )
    faults.add_argument(
        "--slow-create",
        type=_amount("seconds"),
        default=0.0,
        metavar="S",
        help="a Patient create is stored, then answered S seconds later",
    )
    sandbox.add_argument(
        "--patient-answer",
        choices=("fhir", "envelope"),
        default="fhir",
        help="answer a Patient create with the FHIR Patient (default) or the live "
        "platform's success envelope",
    )
    sandbox.add_argument(
        "--client-id", metavar="ID", help="the client id to accept (default: random)"
    )
    sandbox.add_argument(
        "--client-secret", metavar="S", help="the client secret to accept (default: random)"
    )


def _add_demo(commands: argparse._SubParsersAction[_Parser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="start a sandbox, pull every region, create and patch a patient",
        description=(
            "Start a sandbox on a free loopback port, pull all four region levels at once, "
            "check the counts and that every region came exactly once, create a patient by "
            "NIK and patch it, then print a summary. Needs no credentials or network."
        ),
    )
    demo.set_defaults(run="demo")
    demo.add_argument(
        "--concurrency",
        type=int,
        default=8,
        metavar="N",
        help="requests in flight per level, 1-64 (default 8)",
    )


def build_parser() -> _Parser:
    parser = _Parser(
        prog=PROG,
        description="Command line of sehatmu-async, the SehatMu (SATUSEHAT) SDK.",
        epilog="Run `sehatmu demo` for a tour that needs no credentials.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__} (sehatmu-async, Python {sys.version.split()[0]})",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    _add_demo(commands)
    _add_regions(commands)
    _add_token(commands)
    _add_sandbox(commands)
    add_fhir(commands, _add_server)
    return parser
