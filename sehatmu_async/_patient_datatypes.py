"""The FHIR data types a Patient is made of, as the platform uses them.

Each class is declared once: its fields' wire names and kinds are attrs metadata
(``_wire_fields``), from which the converter makes its hooks. Every model keeps what
it does not type in ``extra``: unknown keys, and known keys whose value does not fit
the type (a ``null``, an empty list, a partial date, a number where text was due).
They are written back verbatim, so a read, change and write loses nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import attrs

from ._datetime import parse_fhir_datetime
from ._models import RegionLevel
from ._wire_fields import (
    extension,
    extra,
    other_extensions,
    sub_extension,
    wire,
    wire_model,
)
from .errors import ConfigurationError

__all__ = [
    "ADMINISTRATIVE_CODE_URL",
    "KEMKES_IDENTIFIER_PREFIX",
    "NIK_IBU_SYSTEM",
    "NIK_SYSTEM",
    "Address",
    "AdministrativeCode",
    "CodeableConcept",
    "Coding",
    "Communication",
    "ContactPoint",
    "HumanName",
    "Identifier",
    "Meta",
    "check_nik",
]

KEMKES_IDENTIFIER_PREFIX = "https://fhir.kemkes.go.id/id/"
NIK_SYSTEM = KEMKES_IDENTIFIER_PREFIX + "nik"
NIK_IBU_SYSTEM = KEMKES_IDENTIFIER_PREFIX + "nik-ibu"
ADMINISTRATIVE_CODE_URL = "https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode"

# The administrativeCode parts named after the Kemendagri levels they hold.
_ADMIN_LEVELS = (
    ("province", RegionLevel.PROVINCES),
    ("city", RegionLevel.CITIES),
    ("district", RegionLevel.DISTRICTS),
    ("village", RegionLevel.SUB_DISTRICTS),
)
_CODE_LENGTHS = tuple(level.code_length for _, level in _ADMIN_LEVELS)


def check_nik(nik: object, what: str = "NIK") -> str:
    """Return ``nik`` if it is exactly 16 ASCII digits, else raise ConfigurationError.

    The message never repeats the value: a NIK is personal data and errors get logged.
    """
    if not isinstance(nik, str):
        raise ConfigurationError(f"a {what} is a string of 16 digits, got {type(nik).__name__}")
    if len(nik) != 16 or not (nik.isascii() and nik.isdigit()):
        raise ConfigurationError(
            f"a {what} is exactly 16 ASCII digits; got {len(nik)} character(s)"
            + ("" if nik.isascii() and nik.isdigit() else " that are not all digits")
        )
    return nik


def _mask(value: object) -> str:
    # Identifier values are mostly NIKs: keep reprs (and so log lines) free of them.
    if isinstance(value, str) and len(value) > 4:
        return repr("*" * (len(value) - 4) + value[-4:])
    return repr(value)


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class Coding:
    system: str | None = wire()
    version: str | None = wire()
    code: str | None = wire()
    display: str | None = wire()
    user_selected: bool | None = wire()
    extra: dict[str, Any] = extra()


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class CodeableConcept:
    """E.g. ``marital_status``: codings from a code system, and/or a text."""

    coding: list[Coding] = wire(factory=list)
    text: str | None = wire()
    extra: dict[str, Any] = extra()


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class Identifier:
    """An identifier; :meth:`nik` and :meth:`nik_ibu` build the two the platform documents."""

    use: str | None = wire()
    system: str | None = wire()
    value: str | None = wire(repr=_mask)
    type: CodeableConcept | None = wire()
    extra: dict[str, Any] = extra()

    @classmethod
    def nik(cls, nik: str) -> Identifier:
        """The person's own NIK (Nomor Induk Kependudukan), 16 digits."""
        return cls(use="official", system=NIK_SYSTEM, value=check_nik(nik))

    @classmethod
    def nik_ibu(cls, nik: str) -> Identifier:
        """The mother's NIK, for a newborn who has no NIK yet."""
        return cls(use="official", system=NIK_IBU_SYSTEM, value=check_nik(nik, "mother's NIK"))


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class HumanName:
    use: str | None = wire()
    text: str | None = wire()
    family: str | None = wire()
    given: list[str] = wire(factory=list)
    prefix: list[str] = wire(factory=list)
    suffix: list[str] = wire(factory=list)
    extra: dict[str, Any] = extra()


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class ContactPoint:
    """``telecom``: ``system`` is phone/email/…, ``use`` home/work/mobile/…."""

    system: str | None = wire()
    value: str | None = wire()
    use: str | None = wire()
    rank: int | None = wire()
    extra: dict[str, Any] = extra()


class _HasCode(Protocol):
    @property
    def code(self) -> str: ...


def _code_of(region: str | _HasCode) -> str:
    code = region if isinstance(region, str) else getattr(region, "code", None)
    if not isinstance(code, str):
        raise ConfigurationError(
            f"expected a region code (str) or a sehatmu_async.Region, got {type(region).__name__}"
        )
    return code


def _rt_rw(value: str | int | None, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ConfigurationError(f"{name} must be a string or an integer")
    text = str(value)
    if not text:
        raise ConfigurationError(f"{name} must not be empty (the platform refuses empty text)")
    return text


@wire_model(extension_url=ADMINISTRATIVE_CODE_URL)
@attrs.frozen(slots=True, kw_only=True)
class AdministrativeCode:
    """The platform's ``administrativeCode`` address extension: Kemendagri region codes.

    ``AdministrativeCode.from_village("3171011001", rt="2", rw="2")`` fills province
    ``31``, city ``3171``, district ``317101`` and village from the code's prefixes.
    """

    province: str | None = sub_extension()
    city: str | None = sub_extension()
    district: str | None = sub_extension()
    village: str | None = sub_extension()
    rt: str | None = sub_extension()
    rw: str | None = sub_extension()
    #: Sub-extensions the SDK does not know, written back after the known ones.
    other_extensions: list[dict[str, Any]] = other_extensions()
    extra: dict[str, Any] = extra()

    @classmethod
    def from_region(
        cls,
        region: str | _HasCode,
        *,
        rt: str | int | None = None,
        rw: str | int | None = None,
    ) -> AdministrativeCode:
        """From a code of any level (2, 4, 6 or 10 digits) or a ``Region``; parents by prefix."""
        code = _code_of(region)
        if not (code.isascii() and code.isdigit()) or len(code) not in _CODE_LENGTHS:
            raise ConfigurationError(
                f"region code {code!r} is not a 2, 4, 6 or 10 digit Kemendagri code"
            )
        parts: dict[str, Any] = {
            name: code[: level.code_length]
            for name, level in _ADMIN_LEVELS
            if len(code) >= level.code_length
        }
        return cls(**parts, rt=_rt_rw(rt, "rt"), rw=_rt_rw(rw, "rw"))

    @classmethod
    def from_village(
        cls,
        village: str | _HasCode,
        *,
        rt: str | int | None = None,
        rw: str | int | None = None,
    ) -> AdministrativeCode:
        """From a 10-digit village (kelurahan/desa) code or village ``Region``."""
        code = _code_of(village)
        if len(code) != RegionLevel.SUB_DISTRICTS.code_length:
            raise ConfigurationError(
                f"{code!r} is not a 10-digit village code; use from_region() for other levels"
            )
        return cls.from_region(code, rt=rt, rw=rw)


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class Address:
    use: str | None = wire()
    type: str | None = wire()
    text: str | None = wire()
    line: list[str] = wire(factory=list)
    city: str | None = wire()
    district: str | None = wire()
    state: str | None = wire()
    postal_code: str | None = wire()
    country: str | None = wire()
    #: Written as the first entry of the wire ``extension`` list.
    administrative_code: AdministrativeCode | None = extension()
    #: The address's other extensions, verbatim, after ``administrative_code``.
    other_extensions: list[dict[str, Any]] = other_extensions()
    extra: dict[str, Any] = extra()


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class Communication:
    language: CodeableConcept | None = wire()
    preferred: bool | None = wire()
    extra: dict[str, Any] = extra()


@wire_model()
@attrs.frozen(slots=True, kw_only=True)
class Meta:
    """Server-owned version information; ``last_updated`` is kept as the server wrote it."""

    version_id: str | None = wire()
    last_updated: str | None = wire()
    source: str | None = wire()
    profile: list[str] = wire(factory=list)
    extra: dict[str, Any] = extra()

    @property
    def last_updated_at(self) -> datetime | None:
        """``last_updated`` as an aware datetime, when it is a full instant."""
        return parse_fhir_datetime(self.last_updated)
