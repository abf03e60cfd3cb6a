"""``client.fhir``: create, read, update, patch and search for every FHIR resource type.

One layer for every type, on the client's one session, token cache and retry policy:

* payloads are dicts, SDK models or pydantic models (``_payload.to_wire``); UTC
  date-times written ``…Z`` become ``…+00:00`` and the 004 rules are checked before
  anything is sent (``_validation``; ``validate=False`` skips them);
* paths come only from checked types and ids (``_paths``);
* **a create is never sent twice**: it goes out ``idempotent=False``; a lost answer is
  :class:`OutcomeUnknownError` carrying the payload, type and identifiers, which
  :meth:`Fhir.reconcile` looks up; a ``duplicate`` refusal is
  :class:`DuplicateResourceError` with the stored resource's id when it can be found;
* answers are plain dicts unless ``model=`` names a class with ``model_validate``
  (pydantic) or ``from_wire`` (this SDK's models).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .._fhir_wire import decode_resource, identifiers_of, resource_wire
from .._patch import PATCH_CONTENT_TYPES, PatchOperation, patch_document
from .._paths import check_resource_type, fhir_type_path, resource_path, shown
from .._patient_models import NIK_IBU_SYSTEM, NIK_SYSTEM
from .._patients_wire import decode_create_answer, refine_refusal
from .._payload import to_wire
from .._validation import check_patch, check_resource
from ..errors import (
    APIError,
    ConfigurationError,
    DuplicateResourceError,
    MultipleResultsError,
    OutcomeUnknownError,
    SehatMuError,
    ValidationError,
)
from ._fhir_args import (
    as_model,
    json_patch_document,
    matches_payload,
    model_converter,
    search_param,
)
from ._fhir_pager import DEFAULT_MAX_PAGES, DEFAULT_WALK_TIMEOUT, SearchPager
from ._transactions import is_transaction_error, reconcile_transaction, send_transaction

if TYPE_CHECKING:
    from .._base_client import BaseClient, Response
    from .._bundle import TransactionBundle
    from .._bundle_result import BundleResult

__all__ = ["JSON_PATCH", "Fhir"]

M = TypeVar("M")
JSON_PATCH = "application/json-patch+json"
# Applying these twice leaves the same resource, so a lost answer may be retried.
_REPEATABLE_OPS = frozenset({"replace", "test"})
_RECONCILE_PAGES = 5


class Fhir:
    """``client.fhir``: every FHIR resource type of the platform (Interoperabilitas)."""

    def __init__(self, client: BaseClient, *, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._clock = clock

    # -- create ----------------------------------------------------------------------

    async def create(self, resource: object, *, validate: bool = True, model: Any = None) -> Any:
        """Create ``resource``; return the stored resource (with its server ``id``).

        Never sent twice: if the answer is lost, :class:`OutcomeUnknownError` carries
        ``.payload``, ``.resource_type`` and ``.identifiers``; pass it to
        :meth:`reconcile` before creating again.
        """
        convert = model_converter(model)
        kind, wire = resource_wire(resource)
        if validate:
            check_resource(wire)
        identifiers = identifiers_of(wire)
        try:
            response = await self._client.request(
                "POST", fhir_type_path(kind), json=wire, idempotent=False
            )
            stored = self._created(kind, wire, response)
        except OutcomeUnknownError as err:
            self._reconcilable(err, kind, wire, identifiers)
            raise
        except ValidationError as err:
            if kind == "Patient":
                # "Patient Resource Exists: id" / "Citizen Not Exists" name their own class.
                refined = refine_refusal(err)
                if refined is not err:
                    raise refined from err
            if isinstance(err, DuplicateResourceError):
                await self._find_existing(err, kind, identifiers)
            raise
        except APIError as err:
            if not 200 <= err.status < 300:
                raise
            # A 2xx nobody can read: the resource was probably stored. A plain failure
            # would invite the resend the platform refuses.
            lost = OutcomeUnknownError(
                f"POST {fhir_type_path(kind)} answered {err.status} but the answer could not "
                f"be read ({err.message}); the {kind} was probably created.",
                method="POST",
                url=err.url,
                payload=wire,
                status=err.status,
            )
            self._reconcilable(lost, kind, wire, identifiers)
            raise lost from err
        return as_model(convert, stored, response)

    def _created(self, kind: str, wire: dict[str, Any], response: Response) -> dict[str, Any]:
        if kind == "Patient":
            # Patient create answers come in the live platform's envelopes too.
            try:
                patient = decode_create_answer(
                    response.ctx, response.json(), wire, body=response.body
                )
            except ValidationError as err:
                refined = refine_refusal(err)
                if refined is err:
                    raise
                raise refined from err
            return to_wire(patient, what="the created Patient")
        location = response.headers.get("Location", "")
        if not response.body.strip() and f"/{kind}/" in location:
            # A bare 201 with a Location: the stored resource is the payload with its id.
            rid = location.split(f"/{kind}/", 1)[1].split("/")[0]
            if rid:
                return {**wire, "id": rid}
        return decode_resource(
            response.ctx, response.json(), resource_type=kind, body=response.body
        )

    @staticmethod
    def _reconcilable(
        err: OutcomeUnknownError,
        kind: str,
        wire: dict[str, Any],
        identifiers: tuple[tuple[str, str], ...],
    ) -> None:
        if err.payload is None:
            err.payload = wire
        if identifiers:
            hint = (
                f"Do not send it again blindly: `await client.fhir.reconcile(err)` looks the "
                f"{kind} up by its identifier and returns it, or None if it was not stored."
            )
        else:
            hint = (
                f"The {kind} has no identifier to look it up by: search for it (e.g. by "
                "subject and date) before sending it again."
            )
        niks = [(s, v) for s, v in identifiers if s in (NIK_SYSTEM, NIK_IBU_SYSTEM)]
        if kind == "Patient" and niks:
            # Patients are searched by NIK; other identifiers may not be searchable.
            identifiers = tuple(niks)
        nik = niks[0][1] if kind == "Patient" and niks else None
        err.add_context(resource_type=kind, identifiers=identifiers, nik=nik, hint=hint)

    async def _find_existing(
        self, err: DuplicateResourceError, kind: str, identifiers: tuple[tuple[str, str], ...]
    ) -> None:
        for system, value in identifiers[:3]:
            try:
                found = await self.find_by_identifier(kind, system, value)
            except SehatMuError:
                return  # the refusal stands on its own; the lookup was a courtesy
            if found is not None:
                err.existing_id = found.get("id")
                err.message = f"{err.message} (the stored {kind} is {err.existing_id})"
                err.args = (err.message,)
                return

    # -- read, update, patch ---------------------------------------------------------

    async def read(self, resource_type: str, id: str, *, model: Any = None) -> Any:
        """Read ``resource_type/id``; :class:`NotFoundError` if there is none."""
        convert = model_converter(model)
        path = resource_path(resource_type, id)
        response = await self._client.request("GET", path)
        return as_model(convert, self._decode(response, resource_type, id), response)

    async def update(
        self, resource: object, *, id: str | None = None, validate: bool = True, model: Any = None
    ) -> Any:
        """Replace a stored resource (PUT). The body must carry its ``id`` (and equal
        ``id=`` when given); refused before sending otherwise."""
        convert = model_converter(model)
        kind, wire = resource_wire(resource)
        body_id = wire.get("id")
        if body_id is None:
            raise ConfigurationError(
                f"update (PUT) needs the {kind}'s id in the body, as the platform does "
                "(it answers 'id is required'); read the resource first, or use patch()"
            )
        if id is not None and id != body_id:
            raise ConfigurationError(
                f"update: the body's id {shown(body_id)} is not id={shown(id)}; nothing was sent"
            )
        path = resource_path(kind, body_id)
        if validate:
            check_resource(wire, method="PUT")
        response = await self._client.request("PUT", path, json=wire)
        return as_model(convert, self._decode(response, kind, body_id), response)

    async def patch(
        self,
        resource_type: str,
        id: str,
        operations: Sequence[Mapping[str, Any] | PatchOperation],
        *,
        content_type: str | None = None,
        validate: bool = True,
        model: Any = None,
    ) -> Any:
        """Apply a JSON Patch (RFC 6902) to ``resource_type/id``; return the result.

        Patient keeps its document's rule (``replace`` only, ``application/json`` by
        default); every other type takes any operation, sent as
        ``application/json-patch+json``.
        """
        convert = model_converter(model)
        path = resource_path(resource_type, id)
        if resource_type == "Patient":
            document = patch_document(operations)
            content_type = content_type or PATCH_CONTENT_TYPES[0]
        else:
            document = json_patch_document(operations)
            content_type = content_type or JSON_PATCH
        if content_type not in PATCH_CONTENT_TYPES:
            raise ConfigurationError(
                f"content_type {content_type!r} is not a patch type: use "
                + " or ".join(repr(t) for t in PATCH_CONTENT_TYPES)
            )
        if validate:
            check_patch(resource_type, document)
        try:
            response = await self._client.request(
                "PATCH",
                path,
                json=document,
                content_type=content_type,
                idempotent=all(op["op"] in _REPEATABLE_OPS for op in document),
            )
        except OutcomeUnknownError as err:
            err.add_context(
                resource_type=resource_type,
                hint=f"Read {resource_type}/{id} to see whether the patch was applied before "
                "sending it again.",
            )
            raise
        return as_model(convert, self._decode(response, resource_type, id), response)

    @staticmethod
    def _decode(response: Response, kind: str, rid: str) -> dict[str, Any]:
        return decode_resource(
            response.ctx, response.json(), resource_type=kind, resource_id=rid, body=response.body
        )

    # -- search ----------------------------------------------------------------------

    @overload
    def search(
        self,
        resource_type: str,
        params: Mapping[str, object] | None = None,
        *,
        model: None = None,
        max_pages: int = ...,
        timeout: float = ...,
        **query: object,
    ) -> SearchPager[dict[str, Any]]: ...
    @overload
    def search(
        self,
        resource_type: str,
        params: Mapping[str, object] | None = None,
        *,
        model: type[M],
        max_pages: int = ...,
        timeout: float = ...,
        **query: object,
    ) -> SearchPager[M]: ...
    def search(
        self,
        resource_type: str,
        params: Mapping[str, object] | None = None,
        *,
        model: Any = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        timeout: float = DEFAULT_WALK_TIMEOUT,
        **query: object,
    ) -> SearchPager[Any]:
        """A pager over ``GET /{resource_type}?…``; nothing is sent until it is used.

        Parameters come as keywords (``subject=pid, _count=100``) or, for names that
        are not Python identifiers (``"subject:Patient"``), in ``params``. A list value
        is sent comma-joined (FHIR's "or").
        """
        kind = check_resource_type(resource_type)
        merged = {**(params or {}), **query}
        sent: dict[str, str] = {}
        for name, value in merged.items():
            sent[name] = search_param(name, value)
        if not isinstance(max_pages, int) or isinstance(max_pages, bool) or max_pages < 1:
            raise ConfigurationError(f"max_pages must be a positive integer, got {max_pages!r}")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise ConfigurationError(
                f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        return SearchPager(
            self._client,
            kind,
            sent,
            convert=model_converter(model),
            max_pages=max_pages,
            timeout=float(timeout),
            clock=self._clock,
        )

    async def find_by_identifier(
        self, resource_type: str, system: str, value: str, *, model: Any = None
    ) -> Any:
        """The resource holding identifier ``system|value``, or None; several is
        :class:`MultipleResultsError`."""
        for name, text in (("system", system), ("value", value)):
            if not isinstance(text, str) or not text or ("|" in text and name == "system"):
                raise ConfigurationError(
                    f"identifier {name} must be non-empty text, got {shown(text)}"
                )
        pager = self.search(resource_type, identifier=f"{system}|{value}", model=model)
        return await pager.one_or_none()

    # -- transactions (resources/_transactions.py) ----------------------------------

    async def transaction(
        self, bundle: TransactionBundle, *, validate: bool = True
    ) -> BundleResult:
        """Send ``bundle`` as one transaction; :class:`TransactionError` if it is refused.

        Never sent twice: a lost answer is :class:`OutcomeUnknownError`; pass it to
        :meth:`reconcile` for the stored resource of each entry (or None).
        """
        return await send_transaction(self._client, bundle, validate=validate)

    # -- reconcile -------------------------------------------------------------------

    async def reconcile(self, err: OutcomeUnknownError, *, model: Any = None) -> Any:
        """After a lost create: the stored resource, or None if it was never stored.

        Looks the resource up by each identifier the payload carried. When several stored
        resources share it (twins registered by their mother's NIK), the one whose
        birth date, gender, birth order and name equal the payload's is chosen; if that
        still leaves several, :class:`MultipleResultsError`.
        """
        if not isinstance(err, OutcomeUnknownError):
            raise ConfigurationError(
                f"reconcile() takes the OutcomeUnknownError of a create, got {type(err).__name__}"
            )
        if is_transaction_error(err):
            # A lost transaction: one answer per entry (a list, None where not found).
            answers = await reconcile_transaction(err, self.find_by_identifier)
            to_model = model_converter(model)
            return [None if stored is None else to_model(stored) for stored in answers]
        kind = err.resource_type
        if kind is None or not err.identifiers:
            raise ConfigurationError(
                "this error carries no resource type and identifier to look the resource up "
                "by; search for it yourself (e.g. by subject and date) before sending it again"
            )
        convert = model_converter(model)
        candidates: dict[str, dict[str, Any]] = {}
        for system, value in err.identifiers:
            pager = self.search(kind, identifier=f"{system}|{value}", max_pages=_RECONCILE_PAGES)
            async for stored in pager:
                candidates.setdefault(str(stored.get("id")), stored)
        payload = err.payload if isinstance(err.payload, Mapping) else {}
        found = list(candidates.values())
        # A mother's NIK is shared by all her children: a match there proves nothing
        # until the child's own details match too.
        if len(found) > 1 or any(system == NIK_IBU_SYSTEM for system, _ in err.identifiers):
            narrowed = [c for c in found if matches_payload(c, payload)]
            if len(narrowed) > 1 or (len(found) > 1 and not narrowed):
                raise MultipleResultsError(
                    f"reconcile: {len(found)} stored {kind} resources hold this identifier "
                    "and the payload does not single one out; compare them yourself "
                    "(search by err.identifiers)",
                    resource_type=kind,
                    count=len(found),
                )
            found = narrowed
        return convert(found[0]) if found else None
