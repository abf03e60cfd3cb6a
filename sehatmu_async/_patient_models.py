"""Patient models (Master Patient Index): attrs classes with FHIR camelCase on the wire.

Every model keeps what it does not type in ``extra``: unknown keys, and known keys
whose value does not fit the type (a ``null``, an empty list, a partial date, a
number where text was due). They are written back verbatim, so a Patient read from
the platform, changed and written again loses nothing the SDK does not understand.

The wire mapping lives in the ``_TABLES`` below and is applied by the two generic
hooks :func:`structure_wire` / :func:`unstructure_wire`, which ``_converter.py``
registers on the SDK's one cattrs converter.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Protocol

import attrs
import cattrs

from ._datetime import fhir_date, fhir_datetime, parse_fhir_date, parse_fhir_datetime
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
    "structure_wire",
    "unstructure_wire",
]

KEMKES_IDENTIFIER_PREFIX = "https://fhir.kemkes.go.id/id/"
NIK_SYSTEM = KEMKES_IDENTIFIER_PREFIX + "nik"
NIK_IBU_SYSTEM = KEMKES_IDENTIFIER_PREFIX + "nik-ibu"
ADMINISTRATIVE_CODE_URL = "https://fhir.kemkes.go.id/r4/StructureDefinition/administrativeCode"

# Kemendagri code lengths: province, city/regency, district, village.
_REGION_LEVELS = (("province", 2), ("city", 4), ("district", 6), ("village", 10))
_ADMIN_PARTS = ("province", "city", "district", "village", "rt", "rw")


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


@attrs.frozen(slots=True, kw_only=True)
class Coding:
    system: str | None = None
    version: str | None = None
    code: str | None = None
    display: str | None = None
    user_selected: bool | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True, kw_only=True)
class CodeableConcept:
    """E.g. ``marital_status``: codings from a code system, and/or a text."""

    coding: list[Coding] = attrs.field(factory=list)
    text: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True, kw_only=True)
class Identifier:
    """An identifier; :meth:`nik` and :meth:`nik_ibu` build the two the platform documents."""

    use: str | None = None
    system: str | None = None
    value: str | None = attrs.field(default=None, repr=_mask)
    type: CodeableConcept | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

    @classmethod
    def nik(cls, nik: str) -> Identifier:
        """The person's own NIK (Nomor Induk Kependudukan), 16 digits."""
        return cls(use="official", system=NIK_SYSTEM, value=check_nik(nik))

    @classmethod
    def nik_ibu(cls, nik: str) -> Identifier:
        """The mother's NIK, for a newborn who has no NIK yet."""
        return cls(use="official", system=NIK_IBU_SYSTEM, value=check_nik(nik, "mother's NIK"))


@attrs.frozen(slots=True, kw_only=True)
class HumanName:
    use: str | None = None
    text: str | None = None
    family: str | None = None
    given: list[str] = attrs.field(factory=list)
    prefix: list[str] = attrs.field(factory=list)
    suffix: list[str] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True, kw_only=True)
class ContactPoint:
    """``telecom``: ``system`` is phone/email/…, ``use`` home/work/mobile/…."""

    system: str | None = None
    value: str | None = None
    use: str | None = None
    rank: int | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


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


@attrs.frozen(slots=True, kw_only=True)
class AdministrativeCode:
    """The platform's ``administrativeCode`` address extension: Kemendagri region codes.

    ``AdministrativeCode.from_village("3171011001", rt="2", rw="2")`` fills province
    ``31``, city ``3171``, district ``317101`` and village from the code's prefixes.
    """

    province: str | None = None
    city: str | None = None
    district: str | None = None
    village: str | None = None
    rt: str | None = None
    rw: str | None = None
    #: Sub-extensions the SDK does not know, written back after the known ones.
    other_extensions: list[dict[str, Any]] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)

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
        if not (code.isascii() and code.isdigit()) or len(code) not in (2, 4, 6, 10):
            raise ConfigurationError(
                f"region code {code!r} is not a 2, 4, 6 or 10 digit Kemendagri code"
            )
        parts: dict[str, Any] = {
            name: code[:length] for name, length in _REGION_LEVELS if len(code) >= length
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
        if len(code) != 10:
            raise ConfigurationError(
                f"{code!r} is not a 10-digit village code; use from_region() for other levels"
            )
        return cls.from_region(code, rt=rt, rw=rw)


@attrs.frozen(slots=True, kw_only=True)
class Address:
    use: str | None = None
    type: str | None = None
    text: str | None = None
    line: list[str] = attrs.field(factory=list)
    city: str | None = None
    district: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    #: Written as the first entry of the wire ``extension`` list.
    administrative_code: AdministrativeCode | None = None
    #: The address's other extensions, verbatim, after ``administrative_code``.
    other_extensions: list[dict[str, Any]] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True, kw_only=True)
class Communication:
    language: CodeableConcept | None = None
    preferred: bool | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=True, kw_only=True)
class Meta:
    """Server-owned version information; ``last_updated`` is kept as the server wrote it."""

    version_id: str | None = None
    last_updated: str | None = None
    source: str | None = None
    profile: list[str] = attrs.field(factory=list)
    extra: dict[str, Any] = attrs.field(factory=dict)

    @property
    def last_updated_at(self) -> datetime | None:
        """``last_updated`` as an aware datetime, when it is a full instant."""
        return parse_fhir_datetime(self.last_updated)


@attrs.frozen(slots=True, kw_only=True)
class Patient:
    """A FHIR R4 Patient as the platform stores it.

    ``deceased`` is ``deceasedBoolean`` or ``deceasedDateTime`` (an aware datetime);
    ``multiple_birth`` is ``multipleBirthBoolean`` or ``multipleBirthInteger``.
    Everything else the server sends stays in ``extra`` and is written back.
    """

    id: str | None = None
    identifier: list[Identifier] = attrs.field(factory=list)
    active: bool | None = None
    name: list[HumanName] = attrs.field(factory=list)
    telecom: list[ContactPoint] = attrs.field(factory=list)
    gender: str | None = None
    birth_date: date | None = None
    deceased: bool | datetime | None = None
    address: list[Address] = attrs.field(factory=list)
    marital_status: CodeableConcept | None = None
    multiple_birth: bool | int | None = None
    communication: list[Communication] = attrs.field(factory=list)
    language: str | None = None
    meta: Meta | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)

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
        from ._converter import converter  # the converter imports this module

        if not isinstance(obj, Mapping):
            raise ConfigurationError(f"a Patient's JSON is an object, got {type(obj).__name__}")
        kind = obj.get("resourceType", "Patient")
        if kind != "Patient":
            raise ConfigurationError(f"expected resourceType 'Patient', got {kind!r}")
        return converter.structure(obj, cls)

    def to_wire(self) -> dict[str, Any]:
        """The FHIR JSON (camelCase) form, with every kept field merged back."""
        from ._converter import converter  # the converter imports this module

        wire: dict[str, Any] = converter.unstructure(self)
        return wire


# -- the wire mapping ----------------------------------------------------------------


class _Untyped(Exception):
    """A wire value that does not fit the field's type: it stays verbatim in ``extra``."""


Reader = Callable[[Any, cattrs.Converter], Any]
Writer = Callable[[Any, cattrs.Converter], Any]


def _read_str(value: Any, _: cattrs.Converter) -> str:
    if not isinstance(value, str):
        raise _Untyped
    return value


def _read_bool(value: Any, _: cattrs.Converter) -> bool:
    if not isinstance(value, bool):
        raise _Untyped
    return value


def _read_int(value: Any, _: cattrs.Converter) -> int:
    # A "2" is not an integer here: rule 10254 refuses it, so it stays verbatim.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Untyped
    return value


def _read_date(value: Any, _: cattrs.Converter) -> date:
    parsed = parse_fhir_date(value)
    if parsed is None:
        raise _Untyped
    return parsed


def _read_datetime(value: Any, _: cattrs.Converter) -> datetime:
    parsed = parse_fhir_datetime(value)
    if parsed is None:
        raise _Untyped
    return parsed


def _read_model(cls: type) -> Reader:
    def read(value: Any, conv: cattrs.Converter) -> Any:
        if not isinstance(value, Mapping):
            raise _Untyped
        return conv.structure(value, cls)

    return read


def _read_list(item: Reader) -> Reader:
    def read(value: Any, conv: cattrs.Converter) -> list[Any]:
        # An empty list is not FHIR; keeping it verbatim keeps the round trip exact.
        if not isinstance(value, list) or not value:
            raise _Untyped
        return [item(v, conv) for v in value]

    return read


def _same(value: Any, _: cattrs.Converter) -> Any:
    return value


def _write_date(value: Any, _: cattrs.Converter) -> str:
    return fhir_date(value)


def _write_model(value: Any, conv: cattrs.Converter) -> Any:
    return conv.unstructure(value)


def _write_list(item: Writer) -> Writer:
    def write(value: Any, conv: cattrs.Converter) -> list[Any]:
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise ConfigurationError(f"expected a list, got {type(value).__name__}")
        return [item(v, conv) for v in value]

    return write


@attrs.frozen
class _Field:
    attr: str
    key: str
    read: Reader
    write: Writer


@attrs.frozen
class _Choice:
    """A FHIR choice element (``deceased[x]``): one attribute, several wire keys."""

    attr: str
    reads: tuple[tuple[str, Reader], ...]
    write: Callable[[Any], tuple[str, Any]]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.reads)


def _write_deceased(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "deceasedBoolean", value
    if isinstance(value, datetime):
        return "deceasedDateTime", fhir_datetime(value)
    raise ConfigurationError(
        f"Patient.deceased must be a bool or an aware datetime, got {type(value).__name__}"
    )


def _write_multiple_birth(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool):
        return "multipleBirthBoolean", value
    if isinstance(value, int):
        return "multipleBirthInteger", value
    raise ConfigurationError(
        f"Patient.multiple_birth must be a bool or an int, got {type(value).__name__}"
    )


def _str(attr: str, key: str | None = None) -> _Field:
    return _Field(attr, key or attr, _read_str, _same)


def _strs(attr: str) -> _Field:
    return _Field(attr, attr, _read_list(_read_str), _write_list(_same))


def _model(attr: str, key: str, cls: type) -> _Field:
    return _Field(attr, key, _read_model(cls), _write_model)


def _models(attr: str, key: str, cls: type) -> _Field:
    return _Field(attr, key, _read_list(_read_model(cls)), _write_list(_write_model))


_TABLES: dict[type, tuple[_Field | _Choice, ...]] = {
    Coding: (
        _str("system"),
        _str("version"),
        _str("code"),
        _str("display"),
        _Field("user_selected", "userSelected", _read_bool, _same),
    ),
    CodeableConcept: (_models("coding", "coding", Coding), _str("text")),
    Identifier: (
        _str("use"),
        _model("type", "type", CodeableConcept),
        _str("system"),
        _str("value"),
    ),
    HumanName: (
        _str("use"),
        _str("text"),
        _str("family"),
        _strs("given"),
        _strs("prefix"),
        _strs("suffix"),
    ),
    ContactPoint: (
        _str("system"),
        _str("value"),
        _str("use"),
        _Field("rank", "rank", _read_int, _same),
    ),
    Address: (
        _str("use"),
        _str("type"),
        _str("text"),
        _strs("line"),
        _str("city"),
        _str("district"),
        _str("state"),
        _str("postal_code", "postalCode"),
        _str("country"),
    ),
    Communication: (
        _model("language", "language", CodeableConcept),
        _Field("preferred", "preferred", _read_bool, _same),
    ),
    Meta: (
        _str("version_id", "versionId"),
        _str("last_updated", "lastUpdated"),
        _str("source"),
        _strs("profile"),
    ),
    Patient: (
        _str("id"),
        _model("meta", "meta", Meta),
        _str("language"),
        _models("identifier", "identifier", Identifier),
        _Field("active", "active", _read_bool, _same),
        _models("name", "name", HumanName),
        _models("telecom", "telecom", ContactPoint),
        _str("gender"),
        _Field("birth_date", "birthDate", _read_date, _write_date),
        _Choice(
            "deceased",
            (("deceasedBoolean", _read_bool), ("deceasedDateTime", _read_datetime)),
            _write_deceased,
        ),
        _models("address", "address", Address),
        _model("marital_status", "maritalStatus", CodeableConcept),
        _Choice(
            "multiple_birth",
            (("multipleBirthBoolean", _read_bool), ("multipleBirthInteger", _read_int)),
            _write_multiple_birth,
        ),
        _models("communication", "communication", Communication),
    ),
}

#: Every model whose wire form the converter hooks handle.
PATIENT_MODELS: tuple[type, ...] = (*_TABLES, AdministrativeCode)


def _take(rest: dict[str, Any], key: str, read: Reader, conv: cattrs.Converter) -> Any:
    """Read ``rest[key]`` and remove it; leave it in place (for ``extra``) if it does not fit."""
    try:
        value = read(rest[key], conv)
    except _Untyped:
        return None
    del rest[key]
    return value


def _structure_fields(obj: Mapping[str, Any], cls: type, conv: cattrs.Converter) -> Any:
    rest = dict(obj)
    kwargs: dict[str, Any] = {}
    for field in _TABLES[cls]:
        if isinstance(field, _Choice):
            for key, read in field.reads:
                if key in rest and (value := _take(rest, key, read, conv)) is not None:
                    kwargs[field.attr] = value
                    break
        elif field.key in rest:
            value = _take(rest, field.key, field.read, conv)
            if value is not None:
                kwargs[field.attr] = value
    if cls is Patient and rest.get("resourceType") == "Patient":
        del rest["resourceType"]
    if cls is Address:
        _split_address_extensions(rest, kwargs, conv)
    return cls(**kwargs, extra=copy.deepcopy(rest))


def _split_address_extensions(
    rest: dict[str, Any], kwargs: dict[str, Any], conv: cattrs.Converter
) -> None:
    extensions = rest.get("extension")
    if not isinstance(extensions, list) or not extensions:
        return
    del rest["extension"]
    others: list[dict[str, Any]] = []
    for extension in extensions:
        if (
            "administrative_code" not in kwargs
            and isinstance(extension, Mapping)
            and extension.get("url") == ADMINISTRATIVE_CODE_URL
            and _modellable_admin(extension)
        ):
            kwargs["administrative_code"] = conv.structure(extension, AdministrativeCode)
        else:
            others.append(copy.deepcopy(extension))
    kwargs["other_extensions"] = others


def _modellable_admin(extension: Mapping[str, Any]) -> bool:
    # An empty or non-list ``extension`` could not be written back as it came: keep it verbatim.
    if "extension" not in extension:
        return True
    subs = extension["extension"]
    return isinstance(subs, list) and bool(subs)


def _structure_administrative_code(obj: Mapping[str, Any]) -> AdministrativeCode:
    rest = dict(obj)
    rest.pop("url", None)
    parts: dict[str, Any] = {}
    others: list[dict[str, Any]] = []
    for sub in rest.pop("extension", None) or ():
        name = sub.get("url") if isinstance(sub, Mapping) else None
        if (
            name in _ADMIN_PARTS
            and name not in parts
            and set(sub) == {"url", "valueCode"}
            and isinstance(sub["valueCode"], str)
        ):
            parts[name] = sub["valueCode"]
        else:
            others.append(copy.deepcopy(sub))
    return AdministrativeCode(**parts, other_extensions=others, extra=copy.deepcopy(rest))


def structure_wire(conv: cattrs.Converter, obj: Any, cls: type) -> Any:
    """cattrs structure hook for every model in :data:`PATIENT_MODELS`."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"{cls.__name__} is a JSON object on the wire, got {type(obj).__name__}")
    if cls is AdministrativeCode:
        return _structure_administrative_code(obj)
    return _structure_fields(obj, cls, conv)


def _unstructure_administrative_code(code: AdministrativeCode) -> dict[str, Any]:
    subs: list[Any] = [
        {"url": name, "valueCode": getattr(code, name)}
        for name in _ADMIN_PARTS
        if getattr(code, name) is not None
    ]
    subs.extend(copy.deepcopy(code.other_extensions))
    wire: dict[str, Any] = {"url": ADMINISTRATIVE_CODE_URL}
    if subs:
        wire["extension"] = subs
    return _merge(wire, code.extra, ())


def _merge(
    wire: dict[str, Any], extra: Mapping[str, Any], dropped: tuple[str, ...]
) -> dict[str, Any]:
    # Typed values win over kept ones; a choice element set in Python drops its kept siblings.
    for key, value in extra.items():
        if key not in wire and key not in dropped:
            wire[key] = copy.deepcopy(value)
    return wire


def unstructure_wire(conv: cattrs.Converter, obj: Any) -> dict[str, Any]:
    """cattrs unstructure hook for every model in :data:`PATIENT_MODELS`."""
    if isinstance(obj, AdministrativeCode):
        return _unstructure_administrative_code(obj)
    cls = type(obj)
    wire: dict[str, Any] = {"resourceType": "Patient"} if cls is Patient else {}
    dropped: tuple[str, ...] = ()
    for field in _TABLES[cls]:
        value = getattr(obj, field.attr)
        if value is None:
            continue
        if isinstance(field, _Choice):
            key, wire_value = field.write(value)
            wire[key] = wire_value
            dropped += field.keys
        elif not (isinstance(value, list) and not value):
            wire[field.key] = field.write(value, conv)
    if isinstance(obj, Address):
        extensions: list[Any] = []
        if obj.administrative_code is not None:
            extensions.append(conv.unstructure(obj.administrative_code))
        extensions.extend(copy.deepcopy(obj.other_extensions))
        if extensions:
            wire["extension"] = extensions
    return _merge(wire, obj.extra, dropped)
