"""Master Patient Index: ``client.patients`` — create, patch, get and search by NIK.

A create is never sent twice by the SDK: the platform refuses a repeated payload as
``duplicate`` and may already have stored the first one. So it goes out with
``idempotent=False`` (retried only if it provably never left) and, when the
outcome is unknown, the error carries the payload, identifiers and NIK to reconcile
with :meth:`Patients.search_by_nik`.

Only the I/O flow lives here: what is sent and what each answer means are the pure
functions of ``_patients_wire``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._patch import PATCH_CONTENT_TYPES, PatchOperation, patch_document
from .._paths import resource_path
from .._patient_models import NIK_IBU_SYSTEM, NIK_SYSTEM, Patient, check_nik
from .._patients_wire import (
    PATIENT_PATH,
    PatientLike,
    add_reconcile_context,
    decode_create_answer,
    decode_patient,
    decode_search_bundle,
    patient_wire,
    refine_refusal,
    unreadable_success,
)
from .._validation import check_patient
from ..errors import APIError, ConfigurationError, OutcomeUnknownError, ValidationError

if TYPE_CHECKING:
    from .._base_client import BaseClient, Response

__all__ = ["Patients"]


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
            # The same error, told what the Patient can be found by: nothing is copied.
            add_reconcile_context(err, wire)
            raise
        except ValidationError as err:
            refined = refine_refusal(err)
            if refined is err:
                raise
            raise refined from err
        except APIError as err:
            raise unreadable_success(err, wire) from err
        sent = patient if isinstance(patient, Patient) else wire
        try:
            return decode_create_answer(response.ctx, obj, sent, body=response.body)
        except ValidationError:
            raise
        except APIError as err:
            raise unreadable_success(err, wire) from err

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
