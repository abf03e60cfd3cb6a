"""Master Patient Index: ``client.patients`` — create, patch, get and search by NIK.

A create is never sent twice by the SDK: the platform refuses a repeated payload as
``duplicate`` and may already have stored the first one. So it goes out with
``idempotent=False`` (retried only if it provably never left) and, when the
outcome is unknown, the error carries the payload and NIK to reconcile with
:meth:`Patients.search_by_nik`.

The answers to a create come in several shapes (api.md): the documented FHIR
Patient, and the live platform's ``success`` envelopes. :func:`decode_create_answer`
turns each into a Patient or a typed error, without I/O, so every shape is tested
byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs
import orjson

from .._converter import converter
from .._decoders import ResponseContext, _build, raise_for_embedded_error, shape_error
from .._outcome import OperationOutcome, OutcomeIssue
from .._patch import PATCH_CONTENT_TYPES, PatchOperation, patch_document
from .._paths import fhir_type_path, resource_path
from .._patient_models import NIK_IBU_SYSTEM, NIK_SYSTEM, Patient, check_nik
from .._payload import to_wire
from .._validation import check_patient
from ..errors import (
    APIError,
    CitizenNotFoundError,
    ConfigurationError,
    DuplicateResourceError,
    OutcomeUnknownError,
    PatientExistsError,
    ValidationError,
)

if TYPE_CHECKING:
    from .._base_client import BaseClient, Response

__all__ = [
    "PATIENT_PATH",
    "Patients",
    "decode_create_answer",
    "decode_patient",
    "decode_search_bundle",
    "first_nik",
    "patient_wire",
]

PATIENT_PATH = fhir_type_path("Patient")

PatientLike = Patient | Mapping[str, Any]


def patient_wire(patient: PatientLike) -> dict[str, Any]:
    """The JSON to send for a ``Patient``, a plain wire-form (camelCase) ``dict`` or a
    pydantic model (e.g. ``fhir.resources``' Patient).

    A dict is sent as written, with ``resourceType`` added if missing, except that
    Python dates and datetimes in it go out in the platform's formats (datetimes as
    UTC; naive ones refused) — the same rules a ``Patient`` follows (see ``_payload``).
    The copy made here is what is sent, so later changes to the dict cannot alter it.
    """
    if isinstance(patient, Patient):
        return to_wire(patient, what="a Patient")
    if not isinstance(patient, Mapping) and not callable(getattr(patient, "model_dump", None)):
        raise ConfigurationError(
            f"expected a sehatmu_async.Patient or a dict in FHIR JSON form, "
            f"got {type(patient).__name__}"
        )
    wire = to_wire(patient, what="a Patient")
    kind = wire.get("resourceType", "Patient")
    if kind != "Patient":
        raise ConfigurationError(f"expected a Patient, got resourceType {kind!r}")
    return {"resourceType": "Patient", **wire}


def first_nik(wire: Mapping[str, Any]) -> str | None:
    """The value of the first NIK or mother's-NIK identifier, the key to reconcile by."""
    identifiers = wire.get("identifier")
    for identifier in identifiers if isinstance(identifiers, list) else ():
        if isinstance(identifier, Mapping) and identifier.get("system") in (
            NIK_SYSTEM,
            NIK_IBU_SYSTEM,
        ):
            value = identifier.get("value")
            return value if isinstance(value, str) else None
    return None


# -- pure decoders -------------------------------------------------------------------


def _raw(body: bytes | None, obj: object) -> bytes:
    if body is not None:
        return body
    try:
        return orjson.dumps(obj)
    except TypeError:
        return b""


def _id_key(key: object) -> str:
    # "Patient ID:", "patient_id", "resourceID": one spelling, whatever the endpoint chose.
    text = key if isinstance(key, str) else ""
    return text.strip().rstrip(":").replace(" ", "").replace("_", "").lower()


def _envelope_id(data: object) -> str | None:
    if not isinstance(data, Mapping):
        return None
    for key, value in data.items():
        if _id_key(key) in ("patientid", "resourceid"):
            if isinstance(value, int) and not isinstance(value, bool):
                return str(value)
            if isinstance(value, str) and value.strip():
                return value.strip()
    return None


def _envelope_refusal(
    ctx: ResponseContext, raw: bytes, message: str, patient_id: str | None
) -> ValidationError:
    lowered = message.lower()
    text = message or "success: false without a message"
    if "resource exists" in lowered or "another identifier has found" in lowered:
        cls: type[ValidationError] = PatientExistsError
        code = "duplicate"
        what = f"{text} (existing Patient id {patient_id or 'not given'})"
        hint = "use the existing Patient (err.patient_id) instead of creating it again"
        extra: dict[str, Any] = {"patient_id": patient_id}
    elif "citizen not exist" in lowered:
        cls, code, what, extra = CitizenNotFoundError, "not-found", text, {}
        hint = (
            "the NIK is not in the civil registry (Dukcapil); check it, or register a "
            "newborn by Identifier.nik_ibu(mother's NIK)"
        )
    else:
        cls, code, what, extra = ValidationError, "processing", text, {}
        hint = "fix the payload and send it once more"
    # The envelope has no OperationOutcome; one is made of its message so .issues reads
    # the same for every refusal.
    outcome = OperationOutcome(issues=(OutcomeIssue(severity="error", code=code, text=text),))
    # _build is the foundation's one message format for API errors.
    return cast(ValidationError, _build(cls, ctx, raw, what, hint, outcome=outcome, **extra))


def _decode_envelope(
    ctx: ResponseContext, raw: bytes, envelope: Mapping[str, Any], sent: Patient
) -> Patient:
    success = envelope.get("success")
    message = envelope.get("message")
    message = message if isinstance(message, str) else ""
    patient_id = _envelope_id(envelope.get("data"))
    if success is True:
        if patient_id is None:
            raise shape_error(ctx, raw, "a success envelope without the new Patient's id")
        return attrs.evolve(sent, id=patient_id)
    if success is False:
        raise _envelope_refusal(ctx, raw, message, patient_id)
    raise shape_error(ctx, raw, f"envelope 'success' is {success!r}, not true or false")


def decode_create_answer(
    ctx: ResponseContext,
    body_obj: object,
    sent_patient: PatientLike,
    *,
    body: bytes | None = None,
) -> Patient:
    """The created Patient from any 2xx answer shape, or the error it stands for.

    A FHIR Patient answer is returned as the server wrote it. An envelope holds only
    the id, so the sent Patient is returned with that id set.
    """
    raw = _raw(body, body_obj)
    if not isinstance(body_obj, Mapping):
        raise shape_error(ctx, raw, "the create answer is not a JSON object")
    kind = body_obj.get("resourceType")
    if kind == "Patient":
        patient = converter.structure(body_obj, Patient)
        if not patient.id:
            raise shape_error(ctx, raw, "the created Patient has no id")
        return patient
    if kind == "OperationOutcome":
        raise_for_embedded_error(ctx, body_obj, raw)
        raise shape_error(ctx, raw, "an OperationOutcome without errors, and no Patient")
    if kind is not None:
        raise shape_error(ctx, raw, f"a {kind} instead of the created Patient")
    sent = sent_patient if isinstance(sent_patient, Patient) else Patient.from_wire(sent_patient)
    envelope: object = body_obj
    if "create_patient" in body_obj:
        # The newborn (mother's NIK) wrapper: its create_patient part is the Patient's own.
        envelope = body_obj["create_patient"]
    if isinstance(envelope, Mapping) and "success" in envelope:
        return _decode_envelope(ctx, raw, envelope, sent)
    raise shape_error(ctx, raw, "neither a Patient nor a success envelope")


def decode_patient(ctx: ResponseContext, body_obj: object, *, body: bytes | None = None) -> Patient:
    """A Patient answer (read, patch), or :class:`APIError` for any other shape."""
    if not isinstance(body_obj, Mapping) or body_obj.get("resourceType") != "Patient":
        kind = body_obj.get("resourceType") if isinstance(body_obj, Mapping) else None
        what = f"a {kind}" if isinstance(kind, str) else "no FHIR resource"
        raise shape_error(ctx, _raw(body, body_obj), f"expected a Patient, got {what}")
    return converter.structure(body_obj, Patient)


def decode_search_bundle(
    ctx: ResponseContext, body_obj: object, *, body: bytes | None = None
) -> list[Patient]:
    """The Patients of a search Bundle; entries of other resource types are skipped."""
    if not isinstance(body_obj, Mapping) or body_obj.get("resourceType") != "Bundle":
        raise shape_error(ctx, _raw(body, body_obj), "a search answer that is not a Bundle")
    entries = body_obj.get("entry")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise shape_error(ctx, _raw(body, body_obj), "Bundle.entry is not a list")
    found: list[Patient] = []
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        # OperationOutcome entries (search warnings) and included resources are not matches.
        if isinstance(resource, Mapping) and resource.get("resourceType") == "Patient":
            found.append(converter.structure(resource, Patient))
    return found


def _refine_refusal(err: ValidationError) -> ValidationError:
    """Name an OperationOutcome refusal that says "Citizen Not Exists" / "Patient Resource
    Exists" by its error class.

    Only plain ValidationErrors and DuplicateResourceErrors are refined: a FHIR-style
    server reports an existing NIK as a ``duplicate`` issue "Patient Resource Exists: <id>",
    and the caller needs the existing id, which only PatientExistsError carries.
    """
    if type(err) not in (ValidationError, DuplicateResourceError):
        return err
    texts = [issue.text or issue.diagnostics or "" for issue in err.issues]
    fields: dict[str, Any] = {
        "status": err.status,
        "method": err.method,
        "url": err.url,
        "request_id": err.request_id,
        "body": err.body,
        "outcome": err.outcome,
    }
    if type(err) is ValidationError and any("citizen not exist" in t.lower() for t in texts):
        return CitizenNotFoundError(err.message, **fields)
    for text in texts:
        if "patient resource exists" in text.lower():
            _, colon, rest = text.partition(":")
            found = rest.strip().split()[0] if colon and rest.strip() else None
            return PatientExistsError(err.message, patient_id=found, **fields)
    return err


def _unreadable_success(err: APIError, wire: Mapping[str, Any]) -> APIError | OutcomeUnknownError:
    """A 2xx create answer nobody can read means the Patient was probably stored.

    Reporting it as a plain failure would invite the resend the platform refuses, so
    it is an OutcomeUnknownError carrying what is needed to reconcile.
    """
    if type(err) is not APIError or not 200 <= err.status < 300:
        return err
    return OutcomeUnknownError(
        f"POST {PATIENT_PATH} answered {err.status} but the answer could not be read "
        f"({err.message}); the Patient was probably created. Look it up "
        "(client.patients.search_by_nik(err.nik)) before sending it again.",
        method="POST",
        url=err.url,
        payload=wire,
        nik=first_nik(wire),
        status=err.status,
    )


# -- the resource --------------------------------------------------------------------


class Patients:
    """``client.patients``: the Master Patient Index."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    async def create(self, patient: PatientLike, *, validate: bool = True) -> Patient:
        """Create ``patient`` and return it with its new ``id``.

        Checked before sending (``validate=False`` skips that). Raises
        :class:`PatientExistsError` (``.patient_id``) if the NIK is registered,
        :class:`CitizenNotFoundError` for a NIK unknown to the civil registry, and
        :class:`OutcomeUnknownError` (``.payload``, ``.nik``) when the request was sent
        but no answer came: look the patient up with ``search_by_nik(err.nik)`` before
        creating again.
        """
        wire = patient_wire(patient)
        if validate:
            check_patient(wire)
        try:
            response = await self._client.request("POST", PATIENT_PATH, json=wire, idempotent=False)
            obj = response.json()
        except OutcomeUnknownError as err:
            raise OutcomeUnknownError(
                err.message,
                method=err.method,
                url=err.url,
                attempts=err.attempts,
                payload=err.payload if err.payload is not None else wire,
                nik=first_nik(wire),
                status=err.status,
            ) from err
        except ValidationError as err:
            refined = _refine_refusal(err)
            if refined is err:
                raise
            raise refined from err
        except APIError as err:
            raise _unreadable_success(err, wire) from err
        sent = patient if isinstance(patient, Patient) else wire
        try:
            return decode_create_answer(response.ctx, obj, sent, body=response.body)
        except ValidationError:
            raise
        except APIError as err:
            raise _unreadable_success(err, wire) from err

    async def patch(
        self,
        id: str,
        operations: Sequence[PatchOperation | Mapping[str, Any]],
        *,
        content_type: str = "application/json",
    ) -> Patient:
        """Apply ``replace`` operations to Patient ``id``; return the updated Patient.

        Every operation and path is checked before sending; ``content_type`` may be
        ``application/json`` (the document's) or ``application/json-patch+json``.
        """
        path = resource_path("Patient", id)
        if content_type not in PATCH_CONTENT_TYPES:
            raise ConfigurationError(
                f"content_type {content_type!r} is not accepted for a Patient patch: use "
                + " or ".join(repr(t) for t in PATCH_CONTENT_TYPES)
            )
        document = patch_document(operations)
        response = await self._client.request(
            "PATCH",
            path,
            json=document,
            content_type=content_type,
            idempotent=True,  # a replace applied twice leaves the same Patient
        )
        return self._patient(response)

    async def get(self, id: str) -> Patient:
        """Read Patient ``id``."""
        response = await self._client.request("GET", resource_path("Patient", id))
        return self._patient(response)

    async def search_by_nik(self, nik: str, *, mother: bool = False) -> list[Patient]:
        """Patients holding this NIK (``mother=True``: registered by this mother's NIK)."""
        check_nik(nik, "mother's NIK" if mother else "NIK")
        system = NIK_IBU_SYSTEM if mother else NIK_SYSTEM
        response = await self._client.request(
            "GET", PATIENT_PATH, params={"identifier": f"{system}|{nik}"}
        )
        return decode_search_bundle(response.ctx, response.json(), body=response.body)

    @staticmethod
    def _patient(response: Response) -> Patient:
        return decode_patient(response.ctx, response.json(), body=response.body)
