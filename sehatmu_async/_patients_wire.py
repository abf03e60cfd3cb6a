"""The Master Patient Index's wire shapes, without I/O: what a create sends, and what
every answer means.

The answers to a create come in several shapes (api.md): the documented FHIR
Patient, the live platform's ``success`` envelopes (``Patient ID:``, ``patient_id``,
``resourceID``), the mother's-NIK ``create_patient`` wrapper, and refusals that name
their case only in text ("Patient Resource Exists", "Citizen Not Exists"). Each is
turned into a Patient or a typed error here, so every shape is tested byte for byte;
``resources/_patients.py`` only sends and hands the answers over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, cast

import attrs
import orjson

from ._converter import converter
from ._decoders import ResponseContext, _build, raise_for_embedded_error, shape_error
from ._outcome import OperationOutcome, OutcomeIssue
from ._paths import fhir_type_path, shown
from ._patient_models import NIK_IBU_SYSTEM, NIK_SYSTEM, Patient
from ._payload import to_wire
from .errors import (
    APIError,
    CitizenNotFoundError,
    ConfigurationError,
    DuplicateResourceError,
    OutcomeUnknownError,
    PatientExistsError,
    ValidationError,
)

__all__ = [
    "PATIENT_PATH",
    "RECONCILE_HINT",
    "PatientLike",
    "add_reconcile_context",
    "decode_create_answer",
    "decode_patient",
    "decode_search_bundle",
    "first_nik",
    "identifiers_of",
    "patient_wire",
    "refine_refusal",
    "unreadable_success",
]

PATIENT_PATH: Final = fhir_type_path("Patient")
#: The one sentence on how to reconcile a create whose outcome is unknown.
RECONCILE_HINT: Final = (
    "Look it up with client.patients.search_by_nik(err.nik) before sending it again."
)

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
        raise ConfigurationError(f"expected a Patient, got resourceType {shown(kind)}")
    return {"resourceType": "Patient", **wire}


def identifiers_of(wire: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every ``(system, value)`` identifier of a Patient's JSON: what it can be found by."""
    identifiers = wire.get("identifier")
    return [
        (identifier["system"], identifier["value"])
        for identifier in (identifiers if isinstance(identifiers, list) else ())
        if isinstance(identifier, Mapping)
        and isinstance(identifier.get("system"), str)
        and isinstance(identifier.get("value"), str)
    ]


def add_reconcile_context(err: OutcomeUnknownError, wire: Mapping[str, Any]) -> None:
    """Tell a create's OutcomeUnknownError what the Patient can be found by, and how."""
    if err.payload is None:
        err.payload = wire
    err.add_context(
        resource_type="Patient",
        identifiers=identifiers_of(wire),
        nik=first_nik(wire),
        hint=RECONCILE_HINT,
    )


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


def refine_refusal(err: ValidationError) -> ValidationError:
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


def unreadable_success(err: APIError, wire: Mapping[str, Any]) -> APIError | OutcomeUnknownError:
    """A 2xx create answer nobody can read means the Patient was probably stored.

    Reporting it as a plain failure would invite the resend the platform refuses, so
    it is an OutcomeUnknownError carrying what is needed to reconcile.
    """
    if type(err) is not APIError or not 200 <= err.status < 300:
        return err
    unknown = OutcomeUnknownError(
        f"POST {PATIENT_PATH} answered {err.status} but the answer could not be read "
        f"({err.message}); the Patient was probably created.",
        method="POST",
        url=err.url,
        payload=wire,
        status=err.status,
    )
    add_reconcile_context(unknown, wire)
    return unknown
