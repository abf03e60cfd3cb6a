"""``sehatmu fhir transaction FILE``: send a visit's resources as one transaction bundle.

``FILE`` (``-`` for stdin) is either a FHIR ``Bundle`` of ``type: transaction`` (sent with
its own fullUrls and references) or JSON Lines, one item a line: a resource, or an entry
``{"fullUrl": "urn:uuid:…", "resource": {…}}`` so that lines can refer to each other.
One line per entry goes to stdout: ``type<TAB>status<TAB>id<TAB>fullUrl``.

A refused transaction exits 1 naming the first failing entry (nothing was stored). A lost
answer is never resent: the entries are looked up by identifier, printed with status
``stored`` or ``unknown``, and the command exits 1 saying what to do.

Only the standard library is imported at the top: :func:`add_parser` runs for every
``sehatmu --help``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._bundle import TransactionBundle

__all__ = ["add_parser", "fhir_transaction", "read_bundle"]

_EPILOG = (
    "Credentials come only from the environment: SEHATMU_CLIENT_ID and SEHATMU_CLIENT_SECRET. "
    'JSON Lines example: {"fullUrl": "urn:uuid:<uuid4>", "resource": {"resourceType": '
    '"Encounter", ...}} then {"resourceType": "Condition", "encounter": {"reference": '
    '"urn:uuid:<uuid4>"}, ...}.'
)


def add_parser(
    actions: Any, add_server: Callable[[argparse.ArgumentParser], None] | None = None
) -> None:
    """Register ``transaction`` in the ``fhir`` group (``actions`` is its subparsers).

    ``add_server`` adds ``--environment``/``--base-url`` as for every other command.
    """
    if add_server is None:
        from ._parser import _add_server  # loaded already: it is what calls this

        add_server = _add_server
    server: Callable[[argparse.ArgumentParser], None] = add_server
    parser = actions.add_parser(
        "transaction",
        help="send resources as one transaction bundle (all stored, or none)",
        description=(
            "Send FILE as one transaction: a FHIR Bundle of type transaction, or JSON Lines "
            "of resources (or of {fullUrl, resource} entries) to wrap in one. Prints one "
            "line per entry: type, status, id, fullUrl. The bundle is checked before it is "
            "sent, and never sent twice."
        ),
        epilog=_EPILOG,
    )
    parser.set_defaults(run="fhir_transaction")
    parser.add_argument("file", metavar="FILE", help="the Bundle or JSON Lines file; '-': stdin")
    parser.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="skip the SDK's pre-flight checks and let the platform judge the bundle",
    )
    server(parser)


def _read(path: str) -> bytes:
    from ._failures import UsageError

    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from None


def read_bundle(raw: bytes, *, name: str = "FILE") -> TransactionBundle:
    """The bundle a file holds: a Bundle, one resource, or JSON Lines of resources/entries."""
    import orjson

    from .._bundle import TransactionBundle
    from ..errors import ConfigurationError
    from ._failures import UsageError

    try:
        whole = orjson.loads(raw)
    except orjson.JSONDecodeError:
        whole = None
    try:
        if isinstance(whole, dict) and whole.get("resourceType") == "Bundle":
            return TransactionBundle.from_wire(whole)
        items: list[tuple[int, Any]] = []
        if whole is not None:
            items = [(1, whole)]
        else:
            for number, line in enumerate(raw.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    items.append((number, orjson.loads(line)))
                except orjson.JSONDecodeError as exc:
                    raise UsageError(f"{name} line {number} is not JSON ({exc})") from None
        bundle = TransactionBundle()
        for number, item in items:
            where = f"{name} line {number}"
            if isinstance(item, dict) and "resource" in item and "resourceType" not in item:
                full_url = item.get("fullUrl")
                if full_url is not None and not isinstance(full_url, str):
                    raise UsageError(f"{where}: fullUrl must be a 'urn:uuid:…' string")
                item = item["resource"]
            else:
                full_url = None
            if not isinstance(item, dict):
                raise UsageError(f"{where} is not a JSON object (a resource or an entry)")
            try:
                bundle.add(item, full_url=full_url)
            except ConfigurationError as exc:
                raise UsageError(f"{where}: {exc.message}") from None
    except ConfigurationError as exc:
        raise UsageError(f"{name}: {exc.message}") from None
    if not len(bundle):
        raise UsageError(f"{name} holds no resources to send")
    return bundle


def _line(kind: str | None, status: str, rid: str | None, full_url: str | None) -> str:
    return f"{kind or '-'}\t{status}\t{rid or '-'}\t{full_url or '-'}"


async def fhir_transaction(args: argparse.Namespace) -> int:
    from ..errors import OutcomeUnknownError, SehatMuError
    from ._connect import client_from_args
    from ._failures import CommandError

    bundle = read_bundle(_read(args.file), name=args.file if args.file != "-" else "stdin")
    client = client_from_args(args)
    async with client:
        try:
            result = await client.fhir.transaction(bundle, validate=args.validate)
        except OutcomeUnknownError as lost:
            try:
                found = await client.fhir.reconcile(lost)
            except SehatMuError as failed:
                raise CommandError(
                    f"the transaction's answer was lost ({lost.message}) and looking its "
                    f"entries up failed too ({failed}); do not send {args.file} again before "
                    "checking what the platform holds"
                ) from None
            for entry, stored in zip(bundle.entries, found, strict=True):
                status = "stored" if stored is not None else "unknown"
                rid = stored.get("id") if stored is not None else None
                print(_line(entry.resource_type, status, rid, entry.full_url), flush=True)
            count = sum(1 for f in found if f is not None)
            verdict = (
                "the transaction was stored; do not send it again"
                if count
                else "none of its entries were found, so it was most likely not stored"
            )
            raise CommandError(
                f"the transaction's answer was lost; {count} of {len(found)} entries are "
                f"stored (lines above): {verdict}. Entries without an identifier cannot be "
                "looked up."
            ) from None
    for answered in result:
        status = str(answered.status) if answered.status is not None else "-"
        print(_line(answered.resource_type, status, answered.id, answered.full_url), flush=True)
    if not result.ok:
        refused = next(e for e in result if not e.ok)
        raise CommandError(f"the platform did not store {refused.describe()}")
    return 0
