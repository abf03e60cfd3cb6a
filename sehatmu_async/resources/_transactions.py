"""Sending a transaction bundle, and reconciling one whose answer was lost.

A transaction goes out once: ``idempotent=False``, so the pipeline repeats it only if it
provably never left this machine. After that, a timeout, a reset or a 5xx is
:class:`OutcomeUnknownError` carrying the bundle (``.payload``) and every entry's
identifiers; :func:`reconcile_transaction` looks each entry up by them.

The answer is decoded by the pure functions of :mod:`sehatmu_async._bundle_result`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._bundle import TransactionBundle, entry_identifiers
from .._bundle_refusal import decode_refusal, transaction_refusal
from .._bundle_result import BundleResult, SentEntry, decode_transaction_response
from .._paths import FHIR_BASE
from ..errors import APIError, ConfigurationError, OutcomeUnknownError, TransactionError

if TYPE_CHECKING:
    from .._base_client import BaseClient

__all__ = ["TRANSACTION_RESOURCE_TYPE", "Finder", "reconcile_transaction", "send_transaction"]

#: ``OutcomeUnknownError.resource_type`` of a lost transaction.
TRANSACTION_RESOURCE_TYPE = "Bundle"
#: The statuses a refused transaction comes with, read whole by the decoders here (a
#: 401, 403, 404 or 429 is about the request, not the bundle: the pipeline's own errors).
REFUSAL_STATUSES = (400, 409, 412, 422)
#: Look-ups in flight at once while reconciling one bundle.
RECONCILE_CONCURRENCY = 4

#: ``find_by_identifier(resource_type, system, value)``: the stored resource or None.
Finder = Callable[[str, str, str], Awaitable["dict[str, Any] | None"]]

_HINT = (
    "Do not send the bundle again blindly: client.fhir.reconcile(err) looks every entry up "
    "by its identifiers and tells which were stored."
)


def _sent(bundle: TransactionBundle) -> list[SentEntry]:
    return [
        (entry.full_url if isinstance(entry.full_url, str) else None, entry.resource_type)
        for entry in bundle.entries
    ]


def _identifiers(wire: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for entry in wire.get("entry", ()):
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if isinstance(resource, Mapping):
            found.extend(entry_identifiers(resource))
    return found


def _lost(err: OutcomeUnknownError, wire: dict[str, Any]) -> OutcomeUnknownError:
    """The same error, told that it is a transaction and what its entries are found by."""
    if err.payload is None:
        err.payload = wire
    err.add_context(
        resource_type=TRANSACTION_RESOURCE_TYPE, identifiers=_identifiers(wire), hint=_HINT
    )
    return err


def _unreadable_success(err: APIError, wire: dict[str, Any]) -> OutcomeUnknownError:
    """A 2xx answer nobody can read: the bundle was probably stored, so never a plain error."""
    return _lost(
        OutcomeUnknownError(
            f"POST {FHIR_BASE} answered {err.status} but the answer could not be read "
            f"({err.message}); the transaction was probably stored.",
            method="POST",
            url=err.url,
            payload=wire,
            status=err.status,
        ),
        wire,
    )


async def send_transaction(
    client: BaseClient, bundle: TransactionBundle, *, validate: bool = True
) -> BundleResult:
    """POST ``bundle`` to the FHIR base once; the :class:`BundleResult`, or a typed error.

    ``validate=False`` skips the pre-flight rules (an empty bundle is still refused).
    """
    if not isinstance(bundle, TransactionBundle):
        raise ConfigurationError(
            f"client.fhir.transaction() takes a TransactionBundle, got {type(bundle).__name__}"
        )
    if validate:
        # The warning points at the caller of client.fhir.transaction().
        bundle.check(_stacklevel=4)
    elif not len(bundle):
        raise ConfigurationError(
            "the transaction bundle is empty: add at least one resource before sending it"
        )
    wire = bundle.to_wire()
    sent = _sent(bundle)
    try:
        response = await client.request(
            "POST", FHIR_BASE, json=wire, idempotent=False, answer_statuses=REFUSAL_STATUSES
        )
        if response.status >= 400:
            # Read whole: a refusal as a transaction-response Bundle names every entry.
            raise decode_refusal(response.ctx, response.headers, response.body, sent)
        obj = response.json()
    except OutcomeUnknownError as err:
        _lost(err, wire)
        raise
    except TransactionError:
        raise
    except APIError as err:
        # An error OperationOutcome inside a 2xx answer is a refusal too.
        refusal = transaction_refusal(err, sent, path=FHIR_BASE)
        if refusal is not None:
            raise refusal from err
        if 200 <= err.status < 300:
            raise _unreadable_success(err, wire) from err
        raise
    try:
        return decode_transaction_response(response.ctx, obj, sent, body=response.body)
    except APIError as err:
        raise _unreadable_success(err, wire) from err


def is_transaction_error(err: OutcomeUnknownError) -> bool:
    """Whether ``err`` is a lost transaction (for ``client.fhir.reconcile`` to dispatch on)."""
    return err.resource_type == TRANSACTION_RESOURCE_TYPE


def _entries_of(err: OutcomeUnknownError) -> Sequence[Any]:
    payload = err.payload
    if (
        not isinstance(payload, Mapping)
        or payload.get("resourceType") != "Bundle"
        or not isinstance(payload.get("entry"), list)
    ):
        raise ConfigurationError(
            "this OutcomeUnknownError holds no transaction bundle in .payload; pass the error "
            "that client.fhir.transaction() raised"
        )
    entries: list[Any] = payload["entry"]
    return entries


async def reconcile_transaction(
    err: OutcomeUnknownError, find: Finder, *, concurrency: int = RECONCILE_CONCURRENCY
) -> list[dict[str, Any] | None]:
    """Entry by entry, the stored resource found by its identifiers, or ``None``.

    ``None`` also stands for an entry without identifiers: nobody can tell whether it was
    stored (``TransactionBundle.unreconcilable()`` lists them before sending). A
    transaction is all or nothing, so one entry found means the whole bundle was stored.
    """
    entries = _entries_of(err)
    gate = asyncio.Semaphore(concurrency)

    async def look_up(entry: object) -> dict[str, Any] | None:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            return None
        kind = resource.get("resourceType")
        if not isinstance(kind, str):
            return None
        for system, value in entry_identifiers(resource):
            async with gate:
                found = await find(kind, system, value)
            if found is not None:
                return found
        return None

    tasks = [asyncio.ensure_future(look_up(entry)) for entry in entries]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
