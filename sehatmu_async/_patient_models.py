"""Patient models (Master Patient Index): attrs classes with FHIR camelCase on the wire.

``Patient`` is declared here, its data types in ``_patient_datatypes``; both are
declared once, with their wire form in the fields' metadata (``_wire_fields``), and
the converter's one hook factory reads and writes them. Every model keeps what it
does not type in ``extra`` and writes it back, so a Patient read from the platform,
changed and written again loses nothing the SDK does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from ._converter import converter
from ._patient_datatypes import (
    ADMINISTRATIVE_CODE_URL,
    KEMKES_IDENTIFIER_PREFIX,
    NIK_IBU_SYSTEM,
    NIK_SYSTEM,
    Address,
    AdministrativeCode,
    CodeableConcept,
    Coding,
    Communication,
    ContactPoint,
    HumanName,
    Identifier,
    Meta,
    check_nik,
)
from ._payload import to_wire
from ._wire_fields import choice, extra, wire, wire_model
from ._wire_plan import prepare_wire_models
from .errors import ConfigurationError

__all__ = [
    "ADMINISTRATIVE_CODE_URL",
    "KEMKES_IDENTIFIER_PREFIX",
    "NIK_IBU_SYSTEM",
    "NIK_SYSTEM",
    "PATIENT_MODELS",
    "Address",
    "AdministrativeCode",
    "CodeableConcept",
    "Coding",
    "Communication",
    "ContactPoint",
    "HumanName",
    "Identifier",
    "Meta",
    "Patient",
    "check_nik",
]


@wire_model(resource_type="Patient")
@attrs.frozen(slots=True, kw_only=True)
class Patient:
    """A FHIR R4 Patient as the platform stores it.

    ``deceased`` is ``deceasedBoolean`` or ``deceasedDateTime`` (an aware datetime);
    ``multiple_birth`` is ``multipleBirthBoolean`` or ``multipleBirthInteger``.
    Everything else the server sends stays in ``extra`` and is written back.
    """

    id: str | None = wire()
    identifier: list[Identifier] = wire(factory=list)
    active: bool | None = wire()
    name: list[HumanName] = wire(factory=list)
    telecom: list[ContactPoint] = wire(factory=list)
    gender: str | None = wire()
    birth_date: date | None = wire()
    deceased: bool | datetime | None = choice()
    address: list[Address] = wire(factory=list)
    marital_status: CodeableConcept | None = wire()
    multiple_birth: bool | int | None = choice()
    communication: list[Communication] = wire(factory=list)
    language: str | None = wire()
    meta: Meta | None = wire()
    extra: dict[str, Any] = extra()

    def _identifier_value(self, system: str) -> str | None:
        for identifier in self.identifier:
            if isinstance(identifier, Identifier) and identifier.system == system:
                return identifier.value
        return None

    @property
    def nik(self) -> str | None:
        """The person's own NIK, if the Patient carries one."""
        return self._identifier_value(NIK_SYSTEM)

    @property
    def nik_ibu(self) -> str | None:
        """The mother's NIK, if the Patient was registered by it."""
        return self._identifier_value(NIK_IBU_SYSTEM)

    @classmethod
    def from_wire(cls, obj: Mapping[str, Any]) -> Patient:
        """A Patient from its FHIR JSON (camelCase) form."""
        if not isinstance(obj, Mapping):
            raise ConfigurationError(f"a Patient's JSON is an object, got {type(obj).__name__}")
        kind = obj.get("resourceType", "Patient")
        if kind != "Patient":
            raise ConfigurationError(f"expected resourceType 'Patient', got {kind!r}")
        patient: Patient = converter.structure(obj, cls)
        return patient

    def to_wire(self) -> dict[str, Any]:
        """The FHIR JSON (camelCase) form, with every kept field merged back.

        Checked as every payload is (``_payload``): dates in ``extra`` in the platform's
        formats, NaN and values JSON cannot carry refused.
        """
        return to_wire(self, what="a Patient")


#: Every model with a FHIR wire form; their plans are made now, so a field added
#: without wire metadata fails at import instead of vanishing from the wire.
PATIENT_MODELS: tuple[type, ...] = prepare_wire_models(
    Coding,
    CodeableConcept,
    Identifier,
    HumanName,
    ContactPoint,
    AdministrativeCode,
    Address,
    Communication,
    Meta,
    Patient,
)
