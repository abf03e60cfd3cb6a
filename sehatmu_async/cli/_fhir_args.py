"""Arguments of ``sehatmu fhir {get,search,create}`` (standard library only: ``--help`` is fast).

The SDK checks the resource type, ids and payloads; here only the shape of ``key=value``
search terms is checked, so each rule keeps one home and one message.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable
from typing import Any

__all__ = ["add_fhir", "search_term"]

_NOTE = (
    "Credentials come only from the environment: SEHATMU_CLIENT_ID and SEHATMU_CLIENT_SECRET. "
    "The server is --base-url, else --environment, else SEHATMU_BASE_URL, else "
    "SEHATMU_ENVIRONMENT, else staging."
)


def search_term(text: str) -> tuple[str, str]:
    """``key=value`` (the value may hold ``=`` and ``|``) as a pair."""
    key, eq, value = text.partition("=")
    if not eq or not key or not value:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not key=value, e.g. subject=P02029102687 or "
            "identifier=https://fhir.kemkes.go.id/id/nik|3171012345678901"
        )
    return key, value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def add_fhir(commands: Any, add_server: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add the ``fhir`` group to the top-level ``commands`` sub-parsers."""
    fhir = commands.add_parser(
        "fhir",
        help="FHIR resources of every type: get, search, create",
        description="Read, search and create FHIR resources of any type (Interoperabilitas).",
    )
    # type(fhir): the CLI's own parser class (one-line usage errors), for the actions too.
    actions = fhir.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=type(fhir)
    )
    get = actions.add_parser(
        "get",
        help="read one resource and print it as JSON",
        description="Read TYPE/ID and print it as JSON on stdout.",
        epilog=_NOTE
        + " Example: `sehatmu fhir get Encounter 2823ed1d-3e3e-434e-9a5b-9c579d192787`.",
    )
    get.set_defaults(run="fhir_get")
    get.add_argument("type", metavar="TYPE", help="resource type, e.g. Encounter")
    get.add_argument("id", metavar="ID", help="the resource's id")
    add_server(get)

    search = actions.add_parser(
        "search",
        help="search resources; one JSON object a line",
        description=(
            "Search TYPE with key=value terms and write each resource found as one JSON line. "
            "Without --all only the first page is written. A progress bar is shown on stderr "
            "when it is a terminal. With --out the file appears only once the search is done."
        ),
        epilog=_NOTE + " Example: `sehatmu fhir search Condition encounter=ENC-ID --all "
        "--out conditions.jsonl`.",
    )
    search.set_defaults(run="fhir_search")
    search.add_argument("type", metavar="TYPE", help="resource type, e.g. Condition")
    search.add_argument(
        "terms",
        metavar="KEY=VALUE",
        nargs="*",
        type=search_term,
        help="search parameters, e.g. subject=P02029102687 _count=100",
    )
    search.add_argument("--all", action="store_true", help="follow every next page")
    search.add_argument(
        "--max-pages",
        type=_positive,
        default=1000,
        metavar="N",
        help="with --all: fail (rather than stop short) if more than N pages (default 1000)",
    )
    search.add_argument(
        "--out",
        metavar="PATH",
        default="-",
        help="file to write (replaced only on success); '-' or absent: stdout",
    )
    add_server(search)

    create = actions.add_parser(
        "create",
        help="create a resource from a JSON file; print its id",
        description=(
            "Create the resource in FILE (FHIR JSON; '-' reads stdin) and print its new id. "
            "It is sent once: if the answer is lost, the command exits 1 and says how to "
            "look the resource up instead of sending it again."
        ),
        epilog=_NOTE,
    )
    create.set_defaults(run="fhir_create")
    create.add_argument("file", metavar="FILE.json", help="the resource, in FHIR JSON")
    create.add_argument(
        "--no-validate",
        action="store_true",
        help="skip the pre-flight checks of the platform's rules (004)",
    )
    add_server(create)

    # The transaction sub-command lives in its own module, when it is installed.
    if importlib.util.find_spec(f"{__package__}._fhir_transaction") is not None:
        from . import _fhir_transaction  # type: ignore[attr-defined, unused-ignore]

        _fhir_transaction.add_parser(actions, add_server)
